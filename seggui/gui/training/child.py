"""The training child process as Qt sees it: start, cancel, and its typed events.

Training runs in ``python -m seggui.model.train_child`` driven by QProcess: no training code
shares the window's interpreter, a crash in training cannot take the window down, and Cancel
reaches the child as a line on its stdin. Each line the child prints is parsed into a
:mod:`seggui.core.train_events` event; a child that dies without a final event ends with a
:class:`~seggui.core.train_events.Failed` made from the last line of its stderr.
"""

from __future__ import annotations

import json
import logging
import sys

from PyQt6.QtCore import QObject, QProcess, pyqtSignal

from seggui.core import train_events as events

log = logging.getLogger(__name__)


class TrainingChild(QObject):
    """One run of the training child at a time."""

    reported = pyqtSignal(object)  # every event, in order
    ended = pyqtSignal(object)  # the final event: Done, AuditDone, RunCancelled or Failed

    def __init__(self, parent=None):
        super().__init__(parent)
        #: The child's command line, before the run's spec (JSON) is appended.
        self.command = [sys.executable, "-m", "seggui.model.train_child"]
        self.process: QProcess | None = None
        self._buffer = b""
        self._final: events.Event | None = None

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, spec: dict) -> None:
        """Start a run described by ``spec`` (folder, settings, mode)."""
        if self.process is not None:
            raise RuntimeError("a training run is already going")
        self._buffer, self._final = b"", None
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._finished)
        self.process = proc
        proc.start(self.command[0], [*self.command[1:], json.dumps(spec)])

    def cancel(self) -> None:
        if self.process is not None:
            self.process.write(b"cancel\n")

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop a running child for good (window closing): cancel, then kill if it lingers."""
        proc = self.process
        if proc is None:
            return
        proc.write(b"cancel\n")
        proc.closeWriteChannel()
        if not proc.waitForFinished(wait_ms):
            proc.kill()
            proc.waitForFinished(2000)

    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                event = events.from_line(line)
            except ValueError:
                log.debug("training child printed a non-event line: %r", line[:200])
                continue
            if isinstance(event, events.FINAL):
                self._final = event
            self.reported.emit(event)

    def _finished(self, code: int, _status) -> None:
        self._read()
        proc, self.process = self.process, None
        final = self._final
        if final is None:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip()
            tail = err.splitlines()[-1] if err else f"exit code {code}"
            final = events.Failed(f"stopped unexpectedly: {tail}")
            self.reported.emit(final)
        proc.deleteLater()
        self.ended.emit(final)

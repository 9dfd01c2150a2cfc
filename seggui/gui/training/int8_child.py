"""The bundled model's int8 copy, made in the background the first time a folder uses it.

``seggui quantize FOLDER --model BUNDLED --if-missing`` runs in a child process below the
window's priority (NNCF and OpenVINO would hold the window's interpreter for a minute); it
returns at once when the copy was checked before. The copy is used from the next prediction
on, only where it agreed with fp32 and was faster (:mod:`seggui.model.int8`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PyQt6.QtCore import QObject, QProcess, pyqtSignal

#: Runs ``seggui.cli.main`` at a lower priority (``os.nice``) with the arguments after it.
_NICE_MAIN = (
    "import os, sys; os.nice(10); from seggui.cli import main; raise SystemExit(main(sys.argv[1:]))"
)


#: ``SEGGUI_INT8_BACKGROUND=0`` turns the background copies off (the test suite does, so
#: that its predictions stay fp32 and its cores its own).
ENABLED_ENV = "SEGGUI_INT8_BACKGROUND"


def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "1") != "0"


class Int8Maker(QObject):
    """One background quantisation at a time; ``finished(message)`` with its last line."""

    finished = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self.asked: set[tuple[str, str]] = set()

    def make(self, folder: Path, model: Path) -> bool:
        """Start it for ``(folder, model)`` unless it ran for them in this session."""
        key = (str(folder), str(model))
        if not enabled() or self.process is not None or key in self.asked:
            return False
        self.asked.add(key)
        proc = QProcess(self)
        proc.finished.connect(self._done)
        self.process = proc
        args = ["quantize", str(folder), "--model", str(model), "--if-missing"]
        proc.start(sys.executable, ["-c", _NICE_MAIN, *args])
        return True

    def _done(self, code: int, _status) -> None:
        proc, self.process = self.process, None
        out = bytes(proc.readAllStandardOutput()).decode(errors="replace").strip()
        err = bytes(proc.readAllStandardError()).decode(errors="replace").strip()
        proc.deleteLater()
        line = (out or err).splitlines()[-1] if (out or err) else f"exit code {code}"
        if "already checked" not in line:
            self.finished.emit(f"int8 copy of the bundled model: {line}")

    def shutdown(self, wait_ms: int = 3000) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(wait_ms)

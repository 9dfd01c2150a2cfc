"""Qt workers: long engine work off the UI thread, reported through signals.

:class:`Job` runs one engine function with a progress callback and a cancel token.
:class:`LatestWorker` serves a changing list of wanted keys (slides), always working on the
first wanted one not yet done, so moving quickly through slides never builds a backlog.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from PyQt6.QtCore import QThread, pyqtSignal

from seggui.core.cancel import Cancelled, CancelToken


class Job(QThread):
    """Runs ``fn(progress, cancel)`` once; emits ``succeeded(result)`` or ``failed(message)``."""

    progress = pyqtSignal(int, int, str)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()

    def __init__(self, fn: Callable, parent=None):
        super().__init__(parent)
        self.fn = fn
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()
        self.requestInterruption()

    def run(self) -> None:
        try:
            result = self.fn(lambda d, t, m: self.progress.emit(d, t, m), self.token)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001  (shown to the user by whoever started it)
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


class LatestWorker(QThread):
    """Processes wanted keys in priority order with ``handler(key, cancel)``.

    ``want(keys)`` replaces the whole wish list; work for a key that is no longer wanted is
    dropped (a running call is told to cancel). Results are emitted as ``done(key, result)``;
    exceptions as ``error(key, message)``.
    """

    done = pyqtSignal(object, object)
    error = pyqtSignal(object, str)
    idle = pyqtSignal()

    def __init__(self, handler: Callable, parent=None):
        super().__init__(parent)
        self.handler = handler
        self._cond = threading.Condition()
        self._wanted: list = []
        self._background: list = []
        self._bg_source = None  # the list object ``want`` was last given as background
        self._bg_index: dict = {}
        self._bg_pos = 0  # every background key before this index is finished
        self._finished: set = set()
        self._current = None
        self._token = CancelToken()
        self._stop = False

    def want(self, keys: list, background: list | None = None) -> None:
        """Replace the wish list; ``background`` keys are done after, when nothing else is.

        Passing the same background list object again keeps the worker's place in it, so a
        step through the slides costs O(look-ahead), not O(folder).
        """
        with self._cond:
            self._wanted = list(keys)
            if background is not None and background is not self._bg_source:
                self._bg_source = background
                self._background = list(background)
                self._bg_index = {key: i for i, key in enumerate(self._background)}
                self._bg_pos = 0
            if (
                self._current is not None
                and self._current not in self._wanted
                and self._current not in self._bg_index
            ):
                self._token.cancel()
            self._cond.notify_all()

    def forget(self, keys=None) -> None:
        """Mark keys (all when None) as not done, so they are processed again."""
        with self._cond:
            if keys is None:
                self._finished.clear()
                self._bg_pos = 0
            else:
                keys = list(keys)
                self._finished.difference_update(keys)
                positions = [self._bg_index[k] for k in keys if k in self._bg_index]
                if positions:
                    self._bg_pos = min(self._bg_pos, min(positions))
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._token.cancel()
            self._cond.notify_all()

    def _next(self):
        for key in self._wanted:
            if key not in self._finished:
                return key
        while self._bg_pos < len(self._background):  # a cursor: each key is passed once
            key = self._background[self._bg_pos]
            if key not in self._finished and key != self._current:
                return key
            self._bg_pos += 1
        return None

    def busy(self) -> bool:
        """Whether a key is being processed or still wanted (a test waits for quiet)."""
        with self._cond:
            return self._current is not None or self._next() is not None

    def visits(self) -> int:
        """Where the background cursor is (for tests)."""
        with self._cond:
            return self._bg_pos

    def run(self) -> None:
        while True:
            with self._cond:
                key = self._next()
                while key is None and not self._stop:
                    self.idle.emit()
                    self._cond.wait()
                    key = self._next()
                if self._stop:
                    return
                self._current = key
                self._token = CancelToken()
                token = self._token
            try:
                result = self.handler(key, token)
            except Cancelled:
                with self._cond:
                    self._current = None
                continue
            except Exception as exc:  # noqa: BLE001  (reported on the slide; the worker goes on)
                if not hasattr(exc, "reason"):  # a bad file is expected; anything else is a bug
                    traceback.print_exc()
                with self._cond:
                    self._finished.add(key)
                    self._current = None
                self.error.emit(
                    key, f"{type(exc).__name__}: {exc}" if not hasattr(exc, "reason") else str(exc)
                )
                continue
            with self._cond:
                self._finished.add(key)
                self._current = None
            self.done.emit(key, result)


class SerialWorker(QThread):
    """Runs submitted calls one at a time, in order, off the UI thread (e.g. mask saves).

    Order matters for saves: a later save of a slide must land after an earlier one.
    ``flush()`` waits until everything submitted so far is done (used when closing).
    """

    done = pyqtSignal(object, object)  # tag, result
    failed = pyqtSignal(object, str)  # tag, message

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._queue: list = []
        self._busy = False
        self._stop = False

    def submit(self, tag, fn: Callable) -> None:
        with self._cond:
            self._queue.append((tag, fn))
            self._cond.notify_all()

    def pending(self) -> bool:
        with self._cond:
            return bool(self._queue) or self._busy

    def flush(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if not self._queue:
                    return  # stopped with nothing left: queued work is never dropped
                tag, fn = self._queue.pop(0)
                self._busy = True
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001  (reported to the user by the owner)
                traceback.print_exc()
                self.failed.emit(tag, f"{type(exc).__name__}: {exc}")
            else:
                self.done.emit(tag, result)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

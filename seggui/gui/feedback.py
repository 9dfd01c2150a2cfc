"""What every part of the window tells the user through: the status bar's message and task
line, warnings, and background jobs with their progress (one place, so each controller
needs this object and not the window)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtWidgets import QLabel, QMainWindow, QMessageBox

from seggui.gui.workers import Job

log = logging.getLogger(__name__)
STATUS_MS = 10000


class Feedback:
    """The status bar, warnings and background jobs of one main window."""

    def __init__(self, window: QMainWindow, task_label: QLabel):
        self.window = window
        self.task_label = task_label
        self.jobs: set[Job] = set()

    def status(self, message: str, ms: int = STATUS_MS) -> None:
        self.window.statusBar().showMessage(message, ms)

    def task(self, text: str) -> None:
        self.task_label.setText(text)

    def error(self, title: str, message: str) -> None:
        """A warning that does not block the window (the status bar says it too)."""
        log.warning("%s: %s", title, message)
        self.status(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self.window)
        box.setModal(False)
        box.show()

    def run_job(self, fn: Callable, on_success: Callable, label: str) -> Job:
        """Run ``fn(progress, cancel)`` off the UI thread; ``on_success(result)`` after."""
        job = Job(fn, self.window)
        self.jobs.add(job)
        job.progress.connect(lambda d, t, m: self.task(f"{label}: {m}"))
        job.succeeded.connect(on_success)
        job.failed.connect(lambda msg: self.error(f"{label} failed", msg))
        job.finished.connect(lambda: (self.jobs.discard(job), self.task("")))
        self.task(f"{label}…")
        job.start()
        return job

    def stop_jobs(self, wait_ms: int = 5000) -> None:
        for job in list(self.jobs):
            job.cancel()
        for job in list(self.jobs):
            job.wait(wait_ms)

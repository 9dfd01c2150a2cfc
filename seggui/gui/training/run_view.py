"""A run's progress as the retrain panel shows it: the bar with time left, the status line,
and live loss and validation IoU curves, fed by the training child's typed events."""

from __future__ import annotations

import math
import time

import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from seggui.core import train_events as events

PLOT_EVERY_S = 0.25  # curves are redrawn at most this often within an epoch


def fmt(x) -> str:
    """A score for people: three decimals, or a dash when it is not known."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d} left"


class RunView(QWidget):
    """Progress, time left, status and curves of the current (or last) run."""

    progress_line = pyqtSignal(str)  # "Training 42% · 3:10 left", for the status bar

    def __init__(self, parent=None):
        super().__init__(parent)
        self.progress = QProgressBar()
        self.time_left = QLabel("")
        self.status = QLabel("Idle")
        self.status.setWordWrap(True)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.loss_plot = pg.PlotWidget(title="Training loss")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setMinimumHeight(120)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#c0392b", width=1.5))
        self.iou_plot = pg.PlotWidget(title="Validation IoU")
        self.iou_plot.setLabel("bottom", "epoch")
        self.iou_plot.setMinimumHeight(120)
        self.iou_curve = self.iou_plot.plot(
            pen=pg.mkPen("#2471a3", width=1.5), symbol="o", symbolSize=6, symbolBrush="#2471a3"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.time_left)
        layout.addWidget(self.status)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.iou_plot, 1)
        self._what, self._budget_s, self._started_at = "", 0.0, 0.0
        self._losses: list[tuple[float, float]] = []
        self._val: list[tuple[int, float]] = []
        self._last_plot = 0.0

    def begin(self, what: str, budget_s: float) -> None:
        """A new run of ``what`` ("Training", "Auditing labels") within ``budget_s`` (0: none)."""
        self._what, self._budget_s, self._started_at = what, budget_s, time.monotonic()
        self._losses, self._val = [], []
        self.loss_curve.setData([], [])
        self.iou_curve.setData([], [])
        self.progress.setValue(0)
        self.status.setText("Starting…")

    def show_event(self, event: events.Event) -> None:
        if isinstance(event, events.Status):
            self.status.setText(event.message)
        elif isinstance(event, events.TrainProgress):
            self._progress(event)
        elif isinstance(event, events.Done):
            self.status.setText("Finished: the new version is listed below.")
            self.progress.setValue(self.progress.maximum())
            self.time_left.setText("")
        elif isinstance(event, events.AuditDone):
            self.progress.setValue(self.progress.maximum())  # a quick audit reports no epochs
            self.status.setText(
                f"Audit finished: {event.slides} slides scored out of sample in "
                f"{event.seconds:.0f} s. " + (event.caution or event.advice)
            )
            self.time_left.setText("")
        elif isinstance(event, events.RunCancelled):
            self.status.setText(
                "Cancelled: no new version was saved; the active model is unchanged."
            )
            self.time_left.setText("")
        elif isinstance(event, events.Failed):
            self.status.setText(f"Training failed: {event.message}")
            self.time_left.setText("")

    def _progress(self, p: events.TrainProgress) -> None:
        if p.message:
            self.status.setText(p.message.capitalize() + "…")
            return
        batches = max(1, p.batches)
        done = (p.epoch - 1) * batches + p.batch
        left = p.eta
        if self._budget_s:
            elapsed = time.monotonic() - self._started_at
            by_budget = max(0.0, self._budget_s - elapsed)
            left = by_budget if left is None else min(left, by_budget)
            self.progress.setMaximum(1000)
            share = min(1.0, elapsed / self._budget_s)
            self.progress.setValue(max(int(1000 * share), int(1000 * done / (p.epochs * batches))))
        else:
            self.progress.setMaximum(p.epochs * batches)
            self.progress.setValue(done)
        self.time_left.setText(duration(left))
        share = self.progress.value() / max(1, self.progress.maximum())
        self.progress_line.emit(f"{self._what} {share:.0%} · {duration(left)}")
        if p.loss is not None and not p.epoch_end:
            self._losses.append((p.epoch - 1 + p.batch / batches, p.loss))
        if p.epoch_end:
            if p.val_iou is not None:
                self._val.append((p.epoch, p.val_iou))
            self.status.setText(
                f"Epoch {p.epoch}/{p.epochs}: loss {fmt(p.loss)}, validation IoU {fmt(p.val_iou)}"
            )
        now = time.monotonic()
        if p.epoch_end or now - self._last_plot > PLOT_EVERY_S:
            self._last_plot = now
            if self._losses:
                xs, ys = zip(*self._losses)
                self.loss_curve.setData(list(xs), list(ys))
            if self._val:
                xs, ys = zip(*self._val)
                self.iou_curve.setData(list(xs), list(ys))

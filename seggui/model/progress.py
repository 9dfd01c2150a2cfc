"""What a running fit reports, and the Keras callback that reports it and honours a cancel."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras

from seggui.core.cancel import CancelToken
from seggui.core.train_events import TrainProgress


class ProgressAndCancel(keras.callbacks.Callback):
    """Reports every batch and stops the fit within one batch of a cancel.

    With a time budget it also ends the fit (normally: validated, scored, saved) at the first
    batch past the budget.
    """

    def __init__(
        self,
        report: Callable[[TrainProgress], None],
        cancel: CancelToken,
        epochs: int,
        batches: int,
        time_budget_s: float = 0.0,
    ):
        super().__init__()
        self.report, self.cancel = report, cancel
        self.time_budget_s = time_budget_s
        self.epochs, self.batches = epochs, batches
        self.start = time.monotonic()
        self.epoch = 0
        self.done_batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _eta(self) -> float | None:
        if self.done_batches == 0:
            return None
        per = (time.monotonic() - self.start) / self.done_batches
        return per * max(0, self.epochs * self.batches - self.done_batches)

    def on_train_batch_end(self, batch, logs=None):
        self.done_batches += 1
        over_budget = self.time_budget_s and time.monotonic() - self.start > self.time_budget_s
        if self.cancel.cancelled or over_budget:
            self.model.stop_training = True
        logs = logs or {}
        self.report(
            TrainProgress(
                self.epoch + 1,
                self.epochs,
                batch + 1,
                self.batches,
                float(logs.get("loss", math.nan)),
                elapsed=time.monotonic() - self.start,
                eta=self._eta(),
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.done_batches = max(self.done_batches, (epoch + 1) * self.batches)
        val = logs.get("val_iou")
        self.report(
            TrainProgress(
                epoch + 1,
                self.epochs,
                self.batches,
                self.batches,
                float(logs.get("loss", math.nan)),
                None if val is None else float(val),
                None if logs.get("val_loss") is None else float(logs["val_loss"]),
                time.monotonic() - self.start,
                self._eta(),
                epoch_end=True,
            )
        )
        if self.cancel.cancelled:
            self.model.stop_training = True

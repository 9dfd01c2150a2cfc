"""The learning rate over a run: a short linear warm-up, then a cosine decay to the end.

The end is the last planned step, or the time budget when that comes first, so a run cut by
its budget still ends on small steps instead of stopping at the peak rate.
"""

from __future__ import annotations

import math
import time

import keras


def warmup_cosine(progress: float, warmup: float, floor: float = 0.02) -> float:
    """The learning-rate factor at ``progress`` (0 to 1 of the run)."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return max(floor, progress / warmup)
    span = max(1e-9, 1.0 - warmup)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / span))


class WarmupCosine(keras.callbacks.Callback):
    """Sets the optimizer's learning rate before every batch."""

    def __init__(self, peak: float, total_steps: int, time_budget_s: float = 0.0, warmup=0.05):
        super().__init__()
        self.peak, self.total_steps = peak, max(1, total_steps)
        self.time_budget_s, self.warmup = time_budget_s, warmup
        self.step = 0
        self.start = time.monotonic()

    def progress(self) -> float:
        done = self.step / self.total_steps
        if self.time_budget_s:
            done = max(done, (time.monotonic() - self.start) / self.time_budget_s)
        return done

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(
            self.peak * warmup_cosine(self.progress(), self.warmup)
        )
        self.step += 1

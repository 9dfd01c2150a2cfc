"""Agreement between a predicted mask and its annotation: confusion matrix, IoU and Dice.

Means are taken over the classes present (in the annotation or the prediction), so a class
absent from a slide neither helps nor hurts its score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(N, N)`` int64 confusion matrix; rows are annotation, columns prediction.

    Counted with ``np.bincount`` over ``truth * N + pred``: the same matrix as scikit-learn's
    ``confusion_matrix`` (a test checks it) at a twelfth of the time on a 2048x2048 slide,
    which matters when a slide is re-scored after every edit.
    """
    if truth.shape != pred.shape:
        raise ValueError(f"annotation {truth.shape} and prediction {pred.shape} differ in shape")
    t = truth.ravel().astype(np.int64)
    p = pred.ravel()
    keep = (t < n_classes) & (p < n_classes)
    if not keep.all():
        t, p = t[keep], p[keep]
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


@dataclass
class Scores:
    """Per-class and mean IoU and Dice from one confusion matrix."""

    confusion: np.ndarray
    iou: np.ndarray
    dice: np.ndarray
    present: np.ndarray

    @property
    def miou(self) -> float:
        return float(np.mean(self.iou[self.present])) if self.present.any() else float("nan")

    @property
    def mean_dice(self) -> float:
        return float(np.mean(self.dice[self.present])) if self.present.any() else float("nan")

    @property
    def pixel_accuracy(self) -> float:
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else float("nan")

    @classmethod
    def from_confusion(cls, cm: np.ndarray) -> Scores:
        cm = np.asarray(cm, dtype=np.int64)
        tp = np.diag(cm).astype(np.float64)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        union = tp + fp + fn
        present = union > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(present, tp / union, np.nan)
            dice = np.where(present, 2 * tp / (2 * tp + fp + fn), np.nan)
        return cls(cm, iou, dice, present)

    @classmethod
    def compare(cls, truth: np.ndarray, pred: np.ndarray, n_classes: int) -> Scores:
        return cls.from_confusion(confusion(truth, pred, n_classes))


class ScoreAccumulator:
    """Sums confusion matrices over slides, so a set's scores need no pixels kept."""

    def __init__(self, n_classes: int):
        self.total = np.zeros((n_classes, n_classes), dtype=np.int64)
        self.per_slide: dict[str, Scores] = {}

    def add(self, name: str, truth: np.ndarray, pred: np.ndarray) -> Scores:
        scores = Scores.compare(truth, pred, self.total.shape[0])
        self.total += scores.confusion
        self.per_slide[name] = scores
        return scores

    def result(self) -> Scores:
        return Scores.from_confusion(self.total)

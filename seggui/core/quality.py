"""Where the annotation itself is likely wrong, and where the model is unsure.

Label quality of a slide is, for each class in its annotation, the mean probability the
model gives that class over the pixels annotated with it, averaged over those classes: low
when much of some class's annotation gets little probability from the model, and a small
class counts as much as the background. The soft-minimum of the same per-pixel scores (Lad &
Mueller 2023, "Estimating label quality and errors in semantic segmentation data via any
model"; the ``softmin`` method of cleanlab's ``cleanlab.segmentation.rank`` at temperature
0.1, whose numbers a test checks we match) is kept beside it. It ranked injected label
errors worse on real tissue (BENCHMARKS.md section 13): at temperature 0.1 the thousands of
boundary pixels every real slide has take nearly all its weight, so it hardly tells a clean
slide from a wrong one.

Uncertainty is the mean over pixels of ``1 - (p1 - p2)``, one minus the margin between the
two most likely classes. A label-issue pixel is one whose annotated class the model gives
less than :data:`ISSUE_PROBABILITY` while it predicts another class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TEMPERATURE = 0.1
ISSUE_PROBABILITY = 0.05


def softmin(scores: np.ndarray, temperature: float = TEMPERATURE) -> float:
    """``sum(s * exp(-s / T)) / sum(exp(-s / T))``: near the smallest scores, but a whole
    region of low scores weighs more than a single pixel."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0:
        return float("nan")
    weights = np.exp(-(s - s.min()) / temperature)  # shifted: exact, and never underflows
    return float(np.dot(s, weights) / weights.sum())


def annotated_probability(probs_u8: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per pixel, the probability (uint8, value / 255) the model gives the annotated class."""
    index = np.minimum(truth, probs_u8.shape[-1] - 1)[..., None].astype(np.intp)
    return np.take_along_axis(probs_u8, index, axis=-1)[..., 0]


@dataclass(frozen=True)
class SlideQuality:
    """A slide's label quality (low: annotation likely wrong), uncertainty and issue pixels,
    and the soft-minimum label score (Lad & Mueller, cleanlab)."""

    label_quality: float
    uncertainty: float
    issue_pixels: int
    out_of_sample: bool = False
    softmin: float = float("nan")

    def to_json(self) -> dict:
        return {
            "label_quality": _rounded(self.label_quality),
            "uncertainty": round(self.uncertainty, 6),
            "issue_pixels": int(self.issue_pixels),
            "out_of_sample": self.out_of_sample,
            "softmin": _rounded(self.softmin),
        }


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def class_balanced_mean(p_annotated_u8: np.ndarray, truth: np.ndarray) -> float:
    """The mean over the annotated classes of each class's mean annotated probability."""
    index = truth.ravel().astype(np.intp)
    pixels = np.bincount(index)
    sums = np.bincount(index, weights=p_annotated_u8.ravel().astype(np.float64))
    present = pixels > 0
    return float(np.mean(sums[present] / pixels[present]) / 255.0)


def issue_mask(p_annotated_u8: np.ndarray, labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pixels the model confidently puts in another class than the annotation."""
    return (labels != truth) & (p_annotated_u8 < round(ISSUE_PROBABILITY * 255))


def slide_quality(
    probs_u8: np.ndarray,
    labels: np.ndarray,
    margin: np.ndarray,
    truth: np.ndarray | None,
    out_of_sample: bool = False,
) -> SlideQuality:
    """The facts of one slide from its prediction and (when it has one) its annotation."""
    uncertainty = float(1.0 - np.mean(margin, dtype=np.float64))
    if truth is None or truth.shape != labels.shape:
        return SlideQuality(float("nan"), uncertainty, 0, out_of_sample)
    p = annotated_probability(probs_u8, truth)
    quality = class_balanced_mean(p, truth)
    issues = int(issue_mask(p, labels, truth).sum())
    low = softmin(p.astype(np.float32) / 255.0)
    return SlideQuality(quality, uncertainty, issues, out_of_sample, low)

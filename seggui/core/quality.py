"""Where the annotation itself is likely wrong, and where the model is unsure.

Label quality of a slide is the soft-minimum over its pixels of the probability the model
gives the annotated class (Lad & Mueller 2023, "Estimating label quality and errors in
semantic segmentation data via any model"; the ``softmin`` method of cleanlab's
``cleanlab.segmentation.rank`` at temperature 0.1, whose numbers a test checks we match):
a slide scores low when some region's annotation gets little probability from the model.

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
    """A slide's label quality (low: annotation likely wrong), uncertainty and issue pixels."""

    label_quality: float
    uncertainty: float
    issue_pixels: int
    out_of_sample: bool = False

    def to_json(self) -> dict:
        return {
            "label_quality": None
            if math.isnan(self.label_quality)
            else round(self.label_quality, 6),
            "uncertainty": round(self.uncertainty, 6),
            "issue_pixels": int(self.issue_pixels),
            "out_of_sample": self.out_of_sample,
        }


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
    quality = softmin(p.astype(np.float32) / 255.0)
    issues = int(issue_mask(p, labels, truth).sum())
    return SlideQuality(quality, uncertainty, issues, out_of_sample)

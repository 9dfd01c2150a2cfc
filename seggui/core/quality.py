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
#: An issue region: pixels whose annotated class gets less than this, after an opening of
#: this many iterations (thin slivers along boundaries, which every real mask has, go).
REGION_PROBABILITY = 0.2
REGION_OPENING = 2


def softmin(scores: np.ndarray, temperature: float = TEMPERATURE) -> float:
    """``sum(s * exp(-s / T)) / sum(exp(-s / T))``: near the smallest scores, but a whole
    region of low scores weighs more than a single pixel."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0:
        return float("nan")
    weights = np.exp(-(s - s.min()) / temperature)  # shifted: exact, and never underflows
    return float(np.dot(s, weights) / weights.sum())


def prediction_parts(
    probs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From float class probabilities (..., C): the labels (uint8), the top class's
    probability and its margin over the second (float32), and every probability in 8 bits."""
    top2 = -np.partition(-probs, 1, axis=-1)[..., :2] if probs.shape[-1] > 1 else None
    labels = probs.argmax(-1).astype(np.uint8)
    confidence = np.take_along_axis(probs, labels[..., None].astype(np.intp), -1)[..., 0]
    margin = confidence - top2[..., 1] if top2 is not None else confidence
    probs_u8 = np.clip(np.round(probs * 255.0), 0, 255).astype(np.uint8)
    return labels, confidence.astype(np.float32), margin.astype(np.float32), probs_u8


def annotated_probability(probs_u8: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per pixel, the probability (uint8, value / 255) the model gives the annotated class."""
    index = np.minimum(truth, probs_u8.shape[-1] - 1)[..., None].astype(np.intp)
    return np.take_along_axis(probs_u8, index, axis=-1)[..., 0]


@dataclass(frozen=True)
class SlideQuality:
    """A slide's label quality (low: annotation likely wrong), uncertainty and issue pixels,
    the soft-minimum label score (Lad & Mueller, cleanlab), and where the audit made it, the
    mIoU of its fold model's prediction against the annotation and how well the mask's
    boundaries sit on the image's edges (:func:`~seggui.core.edge_fit.edge_fit`) and the mIoU
    of a pixel forest's prediction (:mod:`seggui.core.pixel_forest`); after a quick audit,
    the forest's largest issue region (:func:`issue_region`)."""

    label_quality: float
    uncertainty: float
    issue_pixels: int
    out_of_sample: bool = False
    softmin: float = float("nan")
    miou: float = float("nan")
    edge_fit: float = float("nan")
    forest_miou: float = float("nan")
    issue_region: float = float("nan")

    def to_json(self) -> dict:
        out = {
            "label_quality": _rounded(self.label_quality),
            "uncertainty": round(self.uncertainty, 6),
            "issue_pixels": int(self.issue_pixels),
            "out_of_sample": self.out_of_sample,
            "softmin": _rounded(self.softmin),
        }
        if not math.isnan(self.miou):
            out["miou"] = round(self.miou, 6)
        if not math.isnan(self.edge_fit):
            out["edge_fit"] = round(self.edge_fit, 6)
        if not math.isnan(self.forest_miou):
            out["forest_miou"] = round(self.forest_miou, 6)
        if not math.isnan(self.issue_region):
            out["issue_region"] = round(self.issue_region, 6)
        return out


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def class_balanced_mean(p_annotated_u8: np.ndarray, truth: np.ndarray) -> float:
    """The mean over the annotated classes of each class's mean annotated probability."""
    index = truth.ravel().astype(np.intp)
    pixels = np.bincount(index)
    sums = np.bincount(index, weights=p_annotated_u8.ravel().astype(np.float64))
    present = pixels > 0
    return float(np.mean(sums[present] / pixels[present]) / 255.0)


def issue_region(p_annotated_u8: np.ndarray) -> float:
    """The share of the slide in its largest connected region whose annotated class the model
    gives less than :data:`REGION_PROBABILITY`, thin slivers opened away.

    A region erased or given another class is one compact blob of disagreement, where a
    sound mask disagrees in thin lines along its boundaries and in specks; the slide's mIoU
    averages the blob with everything else. Added to the Both column after a quick audit, it
    found broken masks better on GlaS copies (BENCHMARKS.md section 48).
    """
    from scipy import ndimage

    low = p_annotated_u8 < round(REGION_PROBABILITY * 255)
    low = ndimage.binary_opening(low, iterations=REGION_OPENING)
    regions, count = ndimage.label(low)
    if count == 0:
        return 0.0
    return float(np.bincount(regions.ravel())[1:].max() / low.size)


def issue_mask(p_annotated_u8: np.ndarray, labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pixels the model confidently puts in another class than the annotation."""
    return (labels != truth) & (p_annotated_u8 < round(ISSUE_PROBABILITY * 255))


class QualitySums:
    """A whole slide's label quality summed tile by tile: the same numbers as
    :func:`slide_quality` on the stitched slide (a test checks it), over annotated pixels
    only (truth at or above ``n_classes`` is unknown), without holding the slide."""

    def __init__(self, n_classes: int):
        self.n = n_classes
        self.sums = np.zeros(n_classes, np.float64)
        self.pixels = np.zeros(n_classes, np.int64)
        self.margin_sum = 0.0
        self.predicted = 0
        self.issues = 0
        self.soft_num = 0.0  # softmin without the shift: exp(-s / T) >= exp(-10) never underflows
        self.soft_den = 0.0

    def add(self, probs_u8, labels, margin, truth) -> float:
        """Take one tile; returns the tile's own class-balanced label quality (nan when
        nothing in it is annotated)."""
        self.margin_sum += float(np.sum(margin, dtype=np.float64))
        self.predicted += margin.size
        known = truth < self.n
        if not known.any():
            return float("nan")
        t = truth[known]
        p = annotated_probability(probs_u8, np.where(known, truth, 0))[known]
        index = t.astype(np.intp)
        pixels = np.bincount(index, minlength=self.n)
        sums = np.bincount(index, weights=p.astype(np.float64), minlength=self.n)
        self.pixels += pixels
        self.sums += sums
        self.issues += int(((labels[known] != t) & (p < round(ISSUE_PROBABILITY * 255))).sum())
        s = p.astype(np.float64) / 255.0
        w = np.exp(-s / TEMPERATURE)
        self.soft_num += float(np.dot(s, w))
        self.soft_den += float(w.sum())
        present = pixels > 0
        return float(np.mean(sums[present] / pixels[present]) / 255.0)

    def result(self, out_of_sample: bool = False) -> SlideQuality:
        uncertainty = 1.0 - self.margin_sum / self.predicted if self.predicted else float("nan")
        present = self.pixels > 0
        if not present.any():
            return SlideQuality(float("nan"), uncertainty, 0, out_of_sample)
        quality = float(np.mean(self.sums[present] / self.pixels[present]) / 255.0)
        low = self.soft_num / self.soft_den
        return SlideQuality(quality, uncertainty, self.issues, out_of_sample, low)


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

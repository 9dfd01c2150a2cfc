"""A second out-of-sample opinion on each mask, in seconds: an ilastik-style pixel classifier.

A random forest on each pixel's colour and texture at several scales (scikit-image's
multiscale basic features) learns the folder's classes from a few thousand pixels per slide
of the other folds, then predicts each held-out slide; the slide's score is that
prediction's mIoU against its annotation. It cannot tell Gleason patterns apart as a U-Net
can, but it needs no long training: on 2 cores it scores the 40 GlaS tiles in 17-30 s,
where the audit's U-Net fold models get 15 minutes, and on two GlaS copies with 6 broken
masks each it ranked them better than those fold models and than the in-sample mIoU
(BENCHMARKS.md section 44). Its settings were chosen on two other such copies first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from seggui.core.audit import skill
from seggui.core.imageio import SlideFileError
from seggui.core.metrics import Scores
from seggui.core.quality import (
    SlideQuality,
    annotated_probability,
    issue_region,
    prediction_parts,
    slide_quality,
)

#: Features are computed on the slide reduced by this factor (context for 1/4 of the cost).
DOWNSAMPLE = 2
#: A reduced slide larger than this (pixels) is reduced further, by powers of two.
MAX_PIXELS = 1_000_000
SIGMA_MAX = 16.0
TREES = 30
DEPTH = 12
MIN_LEAF = 5
#: Annotated pixels drawn from each learning slide, and at most over all of them.
PIXELS_PER_SLIDE = 2000
MAX_SAMPLES = 300_000

#: ``name -> (image, mask)``; raises :class:`SlideFileError` for a slide that cannot be read.
Reader = Callable[[str], tuple[np.ndarray, np.ndarray]]


class OutOfTime(Exception):
    """The forest's scores would not be ready by their deadline."""


@dataclass
class ForestScores:
    """Each scored slide's out-of-fold mIoU, label quality and largest issue region (from the
    forest's class probabilities, on the reduced slide; issue pixels counted at full size),
    and the pixels behind the forest's skill: ``(as annotated, of the most common annotated
    class, all annotated)``."""

    quality: dict[str, SlideQuality] = field(default_factory=dict)
    pixels: tuple[int, int, int] = (0, 0, 0)

    @property
    def miou(self) -> dict[str, float]:
        return {name: q.miou for name, q in self.quality.items()}

    @property
    def skill(self) -> float:
        """:func:`~seggui.core.audit.skill` of the forests over every pixel they scored."""
        return skill(*self.pixels)


def pixel_features(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Per pixel of the reduced slide, its colour, edge and texture features at several
    scales (H' x W' x F, float32), and the factor the slide was reduced by."""
    from skimage.feature import multiscale_basic_features

    factor = DOWNSAMPLE
    while (image.shape[0] // factor) * (image.shape[1] // factor) > MAX_PIXELS:
        factor *= 2
    rgb = np.asarray(image[::factor, ::factor, :3], dtype=np.float32) / 255.0
    features = multiscale_basic_features(rgb, channel_axis=-1, sigma_min=1, sigma_max=SIGMA_MAX)
    return features.astype(np.float32, copy=False), factor


def out_of_fold_miou(
    folds: list[tuple[list[str], list[str]]],
    read: Reader,
    n_classes: int,
    seed: int = 0,
    deadline: float | None = None,
    check: Callable[[], None] = lambda: None,
) -> ForestScores:
    """Per scored slide, the mIoU against its annotation of a forest that learned from its
    fold's learning slides only. ``folds``: ``(learning names, scored names)`` per fold; a
    slide that several folds score (the folds of several partitions) is scored by the mean
    of their forests' probabilities, a bag of forests none of which learned from it.

    Slides that cannot be read are left out. Raises :class:`OutOfTime` as soon as the work
    left, at the speed measured so far, would end after ``deadline`` (``time.monotonic()``);
    ``check`` is called between slides (to raise a cancel).
    """
    from sklearn.ensemble import RandomForestClassifier

    learning = sorted({n for learn, _ in folds for n in learn})
    scored = list(dict.fromkeys(n for _, names in folds for n in names))
    per_slide = max(100, min(PIXELS_PER_SLIDE, MAX_SAMPLES // max(1, len(learning))))
    rng = np.random.default_rng(seed)
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    started, done, work = time.monotonic(), 0, len(learning) + len(scored)

    def tick() -> None:
        nonlocal done
        check()
        done += 1
        if deadline is not None:
            now = time.monotonic()
            if now + (now - started) / done * (work - done) * 1.2 > deadline:
                raise OutOfTime(f"{work - done} of {work} slides left")

    for name in learning:
        try:
            image, mask = read(name)
        except SlideFileError:  # reported by the fold models' scoring, which reads it too
            tick()
            continue
        features, factor = pixel_features(image)
        labels = mask[::factor, ::factor][: features.shape[0], : features.shape[1]].ravel()
        annotated = np.flatnonzero(labels < n_classes)
        pick = rng.choice(annotated, min(per_slide, annotated.size), replace=False)
        samples[name] = (features.reshape(-1, features.shape[-1])[pick], labels[pick])
        tick()
    forests = []
    for learn, names in folds:
        parts = [samples[n] for n in learn if n in samples]
        if parts and names:
            forest = RandomForestClassifier(
                TREES, max_depth=DEPTH, min_samples_leaf=MIN_LEAF, n_jobs=-1, random_state=seed
            ).fit(np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))
            forests.append((forest, set(names)))
    out = ForestScores()
    confusion = np.zeros((n_classes, n_classes), np.int64)
    for name in scored:
        bag = [forest for forest, names in forests if name in names]
        if not bag:
            continue
        try:
            image, mask = read(name)
        except SlideFileError:
            tick()
            continue
        features, factor = pixel_features(image)
        h, w = features.shape[:2]
        probs = np.zeros((h * w, n_classes), np.float32)
        for forest in bag:
            probs[:, forest.classes_] += forest.predict_proba(features.reshape(h * w, -1))
        probs /= len(bag)
        labels, _, margin, probs_u8 = prediction_parts(probs.reshape(h, w, n_classes))
        truth = mask[::factor, ::factor][:h, :w]
        scores = Scores.compare(truth, labels.astype(np.int64), n_classes)
        quality = slide_quality(probs_u8, labels, margin, truth, out_of_sample=True)
        issues = quality.issue_pixels * factor * factor
        region = issue_region(annotated_probability(probs_u8, truth))
        out.quality[name] = replace(
            quality, miou=scores.miou, issue_pixels=issues, issue_region=region
        )
        confusion += scores.confusion
        tick()
    counts = confusion.sum(axis=1)
    out.pixels = (int(np.trace(confusion)), int(counts.max()), int(counts.sum()))
    return out

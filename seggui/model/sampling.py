"""Which crops an epoch takes: by area, and centred on classes so rare ones are learned.

Random crops see a class about as often as it covers the folder: a class on 1% of the
pixels of 7 slides in 100 is almost never in a batch, and the model learns to never predict
it. With a ``class_share`` s > 0, that share of each epoch's crops is centred on a pixel of
a class drawn uniformly from the classes present in the training masks (in a slide drawn
among those that have it), so every such class is in at least s / K of the crops (K classes
present), whatever its area. The rest are random crops, as many per slide as cover its area
``1 - s`` times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

RANDOM = -1  # a crop placed at random rather than on a class


@dataclass
class CropPlanner:
    """Plans each epoch's crops as visits: ``(slide index, centre class per crop)``.

    ``counts``: pixels of each class in each slide, shape (slides, classes). ``crops``: how
    many crops make one epoch of each slide. A visit holds at most ``per_visit`` crops, so a
    slide's crops spread over several batches.
    """

    counts: np.ndarray
    crops: np.ndarray
    class_share: float = 0.0
    seed: int = 0
    per_visit: int = 8

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, np.float64)
        self.crops = np.asarray(self.crops, np.int64)
        self.present = np.flatnonzero(self.counts.sum(axis=0) > 0)

    @property
    def crops_per_epoch(self) -> int:
        return int(self.crops.sum())

    def promised_share(self) -> float:
        """The least share of crops centred on each class present in the training masks."""
        if self.class_share <= 0 or len(self.present) == 0:
            return 0.0
        total = self.crops_per_epoch
        return (total - self._random_counts().sum()) / total / len(self.present)

    def _random_counts(self) -> np.ndarray:
        if self.class_share <= 0 or len(self.present) == 0:
            return self.crops.copy()
        return np.floor(self.crops * (1.0 - self.class_share)).astype(np.int64)

    def epoch(self, index: int) -> list[tuple[int, np.ndarray]]:
        """The visits of epoch ``index``, in a shuffled order (the same for the same seed)."""
        rng = np.random.default_rng([self.seed, index])
        centres: list[list[int]] = [[RANDOM] * int(n) for n in self._random_counts()]
        extra = self.crops_per_epoch - sum(len(c) for c in centres)
        if extra and len(self.present):
            for cls in rng.choice(self.present, size=extra):
                having = self.counts[:, cls]
                weights = np.sqrt(having)
                slide = rng.choice(len(having), p=weights / weights.sum())
                centres[slide].append(int(cls))
        visits = []
        for slide, wanted in enumerate(centres):
            wanted = rng.permutation(np.asarray(wanted, np.int32))
            for start in range(0, len(wanted), self.per_visit):
                visits.append((slide, wanted[start : start + self.per_visit]))
        order = rng.permutation(len(visits))
        return [visits[i] for i in order]

    def visits(self) -> Iterator[tuple[int, np.ndarray]]:
        """Every epoch's visits, one epoch after another, without end."""
        index = 0
        while True:
            yield from self.epoch(index)
            index += 1


def crop_origin(
    mask: np.ndarray,
    valid: np.ndarray,
    patch: int,
    centre: int,
    rng: np.random.Generator,
    pixels: dict[int, np.ndarray],
) -> tuple[int, int]:
    """Top-left corner of a ``patch`` crop: at random, or so that it holds a random pixel of
    class ``centre`` (anywhere in the crop). ``pixels`` caches each class's pixel indices."""
    h, w = mask.shape
    if centre != RANDOM:
        if centre not in pixels:
            pixels[centre] = np.flatnonzero((mask.ravel() == centre) & (valid.ravel() > 0))
        where = pixels[centre]
        if len(where):
            py, px = divmod(int(where[rng.integers(0, len(where))]), w)
            y = min(max(0, py - int(rng.integers(0, patch))), h - patch)
            x = min(max(0, px - int(rng.integers(0, patch))), w - patch)
            return y, x
    return int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))

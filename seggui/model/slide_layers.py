"""What the whole-slide views draw for one region at one zoom: the prediction's labels,
uncertainty and label issues, and its difference from the annotation, as uint8 layers.

Predictions are kept at the model's resolution in the tile store. A zoomed-out view would
need thousands of those tiles, so an overview of the class probabilities, one sample every
:attr:`ProbabilityOverview.step` model pixels, is kept beside them (in memory and in the
store, written atomically) and serves every zoom coarser than it. Layers are sampled at the
centres of the view's pixels (nearest), so a view pixel shows the class of the model pixel
under it, as the tile views do.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from seggui.core.annotations import UNKNOWN
from seggui.core.atomic import atomic_path
from seggui.core.overlay import CLEAR
from seggui.core.quality import annotated_probability, issue_mask
from seggui.model.slide_predict import SlidePlan, TileStore
from seggui.model.tiled import TileGrid

OVERVIEW_SIDE = 4096  # the overview's longest side, at most (4096^2 x 4 classes: 64 MB)
MIN_STEP = 8
STORE_TILES_KEPT = 48  # decoded store tiles kept for fine zooms (about 1 MB each)


class ProbabilityOverview:
    """The slide's predicted probabilities, one sample per ``step`` model pixels."""

    FILE = "overview.npz"

    def __init__(self, grid: TileGrid, n_classes: int):
        step = MIN_STEP
        while max(grid.width, grid.height) / step > OVERVIEW_SIDE and step < grid.tile:
            step *= 2
        self.step = step
        h, w = math.ceil(grid.height / step), math.ceil(grid.width / step)
        self.probs = np.zeros((h, w, n_classes), np.uint8)
        self.known = np.zeros((h, w), bool)
        self.tiles: set[tuple[int, int]] = set()

    def add(self, grid: TileGrid, col: int, row: int, probs: np.ndarray) -> None:
        """Take one predicted tile's samples (tiles start on multiples of the step)."""
        x, y, _, _ = grid.core(col, row)
        o = self.step // 2
        sub = probs[o :: self.step, o :: self.step]
        y0, x0 = y // self.step, x // self.step
        h, w = sub.shape[:2]
        self.probs[y0 : y0 + h, x0 : x0 + w] = sub
        self.known[y0 : y0 + h, x0 : x0 + w] = True
        self.tiles.add((col, row))

    def save(self, folder: Path) -> None:
        with atomic_path(Path(folder) / self.FILE) as tmp, open(tmp, "wb") as fh:
            tiles = np.array(sorted(self.tiles), np.int32).reshape(-1, 2)
            np.savez(fh, probs=self.probs, known=self.known, tiles=tiles, step=self.step)

    @classmethod
    def of_store(cls, store: TileStore, n_classes: int) -> ProbabilityOverview:
        """The store's overview as saved, brought up to date with tiles predicted since
        (a run that was interrupted before it saved)."""
        overview = cls(store.grid, n_classes)
        path = store.folder / cls.FILE
        if path.exists():
            try:
                with np.load(path) as data:
                    if (
                        int(data["step"]) == overview.step
                        and data["probs"].shape == overview.probs.shape
                    ):
                        overview.probs[:] = data["probs"]
                        overview.known[:] = data["known"]
                        overview.tiles = {(int(c), int(r)) for c, r in data["tiles"]}
            except (OSError, ValueError, KeyError):
                pass  # unreadable: made again from the tiles
        missing = [t for t in store.tiles() if t not in overview.tiles]
        for col, row in missing:
            overview.add(store.grid, col, row, store.get(col, row).probs)
        if missing:
            overview.save(store.folder)
        return overview


class SlideLayers:
    """The prediction of one slide by one model, sampled for any view region."""

    def __init__(self, plan: SlidePlan, store: TileStore, n_classes: int):
        self.plan = plan
        self.store = store
        self.n_classes = n_classes
        self.overview = ProbabilityOverview.of_store(store, n_classes)
        self._lock = threading.Lock()
        self._tiles: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def tile_predicted(self, col: int, row: int, probs: np.ndarray) -> None:
        """A tile was just predicted and stored: the overview takes it (saved by the caller)."""
        with self._lock:
            self.overview.add(self.plan.grid, col, row, probs)

    def _store_tile(self, col: int, row: int) -> np.ndarray | None:
        key = (col, row)
        with self._lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit
        if not self.store.has(col, row):
            return None
        probs = self.store.get(col, row).probs
        with self._lock:
            self._tiles[key] = probs
            while len(self._tiles) > STORE_TILES_KEPT:
                self._tiles.popitem(last=False)
        return probs

    def probs(self, box: tuple[float, float, float, float], width: int, height: int):
        """``(probs, known)``: uint8 ``(height, width, classes)`` probabilities at the centres
        of a ``width`` x ``height`` grid over ``box`` (level-0 pixels ``x0, y0, x1, y1``),
        and where a prediction exists."""
        x0, y0, x1, y1 = box
        f = self.plan.factor
        mx = (x0 + (np.arange(width) + 0.5) * (x1 - x0) / width) / f
        my = (y0 + (np.arange(height) + 0.5) * (y1 - y0) / height) / f
        grid = self.plan.grid
        out = np.zeros((height, width, self.n_classes), np.uint8)
        known = np.zeros((height, width), bool)
        inside_x = (mx >= 0) & (mx < grid.width)
        inside_y = (my >= 0) & (my < grid.height)
        per_pixel = (x1 - x0) / width / f  # model pixels per view pixel
        ov = self.overview
        if per_pixel >= ov.step / 2:
            ix = np.clip((mx // ov.step).astype(np.intp), 0, ov.known.shape[1] - 1)
            iy = np.clip((my // ov.step).astype(np.intp), 0, ov.known.shape[0] - 1)
            out[:] = ov.probs[iy][:, ix]
            known[:] = ov.known[iy][:, ix]
            known &= inside_y[:, None] & inside_x[None, :]
            return out, known
        px, py = mx.astype(np.int64), my.astype(np.int64)
        cols, rows = px // grid.tile, py // grid.tile
        for col in np.unique(cols[inside_x]):
            xs = np.flatnonzero((cols == col) & inside_x)
            for row in np.unique(rows[inside_y]):
                ys = np.flatnonzero((rows == row) & inside_y)
                probs = self._store_tile(int(col), int(row))
                if probs is None:
                    continue
                tx, ty, _, _ = grid.core(int(col), int(row))
                out[np.ix_(ys, xs)] = probs[np.ix_(py[ys] - ty, px[xs] - tx)]
                known[np.ix_(ys, xs)] = True
        return out, known


def label_layer(probs: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The predicted class, :data:`CLEAR` where nothing is predicted."""
    labels = np.argmax(probs, axis=-1).astype(np.uint8)
    labels[~known] = CLEAR
    return labels


def uncertainty_layer(probs: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``254 * (1 - margin)`` of the two likeliest classes; :data:`CLEAR` (255) where nothing
    is predicted, so a colour table can keep 255 transparent."""
    top2 = -np.partition(-probs.astype(np.int16), 1, axis=-1)[..., :2]
    margin = (top2[..., 0] - top2[..., 1]).astype(np.float32) / 255.0
    out = np.round(254.0 * (1.0 - np.clip(margin, 0.0, 1.0))).astype(np.uint8)
    out[~known] = CLEAR
    return out


def difference_layer(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1 where prediction and annotation differ, 0 where they agree, :data:`CLEAR` where one
    of them is missing (not predicted, or not annotated)."""
    out = (labels != truth).astype(np.uint8)
    out[(labels == CLEAR) | (truth == UNKNOWN)] = CLEAR
    return out


def issues_layer(probs: np.ndarray, labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1 on label-issue pixels (the model confidently puts them in another class than the
    annotation), 0 elsewhere on annotated, predicted pixels, :data:`CLEAR` off them."""
    out = issue_mask(annotated_probability(probs, truth), labels, truth).astype(np.uint8)
    out[(labels == CLEAR) | (truth == UNKNOWN)] = CLEAR
    return out

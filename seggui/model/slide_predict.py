"""Predicting and scoring a whole slide: tissue tiles only, at the model's resolution, cached.

The model works at the resolution it was trained at: its ``mpp`` in the metadata, or for a
model without one (every model trained on tiles so far) :data:`ASSUMED_MODEL_MPP`, the
resolution tile sets are usually cut at (20x). The slide is read at the pyramid level just
above that resolution and resampled to it. Tissue is found on the slide's lowest level and
glass tiles are skipped. Each predicted tile is written atomically into a tiled store in the
workspace, one file per tile and per model, so reopening is instant and an interrupted run
goes on where it stopped. Scores against the slide's GeoJSON are summed tile by tile (the
tiles' sum equals a recount of the stitched slide; a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core.atomic import atomic_write_bytes
from seggui.core.cancel import CancelToken
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError
from seggui.core.metrics import Scores, confusion
from seggui.core.slides import Problem, WholeSlideFile
from seggui.core.tissue import tiles_with_tissue, tissue_mask
from seggui.core.wsi import WholeSlide
from seggui.model.predict import Prediction, Predictor
from seggui.model.tiled import TileGrid, predict_tiles, tile_grid

ASSUMED_MODEL_MPP = 0.5  # microns per pixel of a model whose metadata does not say
TILE = 512


@dataclass
class SlidePlan:
    """How a slide is predicted: model pixels are ``factor`` level-0 pixels."""

    slide: WholeSlide
    factor: float
    grid: TileGrid
    tissue: list[tuple[int, int]]

    @property
    def skipped_share(self) -> float:
        total = self.grid.columns * self.grid.rows
        return 1.0 - len(self.tissue) / total if total else 0.0


def plan_slide(
    slide: WholeSlide,
    depth: int,
    model_mpp: float | None = None,
    tile: int = TILE,
    downsample: int = 1,
) -> SlidePlan:
    """Model pixels, tiles and tissue of a slide; ``downsample``: the model's working
    resolution (a model trained at 1/2 reads the slide at twice the microns per pixel)."""
    factor = (model_mpp or ASSUMED_MODEL_MPP) * downsample / slide.mpp
    width0, height0 = slide.dimensions
    width, height = max(1, round(width0 / factor)), max(1, round(height0 / factor))
    grid = tile_grid(width, height, depth, tile)
    low = len(slide.levels) - 1
    thumb = slide.read_region(low, 0, 0, slide.levels[low].width, slide.levels[low].height)
    scale = slide.levels[low].downsample / factor  # model pixels per low-level pixel
    tissue = tiles_with_tissue(tissue_mask(thumb), scale, grid.tile, grid.columns, grid.rows)
    return SlidePlan(slide, factor, grid, tissue)


def slide_reader(slide: WholeSlide, factor: float) -> Callable[[int, int, int, int], np.ndarray]:
    """``read(x, y, w, h)`` in model pixels: float RGB in [0, 1], from the level just above
    the model's resolution, resampled to it when the level is not exactly it."""
    level = slide.best_level(factor)
    ratio = factor / slide.levels[level].downsample  # level pixels per model pixel

    def read(x: int, y: int, w: int, h: int) -> np.ndarray:
        if abs(ratio - 1.0) < 1e-6:
            region = slide.read_region(level, x, y, w, h)
        else:
            lx, ly = int(np.floor(x * ratio)), int(np.floor(y * ratio))
            lw = int(np.ceil((x + w) * ratio)) - lx
            lh = int(np.ceil((y + h) * ratio)) - ly
            raw = Image.fromarray(slide.read_region(level, lx, ly, lw, lh))
            box = (x * ratio - lx, y * ratio - ly, (x + w) * ratio - lx, (y + h) * ratio - ly)
            region = np.asarray(raw.resize((w, h), Image.BILINEAR, box=box))
        return region.astype(np.float32) / 255.0

    return read


class TileStore:
    """Predicted tiles of one slide by one model, a file each, written atomically."""

    def __init__(self, folder: Path, grid: TileGrid):
        self.folder = Path(folder)
        self.grid = grid
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "grid.json"
        wanted = {"width": grid.width, "height": grid.height, "tile": grid.tile}
        try:
            same = json.loads(info.read_text()) == wanted
        except (OSError, ValueError):
            same = False
        if not same:
            for old in self.folder.glob("*.npz"):  # tiles and their overview
                old.unlink(missing_ok=True)  # another grid: nothing here fits
            atomic_write_bytes(info, json.dumps(wanted).encode())

    def _path(self, col: int, row: int) -> Path:
        return self.folder / f"{col}_{row}.npz"

    def has(self, col: int, row: int) -> bool:
        return self._path(col, row).exists()

    def tiles(self) -> list[tuple[int, int]]:
        """The tiles stored so far."""
        out = []
        for path in self.folder.glob("*_*.npz"):
            col, _, row = path.stem.partition("_")
            if col.isdigit() and row.isdigit():
                out.append((int(col), int(row)))
        return sorted(out)

    def put(self, col: int, row: int, pred: Prediction) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:  # the 8-bit probabilities hold the rest
                np.savez_compressed(fh, labels=pred.labels, probs=pred.probs)
            os.replace(tmp, self._path(col, row))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, col: int, row: int) -> Prediction:
        with np.load(self._path(col, row)) as data:
            probs = data["probs"]
            labels = data["labels"]
        top2 = -np.partition(-probs, 1, axis=-1)[..., :2].astype(np.float32) / 255.0
        conf = np.take_along_axis(probs, labels[..., None].astype(np.intp), -1)[..., 0] / 255.0
        return Prediction(labels, conf.astype(np.float32), top2[..., 0] - top2[..., 1], probs)


def predict_slide(
    predictor: Predictor,
    plan: SlidePlan,
    store: TileStore,
    tiles: Iterable[tuple[int, int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
    stored: Callable[[int, int, Prediction], None] | None = None,
) -> int:
    """Predict the plan's tissue tiles (or ``tiles``) not yet in ``store``; returns how many
    were predicted now (the rest were cached). ``stored(col, row, prediction)`` hears of each
    tile once it is in the store."""
    wanted = [t for t in (plan.tissue if tiles is None else tiles) if not store.has(*t)]
    read = slide_reader(plan.slide, plan.factor)
    done = 0
    for (col, row), pred in predict_tiles(predictor, read, plan.grid, wanted, cancel):
        store.put(col, row, pred)
        if stored is not None:
            stored(col, row, pred)
        done += 1
        if progress is not None:
            progress(done, len(wanted))
    return done


def slide_confusion(plan: SlidePlan, store: TileStore, annotations, n_classes: int) -> np.ndarray:
    """The slide's confusion matrix over its annotated pixels, summed tile by tile (tiles
    not predicted, glass, count as not predicted: their annotated pixels are not scored)."""
    total = np.zeros((n_classes, n_classes), np.int64)
    for col, row in plan.tissue:
        if not store.has(col, row):
            continue
        x, y, w, h = plan.grid.core(col, row)
        truth = annotations.rasterise(x, y, w, h, plan.factor)
        total += confusion(truth, store.get(col, row).labels, n_classes)
    return total


def store_for(workspace: Path, model_key: str, path: Path, grid: TileGrid) -> TileStore:
    """Where a slide's predicted tiles by one model are kept in the workspace (a changed
    slide file gets a store of its own)."""
    st = Path(path).stat()
    stamp = hashlib.sha256(f"{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:10]
    return TileStore(Path(workspace) / "wsi" / model_key / f"{Path(path).stem}-{stamp}", grid)


def score_whole_slides(
    predictor: Predictor,
    model_key: str,
    entries: list[WholeSlideFile],
    classes: ClassSet,
    workspace: Path,
    depth: int,
    model_mpp: float | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: CancelToken | None = None,
) -> tuple[dict[str, Scores], list[Problem]]:
    """Predict (or take from the cache) each whole slide's tissue and score it against its
    GeoJSON; slides that cannot be scored come back as problems with the reason."""
    from seggui.core.annotations import load_annotation_for
    from seggui.core.wsi import open_slide

    scores: dict[str, Scores] = {}
    problems: list[Problem] = []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress(i, len(entries), entry.name)
        try:
            slide = open_slide(entry.path, entry.mpp)
            if entry.annotation is None:
                slide.close()
                problems.append(Problem(entry.name, f"no annotation ({entry.name}.geojson)"))
                continue
            if not slide.mpp_known:
                problems.append(
                    Problem(
                        entry.name,
                        f"the file does not say its resolution: {slide.mpp} um per pixel assumed",
                    )
                )
            try:
                annotations = load_annotation_for(entry.annotation, classes, slide.dimensions)
                plan = plan_slide(slide, depth, model_mpp, downsample=predictor.downsample)
                store = store_for(workspace, model_key, entry.path, plan.grid)
                predict_slide(predictor, plan, store, cancel=cancel)
                total = slide_confusion(plan, store, annotations, len(classes))
            finally:
                slide.close()
        except SlideFileError as exc:
            problems.append(Problem(entry.name, str(exc)))
            continue
        problems += [Problem(entry.name, text) for text in annotations.problems]
        if total.sum() == 0:
            problems.append(Problem(entry.name, "no annotated tissue to score"))
            continue
        scores[entry.name] = Scores.from_confusion(total)
    if progress is not None:
        progress(len(entries), len(entries), "")
    return scores, problems


@dataclass
class WholeSlideQuality:
    """A whole slide's label quality, and its regions (model tiles, level-0 boxes) with the
    lowest label quality first."""

    name: str
    quality: object  # SlideQuality
    worst_regions: list[tuple[float, tuple[float, float, float, float]]]


def whole_slide_quality(
    predictor: Predictor,
    model_key: str,
    entries: list[WholeSlideFile],
    classes: ClassSet,
    workspace: Path,
    depth: int,
    regions: int = 5,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: CancelToken | None = None,
) -> tuple[list[WholeSlideQuality], list[Problem]]:
    """Label quality of each annotated whole slide under ``predictor``, summed tile by tile
    over its tissue (predicted now or taken from the store)."""
    from seggui.core.annotations import load_annotation_for
    from seggui.core.quality import QualitySums
    from seggui.core.wsi import open_slide

    out: list[WholeSlideQuality] = []
    problems: list[Problem] = []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress(i, len(entries), entry.name)
        if entry.annotation is None:
            problems.append(Problem(entry.name, f"no annotation ({entry.name}.geojson)"))
            continue
        try:
            slide = open_slide(entry.path, entry.mpp)
            try:
                annotations = load_annotation_for(entry.annotation, classes, slide.dimensions)
                plan = plan_slide(slide, depth, downsample=predictor.downsample)
                store = store_for(workspace, model_key, entry.path, plan.grid)
                predict_slide(predictor, plan, store, cancel=cancel)
            finally:
                slide.close()
        except SlideFileError as exc:
            problems.append(Problem(entry.name, str(exc)))
            continue
        sums = QualitySums(len(classes))
        per_tile = []
        for col, row in plan.tissue:
            x, y, w, h = plan.grid.core(col, row)
            pred = store.get(col, row)
            truth = annotations.rasterise(x, y, w, h, plan.factor)
            q = sums.add(pred.probs, pred.labels, pred.margin, truth)
            if not math.isnan(q):  # annotated somewhere in the tile
                f = plan.factor
                per_tile.append((q, (x * f, y * f, (x + w) * f, (y + h) * f)))
        per_tile.sort(key=lambda item: item[0])
        out.append(WholeSlideQuality(entry.name, sums.result(True), per_tile[:regions]))
    if progress is not None:
        progress(len(entries), len(entries), "")
    return out, problems

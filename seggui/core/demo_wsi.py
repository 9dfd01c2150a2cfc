"""A large synthetic whole slide for trying the viewer and measuring it at scale.

An elliptical piece of tissue made of the demo's synthetic tiles (a pool of them, flipped
and turned) on glass, written as a pyramidal tiled JPEG TIFF (levels 1, 4, 16, 64) one tile
at a time, so a 40,960 x 40,960 slide never exists in memory whole; a few regions of it are
annotated, as a pathologist would, in a QuPath GeoJSON beside it (the rest is unknown).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core.atomic import atomic_path, atomic_write_text
from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import CLASSES_FILE
from seggui.core.demo import DEMO_CLASSES, TILE, make_tile

POOL = 48  # distinct demo tiles; the slide repeats them, flipped and turned
DOWNSAMPLES = (1, 4, 16, 64)
GLASS = (242, 240, 245)
ANNOTATED_BLOCKS = 6  # regions of 3 x 3 tiles annotated in the GeoJSON
NAME = "demo-wsi"


def _layout(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per tile of the slide, the pool tile (with its turn in the low bits) or -1: glass."""
    r, c = np.mgrid[0:n, 0:n]
    edge = 1.0 + 0.12 * np.sin(np.arctan2(r - n / 2, c - n / 2) * 5)
    inside = ((c - n / 2) / (0.42 * n)) ** 2 + ((r - n / 2) / (0.34 * n)) ** 2 < edge
    inside &= rng.random((n, n)) > 0.04  # a few holes: fat, tears
    choice = rng.integers(0, POOL * 8, (n, n))
    return np.where(inside, choice, -1)


def _turn(array: np.ndarray, code: int) -> np.ndarray:
    out = np.rot90(array, code % 4)
    return out[:, ::-1] if code & 4 else out


def _pool(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images, masks = [], []
    for i in range(POOL):
        rgba, mask = make_tile(seed, i)
        images.append(np.ascontiguousarray(rgba[..., :3]))
        masks.append(mask)
    return images, masks


def _level_tiles(layout: np.ndarray, pool: list[np.ndarray], d: int) -> Iterator[np.ndarray]:
    """The level's :data:`TILE`-pixel tiles in row order; each slide tile is ``TILE // d``."""
    n = layout.shape[0]
    part = TILE // d
    reduced = {
        code: np.asarray(Image.fromarray(_turn(pool[code // 8], code % 8)).reduce(d))
        for code in np.unique(layout[layout >= 0])
    }
    glass = np.empty((part, part, 3), np.uint8)
    glass[:] = GLASS
    side = n * part
    tiles = -(-side // TILE)
    per = TILE // part  # slide tiles per level tile, per side
    for tr in range(tiles):
        for tc in range(tiles):
            out = np.empty((TILE, TILE, 3), np.uint8)
            out[:] = GLASS
            for j in range(per):
                for i in range(per):
                    r, c = tr * per + j, tc * per + i
                    if r < n and c < n:
                        code = layout[r, c]
                        out[j * part : (j + 1) * part, i * part : (i + 1) * part] = (
                            reduced[code] if code >= 0 else glass
                        )
            yield out


def _shifted(features: list[dict], dx: int, dy: int) -> list[dict]:
    for f in features:
        f["geometry"]["coordinates"] = [
            [[x + dx, y + dy] for x, y in ring] for ring in f["geometry"]["coordinates"]
        ]
    return features


def write_demo_wsi(
    out: str | Path,
    size: int = 40960,
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``out/demo-wsi.tiff`` (``size`` pixels a side, rounded to tiles, 0.5 µm/px),
    ``out/demo-wsi.geojson`` and the demo's ``classes.json``; returns the slide's path."""
    import tifffile

    from seggui.core.export import mask_features

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = max(size // TILE, 4)
    rng = np.random.default_rng(seed)
    layout = _layout(n, rng)
    images, masks = _pool(seed)
    side = n * TILE
    path = out / f"{NAME}.tiff"
    description = (
        f"Aperio Image Library seggui demo\n{side}x{side} ({TILE}x{TILE}) JPEG/RGB|MPP = 0.5"
    )
    with atomic_path(path) as tmp, tifffile.TiffWriter(tmp, bigtiff=True) as tw:
        for k, d in enumerate(DOWNSAMPLES):
            if cancel is not None:
                cancel.raise_if_cancelled()
            level_side = side // d
            if k and level_side < TILE:
                break
            extra = (
                {
                    "description": description,
                    "resolution": (2e4, 2e4),
                    "resolutionunit": "CENTIMETER",
                }
                if k == 0
                else {"subfiletype": 1}
            )
            tw.write(
                _level_tiles(layout, images, d),
                shape=(level_side, level_side, 3),
                dtype=np.uint8,
                tile=(TILE, TILE),
                compression="jpeg",
                compressionargs={"level": 85},
                photometric="rgb",
                **extra,
            )
            progress(k + 1, len(DOWNSAMPLES) + 1, f"level {k} ({level_side} px)")
    features = []
    tissue = np.argwhere(layout[1:-2, 1:-2] >= 0) + 1
    for r, c in tissue[rng.choice(len(tissue), min(ANNOTATED_BLOCKS, len(tissue)), False)]:
        block = np.full((3 * TILE, 3 * TILE), 0, np.uint8)
        for j in range(3):
            for i in range(3):
                code = layout[r + j, c + i]
                if code >= 0:
                    block[j * TILE : (j + 1) * TILE, i * TILE : (i + 1) * TILE] = _turn(
                        masks[code // 8], code % 8
                    )
        found = mask_features(block, DEMO_CLASSES, include_background=True)["features"]
        features += _shifted(found, int(c) * TILE, int(r) * TILE)
    atomic_write_text(
        out / f"{NAME}.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    atomic_write_text(out / CLASSES_FILE, json.dumps(DEMO_CLASSES.to_json(), indent=1))
    progress(len(DOWNSAMPLES) + 1, len(DOWNSAMPLES) + 1, "annotation")
    return path

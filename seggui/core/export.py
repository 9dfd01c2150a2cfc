"""Masks out to the tools pathologists already use: QuPath GeoJSON and palette PNGs.

Each class region becomes a GeoJSON Polygon traced on pixel edges by rasterio (holes kept,
coordinates in full-resolution pixels), so rasterising the polygons gives the mask back
exactly. The background class is left out unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from seggui.core.atomic import atomic_write_text
from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_mask, write_mask
from seggui.core.slides import Problem, Slide


def class_regions(labels: np.ndarray, value: int) -> Iterator[dict]:
    """GeoJSON Polygons of the 4-connected regions of ``value`` (holes kept)."""
    from rasterio import features  # imported here: only exports need it

    where = labels == value
    if not where.any():
        return
    binary = where.astype(np.uint8)
    for geometry, _ in features.shapes(binary, mask=where, connectivity=4):
        yield {
            "type": "Polygon",
            "coordinates": [
                [[float(x), float(y)] for x, y in ring] for ring in geometry["coordinates"]
            ],
        }


def mask_features(labels: np.ndarray, classes: ClassSet, include_background: bool = False) -> dict:
    """A QuPath-compatible FeatureCollection: one annotation per class region."""
    skip = None if include_background else classes.background
    features = []
    for value, info in enumerate(classes):
        if value == skip:
            continue
        for polygon in class_regions(labels, value):
            features.append(
                {
                    "type": "Feature",
                    "geometry": polygon,
                    "properties": {
                        "objectType": "annotation",
                        "classification": {"name": info.name, "color": list(info.color)},
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(
    path: str | Path, labels: np.ndarray, classes: ClassSet, include_background: bool = False
) -> int:
    """Write one slide's regions to ``path`` atomically; returns the number of features."""
    data = mask_features(labels, classes, include_background)
    atomic_write_text(path, json.dumps(data, separators=(",", ":")))
    return len(data["features"])


def export_slides(
    slides: list[Slide],
    classes: ClassSet,
    geojson_dir: str | Path | None = None,
    masks_dir: str | Path | None = None,
    include_background: bool = False,
    labels_of: Callable[[Slide], np.ndarray] | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[int, list[Problem]]:
    """Write each slide's mask (``labels_of``, by default its annotation, corrected where
    it was) as GeoJSON and/or a palette PNG; returns how many were written and the problems."""
    if labels_of is None:

        def labels_of(slide: Slide) -> np.ndarray:
            return read_mask(slide.mask_path, classes)

    done, problems = 0, []
    for i, slide in enumerate(slides):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            labels = labels_of(slide)
        except SlideFileError as exc:
            problems.append(Problem(slide.name, str(exc)))
            continue
        if geojson_dir is not None:
            write_geojson(
                Path(geojson_dir) / f"{slide.name}.geojson", labels, classes, include_background
            )
        if masks_dir is not None:
            write_mask(Path(masks_dir) / f"{slide.name}.png", labels, classes)
        done += 1
        progress(i + 1, len(slides), f"exported {slide.name}")
    return done, problems

"""QuPath GeoJSON annotations in: polygons with classes, rasterised a region at a time.

A whole slide's annotation is the GeoJSON that QuPath exports beside it: a FeatureCollection,
a plain array of Features, or one Feature; Polygon and MultiPolygon geometries with holes,
``properties.classification`` with a ``name`` and a ``color`` (or QuPath 0.2's
``colorRGB``). Classes are matched by name; an object without a class, of a class the folder
does not have, or with a broken geometry is reported and left out, never guessed. Pixels no
annotation covers are :data:`UNKNOWN`: neither scored nor trained on, as in QuPath.

Nothing is drawn for the whole slide at once: :meth:`SlideAnnotations.rasterise` draws the
polygons that meet one region, at one level, at pixel centres (rasterio, as GDAL does).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError

UNKNOWN = 255  # not annotated: ignored by scores (classes are < 255) and by training


@dataclass(frozen=True)
class Region:
    """One annotated object: its class and its geometry in level-0 pixels."""

    value: int
    geometry: dict  # GeoJSON Polygon or MultiPolygon
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass
class SlideAnnotations:
    """A slide's annotated objects, and what was left out and why."""

    regions: list[Region] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def rasterise(self, x: int, y: int, width: int, height: int, downsample: float = 1.0):
        """``(height, width)`` uint8 class indices of the region at ``(x, y)`` in the pixels
        of a level ``downsample`` times smaller than level 0; :data:`UNKNOWN` where nothing
        is annotated. Later objects are drawn over earlier ones (QuPath's order)."""
        from rasterio import features
        from rasterio.transform import Affine

        out = np.full((height, width), UNKNOWN, np.uint8)
        x0, y0 = x * downsample, y * downsample
        x1, y1 = (x + width) * downsample, (y + height) * downsample
        shapes = [
            (r.geometry, r.value)
            for r in self.regions
            if r.bbox[0] < x1 and r.bbox[2] > x0 and r.bbox[1] < y1 and r.bbox[3] > y0
        ]
        if not shapes:
            return out
        transform = Affine(downsample, 0.0, x0, 0.0, downsample, y0)
        return features.rasterize(
            shapes, out_shape=(height, width), fill=UNKNOWN, transform=transform, dtype=np.uint8
        )


def read_features(path: str | Path) -> list[dict]:
    """The Features of a GeoJSON file in any of QuPath's layouts."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SlideFileError(path, f"not readable GeoJSON ({exc})") from exc
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        data = data.get("features")
    elif isinstance(data, dict) and data.get("type") == "Feature":
        data = [data]
    if not isinstance(data, list):
        raise SlideFileError(path, "GeoJSON is neither a FeatureCollection nor Features")
    return [f for f in data if isinstance(f, dict)]


def classification(feature: dict) -> tuple[str, tuple[int, int, int] | None] | None:
    """``(name, colour)`` of a QuPath object's class, or None when it has none."""
    props = feature.get("properties") or {}
    cls = props.get("classification")
    if isinstance(cls, str):
        return cls, None
    if not isinstance(cls, dict) or not cls.get("name"):
        return None
    color = cls.get("color")
    if isinstance(color, list) and len(color) >= 3:
        return str(cls["name"]), tuple(int(c) for c in color[:3])
    if isinstance(cls.get("colorRGB"), int):  # QuPath 0.2: packed ARGB
        v = cls["colorRGB"] & 0xFFFFFF
        return str(cls["name"]), ((v >> 16) & 255, (v >> 8) & 255, v & 255)
    return str(cls["name"]), None


def class_names(paths: list[Path]) -> list[tuple[str, tuple[int, int, int] | None]]:
    """The classes named in some GeoJSON files, in the order first seen, with a colour."""
    seen: dict[str, tuple[str, tuple[int, int, int] | None]] = {}  # by name, any case
    for path in paths:
        try:
            feats = read_features(path)
        except SlideFileError:
            continue
        for f in feats:
            found = classification(f)
            if found is None:
                continue
            key = found[0].lower()
            if key not in seen or seen[key][1] is None:
                seen[key] = (seen[key][0] if key in seen else found[0], found[1])
    return list(seen.values())


def _bbox(geometry: dict) -> tuple[float, float, float, float]:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    xs, ys = [], []
    for polygon in polygons:
        if not polygon or len(polygon[0]) < 4:
            raise ValueError("a ring needs at least 4 points")
        for ring in polygon:
            for point in ring:
                px, py = float(point[0]), float(point[1])
                if not (math.isfinite(px) and math.isfinite(py)):
                    raise ValueError("a coordinate is not a finite number")
                xs.append(px)
                ys.append(py)
    return min(xs), min(ys), max(xs), max(ys)


def load_annotation_for(path: str | Path, classes: ClassSet, slide_size: tuple[int, int]):
    """A whole slide's annotation: QuPath GeoJSON, or a label image
    (:mod:`seggui.core.label_image`) sized against the slide's ``(width, height)``."""
    from seggui.core.label_image import LabelImageAnnotations, is_label_image

    if is_label_image(Path(path)):
        return LabelImageAnnotations(Path(path), len(classes), slide_size)
    return load_annotations(path, classes)


def load_annotations(path: str | Path, classes: ClassSet) -> SlideAnnotations:
    """A slide's annotations from QuPath GeoJSON, matched to ``classes`` by name."""
    index = {c.name.lower(): i for i, c in enumerate(classes)}
    out = SlideAnnotations()
    unclassified = unknown = broken = 0
    names: set[str] = set()
    for feature in read_features(path):
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            if kind is not None:
                broken += 1
            continue
        found = classification(feature)
        if found is None:
            unclassified += 1
            continue
        value = index.get(found[0].lower())
        if value is None:
            unknown += 1
            names.add(found[0])
            continue
        try:
            bbox = _bbox(geometry)
        except (KeyError, TypeError, ValueError, IndexError):
            broken += 1
            continue
        out.regions.append(Region(value, geometry, bbox))
    if unclassified:
        out.problems.append(f"{unclassified} objects without a class left out")
    if unknown:
        out.problems.append(
            f"{unknown} objects of classes the folder does not have ({', '.join(sorted(names))}) "
            "left out"
        )
    if broken:
        out.problems.append(f"{broken} objects with a broken or non-area geometry left out")
    return out

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
    geometry: dict  # GeoJSON Polygon or MultiPolygon (lists: rasterio reads them 2x faster)
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1


OVERVIEW_SIDE = 4096


def plain(geometry: dict) -> dict:
    """The geometry with lists for coordinates (for JSON)."""

    def lists(part):
        if isinstance(part, np.ndarray):
            return part.tolist()
        return [lists(p) for p in part] if isinstance(part, list | tuple) else part

    return {"type": geometry["type"], "coordinates": lists(geometry["coordinates"])}


@dataclass
class SlideAnnotations:
    """A slide's annotated objects, and what was left out and why."""

    regions: list[Region] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The whole slide rasterised once at 1/overview_step, for zoomed-out views: rasterio
    # holds Python's lock while it draws, and a whole-slide tile of thousands of polygons
    # takes most of a second; the overview is drawn in the process that parses the file.
    overview: np.ndarray | None = None
    overview_step: int = 0
    _boxes: np.ndarray | None = field(default=None, repr=False)  # the regions' bboxes, for lookups

    def object_count(self) -> int:
        return len(self.regions)

    def _from_overview(self, x, y, width, height, downsample) -> np.ndarray:
        return _sample(self.overview, self.overview_step, x, y, width, height, downsample)

    def add_overview(self, width: int, height: int) -> None:
        """Rasterise the whole ``width`` x ``height`` slide at a coarse step (at most
        :data:`OVERVIEW_SIDE` pixels a side, a step of at least 8)."""
        step = 8
        while max(width, height) / step > OVERVIEW_SIDE:
            step *= 2
        self.overview = self.rasterise(
            0, 0, math.ceil(width / step), math.ceil(height / step), step
        )
        self.overview_step = step

    def pack(self) -> dict:
        """The regions as a few flat arrays: cheap to send between processes (a list of
        millions of floats costs as much to unpickle as the GeoJSON did to parse)."""
        coords, rings, polys, regions, multi = [], [0], [0], [0], []
        for r in self.regions:
            polygons = r.geometry["coordinates"]
            is_multi = r.geometry["type"] == "MultiPolygon"
            for polygon in polygons if is_multi else [polygons]:
                for ring in polygon:
                    ring = np.asarray(ring, np.float64)[:, :2]
                    coords.append(ring)
                    rings.append(rings[-1] + len(ring))
                polys.append(len(rings) - 1)
            regions.append(len(polys) - 1)
            multi.append(is_multi)
        return {
            "coords": np.concatenate(coords) if coords else np.zeros((0, 2)),
            "rings": np.array(rings, np.int64),
            "polys": np.array(polys, np.int64),
            "regions": np.array(regions, np.int64),
            "multi": np.array(multi, bool),
            "values": np.array([r.value for r in self.regions], np.int64),
            "bboxes": np.array([r.bbox for r in self.regions], np.float64).reshape(-1, 4),
            "problems": list(self.problems),
            "overview": self.overview if self.overview is not None else np.zeros((0, 0), np.uint8),
            "overview_step": np.int64(self.overview_step),
        }

    @classmethod
    def unpack(cls, packed: dict) -> SlideAnnotations:
        rings, polys = packed["rings"], packed["polys"]
        coords = packed["coords"].tolist()  # one call; rasterio reads lists faster than arrays
        regions, out = packed["regions"], cls(problems=list(packed["problems"]))
        for k, value in enumerate(packed["values"]):
            polygons = [
                [coords[rings[i] : rings[i + 1]] for i in range(polys[j], polys[j + 1])]
                for j in range(regions[k], regions[k + 1])
            ]
            multi = bool(packed["multi"][k])
            geometry = {
                "type": "MultiPolygon" if multi else "Polygon",
                "coordinates": polygons if multi else polygons[0],
            }
            out.regions.append(Region(int(value), geometry, tuple(packed["bboxes"][k])))
        if packed.get("overview") is not None and packed["overview"].size:
            out.overview = packed["overview"]
            out.overview_step = int(packed["overview_step"])
        return out

    def rasterise(self, x: int, y: int, width: int, height: int, downsample: float = 1.0):
        """``(height, width)`` uint8 class indices of the region at ``(x, y)`` in the pixels
        of a level ``downsample`` times smaller than level 0; :data:`UNKNOWN` where nothing
        is annotated. Later objects are drawn over earlier ones (QuPath's order)."""
        if self.overview is not None and downsample >= self.overview_step:
            return self._from_overview(x, y, width, height, downsample)
        from rasterio import features
        from rasterio.transform import Affine

        out = np.full((height, width), UNKNOWN, np.uint8)
        x0, y0 = x * downsample, y * downsample
        x1, y1 = (x + width) * downsample, (y + height) * downsample
        if self._boxes is None or len(self._boxes) != len(self.regions):
            self._boxes = np.array([r.bbox for r in self.regions], np.float64).reshape(-1, 4)
        b = self._boxes
        meets = (b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0)
        shapes = [(self.regions[i].geometry, self.regions[i].value) for i in np.flatnonzero(meets)]
        if not shapes:
            return out
        transform = Affine(downsample, 0.0, x0, 0.0, downsample, y0)
        return features.rasterize(
            shapes, out_shape=(height, width), fill=UNKNOWN, transform=transform, dtype=np.uint8
        )


def _sample(overview: np.ndarray, step: int, x, y, width, height, downsample) -> np.ndarray:
    """The overview at the centres of a region's pixels (nearest), unknown off it."""
    h, w = overview.shape
    ix = np.floor((x + np.arange(width) + 0.5) * downsample / step).astype(np.int64)
    iy = np.floor((y + np.arange(height) + 0.5) * downsample / step).astype(np.int64)
    out = np.full((height, width), UNKNOWN, np.uint8)
    okx, oky = (ix >= 0) & (ix < w), (iy >= 0) & (iy < h)
    out[np.ix_(np.flatnonzero(oky), np.flatnonzero(okx))] = overview[np.ix_(iy[oky], ix[okx])]
    return out


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


def _checked(geometry: dict) -> tuple[dict, tuple[float, float, float, float]]:
    """The geometry (as read) and its bounding box; ``ValueError`` for a broken one (a ring
    of under 4 points, a point that is no pair of finite numbers)."""
    multi = geometry["type"] == "MultiPolygon"
    polygons = geometry["coordinates"] if multi else [geometry["coordinates"]]
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for polygon in polygons:
        if not polygon or len(polygon[0]) < 4:
            raise ValueError("a ring needs at least 4 points")
        for ring in polygon:
            points = np.asarray(ring, dtype=np.float64)
            if points.ndim != 2 or points.shape[1] < 2:
                raise ValueError("a ring's points are not coordinate pairs")
            points = points[:, :2]
            if not np.isfinite(points).all():
                raise ValueError("a coordinate is not a finite number")
            lo, hi = np.minimum(lo, points.min(0)), np.maximum(hi, points.max(0))
    return geometry, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def load_annotation_for(
    path: str | Path, classes: ClassSet, slide_size: tuple[int, int], apart: bool = False
):
    """A whole slide's annotation: QuPath GeoJSON, or a label image
    (:mod:`seggui.core.label_image`) sized against the slide's ``(width, height)``.

    ``apart`` parses and draws the GeoJSON in a process of its own
    (:mod:`seggui.core.annotation_server`): parsing and rasterio's drawing hold Python's lock
    (a second for a 10 MB file, 60 ms for a 512-pixel tile of a busy region here), which
    would stall a window's drawing even from a worker thread."""
    from seggui.core.label_image import LabelImageAnnotations, is_label_image

    if is_label_image(Path(path)):
        return LabelImageAnnotations(Path(path), len(classes), slide_size)
    if not apart:
        return load_annotations(path, classes)
    from seggui.core.annotation_server import serve

    return serve(Path(path), classes, slide_size)


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
            geometry, bbox = _checked(geometry)
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

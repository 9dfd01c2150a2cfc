"""A whole slide's prediction and annotation out: QuPath GeoJSON in level-0 pixels, and the
area of each class in mm^2.

The prediction is traced tile by tile from the store (rasterio, on pixel edges, in model
pixels scaled to level 0), and each class's pieces are merged across tile borders
(shapely's union), so a gland cut by four tiles is one object, without seams. Nothing is
held for the whole slide but the polygons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seggui.core.annotations import SlideAnnotations
from seggui.core.atomic import atomic_write_text
from seggui.core.classes import ClassSet
from seggui.model.slide_predict import SlidePlan, TileStore


@dataclass
class SlideAreas:
    """A slide's area per class in mm^2, from its prediction or its annotation."""

    name: str
    source: str  # "prediction" or "annotation"
    mpp: float
    mm2: dict[str, float] = field(default_factory=dict)

    def stroma_ratio(self) -> float | None:
        """Stroma / (tumour + stroma), the tumour-stroma ratio pathologists score, when the
        classes have those names (tumour or tumor, stroma)."""
        tumour = sum(v for k, v in self.mm2.items() if k.lower().startswith("tumo"))
        stroma = sum(v for k, v in self.mm2.items() if "stroma" in k.lower())
        has = any(k.lower().startswith("tumo") for k in self.mm2) and any(
            "stroma" in k.lower() for k in self.mm2
        )
        return stroma / (tumour + stroma) if has and tumour + stroma > 0 else None


def _feature(geometry: dict, name: str, color) -> dict:
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "objectType": "annotation",
            "classification": {"name": name, "color": [int(c) for c in color]},
        },
    }


def prediction_polygons(plan: SlidePlan, store: TileStore, n_classes: int) -> dict[int, object]:
    """Per class, the union (shapely) of its predicted regions over the stored tiles, in
    level-0 pixels."""
    from rasterio import features
    from rasterio.transform import Affine
    from shapely import union_all
    from shapely.geometry import shape

    f = plan.factor
    pieces: dict[int, list] = {k: [] for k in range(n_classes)}
    for col, row in store.tiles():
        x, y, _, _ = plan.grid.core(col, row)
        labels = store.get(col, row).labels
        transform = Affine(f, 0, x * f, 0, f, y * f)
        for geometry, value in features.shapes(labels, transform=transform, connectivity=4):
            if int(value) < n_classes:
                pieces[int(value)].append(shape(geometry))
    return {k: union_all(v) for k, v in pieces.items() if v}


def _polygons(geometry) -> list:
    if geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry]
    return [g for g in getattr(geometry, "geoms", []) if g.geom_type == "Polygon"]


def prediction_geojson(
    plan: SlidePlan, store: TileStore, classes: ClassSet, include_background: bool = False
) -> tuple[dict, dict[int, float]]:
    """A FeatureCollection with one object per connected predicted region, and each class's
    area in level-0 pixels."""
    from shapely.geometry import mapping

    merged = prediction_polygons(plan, store, len(classes))
    out, areas = [], {}
    for value, geometry in merged.items():
        areas[value] = float(geometry.area)
        if value == classes.background and not include_background:
            continue
        info = classes[value]
        for polygon in _polygons(geometry):
            out.append(_feature(mapping(polygon), info.name, info.color))
    return {"type": "FeatureCollection", "features": out}, areas


def annotation_geojson(
    annotations: SlideAnnotations, classes: ClassSet
) -> tuple[dict, dict[int, float]]:
    """The slide's annotation as read (its classes by the folder's names and colours), and
    each class's area in level-0 pixels (overlaps counted once per class)."""
    from shapely import union_all
    from shapely.geometry import shape

    from seggui.core.annotations import plain

    out, pieces = [], {}
    for region in annotations.regions:
        info = classes[region.value]
        out.append(_feature(plain(region.geometry), info.name, info.color))
        pieces.setdefault(region.value, []).append(shape(region.geometry).buffer(0))
    areas = {k: float(union_all(v).area) for k, v in pieces.items()}
    return {"type": "FeatureCollection", "features": out}, areas


def slide_areas(name: str, source: str, pixel_areas: dict[int, float], mpp: float, classes):
    """Level-0 pixel areas as mm^2 per class name."""
    scale = (mpp / 1000.0) ** 2
    return SlideAreas(
        name, source, mpp, {classes[k].name: v * scale for k, v in sorted(pixel_areas.items())}
    )


def write_geojson(path: Path, collection: dict) -> None:
    atomic_write_text(path, json.dumps(collection, separators=(",", ":")))


def areas_csv(rows: list[SlideAreas], classes: ClassSet) -> str:
    """One row per slide and source: mpp, mm^2 per class, total and the stroma ratio."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    names = list(classes.names)
    writer.writerow(
        ["slide", "source", "mpp", *[f"{n}_mm2" for n in names], "total_mm2", "stroma_ratio"]
    )
    for r in rows:
        ratio = r.stroma_ratio()
        writer.writerow(
            [
                r.name,
                r.source,
                f"{r.mpp:.4f}",
                *[f"{r.mm2.get(n, 0.0):.4f}" for n in names],
                f"{sum(r.mm2.values()):.4f}",
                "" if ratio is None else f"{ratio:.4f}",
            ]
        )
    return buf.getvalue()


def export_whole_slides(
    entries,
    classes: ClassSet,
    out_dir: str | Path,
    workspace: Path,
    include_background: bool = False,
    predictor=None,
    model_key: str | None = None,
    depth: int = 4,
    progress=None,
    cancel=None,
):
    """Write ``NAME.geojson`` for each whole slide (its prediction when a ``predictor`` is
    given, predicted over the tissue or taken from the store; else its annotation) and
    ``areas.csv`` beside them; returns (slides written, problems, area rows)."""
    from seggui.core.annotations import load_annotation_for
    from seggui.core.imageio import SlideFileError
    from seggui.core.slides import Problem
    from seggui.core.wsi import open_slide
    from seggui.model.slide_predict import plan_slide, predict_slide, store_for

    out_dir = Path(out_dir)
    done, problems, rows = 0, [], []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress(i, len(entries), entry.name)
        try:
            slide = open_slide(entry.path, entry.mpp)
        except SlideFileError as exc:
            problems.append(Problem(entry.name, str(exc)))
            continue
        try:
            if predictor is not None:
                plan = plan_slide(slide, depth, downsample=predictor.downsample)
                store = store_for(workspace, model_key, entry.path, plan.grid)
                predict_slide(predictor, plan, store, cancel=cancel)
                collection, pixels = prediction_geojson(plan, store, classes, include_background)
                source = "prediction"
            elif entry.annotation is None:
                problems.append(Problem(entry.name, f"no annotation ({entry.name}.geojson)"))
                continue
            else:
                annotations = load_annotation_for(entry.annotation, classes, slide.dimensions)
                problems += [Problem(entry.name, t) for t in annotations.problems]
                if not isinstance(annotations, SlideAnnotations):
                    problems.append(
                        Problem(entry.name, "the annotation is a label image: nothing to export")
                    )
                    continue
                collection, pixels = annotation_geojson(annotations, classes)
                source = "annotation"
            write_geojson(out_dir / f"{entry.name}.geojson", collection)
            rows.append(slide_areas(entry.name, source, pixels, slide.mpp, classes))
            if not slide.mpp_known:
                problems.append(
                    Problem(
                        entry.name, f"no resolution in the file: areas assume {slide.mpp} µm/px"
                    )
                )
            done += 1
        finally:
            slide.close()
    if rows:
        atomic_write_text(out_dir / "areas.csv", areas_csv(rows, classes))
    if progress is not None:
        progress(len(entries), len(entries), "")
    return done, problems, rows


def predict_whole_slides(
    predictor,
    model_key: str,
    entries,
    classes: ClassSet,
    workspace: Path,
    depth: int,
    out_dir: str | Path,
    progress=None,
    cancel=None,
):
    """Predict each whole slide's tissue (or take it from the store) and write
    ``out_dir/NAME.labels.tiff``: the classes at the model's resolution as a tiled,
    pyramidal label image whose description states its downsample, so it can lie beside
    the slide as its annotation. Glass, never predicted, is 255 (unknown)."""
    from seggui.core.classes import display_colors
    from seggui.core.imageio import SlideFileError
    from seggui.core.label_image import write_label_pyramid
    from seggui.core.overlay import CLEAR
    from seggui.core.slides import Problem
    from seggui.core.wsi import open_slide
    from seggui.model.slide_layers import ProbabilityOverview, label_layer
    from seggui.model.slide_predict import plan_slide, predict_slide, store_for

    out_dir = Path(out_dir)
    written, problems = [], []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress(i, len(entries), entry.name)
        try:
            slide = open_slide(entry.path, entry.mpp)
        except SlideFileError as exc:
            problems.append(Problem(entry.name, str(exc)))
            continue
        try:
            plan = plan_slide(slide, depth, downsample=predictor.downsample)
            store = store_for(workspace, model_key, entry.path, plan.grid)
            predict_slide(predictor, plan, store, cancel=cancel)
        finally:
            slide.close()
        grid = plan.grid

        def tiles(grid=grid, store=store):
            for row in range(grid.rows):
                for col in range(grid.columns):
                    out = np.full((grid.tile, grid.tile), CLEAR, np.uint8)
                    if store.has(col, row):
                        labels = store.get(col, row).labels
                        out[: labels.shape[0], : labels.shape[1]] = labels
                    yield out

        overview = ProbabilityOverview.of_store(store, len(classes))
        small = label_layer(overview.probs, overview.known)
        reduced = [(overview.step * 4**k, small[:: 4**k, :: 4**k]) for k in range(3)]
        path = out_dir / f"{entry.name}.labels.tiff"
        out_dir.mkdir(parents=True, exist_ok=True)
        write_label_pyramid(
            path, tiles(), grid.width, grid.height, plan.factor, reduced, display_colors(classes)
        )
        written.append(path)
    if progress is not None:
        progress(len(entries), len(entries), "")
    return written, problems

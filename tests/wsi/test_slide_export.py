"""A whole slide's prediction out as QuPath GeoJSON: traced per tile, merged across tile
borders into one object per region, in level-0 pixels; areas in mm^2."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from seggui.core.annotations import load_annotations
from seggui.core.classes import ClassSet
from seggui.model.predict import Prediction
from seggui.model.slide_export import SlideAreas, areas_csv, prediction_geojson
from seggui.model.slide_predict import SlidePlan, TileStore
from seggui.model.tiled import tile_grid
from tests.cli.test_cli import seggui
from tests.wsi.conftest import demo_slide_folder

CLASSES = ClassSet.default(3, names=["background", "tumour", "stroma"])


def _store(tmp_path, labels: np.ndarray, factor: float) -> tuple[SlidePlan, TileStore]:
    h, w = labels.shape
    grid = tile_grid(w, h, depth=2, tile=128)
    store = TileStore(tmp_path / "store", grid)
    for col, row in grid:
        x, y, tw, th = grid.core(col, row)
        part = np.ascontiguousarray(labels[y : y + th, x : x + tw])
        probs = np.eye(3, dtype=np.uint8)[part] * 255
        store.put(col, row, Prediction(part, np.ones(part.shape, np.float32), None, probs))
    return SlidePlan(None, factor, grid, list(grid)), store


def test_an_object_across_four_tiles_is_one_polygon_in_level0_pixels(tmp_path):
    labels = np.zeros((300, 300), np.uint8)
    labels[100:160, 90:170] = 1  # across the borders at x = 128 and y = 128
    labels[120:140, 110:130] = 2  # a hole in it, filled by another class
    labels[250:270, 10:30] = 1  # a second object, in one tile
    plan, store = _store(tmp_path, labels, factor=2.0)
    collection, areas = prediction_geojson(plan, store, CLASSES)
    tumour = [
        f for f in collection["features"] if f["properties"]["classification"]["name"] == "tumour"
    ]
    assert len(tumour) == 2
    big = max(tumour, key=lambda f: len(f["geometry"]["coordinates"][0]))
    xs = [p[0] for p in big["geometry"]["coordinates"][0]]
    ys = [p[1] for p in big["geometry"]["coordinates"][0]]
    assert (min(xs), max(xs), min(ys), max(ys)) == (180, 340, 200, 320)  # level 0 = 2x model
    assert len(big["geometry"]["coordinates"]) == 2  # the hole is kept
    # Area in level-0 pixels: the model's pixel counts times factor^2.
    assert areas[1] == (60 * 80 - 20 * 20 + 20 * 20) * 4
    assert areas[2] == 20 * 20 * 4
    assert all(
        f["properties"]["classification"]["name"] != "background" for f in collection["features"]
    )
    # Read back as an annotation and rasterised at the model's pixels: the labels again.
    path = tmp_path / "out.geojson"
    path.write_text(json.dumps(prediction_geojson(plan, store, CLASSES, True)[0]))
    annotations = load_annotations(path, CLASSES)
    assert not annotations.problems
    assert np.array_equal(annotations.rasterise(0, 0, 300, 300, 2.0), labels)


def test_areas_table_has_mm2_and_the_stroma_ratio():
    rows = [SlideAreas("a", "prediction", 0.5, {"background": 1.0, "tumour": 3.0, "stroma": 1.0})]
    table = list(csv.DictReader(io.StringIO(areas_csv(rows, CLASSES))))
    assert table[0]["tumour_mm2"] == "3.0000" and table[0]["total_mm2"] == "5.0000"
    assert table[0]["stroma_ratio"] == "0.2500"
    no_tumour = SlideAreas("b", "annotation", 0.5, {"background": 1.0})
    assert no_tumour.stroma_ratio() is None


def test_cli_exports_whole_slides_as_geojson_with_areas(tmp_path):
    folder = demo_slide_folder(tmp_path)
    out = tmp_path / "out"
    result = seggui("export", str(folder), "--geojson", str(out), "--prediction")
    assert result.returncode == 0, result.stderr
    assert "1 whole slides" in result.stdout
    assert "broken" in result.stderr  # the damaged slide is reported, the rest goes on
    data = json.loads((out / "case1.geojson").read_text())
    names = {f["properties"]["classification"]["name"] for f in data["features"]}
    assert {"stroma", "gland"} <= names
    table = list(csv.DictReader(io.StringIO((out / "areas.csv").read_text())))
    assert table[0]["slide"] == "case1" and table[0]["source"] == "prediction"
    # 0.5 um per pixel: the slide is 1152 x 1152 pixels, 0.33 mm^2; the tissue is most of it.
    assert 0.2 < float(table[0]["total_mm2"]) <= 0.332
    annotation = seggui("export", str(folder), "--geojson", str(tmp_path / "ann"))
    assert annotation.returncode == 0, annotation.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ann" / "areas.csv").read_text())))
    assert rows[0]["source"] == "annotation"
    # The prediction's areas come close to the annotation's (mIoU about 0.96 on this slide).
    assert abs(float(rows[0]["stroma_mm2"]) - float(table[0]["stroma_mm2"])) < 0.02

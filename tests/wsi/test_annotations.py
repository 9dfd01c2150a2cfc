"""QuPath GeoJSON in: layouts, holes, MultiPolygons, unknown classes and broken geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seggui.core.annotations import UNKNOWN, class_names, load_annotations, read_features
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError


def _feature(geometry, name=None, color=(200, 0, 0)):
    props = {"objectType": "annotation"}
    if name is not None:
        props["classification"] = {"name": name, "color": list(color)}
    return {"type": "Feature", "geometry": geometry, "properties": props}


SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[10, 10], [90, 10], [90, 90], [10, 90], [10, 10]],
        [[40, 40], [60, 40], [60, 60], [40, 60], [40, 40]],
    ],
}
TWO_SQUARES = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[100, 0], [120, 0], [120, 20], [100, 20], [100, 0]]],
        [[[100, 50], [110, 50], [110, 60], [100, 60], [100, 50]]],
    ],
}


@pytest.fixture
def classes():
    return ClassSet.default(3, names=["background", "tumor", "stroma"])


def test_layouts_holes_multipolygons_and_reports(tmp_path, classes):
    features = [
        _feature(SQUARE_WITH_HOLE, "Tumor"),  # matched by name, whatever the case
        _feature(TWO_SQUARES, "stroma", (0, 150, 0)),
        _feature(SQUARE_WITH_HOLE),  # no class
        _feature(TWO_SQUARES, "Necrosis"),  # a class the folder does not have
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "tumor"),  # broken
        _feature({"type": "Point", "coordinates": [3, 3]}, "tumor"),  # not an area
    ]
    for layout in (
        {"type": "FeatureCollection", "features": features},
        features,
    ):
        path = tmp_path / "a.geojson"
        path.write_text(json.dumps(layout))
        ann = load_annotations(path, classes)
        assert [r.value for r in ann.regions] == [1, 2]
        text = " ".join(ann.problems)
        assert "1 objects without a class" in text and "Necrosis" in text
        assert "2 objects with a broken or non-area geometry" in text
    labels = ann.rasterise(0, 0, 128, 100)
    assert labels[20, 20] == 1 and labels[50, 50] == UNKNOWN  # the hole is not tumour
    assert labels[5, 110] == 2 and labels[55, 105] == 2 and labels[35, 105] == UNKNOWN
    assert labels[95, 5] == UNKNOWN
    # Pixel centres: the square [10, 90) covers pixels 10..89 exactly.
    assert labels[10, 10] == 1 and labels[89, 89] == 1 and labels[9, 50] == UNKNOWN
    # The same region at level 2 (downsample 2) and a window inside it agree with level 0.
    half = ann.rasterise(0, 0, 64, 50, downsample=2.0)
    assert half[10, 10] == 1 and half[25, 25] == UNKNOWN
    assert np.array_equal(ann.rasterise(30, 30, 40, 40), labels[30:70, 30:70])
    assert class_names([path]) == [
        ("Tumor", (200, 0, 0)),
        ("stroma", (0, 150, 0)),
        ("Necrosis", (200, 0, 0)),
    ]


def test_unreadable_geojson_is_the_slides_problem(tmp_path, classes):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(SlideFileError):
        read_features(bad)
    odd = tmp_path / "odd.geojson"
    odd.write_text('{"type": "Topology"}')
    with pytest.raises(SlideFileError):
        load_annotations(odd, classes)


def test_annotations_parsed_apart_come_back_the_same(tmp_path):
    """The window parses big GeoJSON in another process (parsing holds Python's lock);
    the regions it gets back rasterise exactly as those parsed in place."""
    from seggui.core.annotations import load_annotation_for

    ring = [[10, 10], [90, 10], [90, 60], [10, 60], [10, 10]]
    hole = [[30, 30], [50, 30], [50, 50], [30, 50], [30, 30]]
    other = [
        [[[60, 5], [95, 5], [95, 20], [60, 20], [60, 5]]],
        [[[0, 70], [20, 70], [20, 95], [0, 95], [0, 70]]],
    ]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
            "properties": {"classification": {"name": "stroma"}},
        },
        {
            "type": "Feature",
            "geometry": {"type": "MultiPolygon", "coordinates": other},
            "properties": {"classification": {"name": "gland"}},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
            "properties": {"classification": {"name": "gland"}},
        },
    ]
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    classes = ClassSet.default(3, names=["background", "stroma", "gland"])
    here = load_annotation_for(path, classes, (100, 100))
    apart = load_annotation_for(path, classes, (100, 100), apart=True)
    assert apart.problems == here.problems and len(here.problems) == 1
    assert apart.object_count() == 2 and not apart.regions  # kept packed while it serves
    assert apart.overview_step == 8 and here.overview is None
    for downsample in (1.0, 2.5, 8.0):  # drawn by the other process; 8: from its overview
        n = int(100 / downsample)
        assert np.array_equal(
            apart.rasterise(0, 0, n, n, downsample), here.rasterise(0, 0, n, n, downsample)
        )
    process = apart._process
    assert process.poll() is None  # it serves tiles until let go
    apart.close()
    process.wait(10)
    # Drawn in this process once the server is gone.
    assert np.array_equal(apart.rasterise(0, 0, 100, 100), here.rasterise(0, 0, 100, 100))
    assert [r.value for r in apart.regions] == [1, 2]
    assert here.rasterise(0, 0, 100, 100)[40, 40] == 255  # the hole is not annotated
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(SlideFileError, match="not readable GeoJSON"):
        load_annotation_for(broken, classes, (100, 100), apart=True)

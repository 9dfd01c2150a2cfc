"""`seggui evaluate` on a folder of whole slides with QuPath GeoJSON beside them."""

from __future__ import annotations

import json

import numpy as np

from seggui.core.classes import ClassSet
from seggui.core.demo import write_demo
from seggui.core.export import mask_features
from seggui.core.imageio import read_image, read_mask
from seggui.core.wsi import write_pyramid
from tests.cli.test_cli import seggui


def _slide_folder(tmp_path):
    """A whole slide stitched from four demo tiles on glass, annotated in GeoJSON with the
    demo's classes (the bundled model's), beside a broken slide."""
    demo = write_demo(tmp_path / "demo", count=4, seed=11)
    classes = ClassSet.default(4, names=["background", "stroma", "gland", "nucleus"])
    image = np.full((1152, 1152, 3), 240, np.uint8)
    labels = np.full((1152, 1152), 255, np.uint8)
    for i, name in enumerate(sorted(p.stem for p in (demo / "images").glob("*.png"))):
        y, x = 64 + (i // 2) * 512, 64 + (i % 2) * 512
        image[y : y + 512, x : x + 512] = np.round(
            read_image(demo / "images" / f"{name}.png") * 255
        )
        labels[y : y + 512, x : x + 512] = read_mask(demo / "masks" / f"{name}.png", classes)
    folder = tmp_path / "slides"
    folder.mkdir()
    write_pyramid(folder / "case1.tiff", image, (1, 4), mpp=0.5, quality=95)
    features = mask_features(labels, classes, include_background=True)
    (folder / "case1.geojson").write_text(json.dumps(features))
    (folder / "broken.svs").write_bytes((folder / "case1.tiff").read_bytes()[:5000])
    (folder / "classes.json").write_text(
        json.dumps({"classes": [{"name": c.name} for c in classes]})
    )
    return folder


def test_evaluate_scores_whole_slides_tile_by_tile_and_caches(tmp_path):
    folder = _slide_folder(tmp_path)
    result = seggui("evaluate", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    slides = {s["name"]: s for s in data["slides"]}
    assert set(slides) == {"case1"} and slides["case1"]["miou"] > 0.8
    assert data["n_slides"] == 1 and [c["name"] for c in data["per_class"]][2] == "gland"
    problems = {p["name"]: p["reason"] for p in data["problems"]}
    assert "broken" in problems and "whole slide" in problems["broken"]
    stores = list((folder / ".seggui" / "wsi").glob("*/case1-*"))
    assert len(stores) == 1
    tiles = {p: p.stat().st_mtime_ns for p in stores[0].glob("*.npz")}
    assert tiles  # the tissue tiles, kept for next time
    again = json.loads(seggui("evaluate", str(folder), "--json").stdout)
    assert again["slides"] == data["slides"]
    assert {p: p.stat().st_mtime_ns for p in stores[0].glob("*.npz")} == tiles  # reused

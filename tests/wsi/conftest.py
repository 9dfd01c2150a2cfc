"""Whole slides made in the test: tifffile pyramids stitched from real tiles, or synthetic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seggui.core.classes import ClassSet
from seggui.core.demo import write_demo
from seggui.core.export import mask_features
from seggui.core.imageio import read_image, read_mask
from seggui.core.wsi import write_pyramid
from tests.conftest import shared_folder


def mosaic(size: tuple[int, int] = (1536, 1024)) -> np.ndarray:
    """Real GlaS tiles side by side (white where none fits), as a slide's tissue."""
    folder = shared_folder("glas-test") / "images"
    w, h = size
    canvas = np.full((h, w, 3), 242, np.uint8)
    tiles = sorted(folder.glob("*.png"))
    i, y = 0, 0
    while y + 400 <= h:
        x = 0
        while x + 500 <= w:
            with Image.open(tiles[i % len(tiles)]) as im:
                part = np.asarray(im.convert("RGB"))[:400, :500]
            canvas[y : y + 400, x : x + 500] = part
            x, i = x + 500, i + 1
        y += 400
    return canvas


@pytest.fixture
def pyramid(tmp_path) -> tuple[Path, np.ndarray]:
    """A pyramidal, tiled, JPEG TIFF (levels 1, 4) of real tissue, with its pixels."""
    from seggui.core.wsi import write_pyramid

    image = mosaic()
    return write_pyramid(tmp_path / "slide.tiff", image, (1, 4), mpp=0.25), image


def demo_slide_folder(tmp_path: Path) -> Path:
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

"""Whole slides made in the test: tifffile pyramids stitched from real tiles, or synthetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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

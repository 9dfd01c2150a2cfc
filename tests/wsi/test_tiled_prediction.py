"""Tile-by-tile prediction with a halo equals the whole image's prediction."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.model.predict import Predictor
from seggui.model.tiled import halo_for, predict_image, predict_tiles, tile_grid
from seggui.model.unet import build_unet


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(1)
    return build_unet(3, 4, 3, mean=[0.6, 0.4, 0.6], std=[0.2, 0.25, 0.2])


@pytest.mark.parametrize("backend", ["tf-fp32", "reference"])
@pytest.mark.parametrize("tile", [32, 56, 64])
def test_stitched_tiles_are_the_whole_image_prediction(model, backend, tile):
    predictor = Predictor(model, 3, tile=4096, backend=backend)  # 4096: never tiles itself
    image = np.random.default_rng(0).random((203, 157, 3)).astype(np.float32)
    whole = predictor.predict(image)
    tiled = predict_image(predictor, image, tile=tile)
    assert np.array_equal(tiled.labels, whole.labels)
    assert np.array_equal(tiled.probs, whole.probs)
    assert np.abs(tiled.confidence - whole.confidence).max() < 1e-5  # float reordering only


def test_a_halo_below_the_receptive_field_is_not_exact(model):
    predictor = Predictor(model, 3, tile=4096, backend="tf-fp32")
    image = np.random.default_rng(0).random((203, 157, 3)).astype(np.float32)
    whole = predictor.predict(image).labels
    grid = tile_grid(157, 203, 3, 32, halo=halo_for(3) // 4)
    out = np.zeros_like(whole)
    for (col, row), part in predict_tiles(
        predictor, lambda x, y, w, h: image[y : y + h, x : x + w], grid
    ):
        x, y, w, h = grid.core(col, row)
        out[y : y + h, x : x + w] = part.labels
    assert (out != whole).any()  # so the exactness above is the halo's doing


def test_only_the_tiles_asked_for_are_read(model):
    predictor = Predictor(model, 3, backend="tf-fp32")
    image = np.random.default_rng(1).random((256, 256, 3)).astype(np.float32)
    grid = tile_grid(256, 256, 3, 64)
    reads = []

    def read(x, y, w, h):
        reads.append((x, y, w, h))
        return image[y : y + h, x : x + w]

    done = list(predict_tiles(predictor, read, grid, tiles=[(1, 2)]))
    assert [key for key, _ in done] == [(1, 2)] and done[0][1].labels.shape == (64, 64)
    assert reads == [(0, 64, 192, 192)]  # the tile with its halo, nothing else

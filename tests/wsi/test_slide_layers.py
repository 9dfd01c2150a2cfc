"""The whole-slide views' prediction layers: sampled from the tile store at fine zooms and
from the overview at coarse ones, the same classes either way; an interrupted run's
overview is made whole again from the store."""

from __future__ import annotations

import numpy as np

from seggui.core.annotations import UNKNOWN
from seggui.core.overlay import CLEAR
from seggui.model.predict import Prediction
from seggui.model.slide_layers import (
    ProbabilityOverview,
    SlideLayers,
    difference_layer,
    label_layer,
    uncertainty_layer,
)
from seggui.model.slide_predict import SlidePlan, TileStore
from seggui.model.tiled import tile_grid


def _store(tmp_path, factor=2.0):
    grid = tile_grid(1100, 700, depth=2, tile=256)
    rng = np.random.default_rng(0)
    store = TileStore(tmp_path / "store", grid)
    full = np.zeros((700, 1100, 3), np.uint8)
    for col, row in grid:
        if (col, row) == (3, 2):
            continue  # glass: never predicted
        x, y, w, h = grid.core(col, row)
        probs = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        full[y : y + h, x : x + w] = probs
        labels = np.argmax(probs, -1).astype(np.uint8)
        store.put(col, row, Prediction(labels, probs[..., 0] / 255.0, None, probs))
    return SlidePlan(None, factor, grid, list(grid)), store, full


def test_fine_zoom_samples_the_store_exactly(tmp_path):
    plan, store, full = _store(tmp_path)
    layers = SlideLayers(plan, store, 3)
    # Level-0 box of 400 x 300 model pixels at 1 view pixel per model pixel.
    probs, known = layers.probs((200 * 2, 100 * 2, 600 * 2, 400 * 2), 400, 300)
    assert known.all()
    assert np.array_equal(probs, full[100:400, 200:600])
    # Past the slide's edge and on the glass tile: nothing is known there.
    probs, known = layers.probs((700 * 2, 450 * 2, 1200 * 2, 700 * 2), 500, 250)
    assert not known[:, 400:].any()  # x >= 1100 model pixels: off the slide
    assert not known[62:, 68:324].any()  # tile (3, 2): x 768..1024, y 512..700
    labels = label_layer(probs, known)
    assert (labels[~known] == CLEAR).all()


def test_coarse_zoom_reads_the_overview_which_agrees_with_the_store(tmp_path):
    plan, store, full = _store(tmp_path)
    layers = SlideLayers(plan, store, 3)
    step = layers.overview.step
    # One view pixel per ``step`` model pixels: the overview's samples.
    w, h = 1100 // step, 700 // step
    probs, known = layers.probs((0, 0, w * step * 2, h * step * 2), w, h)
    o = step // 2
    expected = full[o : h * step : step, o : w * step : step]
    assert np.array_equal(probs[known], expected[known])
    assert known.mean() > 0.85


def test_overview_is_completed_from_the_store_after_an_interruption(tmp_path):
    plan, store, _ = _store(tmp_path)
    first = ProbabilityOverview.of_store(store, 3)  # made from the tiles, and saved
    assert (store.folder / ProbabilityOverview.FILE).exists()
    # A tile predicted after the last save (the run was killed before saving again).
    x, y, w, h = plan.grid.core(3, 2)
    probs = np.full((h, w, 3), 7, np.uint8)
    probs[..., 1] = 200
    store.put(3, 2, Prediction(np.ones((h, w), np.uint8), probs[..., 1] / 255.0, None, probs))
    again = ProbabilityOverview.of_store(store, 3)
    assert (3, 2) in again.tiles and (3, 2) not in first.tiles
    s = again.step
    assert (again.probs[y // s : (y + h) // s, x // s : (x + w) // s, 1] == 200).all()


def test_review_layers_leave_unknown_pixels_clear():
    probs = np.zeros((2, 3, 3), np.uint8)
    probs[..., 0] = 200
    probs[0, 0] = (100, 90, 0)  # unsure
    known = np.array([[True, True, True], [True, True, False]])
    labels = label_layer(probs, known)
    truth = np.array([[0, 1, UNKNOWN], [0, 0, 0]], np.uint8)
    diff = difference_layer(labels, truth)
    assert diff.tolist() == [[0, 1, CLEAR], [0, 0, CLEAR]]
    unsure = uncertainty_layer(probs, known)
    assert unsure[0, 0] > 200 and unsure[0, 1] < 60 and unsure[1, 2] == CLEAR

"""The edge fit: a mask's boundaries on its image's edges score above the same mask moved
off them, with no model involved."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.edge_fit import (
    boundary_pixels,
    edge_evidence,
    edge_fit,
    masks_follow_edges,
)
from seggui.core.folder import open_folder
from seggui.core.imageio import read_pair


def test_a_mask_on_its_image_fits_better_than_moved_or_anothers(demo_folder):
    ctx = open_folder(demo_folder)
    pairs = [read_pair(s.image_path, s.mask_path, ctx.classes) for s in ctx.slides[:3]]
    for i, (image, mask) in enumerate(pairs):
        fit = edge_fit(image, mask)
        assert fit > 1.0  # boundaries on stronger gradients than the image's average
        assert fit > edge_fit(image, np.roll(mask, 24, axis=1))  # shifted by 24 pixels
        assert fit > edge_fit(image, pairs[(i + 1) % 3][1])  # another slide's mask
        assert edge_evidence(image, mask) == (fit, True)
    assert masks_follow_edges(8, 10) and not masks_follow_edges(7, 10)
    assert not masks_follow_edges(0, 0)


def test_no_boundary_scores_zero_and_sizes_must_match():
    image = np.random.default_rng(0).random((32, 48, 4), np.float32)  # RGBA: alpha ignored
    assert edge_fit(image, np.zeros((32, 48), np.uint8)) == 0.0
    with pytest.raises(ValueError, match="differ in size"):
        edge_fit(image, np.zeros((48, 32), np.uint8))
    mask = np.zeros((5, 5), np.uint8)
    mask[:, 3:] = 1
    assert boundary_pixels(mask)[0].tolist() == [False, False, True, True, False]

"""Augmentation keeps labels on their pixels and colours in range."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from PIL import Image

from seggui.core.classes import ClassSet
from seggui.model.augment import ColourJitter, hed_jitter, jitter_colours
from seggui.model.pipeline import SkippedFiles, SlideItem, random_crops, train_dataset
from seggui.model.sampling import CropPlanner

#: A colour per class, far apart, so a pixel's colour says its class even after jitter.
PALETTE = np.array([[0.85, 0.15, 0.15], [0.15, 0.75, 0.15], [0.2, 0.2, 0.85], [0.9, 0.9, 0.9]])


def _label_image(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A mask of random rectangles and the image that paints each class its colour."""
    mask = np.zeros((h, w), np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        mask[y : y + rng.integers(4, 30), x : x + rng.integers(4, 30)] = rng.integers(0, 4)
    return PALETTE[mask].astype(np.float32), mask


def _classes_of(image: np.ndarray) -> np.ndarray:
    distance = ((image[..., None, :] - PALETTE.astype(np.float32)) ** 2).sum(-1)
    return distance.argmin(-1)


def test_every_geometric_transform_moves_labels_with_their_pixels():
    rng = np.random.default_rng(4)
    image, mask = _label_image(rng, 70, 90)
    for centre in (-1, 0, 1, 2, 3):
        x, y, _v = random_crops(image, mask, 32, np.full(16, centre), rng, augment=True)
        for xi, yi in zip(x, y, strict=True):
            assert (_classes_of(xi) == yi).all()
            if centre >= 0 and (mask == centre).any():
                assert (yi == centre).any()


def test_stain_jitter_without_change_is_the_identity_and_stays_in_range():
    image = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    image[0, 0] = 0.0
    image[0, 1] = 1.0
    same = hed_jitter(tf.constant(image), tf.ones(3), tf.zeros(3)).numpy()
    assert np.abs(same[1:] - image[1:]).max() < 1e-4
    strong = ColourJitter(0.5, 0.5, 0.5, 0.9, 0.9, 0.5)
    for _ in range(20):
        out = jitter_colours(tf.constant(image), strong).numpy()
        assert out.shape == image.shape and out.min() >= 0.0 and out.max() <= 1.0
        assert np.isfinite(out).all()
    moved = jitter_colours(tf.constant(image), ColourJitter()).numpy()
    assert 0 < np.abs(moved - image).mean() < 0.2


def test_training_batches_keep_labels_aligned_under_the_default_jitter(tmp_path):
    rng = np.random.default_rng(2)
    items = []
    for i in range(3):
        image, mask = _label_image(rng, 80, 100 + 10 * i)
        image_path, mask_path = tmp_path / f"s{i}.png", tmp_path / f"s{i}_mask.png"
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(image_path)
        Image.fromarray(mask).save(mask_path)
        items.append(SlideItem(f"s{i}", image_path, mask_path))
    classes = ClassSet.default(4)
    counts = np.ones((3, 4))
    planner = CropPlanner(counts, [4, 4, 4], class_share=0.5, seed=1)
    skipped = SkippedFiles()
    ds = train_dataset(items, classes, 32, 4, planner, True, ColourJitter(), 1, None, skipped)
    for x, y, v in ds.take(8):
        x, y = x.numpy(), y.numpy()
        assert x.min() >= 0 and x.max() <= 1
        agree = (_classes_of(x) == y).mean()
        assert agree > 0.99, agree
    assert not skipped.reasons

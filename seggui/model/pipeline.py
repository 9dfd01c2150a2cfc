"""Streaming tf.data input: slides are read one at a time, never the whole folder at once.

Training yields random crops (padded where an image is smaller) with flips and 90-degree
rotations; evaluation yields tiles that cover each image exactly once. Padding carries a
sample weight of 0, so it never counts in the loss or the metrics.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_mask


@dataclass
class SlideItem:
    name: str
    image_path: Path
    mask_path: Path


@dataclass
class SkippedFiles:
    """Slides that failed to load during training, collected across loader threads."""

    reasons: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, reason: str) -> None:
        with self.lock:
            self.reasons[name] = reason


def _load_pair(item: SlideItem, classes: ClassSet) -> tuple[np.ndarray, np.ndarray]:
    image = read_image(item.image_path)
    mask = read_mask(item.mask_path, classes)
    if image.shape[:2] != mask.shape:
        raise SlideFileError(
            item.mask_path,
            f"image is {image.shape[1]}x{image.shape[0]} but "
            f"mask is {mask.shape[1]}x{mask.shape[0]}",
        )
    return image, mask


def _pad_to(image: np.ndarray, mask: np.ndarray, valid: np.ndarray, h: int, w: int):
    ph, pw = max(0, h - image.shape[0]), max(0, w - image.shape[1])
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)), constant_values=1.0)
        mask = np.pad(mask, ((0, ph), (0, pw)))
        valid = np.pad(valid, ((0, ph), (0, pw)))
    return image, mask, valid


def crops_for(shape: tuple[int, int], patch: int) -> int:
    """How many random crops make one pass over an image's area."""
    return max(1, round(shape[0] * shape[1] / float(patch * patch)))


def random_crops(
    image: np.ndarray,
    mask: np.ndarray,
    patch: int,
    count: int,
    rng: np.random.Generator,
    augment: bool,
):
    """``count`` random ``patch``-sized crops as ``(images, masks, valid)`` arrays."""
    valid = np.ones(mask.shape, dtype=np.float32)
    image, mask, valid = _pad_to(image, mask, valid, patch, patch)
    h, w = mask.shape
    xs, ys, vs = [], [], []
    for _ in range(count):
        y = int(rng.integers(0, h - patch + 1))
        x = int(rng.integers(0, w - patch + 1))
        ci = image[y : y + patch, x : x + patch]
        cm = mask[y : y + patch, x : x + patch]
        cv = valid[y : y + patch, x : x + patch]
        if augment:
            k = int(rng.integers(0, 4))
            flip = bool(rng.integers(0, 2))
            ci, cm, cv = (np.rot90(a, k) for a in (ci, cm, cv))
            if flip:
                ci, cm, cv = (a[:, ::-1] for a in (ci, cm, cv))
        xs.append(ci)
        ys.append(cm)
        vs.append(cv)
    return (
        np.ascontiguousarray(np.stack(xs), dtype=np.float32),
        np.ascontiguousarray(np.stack(ys), dtype=np.int32),
        np.ascontiguousarray(np.stack(vs), dtype=np.float32),
    )


def cover_tiles(image: np.ndarray, mask: np.ndarray, patch: int):
    """Non-overlapping ``patch`` tiles covering the image; padding has weight 0."""
    valid = np.ones(mask.shape, dtype=np.float32)
    h, w = mask.shape
    th, tw = -(-h // patch) * patch, -(-w // patch) * patch
    image, mask, valid = _pad_to(image, mask, valid, th, tw)
    xs, ys, vs = [], [], []
    for y in range(0, th, patch):
        for x in range(0, tw, patch):
            xs.append(image[y : y + patch, x : x + patch])
            ys.append(mask[y : y + patch, x : x + patch])
            vs.append(valid[y : y + patch, x : x + patch])
    return (
        np.stack(xs).astype(np.float32),
        np.stack(ys).astype(np.int32),
        np.stack(vs).astype(np.float32),
    )


def _dataset(
    items: list[SlideItem],
    classes: ClassSet,
    patch: int,
    batch_size: int,
    make,
    class_weights: np.ndarray | None,
    skipped: SkippedFiles,
    shuffle: bool,
    seed: int,
) -> tf.data.Dataset:
    weights = None if class_weights is None else np.asarray(class_weights, np.float32)

    def load(index):
        item = items[int(index)]
        try:
            image, mask = _load_pair(item, classes)
            x, y, v = make(image, mask, int(index))
        except SlideFileError as exc:
            skipped.add(item.name, exc.reason)
            return (
                np.zeros((0, patch, patch, 3), np.float32),
                np.zeros((0, patch, patch), np.int32),
                np.zeros((0, patch, patch), np.float32),
            )
        if weights is not None:
            v = v * weights[y]
        return x, y, v

    def tf_load(index):
        x, y, v = tf.numpy_function(load, [index], (tf.float32, tf.int32, tf.float32))
        x.set_shape((None, patch, patch, 3))
        y.set_shape((None, patch, patch))
        v.set_shape((None, patch, patch))
        return tf.data.Dataset.from_tensor_slices((x, y, v))

    ds = tf.data.Dataset.range(len(items))
    if shuffle:
        ds = ds.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf_load, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle
    )
    if shuffle:
        ds = ds.shuffle(64, seed=seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_dataset(
    items: list[SlideItem],
    classes: ClassSet,
    patch: int,
    batch_size: int,
    crops_per_image: int,
    augment: bool,
    seed: int,
    class_weights: np.ndarray | None,
    skipped: SkippedFiles,
) -> tf.data.Dataset:
    """One epoch of random, augmented crops from the training slides.

    ``crops_per_image`` 0 takes as many crops as cover each image's area once.
    """
    counter = itertools.count()

    def make(image, mask, index):
        rng = np.random.default_rng([seed, index, next(counter)])
        count = crops_per_image or crops_for(mask.shape, patch)
        return random_crops(image, mask, patch, count, rng, augment)

    return _dataset(items, classes, patch, batch_size, make, class_weights, skipped, True, seed)


def eval_dataset(
    items: list[SlideItem], classes: ClassSet, patch: int, batch_size: int, skipped: SkippedFiles
) -> tf.data.Dataset:
    """Tiles covering every validation slide exactly once, in order."""
    return _dataset(
        items,
        classes,
        patch,
        batch_size,
        lambda image, mask, index: cover_tiles(image, mask, patch),
        None,
        skipped,
        False,
        0,
    )

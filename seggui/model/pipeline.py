"""Streaming tf.data input: slides are read one at a time, never the whole folder at once.

Training yields crops placed as :mod:`seggui.model.sampling` plans them (padded where an
image is smaller), with flips, 90-degree rotations and stain and colour jitter; evaluation
yields tiles that cover each image exactly once. Padding carries a sample weight of 0, so it
never counts in the loss or the metrics. Decoded slides are kept in a :class:`SlideCache`
up to a memory bound, so a run decodes each slide once rather than once per visit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_mask, read_pair
from seggui.core.resolution import reduce_image, reduce_mask
from seggui.model.augment import ColourJitter, jitter_colours
from seggui.model.sampling import RANDOM, CropPlanner, crop_origin


@dataclass
class SlideItem:
    name: str
    image_path: Path
    mask_path: Path
    downsample: int = 1  # the working resolution: read, then reduced by this factor


@dataclass
class SkippedFiles:
    """Slides that failed to load during training, collected across loader threads."""

    reasons: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, reason: str) -> None:
        with self.lock:
            self.reasons[name] = reason


def load_pair(item: SlideItem, classes: ClassSet) -> tuple[np.ndarray, np.ndarray]:
    image, mask = read_pair(item.image_path, item.mask_path, classes)
    return reduce_image(image, item.downsample), reduce_mask(mask, item.downsample)


class SlideCache:
    """Decoded slides of one run, least recently used dropped beyond ``max_bytes``.

    An 8-bit image is kept as its bytes (a quarter of its float size) and turned back into
    exactly the floats :func:`read_image` gives; anything else is kept as it is. A slide
    that fails to load is not kept, so it fails (and is reported) again."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.decoded = 0  # slides read from disk (the benchmark and tests count them)
        self._slides: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, item: SlideItem, classes: ClassSet) -> tuple[np.ndarray, np.ndarray]:
        """The slide's image and mask as :func:`load_pair` gives them."""
        key = (str(item.image_path), str(item.mask_path), item.downsample)
        with self._lock:
            kept = self._slides.get(key)
            if kept is not None:
                self._slides.move_to_end(key)
        if kept is not None:
            image, mask = kept
            return (image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image), mask
        image, mask = load_pair(item, classes)
        self._keep(key, _packed(image), mask)
        return image, mask

    def _keep(self, key: tuple, image: np.ndarray, mask: np.ndarray) -> None:
        nbytes = image.nbytes + mask.nbytes
        with self._lock:
            self.decoded += 1
            if nbytes > self.max_bytes or key in self._slides:
                return
            for kept in (image, mask):
                kept.setflags(write=False)  # shared by later visits: never changed in place
            self._slides[key] = (image, mask)
            self.size += nbytes
            while self.size > self.max_bytes:
                _, (old_image, old_mask) = self._slides.popitem(last=False)
                self.size -= old_image.nbytes + old_mask.nbytes


def _packed(image: np.ndarray) -> np.ndarray:
    """The image's 8-bit values where they give back exactly these floats, else the image."""
    u8 = np.rint(image * 255.0).clip(0, 255).astype(np.uint8)
    return u8 if np.array_equal(u8.astype(np.float32) / 255.0, image) else image


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
    centres: int | np.ndarray,
    rng: np.random.Generator,
    augment: bool,
):
    """``patch``-sized crops as ``(images, masks, valid)`` arrays.

    ``centres``: a count of random crops, or one class per crop (``RANDOM`` for a random
    one) whose pixel the crop must hold. ``augment`` adds flips and 90-degree rotations.
    """
    if np.isscalar(centres):
        centres = np.full(int(centres), RANDOM)
    valid = np.ones(mask.shape, dtype=np.float32)
    image, mask, valid = _pad_to(image, mask, valid, patch, patch)
    pixels: dict[int, np.ndarray] = {}
    xs, ys, vs = [], [], []
    for centre in centres:
        y, x = crop_origin(mask, valid, patch, int(centre), rng, pixels)
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


def crop_loader(
    items: list[SlideItem],
    classes: ClassSet,
    patch: int,
    make,
    class_weights: np.ndarray | None,
    skipped: SkippedFiles,
    cache: SlideCache | None,
):
    """What one visit yields: ``load(index, plan, visit) -> (images, masks, weights)``, none
    for a slide that cannot be read (recorded in ``skipped``)."""
    weights = None if class_weights is None else np.asarray(class_weights, np.float32)

    def load(index, plan, visit):
        item = items[int(index)]
        try:
            if cache is None:
                image, mask = load_pair(item, classes)
            else:
                image, mask = cache.load(item, classes)
            x, y, v = make(image, mask, int(index), plan, int(visit))
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

    return load


def _dataset(source: tf.data.Dataset, load, patch: int, shuffle: bool) -> tf.data.Dataset:
    """Crops of the slides that ``source`` names, as ``(index, plan, visit)`` triples
    (``plan``: whatever the visit needs; ``visit``: its number in the run, so a visit's random
    crops do not depend on which loader thread runs it), made by ``load``
    (:func:`crop_loader`)."""

    def tf_load(index, plan, visit):
        x, y, v = tf.numpy_function(load, [index, plan, visit], (tf.float32, tf.int32, tf.float32))
        x.set_shape((None, patch, patch, 3))
        y.set_shape((None, patch, patch))
        v.set_shape((None, patch, patch))
        return tf.data.Dataset.from_tensor_slices((x, y, v))

    return source.interleave(
        tf_load, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle
    )


def train_dataset(
    items: list[SlideItem],
    classes: ClassSet,
    patch: int,
    batch_size: int,
    planner: CropPlanner,
    augment: bool,
    colour: ColourJitter | None,
    seed: int,
    class_weights: np.ndarray | None,
    skipped: SkippedFiles,
    cache: SlideCache | None = None,
) -> tf.data.Dataset:
    """Augmented crops from the training slides, epoch after epoch as ``planner`` plans them
    (without end: the caller says how many batches make an epoch). ``colour``: the stain
    and colour jitter, or None for none. ``cache``: decoded slides kept between visits."""

    def numbered():
        for visit, (index, centres) in enumerate(planner.visits()):
            yield index, centres, visit

    source = tf.data.Dataset.from_generator(
        numbered,
        output_signature=(
            tf.TensorSpec((), tf.int64),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.int64),
        ),
    )

    def make(image, mask, index, centres, visit):
        rng = np.random.default_rng([seed, index, visit])
        return random_crops(image, mask, patch, centres, rng, augment)

    load = crop_loader(items, classes, patch, make, class_weights, skipped, cache)
    ds = _dataset(source, load, patch, True)
    if colour is not None:
        ds = ds.map(
            lambda x, y, v: (jitter_colours(x, colour), y, v),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=False,
        )
    return ds.shuffle(64, seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def eval_dataset(
    items: list[SlideItem],
    classes: ClassSet,
    patch: int,
    batch_size: int,
    skipped: SkippedFiles,
    cache: SlideCache | None = None,
) -> tf.data.Dataset:
    """Tiles covering every validation slide exactly once, in order."""
    source = tf.data.Dataset.range(len(items)).map(lambda i: (i, tf.zeros((0,), tf.int32), i))

    def tiles(image, mask, index, plan, visit):
        return cover_tiles(image, mask, patch)

    load = crop_loader(items, classes, patch, tiles, None, skipped, cache)
    ds = _dataset(source, load, patch, False)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def class_pixels(items: list[SlideItem], classes: ClassSet, workers: int = 4) -> np.ndarray:
    """Pixels of each class in each slide's mask, shape (slides, classes); an unreadable
    mask counts nothing (training reports it when it reaches it)."""

    def count(item: SlideItem) -> np.ndarray:
        try:
            return np.bincount(read_mask(item.mask_path, classes).ravel(), minlength=len(classes))
        except SlideFileError:
            return np.zeros(len(classes), np.int64)

    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(count, items))
    return np.stack(rows)[:, : len(classes)] if rows else np.zeros((0, len(classes)), np.int64)


def _reduced_image(item: SlideItem) -> np.ndarray:
    return reduce_image(read_image(item.image_path), item.downsample)


def channel_stats(
    items: list[SlideItem],
    seed: int,
    max_slides: int = 32,
    load: Callable[[SlideItem], np.ndarray] | None = None,
) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of the RGB values of (up to ``max_slides`` of)
    the training images as the model sees them, for its input normalisation.

    ``load`` gives an item's image (default: decoded from disk); a run passes its slide
    cache's, so the slides read here are not decoded again for the first epoch."""
    load = load or _reduced_image
    rng = np.random.default_rng(seed)
    chosen = [items[i] for i in rng.permutation(len(items))[:max_slides]]
    total = np.zeros(3)
    squares = np.zeros(3)
    n = 0
    for item in chosen:
        try:
            pixels = load(item).reshape(-1, 3).astype(np.float64)
        except SlideFileError:
            continue
        total += pixels.sum(axis=0)
        squares += (pixels**2).sum(axis=0)
        n += len(pixels)
    if n == 0:
        return [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    return [round(float(m), 6) for m in mean], [round(max(float(v), 1e-3), 6) for v in std]

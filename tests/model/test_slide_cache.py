"""The slide cache: each slide decoded once a run, and the same crops and tiles as without it."""

from __future__ import annotations

from collections import Counter

import numpy as np
from PIL import Image

from seggui.core import imageio
from seggui.core.cancel import CancelToken
from seggui.core.classes import ClassSet
from seggui.core.curation import curate
from seggui.core.folder import open_folder
from seggui.model import pipeline
from seggui.model.pipeline import (
    SkippedFiles,
    SlideCache,
    SlideItem,
    channel_stats,
    crop_loader,
    eval_dataset,
    random_crops,
    train_dataset,
)
from seggui.model.sampling import CropPlanner
from seggui.model.train import TrainSettings, fit
from tests.conftest import TINY

CLASSES = ClassSet.default(4)


def _slides(tmp_path, sizes, sixteen_bit=()) -> list[SlideItem]:
    """Real PNGs on disk: 8-bit RGB (or 16-bit grey for the names in ``sixteen_bit``) and
    palette masks of random rectangles."""
    rng = np.random.default_rng(3)
    items = []
    for i, (h, w) in enumerate(sizes):
        name = f"s{i}"
        mask = np.zeros((h, w), np.uint8)
        for _ in range(10):
            y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
            mask[y : y + rng.integers(4, 40), x : x + rng.integers(4, 40)] = rng.integers(0, 4)
        image_path, mask_path = tmp_path / f"{name}.png", tmp_path / f"{name}_mask.png"
        if name in sixteen_bit:
            grey = rng.integers(0, 65535, (h, w)).astype(np.uint16)
            Image.fromarray(grey).save(image_path)
        else:
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(image_path)
        palette = Image.fromarray(mask, mode="P")
        palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
        palette.save(mask_path)
        items.append(SlideItem(name, image_path, mask_path))
    return items


def _make(patch: int):
    def make(image, mask, index, centres, visit):
        rng = np.random.default_rng([5, index, visit])
        return random_crops(image, mask, patch, centres, rng, True)

    return make


def test_every_visit_gives_the_same_crops_with_and_without_the_cache(tmp_path):
    items = _slides(tmp_path, [(70, 90), (100, 64), (64, 64)], sixteen_bit={"s1"})
    items += [SlideItem("s0-half", items[0].image_path, items[0].mask_path, downsample=2)]
    counts = np.ones((len(items), 4))
    planner = CropPlanner(counts, [4, 3, 2, 2], class_share=0.5, seed=1, per_visit=2)
    cache = SlideCache(64 << 20)
    plain = crop_loader(items, CLASSES, 32, _make(32), None, SkippedFiles(), None)
    cached = crop_loader(items, CLASSES, 32, _make(32), None, SkippedFiles(), cache)
    visits = [v for e in range(3) for v in planner.epoch(e)]
    for number, (index, centres) in enumerate(visits):
        want = plain(index, centres, number)
        got = cached(index, centres, number)
        for a, b in zip(want, got, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    # three epochs of many visits each, one decode per slide (and its half-resolution view)
    assert len(visits) > 2 * len(items) and cache.decoded == len(items)


def test_the_image_statistics_read_through_the_cache_and_decode_nothing_twice(tmp_path):
    items = _slides(tmp_path, [(70, 90), (64, 64)])
    items += [SlideItem("s0-half", items[0].image_path, items[0].mask_path, downsample=2)]
    cache = SlideCache(64 << 20)
    cached = channel_stats(items, 1, load=lambda item: cache.load(item, CLASSES)[0])
    # the same numbers as from disk, at the resolution the model sees
    assert cached == channel_stats(items, 1)
    load = crop_loader(items, CLASSES, 32, _make(32), None, SkippedFiles(), cache)
    planner = CropPlanner(np.ones((len(items), 4)), [2] * len(items), 0.5, seed=1, per_visit=2)
    for number, (index, centres) in enumerate(planner.epoch(0)):
        load(index, centres, number)
    assert cache.decoded == len(items)


def test_validation_tiles_are_identical_and_read_once(tmp_path):
    items = _slides(tmp_path, [(70, 90), (33, 65)])
    cache = SlideCache(64 << 20)
    runs = []
    for c in (None, cache, cache):
        ds = eval_dataset(items, CLASSES, 32, 4, SkippedFiles(), c)
        runs.append([[t.numpy() for t in batch] for batch in ds])
    assert cache.decoded == len(items)
    for run in runs[1:]:
        for batch, first in zip(run, runs[0], strict=True):
            assert all(np.array_equal(a, b) for a, b in zip(batch, first, strict=True))


def test_the_bound_holds_and_the_least_recent_slide_goes_first(tmp_path):
    items = _slides(tmp_path, [(64, 64)] * 3)
    one = 64 * 64 * 3 + 64 * 64  # an 8-bit slide's bytes and its mask's
    cache = SlideCache(2 * one)
    for item in (*items, items[2], items[0]):
        cache.load(item, CLASSES)
    # s0, s1, s2 decoded; s2 kept; s0 again (it was dropped for s2)
    assert cache.decoded == 4 and cache.size <= 2 * one
    too_small = SlideCache(one - 1)
    for _ in range(2):
        image, _mask = too_small.load(items[0], CLASSES)
    assert too_small.decoded == 2 and too_small.size == 0 and image.dtype == np.float32


def test_a_broken_slide_is_reported_on_every_visit_and_the_rest_train(tmp_path):
    items = _slides(tmp_path, [(64, 64), (64, 64)])
    items[1].image_path.write_bytes(items[1].image_path.read_bytes()[:100])
    skipped = SkippedFiles()
    cache = SlideCache(64 << 20)
    planner = CropPlanner(np.ones((2, 4)), [2, 2], seed=1)
    ds = train_dataset(items, CLASSES, 32, 2, planner, True, None, 1, None, skipped, cache)
    shapes = [x.shape[0] for x, _y, _v in ds.take(4)]
    assert sum(shapes) == 8 and "s1" in skipped.reasons and "s0" not in skipped.reasons


def test_a_fit_decodes_each_image_once_the_statistics_included(small_demo, monkeypatch, tmp_path):
    reads = Counter()
    real = imageio.read_image

    def counted(path):
        reads[str(path)] += 1
        return real(path)

    monkeypatch.setattr(imageio, "read_image", counted)
    monkeypatch.setattr(pipeline, "read_image", counted)
    ctx = open_folder(small_demo)
    settings = TrainSettings(epochs=2, **TINY)
    fitted = fit(ctx, curate(ctx).train, settings, lambda p: None, CancelToken(), tmp_path)
    assert len(reads) == len(fitted.fit_slides) + len(fitted.val_slides)
    assert set(reads.values()) == {1}

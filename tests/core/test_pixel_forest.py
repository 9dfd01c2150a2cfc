"""The pixel forest: an out-of-fold opinion on each mask from colour and texture alone."""

from __future__ import annotations

import time

import numpy as np
import pytest

from seggui.core.folder import open_folder
from seggui.core.imageio import SlideFileError, read_pair
from seggui.core.pixel_forest import DOWNSAMPLE, OutOfTime, out_of_fold_miou, pixel_features


def _reader(ctx, masks):
    """Reads a slide's image from the folder and takes its mask from ``masks``; slides not
    in ``masks`` cannot be read."""
    by_name = {s.name: s for s in ctx.slides}

    def read(name):
        if name not in masks:
            raise SlideFileError(f"{name}.png", "cannot be read")
        image, _ = read_pair(by_name[name].image_path, by_name[name].mask_path, ctx.classes)
        return image, masks[name]

    return read


def test_broken_masks_score_below_their_clean_selves(demo_folder):
    ctx = open_folder(demo_folder)
    pairs = {s.name: read_pair(s.image_path, s.mask_path, ctx.classes) for s in ctx.slides}
    names = sorted(pairs)
    masks = {n: pairs[n][1] for n in names}
    folds = [(names[3:], names[:3]), (names[:3], names[3:])]
    n = len(ctx.classes)
    forest = out_of_fold_miou(folds, _reader(ctx, masks), n)
    clean = forest.miou
    assert set(clean) == set(names) and all(v > 0.3 for v in clean.values())
    assert forest.skill > 0.5  # above the audit's WEAK_SKILL of 0.3: it ranks
    correct, majority, total = forest.pixels
    assert 0 < majority < total and majority < correct <= total
    assert total == sum((m[::DOWNSAMPLE, ::DOWNSAMPLE] < n).sum() for m in masks.values())
    broken = dict(masks)
    broken[names[0]] = np.roll(masks[names[0]], 48, axis=1)  # shifted
    broken[names[4]] = masks[names[1]]  # another slide's mask
    scored = out_of_fold_miou(folds, _reader(ctx, broken), n).miou
    assert scored[names[0]] < clean[names[0]] and scored[names[4]] < clean[names[4]]
    worst_two = sorted(scored, key=scored.get)[:2]
    assert set(worst_two) == {names[0], names[4]}


def test_unreadable_slides_are_left_out_and_a_deadline_is_kept(demo_folder):
    ctx = open_folder(demo_folder)
    pairs = {s.name: read_pair(s.image_path, s.mask_path, ctx.classes) for s in ctx.slides}
    names = sorted(pairs)
    masks = {n: pairs[n][1] for n in names[1:]}  # the first cannot be read
    folds = [(names[3:], names[:3]), (names[:3], names[3:])]
    scored = out_of_fold_miou(folds, _reader(ctx, masks), len(ctx.classes)).miou
    assert set(scored) == set(names[1:])
    with pytest.raises(OutOfTime, match="slides left"):
        out_of_fold_miou(folds, _reader(ctx, masks), len(ctx.classes), deadline=time.monotonic())


def test_masks_that_colour_and_texture_cannot_predict_make_a_weak_forest(demo_folder):
    """Masks with no relation to their images (random blocks of classes): the forests learn
    nothing, and their mIoU must not rank."""
    ctx = open_folder(demo_folder)
    names = sorted(s.name for s in ctx.slides)
    rng = np.random.default_rng(0)
    noise = {n: np.kron(rng.integers(0, 4, (16, 16)), np.ones((32, 32), np.int64)) for n in names}
    folds = [(names[3:], names[:3]), (names[:3], names[3:])]
    forest = out_of_fold_miou(folds, _reader(ctx, noise), len(ctx.classes))
    assert forest.skill < 0.3  # below the audit's WEAK_SKILL: left out


def test_features_are_computed_on_the_reduced_slide():
    image = np.random.default_rng(0).integers(0, 255, (64, 96, 4), np.uint8)
    features, factor = pixel_features(image)
    assert factor == DOWNSAMPLE
    assert features.shape[:2] == (64 // DOWNSAMPLE, 96 // DOWNSAMPLE)
    assert features.dtype == np.float32 and features.shape[2] > 3


def test_a_slide_scored_by_several_partitions_gets_their_forests_mean(demo_folder):
    """Folds of two partitions: each slide is scored once, from the mean probabilities of
    the forests that held it out (two copies of one partition give that partition's scores
    exactly), and each slide is read at most once to learn from and once to be scored."""
    ctx = open_folder(demo_folder)
    pairs = {s.name: read_pair(s.image_path, s.mask_path, ctx.classes) for s in ctx.slides}
    names = sorted(pairs)
    masks = {n: pairs[n][1] for n in names}
    reads: list[str] = []
    read = _reader(ctx, masks)

    def counted(name):
        reads.append(name)
        return read(name)

    a = [(names[3:], names[:3]), (names[:3], names[3:])]
    b = [(names[:2] + names[4:], names[2:4]), (names[2:4], names[:2] + names[4:])]
    n = len(ctx.classes)
    alone_a, alone_b = out_of_fold_miou(a, read, n).miou, out_of_fold_miou(b, read, n).miou
    assert out_of_fold_miou(a + a, read, n).miou == alone_a
    bag = out_of_fold_miou(a + b, counted, n).miou
    assert set(bag) == set(names)
    assert all(reads.count(name) <= 2 for name in names)
    assert any(bag[m] not in (alone_a[m], alone_b[m]) for m in names)

"""Label quality: the class-balanced mean probability of the annotated class, cleanlab's
softmin numbers, and a swapped class ranks below its clean copy."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.quality import (
    annotated_probability,
    class_balanced_mean,
    issue_region,
    slide_quality,
    softmin,
)


def _probs(rng, shape, c):
    logits = rng.normal(size=(*shape, c)) * 3
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return p


def test_softmin_gives_cleanlabs_numbers():
    rank = pytest.importorskip("cleanlab.segmentation.rank")
    rng = np.random.default_rng(0)
    n, c, h, w = 4, 5, 24, 30
    probs = np.stack([_probs(rng, (h, w), c) for _ in range(n)])
    labels = rng.integers(0, c, (n, h, w))
    theirs, _ = rank.get_label_quality_scores(
        labels, probs.transpose(0, 3, 1, 2), method="softmin", verbose=False
    )
    ours = [
        softmin(np.take_along_axis(probs[i], labels[i][..., None], -1)[..., 0]) for i in range(n)
    ]
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_a_swapped_class_ranks_below_its_clean_copy():
    rng = np.random.default_rng(1)
    truth = np.zeros((64, 64), np.uint8)
    truth[:, 32:] = 1
    truth[20:40, 5:25] = 2
    probs = np.full((64, 64, 3), 0.02)
    probs[np.arange(64)[:, None], np.arange(64)[None, :], truth] = 0.9  # a model that agrees
    probs += rng.uniform(0, 0.02, probs.shape)
    probs /= probs.sum(-1, keepdims=True)
    probs_u8 = np.round(probs * 255).astype(np.uint8)
    labels = probs.argmax(-1).astype(np.uint8)
    top2 = np.sort(probs, -1)
    margin = (top2[..., -1] - top2[..., -2]).astype(np.float32)
    clean = slide_quality(probs_u8, labels, margin, truth)
    swapped = truth.copy()
    swapped[20:40, 5:25] = 1  # the gland annotated as the other class
    bad = slide_quality(probs_u8, labels, margin, swapped)
    assert bad.label_quality < clean.label_quality and bad.softmin < clean.softmin
    p = annotated_probability(probs_u8, swapped)
    per_class = [p[swapped == c].mean() / 255 for c in np.unique(swapped)]
    assert bad.label_quality == pytest.approx(np.mean(per_class), abs=1e-12)
    assert bad.softmin == pytest.approx(softmin(p / 255), abs=1e-9)
    assert bad.issue_pixels == 400 and clean.issue_pixels == 0
    assert 0 <= clean.uncertainty <= 1
    assert (annotated_probability(probs_u8, truth) > 200).all()


def test_a_small_class_counts_as_much_as_the_background():
    truth = np.zeros((100, 100), np.uint8)
    truth[:10, :10] = 1  # 1% of the slide
    p = np.full(truth.shape, 250, np.uint8)
    p[:10, :10] = 25  # the model denies the whole small region
    # The plain mean hardly moves (0.971); each class weighs half here.
    assert class_balanced_mean(p, truth) == pytest.approx((250 + 25) / 2 / 255)


def test_an_issue_region_is_a_blob_not_the_slivers_along_boundaries():
    p = np.full((100, 100), 230, np.uint8)  # the annotated class well supported everywhere
    for row in range(5, 95, 6):  # thin lines of disagreement, as along boundaries
        p[row, 5:95] = 10
    assert issue_region(p) == 0.0
    p[40:60, 30:55] = 20  # a region erased: one compact blob
    p[80:84, 10:14] = 20  # and a small one
    assert issue_region(p) == pytest.approx(20 * 25 / 100**2, rel=0.1)
    assert issue_region(np.full((8, 8), 255, np.uint8)) == 0.0

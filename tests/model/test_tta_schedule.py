"""Test-time augmentation and the learning-rate schedule."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from seggui.model.predict import Predictor
from seggui.model.schedule import warmup_cosine
from seggui.model.unet import build_unet


def test_tta_is_flip_equivariant_and_averages_the_flips():
    keras.utils.set_random_seed(3)
    model = build_unet(3, 4, 2)
    image = np.random.default_rng(0).random((40, 52, 3)).astype(np.float32)
    plain = Predictor(model, 2, backend="reference")
    tta = Predictor(model, 2, backend="reference", tta=True)
    a = tta.predict(image)
    b = tta.predict(image[:, ::-1].copy())
    assert a.labels.shape == image.shape[:2] and a.probs.shape == (40, 52, 3)
    assert (a.labels == b.labels[:, ::-1]).mean() > 0.999
    flips = [((), image), ((1,), image[:, ::-1]), ((0,), image[::-1]), ((0, 1), image[::-1, ::-1])]
    mean = sum(
        np.flip(plain.predict(np.ascontiguousarray(x)).probs.astype(np.float32), f)
        for f, x in flips
    ) / (4 * 255.0)
    assert np.abs(a.confidence - mean.max(-1)).max() < 1e-5
    assert ((a.confidence - a.margin) >= -1e-6).all()


def test_warmup_then_cosine_to_the_floor():
    assert warmup_cosine(0.0, 0.05) == pytest.approx(0.02)
    assert warmup_cosine(0.05, 0.05) == pytest.approx(1.0)
    assert warmup_cosine(1.0, 0.05) == pytest.approx(0.02)
    assert warmup_cosine(2.0, 0.05) == pytest.approx(0.02)
    after = [warmup_cosine(p, 0.05) for p in np.linspace(0.05, 1.0, 50)]
    assert all(x >= y for x, y in itertools.pairwise(after))
    assert warmup_cosine(0.525, 0.05) == pytest.approx(0.51)

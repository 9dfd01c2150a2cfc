"""Training losses and the switching off of classes no training mask has."""

from __future__ import annotations

import keras
import numpy as np

from seggui.model.losses import class_weights, segmentation_loss, silence_unseen_classes
from seggui.model.unet import build_unet


def test_a_class_in_no_training_mask_is_never_predicted():
    keras.utils.set_random_seed(5)
    model = build_unet(4, 4, 2)
    head = model.get_layer("probabilities")
    kernel, bias = head.get_weights()
    bias[2] = 5.0  # as if a short run had left class 2 likely
    head.set_weights([kernel, bias])
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    before = model.predict(x, verbose=0)
    assert (before.argmax(-1) == 2).mean() > 0.5
    counts = np.array([[10, 5, 0, 1], [3, 0, 0, 9]])
    assert silence_unseen_classes(model, counts) == [2]
    after = model.predict(x, verbose=0)
    assert not (after.argmax(-1) == 2).any() and after[..., 2].max() < 1e-6
    kept = before[..., [0, 1, 3]] / before[..., [0, 1, 3]].sum(-1, keepdims=True)
    assert np.allclose(after[..., [0, 1, 3]], kept, atol=1e-5)  # the others keep their odds
    assert silence_unseen_classes(model, np.ones((2, 4))) == []


def test_dice_term_is_per_pixel_so_padding_weight_applies():
    loss = segmentation_loss(3, dice=True)
    y = np.zeros((2, 8, 8), np.int32)
    p = np.full((2, 8, 8, 3), 1 / 3, np.float32)
    values = np.asarray(loss(y, p))
    assert values.shape == (2, 8, 8) and np.isfinite(values).all()
    assert (values > np.asarray(segmentation_loss(3, dice=False)(y, p))).all()


def test_balanced_weights_follow_inverse_frequency():
    weights = class_weights("balanced", np.array([[90, 10, 0], [90, 10, 0]]))
    assert weights[2] == 0 and weights[1] > weights[0]
    assert class_weights("none", np.ones((1, 3))) is None
    milder = class_weights("sqrt", np.array([[90, 10, 0], [90, 10, 0]]))
    np.testing.assert_allclose(milder, np.sqrt(weights), rtol=1e-6)
    assert milder[1] > milder[0] and milder[1] < weights[1]

"""Training losses: cross-entropy with optional class weights and a soft Dice term."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def class_weights(kind: str, counts: np.ndarray) -> np.ndarray | None:
    """Per-class loss weights: None, "balanced" (inverse frequency over the training
    masks' pixel ``counts`` per slide and class) or "sqrt" (its square root: a rare class
    weighs more, but less than "balanced" gives it), capped at 10."""
    if kind not in ("balanced", "sqrt"):
        return None
    n = counts.shape[1]
    counts = counts.sum(axis=0).astype(np.float64)
    freq = counts / max(counts.sum(), 1)
    weights = np.where(freq > 0, 1.0 / (n * np.maximum(freq, 1e-12)), 0.0)
    if kind == "sqrt":
        weights = np.sqrt(weights)
    return np.clip(weights, 0.0, 10.0).astype(np.float32)


def dice_loss(n_classes: int):
    """Soft Dice loss per crop, averaged over the classes (absent ones included, so
    predicting a class that is not there costs too)."""

    def loss(y_true, y_pred):
        onehot = tf.one_hot(tf.cast(y_true, tf.int32), n_classes)
        inter = tf.reduce_sum(onehot * y_pred, axis=(1, 2))
        denom = tf.reduce_sum(onehot + y_pred, axis=(1, 2))
        return 1.0 - tf.reduce_mean((2 * inter + 1.0) / (denom + 1.0), axis=-1)

    return loss


def segmentation_loss(n_classes: int, dice: bool):
    """Cross-entropy per pixel, plus each crop's Dice loss on its pixels when ``dice``:
    per-pixel values, so padding's zero weight still applies."""
    if not dice:
        return keras.losses.SparseCategoricalCrossentropy()
    soft_dice = dice_loss(n_classes)

    def loss(y_true, y_pred):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        return ce + soft_dice(y_true, y_pred)[:, None, None]

    return loss


#: The output bias given to a class no training mask has: its probability becomes ~e-13
#: of the others', so it is never predicted.
SILENT_BIAS = -30.0


def silence_unseen_classes(model: keras.Model, counts: np.ndarray) -> list[int]:
    """Switch off the classes that no training mask has (pixel ``counts`` per slide and
    class) by lowering their output bias; returns them.

    Such a class gets no positive example, only a slow push down, so a short run still
    predicts it on scattered pixels; a model trained from scratch can never have learned it.
    """
    unseen = np.flatnonzero(np.asarray(counts).sum(axis=0) == 0)
    if len(unseen) == 0:
        return []
    head = model.get_layer("probabilities")
    kernel, bias = head.get_weights()
    bias[unseen] = SILENT_BIAS
    head.set_weights([kernel, bias])
    return [int(c) for c in unseen]

"""Loss helpers for training: class weights from the masks, and a Dice term."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seggui.core.folder import FolderContext
from seggui.core.slides import Slide


def _class_weights(kind: str, n: int, slides: list[Slide], ctx: FolderContext) -> np.ndarray | None:
    if kind != "balanced":
        return None
    from seggui.core.imageio import SlideFileError, read_mask

    counts = np.zeros(n, np.float64)
    for slide in slides[:64]:
        try:
            counts += np.bincount(read_mask(slide.mask_path, ctx.classes).ravel(), minlength=n)
        except SlideFileError:
            continue
    freq = counts / max(counts.sum(), 1)
    weights = np.where(freq > 0, 1.0 / (n * np.maximum(freq, 1e-12)), 0.0)
    return np.clip(weights, 0.0, 10.0).astype(np.float32)


def _dice_loss(n_classes: int):
    def loss(y_true, y_pred):
        onehot = tf.one_hot(tf.cast(y_true, tf.int32), n_classes)
        inter = tf.reduce_sum(onehot * y_pred, axis=(1, 2))
        denom = tf.reduce_sum(onehot + y_pred, axis=(1, 2))
        return 1.0 - tf.reduce_mean((2 * inter + 1.0) / (denom + 1.0), axis=-1)

    return loss

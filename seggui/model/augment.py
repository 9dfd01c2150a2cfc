"""Stain and colour augmentation for H&E crops, as TensorFlow ops on the tf.data threads.

Labs differ most in how strongly haematoxylin and eosin stain, so the jitter works where that
difference lives: each crop's optical density is split into haematoxylin, eosin and DAB
(Ruifrok & Johnston's matrix, as scikit-image uses it), each stain is scaled and shifted a
little, and the result turned back into RGB (Tellez et al. 2019 found this "HED jitter" the
most useful single augmentation across labs). Brightness, contrast, saturation and hue follow.
Only the image changes: masks and weights pass through untouched, so labels stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

#: Rows: the RGB optical density of one unit of haematoxylin, eosin and DAB.
RGB_FROM_HED = np.array(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=np.float64
)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
_EPS = 1e-6


@dataclass(frozen=True)
class ColourJitter:
    """How far each crop's colours may move (uniform, independently per crop)."""

    stain_scale: float = 0.05  # each stain's amount times 1 +- this
    stain_shift: float = 0.05  # each stain's amount plus +- this (optical density)
    brightness: float = 0.08
    contrast: float = 0.15  # times 1 +- this
    saturation: float = 0.15  # times 1 +- this
    hue: float = 0.03  # turns of the colour wheel


def hed_jitter(image: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """An RGB image in [0, 1] with its H, E and D amounts ``* scale + shift`` (each (3,))."""
    od = -tf.math.log(tf.maximum(image, _EPS))
    hed = tf.tensordot(od, tf.constant(HED_FROM_RGB, tf.float32), 1)
    hed = hed * scale + shift
    rgb = tf.exp(-tf.tensordot(hed, tf.constant(RGB_FROM_HED, tf.float32), 1))
    return tf.clip_by_value(rgb, 0.0, 1.0)


def jitter_colours(image: tf.Tensor, settings: ColourJitter = ColourJitter()) -> tf.Tensor:
    """One crop (H, W, 3, float32 in [0, 1]) with random stain and colour changes, in range."""
    s = settings
    scale = tf.random.uniform((3,), 1.0 - s.stain_scale, 1.0 + s.stain_scale)
    shift = tf.random.uniform((3,), -s.stain_shift, s.stain_shift)
    image = hed_jitter(image, scale, shift)
    if s.brightness:
        image = image + tf.random.uniform((), -s.brightness, s.brightness)
    if s.contrast:
        image = tf.image.random_contrast(image, 1.0 - s.contrast, 1.0 + s.contrast)
    image = tf.clip_by_value(image, 0.0, 1.0)
    if s.saturation:
        image = tf.image.random_saturation(image, 1.0 - s.saturation, 1.0 + s.saturation)
    if s.hue:
        image = tf.image.random_hue(image, s.hue)
    return tf.clip_by_value(image, 0.0, 1.0)

"""The U-Net of the original work, in the Keras functional API."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

NORMALISE = "normalise"


def normaliser(mean: Sequence[float], std: Sequence[float]) -> layers.Normalization:
    """A fixed per-channel ``(x - mean) / std`` layer (no weights, saved in the config)."""
    variance = [float(s) ** 2 for s in std]
    return layers.Normalization(mean=[float(m) for m in mean], variance=variance, name=NORMALISE)


def input_normalisation(model: keras.Model) -> tuple[list[float], list[float]] | None:
    """The ``(mean, std)`` a model normalises its input with, or None for raw [0, 1] RGB."""
    try:
        layer = model.get_layer(NORMALISE)
    except ValueError:
        return None
    config = layer.get_config()
    mean = [float(v) for v in np.ravel(config["mean"])]
    std = [float(v) ** 0.5 for v in np.ravel(config["variance"])]
    return mean, std


def conv_block(input_tensor, num_filters: int):
    """Conv2D 3x3 -> BatchNormalization -> ReLU, twice."""
    x = input_tensor
    for _ in range(2):
        x = layers.Conv2D(num_filters, 3, padding="same", kernel_initializer="he_normal")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    return x


def separable_conv(num_filters: int, x, **kwargs) -> layers.Layer:
    """A depthwise-separable 3x3 convolution (a 3x3 filter per channel, then a 1x1 mix: a sixth
    to an eighth of the multiply-adds of a full 3x3 at 16 to 256 channels), except on the RGB
    input, where a per-channel filter would see each colour alone and a full one costs little."""
    if x.shape[-1] is not None and x.shape[-1] <= 3:
        return layers.Conv2D(num_filters, 3, padding="same", **kwargs)
    return layers.SeparableConv2D(num_filters, 3, padding="same", **kwargs)


def separable_block(input_tensor, num_filters: int):
    """:func:`conv_block` with depthwise-separable convolutions (MobileNet's cheaper block)."""
    x = input_tensor
    for _ in range(2):
        x = separable_conv(num_filters, x)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    return x


#: The convolution blocks a U-Net can be built of (``TrainSettings.block``).
BLOCKS = {"standard": conv_block, "separable": separable_block}


def block_of(model: keras.Model) -> str:
    """Which of :data:`BLOCKS` a trained U-Net is built of."""
    separable = any(isinstance(layer, layers.SeparableConv2D) for layer in model.layers)
    return "separable" if separable else "standard"


def encoder_block(
    input_tensor, num_filters: int, dropout: float = 0.2, block=conv_block, dtype=None
):
    """``block`` (the conv_block), then 2x2 max pooling and dropout; returns ``(skip, x)``."""
    skip = block(input_tensor, num_filters)
    x = layers.MaxPooling2D(2, dtype=dtype)(skip)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return skip, x


def decoder_block(
    input_tensor, skip, num_filters: int, dropout: float = 0.2, block=conv_block, dtype=None
):
    """2x2 stride-2 transposed convolution, concatenate the skip, dropout, ``block``."""
    x = layers.Conv2DTranspose(num_filters, 2, strides=2, padding="same", dtype=dtype)(input_tensor)
    x = layers.Concatenate(dtype=dtype)([x, skip])
    if dropout:
        x = layers.Dropout(dropout)(x)
    return block(x, num_filters)


def unet_graph(
    x, n_classes: int, base_filters: int, depth: int, dropout: float, block=conv_block, dtype=None
):
    """The U-Net's topology, written once: the trained model and its inference copy (BatchNorm
    folded, no dropout; :mod:`seggui.model.fastpath`) both come from here, so their layers
    line up one to one."""
    skips = []
    for level in range(depth):
        skip, x = encoder_block(x, base_filters * 2**level, dropout, block, dtype)
        skips.append(skip)
    x = block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], base_filters * 2**level, dropout, block, dtype)
    return layers.Conv2D(n_classes, 1, activation="softmax", dtype="float32", name="probabilities")(
        x
    )


def build_unet(
    n_classes: int,
    base_filters: int = 16,
    depth: int = 4,
    dropout: float = 0.2,
    input_shape: tuple = (None, None, 3),
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    block: str = "standard",
) -> keras.Model:
    """A U-Net with ``depth`` poolings; inputs must be a multiple of ``2**depth`` in size.

    With ``mean`` and ``std`` the model's first layer normalises its RGB input per channel,
    so every path that runs the model (training, TensorFlow, OpenVINO) uses the same numbers.
    ``block``: a key of :data:`BLOCKS` (the seed's blocks by default).
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs if mean is None else normaliser(mean, std)(inputs)
    outputs = unet_graph(x, n_classes, base_filters, depth, dropout, BLOCKS[block])
    return keras.Model(inputs, outputs, name=f"unet_b{base_filters}_d{depth}_c{n_classes}")

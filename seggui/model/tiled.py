"""Prediction of images too large to hold or to predict at once, tile by tile, exactly.

Each tile is predicted with a halo of context around it that is at least the U-Net's
receptive-field radius, on a grid aligned to the model's ``2**depth`` poolings, and only its
centre is kept; where a tile meets the image's edge it is cut there, as the whole image
would be. So the stitched result is the whole-image prediction, not an approximation with
seams (tests check it against :meth:`Predictor.predict` on images small enough for both).

The pixels come from a ``read(x, y, width, height)`` callable, so a whole slide's region is
read only when its tile is predicted, and only the tiles asked for are (tissue first, those
on screen before the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from seggui.core.cancel import CancelToken
from seggui.model.predict import Prediction, Predictor

Reader = Callable[[int, int, int, int], np.ndarray]  # x, y, width, height -> float RGB


def halo_for(depth: int) -> int:
    """A halo at least the receptive-field radius of a ``depth``-pooling U-Net with two 3x3
    convolutions per block (8 * 2**depth - 5 pixels), rounded up to the pooling grid."""
    return 8 * 2**depth


@dataclass(frozen=True)
class TileGrid:
    """The tiles of an image of ``width`` x ``height``: ``tile`` pixels a side (the last ones
    smaller), each read with ``halo`` pixels of context where the image has them."""

    width: int
    height: int
    tile: int
    halo: int
    multiple: int

    @property
    def padded(self) -> tuple[int, int]:
        """The image's size once padded to the poolings' multiple (as the model sees it)."""
        return self.width + -self.width % self.multiple, self.height + -self.height % self.multiple

    @property
    def columns(self) -> int:
        return -(-self.width // self.tile)

    @property
    def rows(self) -> int:
        return -(-self.height // self.tile)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for row in range(self.rows):
            for col in range(self.columns):
                yield col, row

    def core(self, col: int, row: int) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of the tile's own pixels in the image."""
        x, y = col * self.tile, row * self.tile
        return x, y, min(self.tile, self.width - x), min(self.tile, self.height - y)

    def window(self, col: int, row: int) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of what is predicted for the tile: its pixels and the halo,
        on the pooling grid. A window that reaches the image's edge runs to the padded edge,
        where the whole image's convolutions stop too."""
        pw, ph = self.padded
        x, y, w, h = self.core(col, row)
        x1, y1 = x + w + self.halo, y + h + self.halo
        return (
            max(0, x - self.halo),
            max(0, y - self.halo),
            pw if x1 >= self.width else x1,
            ph if y1 >= self.height else y1,
        )


def tile_grid(width: int, height: int, depth: int, tile: int = 512, halo: int | None = None):
    multiple = 2**depth
    tile = max(multiple, tile // multiple * multiple)  # tiles start on the pooling grid
    return TileGrid(width, height, tile, halo_for(depth) if halo is None else halo, multiple)


def _padded_read(read: Reader, grid: TileGrid, x0: int, y0: int, x1: int, y1: int):
    """The window's pixels, reflect-padded past the image's edge as the whole image is."""
    rx1, ry1 = min(x1, grid.width), min(y1, grid.height)
    pixels = np.asarray(read(x0, y0, rx1 - x0, ry1 - y0), dtype=np.float32)
    pad_y, pad_x = y1 - ry1, x1 - rx1
    if pad_y or pad_x:
        # The whole image's rule (Predictor._pad): reflect unless the image is too small.
        mode = "reflect" if grid.height > pad_y and grid.width > pad_x else "edge"
        pixels = np.pad(pixels, ((0, pad_y), (0, pad_x), (0, 0)), mode=mode)
    return pixels


def predict_tiles(
    predictor: Predictor,
    read: Reader,
    grid: TileGrid,
    tiles: Iterable[tuple[int, int]] | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[tuple[int, int], Prediction]]:
    """Predict ``tiles`` (every tile of ``grid`` when None), yielding each tile's own pixels'
    prediction as soon as it is made."""
    for col, row in grid if tiles is None else tiles:
        if cancel is not None:
            cancel.raise_if_cancelled()
        x, y, w, h = grid.core(col, row)
        x0, y0, x1, y1 = grid.window(col, row)
        pixels = _padded_read(read, grid, x0, y0, x1, y1)
        labels, conf, margin, probs = predictor.infer(pixels[None])
        keep = (0, slice(y - y0, y - y0 + h), slice(x - x0, x - x0 + w))
        yield (
            (col, row),
            Prediction(
                labels[keep],
                conf[keep],
                None if margin is None else margin[keep],
                None if probs is None else probs[keep],
            ),
        )


def predict_image(
    predictor: Predictor, image: np.ndarray, tile: int = 512, cancel: CancelToken | None = None
) -> Prediction:
    """A whole image's prediction made tile by tile (the same as :meth:`Predictor.predict`)."""
    h, w = image.shape[:2]
    grid = tile_grid(w, h, int(np.log2(predictor.multiple)), tile)
    labels = np.zeros((h, w), np.uint8)
    conf = np.zeros((h, w), np.float32)
    margin = probs = None
    for (col, row), part in predict_tiles(
        predictor, lambda x, y, cw, ch: image[y : y + ch, x : x + cw], grid, cancel=cancel
    ):
        x, y, cw, ch = grid.core(col, row)
        labels[y : y + ch, x : x + cw] = part.labels
        conf[y : y + ch, x : x + cw] = part.confidence
        if part.probs is not None:
            if probs is None:
                margin = np.zeros((h, w), np.float32)
                probs = np.zeros((h, w, part.probs.shape[-1]), np.uint8)
            margin[y : y + ch, x : x + cw] = part.margin
            probs[y : y + ch, x : x + cw] = part.probs
    return Prediction(labels, conf, margin, probs)

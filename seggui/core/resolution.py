"""A working resolution: a model that sees its slides at 1/2 or 1/4 of their pixels.

Tissue classes such as Gleason patterns are told apart by glands and their arrangement, more
than by single nuclei: at half the resolution a crop holds four times the context, and a
step costs a quarter. Images are reduced by averaging each ``f`` x ``f`` block, masks by
taking each block's centre pixel (a mask's classes must not be blended); predictions come
back to full resolution as probabilities, interpolated between the block centres, and only
then become labels, so edges are not blocky.
"""

from __future__ import annotations

import numpy as np

FACTORS = (1, 2, 4)


def _padded(array: np.ndarray, f: int) -> np.ndarray:
    h, w = array.shape[:2]
    pad = ((0, -h % f), (0, -w % f)) + ((0, 0),) * (array.ndim - 2)
    return np.pad(array, pad, mode="edge") if any(p[1] for p in pad) else array


def reduced_size(height: int, width: int, f: int) -> tuple[int, int]:
    """The reduced image's ``(height, width)`` (a partial block at an edge is a pixel)."""
    return -(-height // f), -(-width // f)


def reduce_image(image: np.ndarray, f: int) -> np.ndarray:
    """The mean of each ``f`` x ``f`` block of a float ``(H, W, C)`` image (edges repeated)."""
    if f == 1:
        return image
    p = _padded(image, f)
    h, w = p.shape[0] // f, p.shape[1] // f
    return p.reshape(h, f, w, f, -1).mean(axis=(1, 3), dtype=np.float32)


def reduce_mask(mask: np.ndarray, f: int) -> np.ndarray:
    """Each ``f`` x ``f`` block's centre pixel of a class-index mask."""
    if f == 1:
        return mask
    return _padded(mask, f)[f // 2 :: f, f // 2 :: f]


def _axis(full: int, small: int, f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    centre = (np.arange(full, dtype=np.float32) - (f - 1) / 2) / f
    u = np.clip(centre, 0, small - 1)
    i0 = np.floor(u).astype(np.intp)
    i1 = np.minimum(i0 + 1, small - 1)
    return i0, i1, (u - i0).astype(np.float32)


def enlarge_probabilities(probs: np.ndarray, height: int, width: int, f: int) -> np.ndarray:
    """Per-class probabilities ``(h, w, C)`` (float) at full resolution ``(height, width, C)``,
    linear between the reduced pixels' centres."""
    if f == 1:
        return probs[:height, :width]
    y0, y1, wy = _axis(height, probs.shape[0], f)
    x0, x1, wx = _axis(width, probs.shape[1], f)
    rows = probs[y0] * (1 - wy)[:, None, None] + probs[y1] * wy[:, None, None]
    return rows[:, x0] * (1 - wx)[None, :, None] + rows[:, x1] * wx[None, :, None]

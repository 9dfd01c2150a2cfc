"""Where a whole slide has tissue, found on its most reduced level, so that glass is skipped.

Tissue is darker and more coloured than the glass around it: Otsu's threshold (scikit-image)
on the saturation of the lowest pyramid level separates the two, and a tile is predicted when
any tissue pixel falls in it (with a margin of one low-level pixel, so no edge is lost).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MIN_SATURATION = 0.04  # below this everywhere, the slide is blank: no tissue at all


def tissue_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of the tissue in a low-resolution uint8 RGB image of a slide."""
    from skimage.filters import threshold_otsu

    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"), dtype=np.float32) / 255.0
    saturation = hsv[..., 1]
    if saturation.max() < MIN_SATURATION or np.ptp(saturation) == 0:
        return np.zeros(saturation.shape, bool)
    threshold = max(threshold_otsu(saturation), MIN_SATURATION)
    return saturation > threshold


def tiles_with_tissue(
    mask: np.ndarray, scale: float, tile: int, columns: int, rows: int
) -> list[tuple[int, int]]:
    """The ``(col, row)`` tiles of ``tile`` pixels that hold tissue, where one pixel of
    ``mask`` is ``scale`` of the tiles' pixels."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    out = []
    for row in range(rows):
        y0, y1 = int(row * tile / scale), int(np.ceil((row + 1) * tile / scale))
        for col in range(columns):
            x0, x1 = int(col * tile / scale), int(np.ceil((col + 1) * tile / scale))
            if grown[y0:y1, x0:x1].any():
                out.append((col, row))
    return out

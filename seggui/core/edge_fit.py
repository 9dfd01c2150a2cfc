"""How well a mask's class boundaries sit on its image's edges, without any model.

An annotator draws along what they see, so the boundaries between a mask's classes lie on
strong image gradients (a gland's epithelium against lumen or stroma). A mask shifted, taken
from another slide, or with a region's class swapped puts boundaries where the image has
none. The score is the mean gradient magnitude on the mask's boundary pixels over the
image's mean: above 1 where boundaries follow edges, about 1 where they ignore them, and 0
for a mask with no boundary at all. It is weak alone and needs no model; with the active
model's and an audit's mIoU in the Both ranking it found broken masks better than those two
did (BENCHMARKS.md section 43). Its smoothing was fixed on two runs before two more tested it.

Not every folder's masks follow edges: Gleason patterns are regions whose borders cross
tissue without a sharp edge. So the audit checks the folder first: each mask against itself
shifted by :data:`SHIFT` pixels. Where fewer than :data:`FOLLOWING_SHARE` of the masks fit
better than their shifted copies (GlaS 38 of 40, Gleason 7 of 11), the edge fit says
nothing about that folder and is left out of the ranking.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: The gradient's Gaussian scale in pixels (chosen on two GlaS runs, section 43).
SIGMA = 2.0
#: How far (pixels, down and right) the check moves a mask off its image's edges.
SHIFT = 32
#: The share of a folder's masks that must fit better than shifted for the edge fit to count.
FOLLOWING_SHARE = 0.8


def boundary_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixels with a different class among their 3x3 neighbours (both sides of a boundary)."""
    return (mask != ndimage.grey_erosion(mask, size=3)) | (
        mask != ndimage.grey_dilation(mask, size=3)
    )


def edge_fit(image: np.ndarray, mask: np.ndarray, sigma: float = SIGMA) -> float:
    """The mean gradient magnitude of ``image`` (H x W x 3, or 4 with an alpha channel that
    is ignored) on the boundaries of ``mask`` (H x W class indices), over its mean over the
    whole image."""
    return _fit(_gradient(image, mask, sigma), mask)


def edge_evidence(image: np.ndarray, mask: np.ndarray) -> tuple[float, bool]:
    """The mask's :func:`edge_fit`, and whether it beats the same mask shifted off the
    image's edges by :data:`SHIFT` pixels."""
    gradient = _gradient(image, mask, SIGMA)
    fit = _fit(gradient, mask)
    return fit, fit > _fit(gradient, np.roll(mask, (SHIFT, SHIFT), axis=(0, 1)))


def masks_follow_edges(following: int, checked: int) -> bool:
    """Whether a folder's masks follow its images' edges enough for the edge fit to rank."""
    return checked > 0 and following >= FOLLOWING_SHARE * checked


def _gradient(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    grey = np.asarray(image, dtype=np.float32)[..., :3].mean(axis=-1)
    if grey.shape != mask.shape:
        raise ValueError(f"image {grey.shape} and mask {mask.shape} differ in size")
    return ndimage.gaussian_gradient_magnitude(grey, sigma)


def _fit(gradient: np.ndarray, mask: np.ndarray) -> float:
    boundary = boundary_pixels(mask)
    mean = float(gradient.mean())
    if not boundary.any() or mean <= 0:
        return 0.0
    return float(gradient[boundary].mean()) / mean

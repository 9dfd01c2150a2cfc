"""Overlays as numpy: class colours blended over an image, contours, and a difference view.

The GUI turns the returned RGB arrays into pixmaps; nothing here knows about Qt.
"""

from __future__ import annotations

import numpy as np

#: Colours of the difference view: agreement is left as the image.
DIFF_COLOR = np.array([255, 0, 64], dtype=np.uint8)


def boundaries(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of pixels whose right or lower neighbour has another label (1px contour)."""
    edge = np.zeros(labels.shape, dtype=bool)
    dy = labels[1:, :] != labels[:-1, :]
    dx = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    return edge


def blend(
    image: np.ndarray,
    labels: np.ndarray,
    colors: np.ndarray,
    opacity: float = 0.5,
    visible: np.ndarray | None = None,
    contour: bool = False,
) -> np.ndarray:
    """``image`` (uint8 RGB) with each visible class painted in its colour.

    ``visible`` is a boolean per class; with ``contour`` only class borders are painted (at
    full strength, so thin lines stay readable).
    """
    n = len(colors)
    if visible is None:
        visible = np.ones(n, dtype=bool)
    safe = np.minimum(labels, n - 1)
    paint = np.asarray(visible, dtype=bool)[safe]
    if contour:
        paint &= boundaries(labels)
        alpha = 1.0
    else:
        alpha = float(np.clip(opacity, 0.0, 1.0))
    out = image.copy()
    if alpha <= 0 or not paint.any():
        return out
    colored = colors[safe[paint]].astype(np.float32)
    base = image[paint].astype(np.float32)
    out[paint] = np.round(base * (1 - alpha) + colored * alpha).astype(np.uint8)
    return out


def difference(
    image: np.ndarray, truth: np.ndarray, pred: np.ndarray, opacity: float = 0.6
) -> np.ndarray:
    """``image`` with pixels where annotation and prediction disagree painted in red."""
    wrong = truth != pred
    out = (image.astype(np.float32) * 0.55 + 255 * 0.45).astype(np.uint8)  # fade agreement
    if wrong.any():
        out[wrong] = np.round(image[wrong] * (1 - opacity) + DIFF_COLOR * opacity).astype(np.uint8)
    return out


def thumbnail(image: np.ndarray, size: int = 96) -> np.ndarray:
    """A small copy of a uint8 RGB image whose longer side is ``size``, by striding."""
    h, w = image.shape[:2]
    step = max(1, int(np.ceil(max(h, w) / size)))
    return np.ascontiguousarray(image[::step, ::step])

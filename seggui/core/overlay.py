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


#: Index of "nothing here" in layer arrays (a transparent colour-table entry).
CLEAR = 255


def contour_layer(labels: np.ndarray) -> np.ndarray:
    """The class index on class borders and :data:`CLEAR` elsewhere (a contour layer)."""
    return np.where(boundaries(labels), labels, np.uint8(CLEAR)).astype(np.uint8)


def update_contour(layer: np.ndarray, labels: np.ndarray, box: tuple[int, int, int, int]) -> tuple:
    """Recompute ``layer`` where an edit of ``box`` can have changed borders; returns that box."""
    h, w = labels.shape
    y0, y1, x0, x1 = max(box[0] - 1, 0), min(box[1] + 1, h), max(box[2] - 1, 0), min(box[3] + 1, w)
    # Borders depend on neighbours: compute on a one-pixel wider window, keep the inside.
    a0, a1, b0, b1 = max(y0 - 1, 0), min(y1 + 1, h), max(x0 - 1, 0), min(x1 + 1, w)
    part = contour_layer(labels[a0:a1, b0:b1])
    layer[y0:y1, x0:x1] = part[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
    return (y0, y1, x0, x1)


def disagreement(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """1 where annotation and prediction differ, 0 where they agree (a difference layer)."""
    return (truth != pred).astype(np.uint8)

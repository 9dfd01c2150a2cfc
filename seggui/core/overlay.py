"""The arrays behind the views' layers: class borders (contour layers, updated inside an
edited box only) and where annotation and prediction disagree.

The canvas shows them as 8-bit indexed images through colour tables: nothing is blended
here, and nothing here knows about Qt.
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

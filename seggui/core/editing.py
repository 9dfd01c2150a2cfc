"""An editable class-index mask with an undo/redo history.

Each stroke, fill or polygon is one history step holding only the changed bounding box's old
and new values (zlib-compressed when large: masks are mostly uniform regions), so a long
history of big fills stays small. Every change bumps ``version``, which the viewer uses to
know when a derived layer (contours, difference) is stale.
"""

from __future__ import annotations

import itertools
import zlib
from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

#: Steps kept per mask, and the most bytes their (compressed) values may take together.
MAX_STEPS = 500
MAX_BYTES = 128 * 1024 * 1024
#: Step values larger than this are kept zlib-compressed.
COMPRESS_ABOVE = 64 * 1024

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)

_ids = itertools.count(1)


def union(a: Box | None, b: Box | None) -> Box | None:
    """The smallest box holding both (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


class _Packed:
    """A small uint8 array kept as is, or zlib-compressed when large."""

    __slots__ = ("data", "raw", "shape")

    def __init__(self, array: np.ndarray):
        self.shape = array.shape
        self.raw = array.nbytes <= COMPRESS_ABOVE
        self.data = array.copy() if self.raw else zlib.compress(array.tobytes(), 1)

    def unpack(self) -> np.ndarray:
        if self.raw:
            return self.data
        return np.frombuffer(zlib.decompress(self.data), np.uint8).reshape(self.shape)

    @property
    def nbytes(self) -> int:
        return self.data.nbytes if self.raw else len(self.data)


@dataclass
class Step:
    """One undoable change: a box's values before and after, and what made it."""

    box: Box
    old: _Packed
    new: _Packed
    label: str
    id: int

    @property
    def nbytes(self) -> int:
        return self.old.nbytes + self.new.nbytes


def disk_segment(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], diameter: float
) -> tuple[Box, np.ndarray] | None:
    """Pixels whose centres lie within ``diameter / 2`` of the segment ``p0``-``p1``.

    Points are (x, y) in pixel units, where pixel (i, j) covers [j, j+1) x [i, i+1); each is
    first snapped to the centre of the pixel it falls in, so a diameter of 1 paints exactly
    the pixels the pointer passed over. Returns the clipped box and a boolean footprint.
    """
    h, w = shape
    r = max(diameter, 1.0) / 2.0
    (ax, ay), (bx, by) = ((np.floor(p[0]) + 0.5, np.floor(p[1]) + 0.5) for p in (p0, p1))
    y0 = max(int(np.floor(min(ay, by) - r)), 0)
    y1 = min(int(np.ceil(max(ay, by) + r)) + 1, h)
    x0 = max(int(np.floor(min(ax, bx) - r)), 0)
    x1 = min(int(np.ceil(max(ax, bx) + r)) + 1, w)
    if y0 >= y1 or x0 >= x1:
        return None
    cy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    cx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        dist2 = (cx - ax) ** 2 + (cy - ay) ** 2
    else:
        t = np.clip(((cx - ax) * dx + (cy - ay) * dy) / length2, 0.0, 1.0)
        dist2 = (cx - ax - t * dx) ** 2 + (cy - ay - t * dy) ** 2
    return _tight((y0, y1, x0, x1), dist2 <= r * r + 1e-9)


def _tight(box: Box, footprint: np.ndarray) -> tuple[Box, np.ndarray] | None:
    """The box shrunk to the footprint's own extent (None when it is empty)."""
    rows = np.flatnonzero(footprint.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(footprint.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return (box[0] + r0, box[0] + r1, box[2] + c0, box[2] + c1), footprint[r0:r1, c0:c1]


def polygon_footprint(
    shape: tuple[int, int], points: list[tuple[float, float]]
) -> tuple[Box, np.ndarray] | None:
    """Pixels inside (or on the edge of) a polygon of (x, y) points, without anti-aliasing."""
    if len(points) < 3:
        return None
    h, w = shape
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = max(int(np.floor(min(xs))), 0), min(int(np.ceil(max(xs))) + 1, w)
    y0, y1 = max(int(np.floor(min(ys))), 0), min(int(np.ceil(max(ys))) + 1, h)
    if y0 >= y1 or x0 >= x1:
        return None
    canvas = Image.new("1", (x1 - x0, y1 - y0), 0)
    # Pillow's pixel (j, i) is centred on (j, i); ours on (j + 0.5, i + 0.5).
    shifted = [(x - x0 - 0.5, y - y0 - 0.5) for x, y in points]
    ImageDraw.Draw(canvas).polygon(shifted, fill=1, outline=1)
    return _tight((y0, y1, x0, x1), np.asarray(canvas, dtype=bool))


class EditableMask:
    """A mask being corrected: the class-index array, its history and its saved state."""

    def __init__(
        self,
        labels: np.ndarray,
        n_classes: int,
        max_steps: int = MAX_STEPS,
        max_bytes: int = MAX_BYTES,
        saved: bool = True,
    ):
        """``saved`` False: a new mask that exists only here until it is saved."""
        if labels.ndim != 2:
            raise ValueError(f"a mask is 2-D, not {labels.shape}")
        self.labels = np.ascontiguousarray(labels, dtype=np.uint8).copy()
        self.n_classes = n_classes
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self.version = 0
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._bytes = 0
        self._saved_id = 0 if saved else -1  # newest undo step's id when last saved
        self._stroke_backup: np.ndarray | None = None
        self._stroke_box: Box | None = None
        self._stroke_label = ""
        #: The last finished change: its box and the box's values before and after.
        self.last_change: tuple[Box, np.ndarray, np.ndarray] | None = None

    # -- state ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    def _top_id(self) -> int:
        return self._undo[-1].id if self._undo else 0

    @property
    def dirty(self) -> bool:
        """True when the mask differs from what was last saved (or loaded)."""
        return self._top_id() != self._saved_id or self._stroke_box is not None

    def mark_saved(self) -> None:
        self._saved_id = self._top_id()

    def mark_unsaved(self) -> None:
        """The last save failed: the mask differs from its file whatever the history says."""
        self._saved_id = -1

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def steps(self) -> int:
        return len(self._undo)

    @property
    def history_bytes(self) -> int:
        return self._bytes

    def _check_value(self, value: int) -> int:
        value = int(value)
        if not 0 <= value < self.n_classes:
            raise ValueError(f"class {value} is outside 0..{self.n_classes - 1}")
        return value

    # -- history -------------------------------------------------------------------------------
    def _push(self, box: Box, old: np.ndarray, label: str) -> Step | None:
        y0, y1, x0, x1 = box
        new = self.labels[y0:y1, x0:x1]
        if np.array_equal(old, new):
            return None
        step = Step(box, _Packed(old), _Packed(new), label, next(_ids))
        self.last_change = (box, old, new.copy())
        self._undo.append(step)
        self._bytes += step.nbytes
        self._redo.clear()
        while len(self._undo) > 1 and (
            len(self._undo) > self.max_steps or self._bytes > self.max_bytes
        ):
            self._bytes -= self._undo.popleft().nbytes
        return step

    def _apply(self, box: Box, footprint: np.ndarray, values, label: str) -> Box | None:
        """One complete step: set the footprint's pixels in ``box`` to ``values``."""
        y0, y1, x0, x1 = box
        region = self.labels[y0:y1, x0:x1]
        old = region.copy()
        if np.isscalar(values) or np.ndim(values) == 0:
            region[footprint] = values
        else:
            region[footprint] = values[footprint]
        if self._push(box, old, label) is None:
            return None
        self.version += 1
        return box

    def undo(self) -> Box | None:
        """Go back one step; returns the box that changed."""
        self.end_stroke()
        if not self._undo:
            return None
        step = self._undo.pop()
        self._bytes -= step.nbytes
        y0, y1, x0, x1 = step.box
        old = step.old.unpack()
        self.last_change = (step.box, self.labels[y0:y1, x0:x1].copy(), old)
        self.labels[y0:y1, x0:x1] = old
        self._redo.append(step)
        self.version += 1
        return step.box

    def redo(self) -> Box | None:
        """Re-apply the last undone step; returns the box that changed."""
        self.end_stroke()
        if not self._redo:
            return None
        step = self._redo.pop()
        y0, y1, x0, x1 = step.box
        new = step.new.unpack()
        self.last_change = (step.box, self.labels[y0:y1, x0:x1].copy(), new)
        self.labels[y0:y1, x0:x1] = new
        self._undo.append(step)
        self._bytes += step.nbytes
        self.version += 1
        return step.box

    # -- strokes -------------------------------------------------------------------------------
    def begin_stroke(self, label: str = "stroke") -> None:
        self.end_stroke()
        self._stroke_backup = self.labels.copy()
        self._stroke_box = None
        self._stroke_label = label

    def stroke_to(
        self,
        p0: tuple[float, float],
        p1: tuple[float, float],
        diameter: float,
        value: int | None = None,
        source: np.ndarray | None = None,
    ) -> Box | None:
        """Paint the segment ``p0``-``p1`` with ``value``, or copy ``source`` under it.

        Part of the open stroke (:meth:`begin_stroke` opens one if needed); the stroke
        becomes one history step at :meth:`end_stroke`.
        """
        if self._stroke_backup is None:
            self.begin_stroke()
        if source is not None and source.shape != self.labels.shape:
            raise ValueError(f"source {source.shape} differs from the mask {self.labels.shape}")
        if source is None:
            value = self._check_value(value)
        hit = disk_segment(self.labels.shape, p0, p1, diameter)
        if hit is None:
            return None
        box, footprint = hit
        y0, y1, x0, x1 = box
        region = self.labels[y0:y1, x0:x1]
        if source is None:
            region[footprint] = value
        else:
            src = np.minimum(source[y0:y1, x0:x1], self.n_classes - 1)
            region[footprint] = src[footprint]
        self._stroke_box = union(self._stroke_box, box)
        self.version += 1
        return box

    def end_stroke(self) -> Box | None:
        """Close the open stroke as one step; returns its box (None when nothing changed)."""
        backup, box = self._stroke_backup, self._stroke_box
        self._stroke_backup = self._stroke_box = None
        if backup is None or box is None:
            return None
        y0, y1, x0, x1 = box
        step = self._push(box, backup[y0:y1, x0:x1].copy(), self._stroke_label)
        return box if step is not None else None

    # -- whole-region tools ----------------------------------------------------------------------
    def fill(self, x: int, y: int, value: int) -> Box | None:
        """Flood-fill the 4-connected region of the class at (x, y) with ``value``."""
        self.end_stroke()
        value = self._check_value(value)
        h, w = self.labels.shape
        if not (0 <= x < w and 0 <= y < h) or self.labels[y, x] == value:
            return None
        components, _ = ndimage.label(self.labels == self.labels[y, x])
        region = components == components[y, x]
        rows = np.flatnonzero(region.any(axis=1))
        cols = np.flatnonzero(region.any(axis=0))
        box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        y0, y1, x0, x1 = box
        return self._apply(box, region[y0:y1, x0:x1], value, "fill")

    def polygon(self, points: list[tuple[float, float]], value: int) -> Box | None:
        """Fill the inside of a closed polygon of (x, y) points with ``value``."""
        self.end_stroke()
        value = self._check_value(value)
        hit = polygon_footprint(self.labels.shape, points)
        if hit is None:
            return None
        box, footprint = hit
        return self._apply(box, footprint, value, "polygon")

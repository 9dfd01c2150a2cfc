"""The editable mask: exact strokes, fills and polygons, and undo/redo that restores bytes."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.editing import EditableMask, disk_segment


def _mask() -> np.ndarray:
    labels = np.zeros((64, 80), np.uint8)
    labels[:, 40:] = 1
    labels[10:20, 10:20] = 2
    return labels


def test_a_stroke_changes_exactly_the_pixels_under_it_and_undo_restores_bytes():
    original = _mask()
    m = EditableMask(original, 4)
    m.begin_stroke()
    m.stroke_to((5.2, 30.7), (5.2, 30.7), 1, value=3)  # a click with a 1-px brush
    m.stroke_to((5.2, 30.7), (25.9, 30.1), 1, value=3)  # a horizontal drag along row 30
    box = m.end_stroke()
    changed = m.labels != original
    assert changed.sum() == 21 and changed[30, 5:26].all()
    assert box == (30, 31, 5, 26) and m.steps == 1 and m.dirty
    assert m.undo() == box
    assert m.labels.tobytes() == original.tobytes() and not m.dirty
    m.redo()
    assert (m.labels[30, 5:26] == 3).all() and m.dirty


def test_brush_disk_is_pixel_exact():
    box, fp = disk_segment((100, 100), (50.5, 50.5), (50.5, 50.5), 5)
    assert box[1] - box[0] >= 5 and fp.sum() == 21  # radius 2.5 disk: 21 pixel centres
    y0, _, x0, _ = box
    ys, xs = np.nonzero(fp)
    assert ((ys + y0 + 0.5 - 50.5) ** 2 + (xs + x0 + 0.5 - 50.5) ** 2 <= 6.25).all()


def test_fill_takes_the_contiguous_region_only():
    labels = _mask()
    labels[40:50, 10:20] = 2  # a second island of class 2
    m = EditableMask(labels, 4)
    m.fill(15, 15, 3)
    assert (m.labels[10:20, 10:20] == 3).all()
    assert (m.labels[40:50, 10:20] == 2).all()  # not connected: untouched
    assert (m.labels[:, 40:] == 1).all()
    m.undo()
    assert np.array_equal(m.labels, labels)
    assert m.fill(15, 15, 2) is None  # same class: nothing to do, no step
    assert m.steps == 0


def test_polygon_fills_its_inside():
    m = EditableMask(np.zeros((50, 50), np.uint8), 3)
    m.polygon([(10, 10), (30, 10), (30, 30), (10, 30)], 2)
    inside = m.labels == 2
    assert inside[12:29, 12:29].all() and not inside[:9].any() and not inside[:, 32:].any()
    assert set(np.unique(m.labels)) == {0, 2}  # every pixel one class: no blending


def test_take_prediction_copies_under_the_brush():
    labels = np.zeros((40, 40), np.uint8)
    pred = np.full((40, 40), 2, np.uint8)
    pred[:, 20:] = 1
    m = EditableMask(labels, 3)
    m.stroke_to((5, 20.5), (35, 20.5), 3, source=pred)
    m.end_stroke()
    assert (m.labels[20, 5:20] == 2).all() and (m.labels[20, 20:36] == 1).all()
    assert (m.labels[:15] == 0).all()


def test_history_is_bounded_but_keeps_at_least_a_hundred_steps():
    m = EditableMask(np.zeros((512, 512), np.uint8), 4)
    for i in range(150):
        m.fill(0, 0, 1 + i % 3)  # whole-mask fills: the largest possible steps
    assert m.steps >= 100
    assert m.history_bytes < 20_000_000  # compressed: 150 full 512x512 steps would be 78 MB
    for _ in range(m.steps):
        m.undo()
    assert not m.can_undo


def test_new_mask_is_dirty_until_saved_and_values_are_checked():
    m = EditableMask(np.zeros((8, 8), np.uint8), 2)
    with pytest.raises(ValueError):
        m.fill(0, 0, 5)
    m.fill(0, 0, 1)  # the whole mask, one step
    assert m.dirty
    m.mark_saved()
    assert not m.dirty
    m.undo()
    assert m.dirty  # the file has the filled mask; the view does not

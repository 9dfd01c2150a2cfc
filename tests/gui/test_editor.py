"""The mask editor in the window, offscreen, driven by real mouse and key events."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QKeySequence, QMouseEvent
from PyQt6.QtWidgets import QApplication

from seggui.core.editing import disk_segment
from seggui.core.imageio import read_mask
from seggui.core.review import ReviewStore
from seggui.gui import actions as action_table
from seggui.gui.slides.table_model import COL_MASK
from tests.conftest import shared_folder
from tests.gui.conftest import assert_view_in_screenshot, open_and_wait

TIMEOUT = 120000
LEFT = Qt.MouseButton.LeftButton


def _send(canvas, kind, xy, button=LEFT, buttons=LEFT, modifiers=Qt.KeyboardModifier.NoModifier):
    pos = QPointF(canvas.mapFromScene(QPointF(*xy)))
    event = QMouseEvent(kind, pos, canvas.viewport().mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(canvas.viewport(), event)
    return canvas.mapToScene(pos.toPoint())


def drag(canvas, points) -> list[tuple[float, float]]:
    """Press at the first point, move through the rest with the button held, release.

    Returns the scene points the canvas really received (after mapping to the screen).
    """
    got = [_send(canvas, QMouseEvent.Type.MouseButtonPress, points[0])]
    for xy in points[1:]:
        got.append(_send(canvas, QMouseEvent.Type.MouseMove, xy, Qt.MouseButton.NoButton))
    _send(canvas, QMouseEvent.Type.MouseButtonRelease, points[-1], buttons=Qt.MouseButton.NoButton)
    return [(p.x(), p.y()) for p in got]


def click(canvas, xy, modifiers=Qt.KeyboardModifier.NoModifier) -> tuple[int, int]:
    """A left click; returns the pixel (row, column) it landed on."""
    p = _send(canvas, QMouseEvent.Type.MouseButtonPress, xy, modifiers=modifiers)
    _send(canvas, QMouseEvent.Type.MouseButtonRelease, xy, buttons=Qt.MouseButton.NoButton)
    return int(np.floor(p.y())), int(np.floor(p.x()))


def expected_stroke(shape, points, size) -> np.ndarray:
    """The pixels a stroke through ``points`` with brush ``size`` must paint."""
    out = np.zeros(shape, bool)
    for a, b in zip(points, points[1:] or points, strict=False):
        box, fp = disk_segment(shape, a, b, size)
        y0, y1, x0, x1 = box
        out[y0:y1, x0:x1] |= fp
    return out


def _ready(qtbot, window, folder, rows):
    open_and_wait(qtbot, window, folder, rows)
    window.resize(1400, 900)
    window.views.actual_size()
    window.views.left.centerOn(200, 200)
    qtbot.waitUntil(lambda: window.session.current in window.session.predictions, timeout=TIMEOUT)


def key(qtbot, window, sequence: str) -> None:
    ks = QKeySequence(sequence)[0]
    qtbot.keyClick(window, ks.key(), ks.keyboardModifiers())


def test_brush_stroke_undo_redo_and_save_on_leaving(qtbot, window, demo_folder):
    _ready(qtbot, window, demo_folder, 6)
    name = window.session.current
    mask_file = demo_folder / "masks" / f"{name}.png"
    before = window.session.loaded[name].mask.copy()
    key(qtbot, window, "B")
    assert window.editor.tool == "brush"
    window.editor.set_class(3)
    key(qtbot, window, "]")
    assert window.editor.size > 9
    window.editor.set_size(7)
    shown_before = window.views.left.composite()
    points = drag(window.views.left, [(150, 160), (170, 165), (200, 190), (230, 190)])
    edit = window.session.edits[name]
    changed = edit.labels != before
    # The view shows the edit, and nothing else moved.
    shown = window.views.left.composite() != shown_before
    assert shown.any(axis=2)[changed].any() and not shown.any(axis=2)[~changed].any()
    want = expected_stroke(before.shape, points, 7) & (before != 3)
    assert changed.any() and np.array_equal(changed, want)
    assert (edit.labels[changed] == 3).all()
    # The slide is re-scored by the edit alone, and matches a full recount.
    pred = window.session.predictions[name].labels
    from seggui.core.metrics import Scores

    full = Scores.compare(edit.labels, pred, len(window.session.ctx.classes))
    assert np.array_equal(window.session.facts.records.get(name).confusion, full.confusion)
    total = window.session.facts.records.totals()["folder"]
    assert np.array_equal(total, window.session.facts.records.recount()["folder"])

    key(qtbot, window, "Ctrl+Z")
    assert edit.labels.tobytes() == before.tobytes() and not edit.dirty
    key(qtbot, window, "Ctrl+Shift+Z")
    assert np.array_equal(edit.labels != before, want)
    key(qtbot, window, "Ctrl+Z")
    key(qtbot, window, "Ctrl+Y")
    assert edit.dirty
    original_bytes = mask_file.read_bytes()

    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # leaving saves without asking
    assert window.session.saver.flush()
    qtbot.waitUntil(lambda: window.session.ctx.masks.is_corrected(name), timeout=TIMEOUT)
    saved = read_mask(mask_file, window.session.ctx.classes)
    assert np.array_equal(saved, edit.labels)
    with Image.open(mask_file) as im:
        assert im.mode == "P"
    kept = window.session.ctx.masks.original_of(name)
    assert kept.read_bytes() == original_bytes
    model = window.slide_list.model
    qtbot.waitUntil(
        lambda: model.data(model.index(model.row_of(name), 1)) == "fixed", timeout=TIMEOUT
    )

    # Back on the slide: the history is still there.
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert window.session.current == name
    key(qtbot, window, "Ctrl+Z")
    assert edit.labels.tobytes() == before.tobytes()
    key(qtbot, window, "Ctrl+S")
    assert window.session.saver.flush()
    assert np.array_equal(read_mask(mask_file, window.session.ctx.classes), before)


def test_eraser_then_undo_leaves_the_file_untouched(qtbot, window, demo_folder):
    _ready(qtbot, window, demo_folder, 6)
    name = window.session.current
    mask_file = demo_folder / "masks" / f"{name}.png"
    stat = mask_file.stat()
    key(qtbot, window, "E")
    drag(window.views.left, [(120, 120), (220, 220)])
    assert window.session.edits[name].dirty
    assert (window.session.edits[name].labels != window.session.loaded[name].mask).any()
    key(qtbot, window, "Ctrl+Z")
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.session.saver.flush()
    assert mask_file.stat().st_mtime_ns == stat.st_mtime_ns
    assert not window.session.ctx.masks.is_corrected(name)


def test_fill_lasso_take_prediction_and_alt_click(qtbot, window, demo_folder):
    _ready(qtbot, window, demo_folder, 6)
    name = window.session.current
    before = window.session.loaded[name].mask.copy()
    canvas = window.views.left
    # Alt+click picks the class under the pointer.
    at = click(canvas, (100, 100), Qt.KeyboardModifier.AltModifier)
    assert window.editor.active_class == before[at]
    # Fill: the clicked 4-connected region gets the active class.
    from scipy import ndimage

    target = (int(before[150, 150]) + 1) % len(window.session.ctx.classes)
    window.editor.set_class(target)
    key(qtbot, window, "G")
    at = click(canvas, (150, 150))
    assert at == (150, 150)
    edit = window.session.edits[name]
    comp, _ = ndimage.label(before == before[at])
    region = comp == comp[at]
    assert (edit.labels[region] == target).all()
    assert np.array_equal(edit.labels[~region], before[~region])
    key(qtbot, window, "Ctrl+Z")
    # Lasso by clicks, closed with Enter.
    key(qtbot, window, "L")
    for xy in ((120, 120), (200, 120), (200, 200), (120, 200)):
        click(canvas, xy)
    key(qtbot, window, "Return")
    inside = edit.labels[125:195, 125:195]
    assert (inside == target).all()
    assert np.array_equal(edit.labels[:110], before[:110])
    # Esc cancels an open lasso without changing anything.
    steps = edit.steps
    click(canvas, (10, 10))
    click(canvas, (50, 10))
    key(qtbot, window, "Esc")
    assert edit.steps == steps and window.editor.tool == "lasso"
    key(qtbot, window, "Esc")
    assert window.editor.tool == "pan"
    # Take prediction: copies the predicted classes under the brush.
    key(qtbot, window, "Ctrl+Z")
    key(qtbot, window, "T")
    window.editor.set_size(11)
    points = drag(canvas, [(130, 250), (260, 250)])
    pred = window.session.predictions[name].labels
    under = expected_stroke(before.shape, points, 11)
    assert np.array_equal(edit.labels[under], pred[under])
    assert np.array_equal(edit.labels[~under], before[~under])


def test_needs_fix_becomes_corrected_and_revert_restores_bytes(qtbot, window, demo_folder):
    _ready(qtbot, window, demo_folder, 6)
    name = window.session.current
    mask_file = demo_folder / "masks" / f"{name}.png"
    original = mask_file.read_bytes()
    qtbot.keyClick(window, Qt.Key.Key_2)
    key(qtbot, window, "B")
    drag(window.views.left, [(140, 140), (190, 150)])
    key(qtbot, window, "Ctrl+S")
    assert window.session.saver.flush()
    qtbot.waitUntil(lambda: window.session.facts.state(name) == "corrected", timeout=TIMEOUT)
    store = ReviewStore(window.session.ctx.workspace)
    assert store.get(name).state == "corrected"
    store.close()
    window.slide_list.problem_filter.setCurrentIndex(2)  # corrected masks only
    assert window.slide_list.proxy.rowCount() == 1
    window.slide_list.problem_filter.setCurrentIndex(0)
    window.scores_control.write_csv(demo_folder / "scores.csv")
    assert ",corrected," in (demo_folder / "scores.csv").read_text()
    window.session.edits.revert(name)  # queued after any save, off the UI thread
    qtbot.waitUntil(lambda: not window.session.ctx.masks.is_corrected(name), timeout=TIMEOUT)
    assert mask_file.read_bytes() == original
    qtbot.waitUntil(lambda: name in window.session.loaded, timeout=TIMEOUT)
    model = window.slide_list.model
    assert model.data(model.index(model.row_of(name), COL_MASK)) == "yes"
    assert name not in window.session.edits


def test_new_mask_from_prediction(qtbot, window, demo_folder):
    (demo_folder / "masks" / "tile_0000.png").unlink()
    _ready(qtbot, window, demo_folder, 6)
    assert window.session.current == "tile_0000"
    window.editor.new_mask_from_prediction()
    edit = window.session.edits["tile_0000"]
    assert np.array_equal(edit.labels, window.session.predictions["tile_0000"].labels)
    key(qtbot, window, "Ctrl+S")
    assert window.session.saver.flush()
    path = demo_folder / "masks" / "tile_0000.png"
    qtbot.waitUntil(path.exists, timeout=TIMEOUT)
    assert np.array_equal(read_mask(path, window.session.ctx.classes), edit.labels)
    qtbot.waitUntil(lambda: window.session.ctx.scan.get("tile_0000").scorable, timeout=TIMEOUT)


def test_no_two_actions_share_a_key(window):
    seen: dict[str, str] = {}
    for spec in action_table.ACTIONS:
        for k in spec.keys:
            norm = QKeySequence(k).toString()
            assert norm not in seen, f"{k} is used by {seen.get(norm)} and {spec.key}"
            seen[norm] = spec.key
    listed = " ".join(k for k, _ in action_table.shortcut_rows())
    for k in ("B", "E", "G", "L", "T", "Ctrl+Z", "Ctrl+S", "[", "]", "O", "C", "D", "1"):
        assert k in listed


def readme_keys(readme: str) -> set[str]:
    """Every key named in the first column of the README's key tables."""
    keys = set()
    for line in readme.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or line.startswith("| ---") or not line.startswith("| "):
            continue
        for part in re.split(r" / |, | … ", cells[1]):
            keys.add(part.strip())
    return keys


def test_readme_lists_every_key():
    keys = readme_keys((Path(__file__).resolve().parents[2] / "README.md").read_text())
    assert "Dice" not in keys  # table cells, not words of the text
    for spec in action_table.ACTIONS:
        if spec.key.startswith("class_") and spec.key not in ("class_1", "class_9"):
            continue
        for k in spec.keys:
            assert k in keys, f"README misses {k} ({spec.key})"
    broken = "\n".join(
        line
        for line in (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
        if not line.startswith("| D |")
    )
    assert "D" not in readme_keys(broken)  # the check notices a missing row


def test_screenshot_of_the_editor_on_a_real_slide(qtbot, window, tmp_path):
    glas = shared_folder("glas-test")
    folder = tmp_path / "glas"
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True)
        for stem in ("testA_1", "testA_2", "testB_1"):
            shutil.copy(glas / sub / f"{stem}.png", folder / sub / f"{stem}.png")
    window.resize(1600, 950)
    open_and_wait(qtbot, window, folder, 3)
    qtbot.waitUntil(lambda: window.session.current in window.session.predictions, timeout=TIMEOUT)
    key(qtbot, window, "E")
    window.editor.set_size(24)
    window.views.fit()
    qtbot.wait(100)
    drag(window.views.left, [(150, 150), (300, 220), (450, 260), (600, 300)])
    _send(
        window.views.left,
        QMouseEvent.Type.MouseMove,
        (400, 300),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )
    qtbot.wait(200)
    out = Path(os.environ.get("SEGGUI_SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "editor-glas.png"
    assert window.grab().save(str(path))
    shot = np.asarray(Image.open(path).convert("RGB"))
    assert shot.shape[0] >= 900
    for view in (window.views.left, window.views.right):
        assert_view_in_screenshot(window, shot, view)
    assert window.editor_bar.isVisible() and window.views.left.cursor_item.isVisible()

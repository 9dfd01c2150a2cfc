"""A whole slide in the window, offscreen: opened from a folder beside a broken one, drawn
tile by tile at the level of the zoom, predicted and scored, overlays at every zoom."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPoint, QRectF, Qt
from PyQt6.QtGui import QImage

from seggui.core.annotations import load_annotations
from seggui.core.wsi import open_slide
from seggui.gui.wsi.view import VIEW_TILE, overlay_scale, tiles_over
from seggui.model.slide_predict import TileStore, slide_confusion
from tests.gui.conftest import open_and_wait
from tests.wsi.conftest import demo_slide_folder

TIMEOUT = 120000


def _shot(view) -> np.ndarray:
    """What the view shows of the slide (the grey around it left out)."""
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    pixels = rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()
    shown = view.mapFromScene(view.sceneRect()).boundingRect().intersected(view.viewport().rect())
    return pixels[shown.top() : shown.bottom(), shown.left() : shown.right()]


def _drawn(window, view) -> bool:
    """Every tile the view shows now is in the cache."""
    images, overlays = view.visible_keys()
    return all(k in window.whole.cache for k in images + overlays)


def test_tiles_over_a_rectangle_centre_first():
    tiles = tiles_over(QRectF(100, 100, 1000, 600), 1.0, 1152, 1152)
    assert set(tiles) == {(c, r) for c in range(3) for r in range(2)}
    assert tiles[0] == (1, 0) or tiles[0] == (1, 1)  # the centre (600, 400) is in column 1
    assert tiles_over(QRectF(0, 0, 5000, 5000), 4.0, 1152, 1152) == [(0, 0)]
    assert tiles_over(QRectF(2000, 0, 10, 10), 1.0, 1152, 1152) == []
    assert [overlay_scale(d) for d in (0.3, 1.0, 1.9, 2.0, 7.9, 64.5)] == [1, 1, 1, 2, 4, 64]


def test_window_opens_predicts_and_zooms_a_whole_slide(qtbot, window, tmp_path):
    folder = demo_slide_folder(tmp_path)
    window.resize(1300, 800)
    open_and_wait(qtbot, window, folder, 2)
    model = window.slide_list.model
    assert model.names == ["broken", "case1"]
    assert window.stack.currentWidget() is window.wsi_views
    # The broken slide is a problem on its row, with the reason, and the app goes on.
    qtbot.waitUntil(
        lambda: "damaged or truncated" in window.session.facts.problem("broken"), timeout=TIMEOUT
    )
    assert "broken" in window.wsi_views.left_title.text()

    window.slide_list.select("case1")
    qtbot.waitUntil(lambda: window.whole.current is not None, timeout=TIMEOUT)
    o = window.whole.current
    assert o.entry.name == "case1" and len(o.slide.levels) == 2
    facts = window.session.facts
    qtbot.waitUntil(
        lambda: bool(o.progress()[2] and facts.progress("case1") is None and facts.scores("case1")),
        timeout=TIMEOUT,
    )
    assert "case1" in model.thumbs  # the list shows the slide's thumbnail
    # Scores: the sum of the tiles' confusion equals a recount from the store.
    scores = window.session.facts.scores("case1")
    assert scores is not None and scores.miou > 0.8
    slide = open_slide(o.entry.path)
    recount = slide_confusion(
        o.plan,
        TileStore(o.store.folder, o.plan.grid),
        load_annotations(o.entry.annotation, window.session.ctx.classes),
        4,
    )
    slide.close()
    assert np.array_equal(recount, scores.confusion)
    assert window.session.facts.records.total("folder") is None  # whole slides apart
    assert "mIoU" in window.wsi_views.right_title.text()

    left, right = window.wsi_views.views()
    # Overview: the whole slide fits (and half that), drawn from the reduced level, with
    # overlays on both views.
    window.wsi_views.fit()
    window.wsi_views.zoom(0.5)
    qtbot.waitUntil(lambda: _drawn(window, right), timeout=TIMEOUT)
    assert left.level() == 1 and overlay_scale(left.downsample()) > 1
    on = [_shot(v) for v in (left, right)]
    window.overlay.enabled.setChecked(False)
    off = [_shot(v) for v in (left, right)]
    window.overlay.enabled.setChecked(True)
    for a, b in zip(on, off, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 5

    # Full resolution at the top-left corner: level 0, and only the tiles on screen are read.
    reads = []
    original = o.slide.read_region
    o.slide.read_region = lambda level, x, y, w, h: (
        reads.append((level, x, y)),
        original(level, x, y, w, h),
    )[1]
    window.wsi_views.actual_size()
    left.centerOn(300, 300)
    # A read asked for on the way (before centerOn) may be in flight: let it land first.
    qtbot.waitUntil(lambda: not window.whole.images.busy(), timeout=TIMEOUT)
    window.whole.cache.clear()
    reads.clear()
    window.whole.request()
    qtbot.waitUntil(lambda: _drawn(window, right), timeout=TIMEOUT)
    assert left.level() == 0 and right.transform().m11() == left.transform().m11()
    visible = left.visible_rect()
    level0 = [(x, y) for level, x, y in reads if level == 0]
    assert level0 and len(level0) < 9
    for x, y in level0:
        assert QRectF(x, y, VIEW_TILE, VIEW_TILE).intersects(visible)
    on = _shot(right)
    window.overlay.enabled.setChecked(False)
    assert np.abs(on.astype(int) - _shot(right).astype(int)).mean() > 5
    window.overlay.enabled.setChecked(True)

    # The difference view and the next-worst region.
    window.overlay.difference.setChecked(True)
    assert right.field == "difference" and "Difference" in window.wsi_views.right_title.text()
    worst = window.whole.regions.ranked[0]
    assert all(worst[0] >= r[0] for r in window.whole.regions.ranked)
    text = window.whole.regions.step(1)
    assert text.startswith("Region 1 of")
    box = worst[1]
    assert left.visible_rect().contains(QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1]))

    # Review marks per region: key 2 marks the region shown, not the slide; Esc goes back.
    qtbot.keyClick(window, Qt.Key.Key_2)
    (region,) = window.session.facts.regions("case1")
    assert region.box == box and region.state == "needs fix" and region.source == "ranked"
    assert window.session.facts.state("case1") is None
    assert any(active and state == "needs fix" for _, state, active in left.regions)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert window.session.facts.state("case1") == "accepted"
    # A region the reviewer draws (Shift+drag) is kept and takes the next mark.
    vp = left.viewport()
    start, end = vp.rect().center() - QPoint(60, 40), vp.rect().center() + QPoint(60, 40)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, start)
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, end)
    drawn = [r for r in window.session.facts.regions("case1") if r.source == "drawn"]
    assert len(drawn) == 1 and drawn[0].state is None
    qtbot.keyClick(window, Qt.Key.Key_3)
    drawn = [r for r in window.session.facts.regions("case1") if r.source == "drawn"]
    assert drawn[0].state == "rejected"
    x0, _, x1, _ = drawn[0].box
    assert abs((x1 - x0) - 120 / left.transform().m11()) <= 2

    # Back to the list's other slide and again: the store makes the second visit instant.
    window.slide_list.select("broken")
    window.slide_list.select("case1")
    qtbot.waitUntil(
        lambda: window.whole.current is not None and window.whole.current.plan is not None,
        timeout=TIMEOUT,
    )
    assert window.whole.current.progress()[2]


def test_opening_a_slide_file_opens_its_folder_on_it(qtbot, window, tmp_path):
    folder = demo_slide_folder(tmp_path)
    window.open_folder(folder / "case1.tiff")
    qtbot.waitUntil(lambda: window.whole.current is not None, timeout=TIMEOUT)
    assert window.session.current == "case1" and window.whole.current.entry.name == "case1"
    assert window.session.ctx.root == folder


def test_file_export_writes_whole_slides_annotation_and_prediction(qtbot, window, tmp_path):
    folder = demo_slide_folder(tmp_path)
    open_and_wait(qtbot, window, folder, 2)
    qtbot.waitUntil(lambda: window.session.model_path is not None, timeout=TIMEOUT)
    job = window.scores_control.write_exports(tmp_path / "out")
    qtbot.waitUntil(job.isFinished, timeout=TIMEOUT)
    for part in ("geojson", "predictions"):
        assert (tmp_path / "out" / part / "case1.geojson").exists()
        assert "case1" in (tmp_path / "out" / part / "areas.csv").read_text()

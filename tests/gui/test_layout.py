"""What a reviewer sees first: at 1,600 x 1,000 the views get most of the window, every
list column is readable without scrolling, and no cell or title shows a raw "nan"."""

from __future__ import annotations

from PyQt6.QtCore import QSettings, Qt

from seggui.gui.main_window import MainWindow
from seggui.gui.scores.panel import abbreviations
from seggui.gui.slides.slide_list import THUMB_ICON
from tests.gui.conftest import open_and_wait

TIMEOUT = 120000


def _fresh(qtbot, tmp_path, size=(1600, 1000)) -> MainWindow:
    settings = QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def _texts(win) -> list[str]:
    """Every text the window shows in the list, the titles and the score tables."""
    out = [win.views.left_title.text(), win.views.right_title.text()]
    model = win.slide_list.proxy
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            if not win.slide_list.table.isColumnHidden(c):
                out.append(str(model.index(r, c).data() or ""))
    for table in (win.scores.slide.per_class, win.scores.slide.confusion):
        for r in range(table.rowCount()):
            for c in range(table.columnCount()):
                item = table.item(r, c)
                out.append(item.text() if item else "")
    out.append(win.scores.slide.summary.text())
    return out


def test_first_run_gives_the_views_the_window_and_the_list_its_columns(
    qtbot, tmp_path, demo_folder
):
    win = _fresh(qtbot, tmp_path)
    try:
        open_and_wait(qtbot, win, demo_folder, 6)
        qtbot.waitUntil(
            lambda: win.session.scores(win.session.current) is not None, timeout=TIMEOUT
        )
        qtbot.wait(200)
        assert win.stack.width() >= 0.6 * win.width(), (win.stack.width(), win.width())
        table = win.slide_list.table
        header = table.horizontalHeader()
        shown = [c for c in range(header.count()) if not table.isColumnHidden(c)]
        names = [win.slide_list.model.HEADERS[c] for c in shown]
        assert names == ["Slide", "Mask", "Split", "mIoU", "Qual.", "Unc.", "State"]
        right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in shown)
        assert right <= table.viewport().width()
        assert not table.horizontalScrollBar().isVisible()
        # Every number fits its column: none is cut ("0.9…").
        metrics = table.fontMetrics()
        for c in shown[1:]:
            for r in range(win.slide_list.proxy.rowCount()):
                text = str(win.slide_list.proxy.index(r, c).data() or "")
                assert metrics.horizontalAdvance(text) + 6 <= header.sectionSize(c), (text, c)
        assert not any("nan" in t.lower() or "None" in t for t in _texts(win))
        # A column shown later (the audit's) widens the list rather than cutting the names.
        from seggui.gui.slides.table_model import COL_AUDIT, COL_NAME

        win.slide_list.show_column(COL_AUDIT)
        qtbot.wait(200)
        widest = max(metrics.horizontalAdvance(n) for n in win.slide_list.model.names)
        assert header.sectionSize(COL_NAME) >= widest + THUMB_ICON + 6, header.sectionSize(COL_NAME)
        assert win.stack.width() >= 0.55 * win.width(), (win.stack.width(), win.width())
        # The retrain panel opens wide enough for its settings: nothing cut at its right edge.
        win.models.show_retrain()
        qtbot.wait(200)
        assert not win.retrain_dock.widget().horizontalScrollBar().isVisible()
        assert win.stack.width() >= 0.35 * win.width(), (win.stack.width(), win.width())
        # The confusion matrix names its classes in full (rows) or with a tooltip (columns).
        confusion = win.scores.slide.confusion
        rows = [confusion.verticalHeaderItem(i).text() for i in range(confusion.rowCount())]
        assert rows == list(win.session.ctx.classes.names)
        tips = [confusion.horizontalHeaderItem(i).toolTip() for i in range(confusion.columnCount())]
        assert all(name in tip for name, tip in zip(rows, tips, strict=True))
    finally:
        win.close()


def test_a_model_of_other_classes_leaves_dashes_with_reasons_not_nan(qtbot, tmp_path, demo_folder):
    import json

    classes = json.loads((demo_folder / "classes.json").read_text())
    classes["classes"][1]["name"] = "fibrous stroma"  # the bundled model says "stroma"
    (demo_folder / "classes.json").write_text(json.dumps(classes))
    win = _fresh(qtbot, tmp_path, (1280, 800))
    try:
        open_and_wait(qtbot, win, demo_folder, 6)
        qtbot.waitUntil(
            lambda: win.session.predictions.get(win.session.current) is not None, timeout=TIMEOUT
        )
        qtbot.keyClick(win, Qt.Key.Key_U)
        assert not any("nan" in t.lower() or "None" in t for t in _texts(win))
        model = win.slide_list.model
        row = model.row_of(win.session.current)
        from seggui.gui.slides.table_model import COL_SCORE

        assert model.index(row, COL_SCORE).data() == "–"
        tip = model.index(row, COL_SCORE).data(Qt.ItemDataRole.ToolTipRole)
        assert "classes differ" in tip
        # At 1,280 x 800 the views still get the larger part, and every panel is reachable.
        assert win.stack.width() >= 0.5 * win.width()
    finally:
        win.close()


def test_each_slide_is_shown_fitted_even_after_zooming_the_last(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    window.views.zoom(3.0)
    assert not window.views.fit_mode
    first = window.session.current
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    qtbot.waitUntil(
        lambda: window.session.current != first and window.session.current in window.session.loaded,
        timeout=TIMEOUT,
    )
    window.resize(window.width() - 200, window.height() - 100)
    qtbot.wait(100)
    view = window.views.left
    shown = view.mapFromScene(view.item.sceneBoundingRect()).boundingRect()
    assert view.viewport().rect().contains(shown.adjusted(1, 1, -1, -1))
    # Fitted: the slide fills the view's narrower side (fitInView keeps a small margin).
    assert (
        shown.width() >= 0.95 * view.viewport().width()
        or shown.height() >= 0.95 * view.viewport().height()
    )


def test_abbreviations_are_short_and_distinct():
    names = ["background", "stroma", "gland", "nucleus", "Gleason 3", "Gleason 4"]
    short = abbreviations(names)
    assert short == ["back.", "stro.", "gland", "nucl.", "Gleason 3", "Gleason 4"]
    assert len(set(short)) == len(short)

from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings

from seggui.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    """A main window with its settings in a temporary file, closed (workers stopped) after."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    workers = (win.session.loader, win.session.thumbs, win.session.predictor)
    for worker in (*workers, win.whole.images, win.whole.overlays, win.whole.predictions):
        assert worker.isFinished()


def open_and_wait(qtbot, win, folder, rows: int, timeout: int = 60000) -> None:
    win.open_folder(folder)
    qtbot.waitUntil(lambda: win.slide_list.model.rowCount() == rows, timeout=timeout)
    qtbot.waitUntil(lambda: win.session.current is not None and _shown(win), timeout=timeout)


def _shown(win) -> bool:
    """The current slide is on screen, or its problem is (a broken slide never loads)."""
    name = win.session.current
    if win.session.ctx.scan.whole(name) is not None:
        return True
    return (
        name in win.session.loaded
        or win.session.facts.late_problem(name) is not None
        or not win.session.ctx.scan.get(name).usable
    )


def assert_view_in_screenshot(window, shot, view, tolerance: float = 12.0) -> None:
    """The screenshot shows, where the view's slide is, the slide with its visible layers
    (the view's own 1:1 rendering, scaled the same way): a blank, stale or misplaced view
    fails this, unlike a plain 'not flat' check."""
    import numpy as np
    from PIL import Image

    rect = view.mapFromScene(view.item.sceneBoundingRect()).boundingRect()
    rect = rect.intersected(view.viewport().rect())
    assert rect.width() > 100 and rect.height() > 100, "the slide is not on screen"
    origin = view.viewport().mapTo(window, rect.topLeft())
    crop = shot[origin.y() : origin.y() + rect.height(), origin.x() : origin.x() + rect.width()]
    expected = np.asarray(
        Image.fromarray(view.composite()).resize((crop.shape[1], crop.shape[0]), Image.BILINEAR)
    )
    diff = np.abs(crop.astype(np.int16) - expected.astype(np.int16)).mean()
    assert diff < tolerance, f"the screenshot differs from the view's layers by {diff:.1f}"

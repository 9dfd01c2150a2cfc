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
    for worker in (win.loader, win.thumbs, win.predictor):
        assert worker.isFinished()


def open_and_wait(qtbot, win, folder, rows: int, timeout: int = 60000) -> None:
    win.open_folder(folder)
    qtbot.waitUntil(lambda: win.slide_list.model.rowCount() == rows, timeout=timeout)
    qtbot.waitUntil(lambda: win.current is not None and _shown(win), timeout=timeout)


def _shown(win) -> bool:
    """The current slide is on screen, or its problem is (a broken slide never loads)."""
    name = win.current
    return (
        name in win.loaded
        or name in win.slide_list.model.extra_problems
        or not win.ctx.scan.get(name).usable
    )

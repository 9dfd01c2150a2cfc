"""Starting the window: the QApplication, then the folder (or the demo)."""

from __future__ import annotations

import os
import sys

from PyQt6.QtWidgets import QApplication

from seggui.gui.main_window import MainWindow


def run(folder: str | None = None) -> int:
    """Open the window on ``folder`` (the demo when None) and run until it closes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("seggui")
    app.setApplicationName("seggui")
    window = MainWindow()
    window.show()
    if folder:
        window.open_folder(folder)
    else:
        window.open_demo()
    return app.exec()

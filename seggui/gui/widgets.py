"""Small widgets the window's parts share: the notice over the views and class swatches."""

from __future__ import annotations

from PyQt6.QtGui import QColor, QPixmap
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
)


def swatch(color: tuple[int, int, int]) -> QPixmap:
    pix = QPixmap(14, 14)
    pix.fill(QColor(*color))
    return pix


class Notice(QFrame):
    """A line over the views that says what is wrong and offers the next step."""

    def __init__(self, button_text: str, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("Notice { background: #fff4ce; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton(button_text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_text(self, text: str) -> None:
        self.text.setText(text)
        self.show()

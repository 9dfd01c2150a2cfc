"""The review panel: accepted / needs fix / rejected / corrected for the slide's annotation, with a note."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from seggui.core.review import STATES


class ReviewPanel(QGroupBox):
    """Accepted / needs fix / rejected for the current slide's annotation, with a note."""

    marked = pyqtSignal(str)  # state, or "" to clear
    note_edited = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__("Review", parent)
        self.state_label = QLabel("not reviewed")
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for i, state in enumerate(STATES):
            button = QPushButton(f"{state.capitalize()} ({i + 1})")
            button.setCheckable(True)
            button.clicked.connect(lambda checked, s=state: self.marked.emit(s if checked else ""))
            grid.addWidget(button, i // 2, i % 2)  # two by two: the panel stays narrow
            self.buttons[state] = button
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (Enter to save)")
        self.note.editingFinished.connect(lambda: self.note_edited.emit(self.note.text()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addLayout(grid)
        layout.addWidget(self.note)

    def show_review(self, state: str | None, note: str) -> None:
        self.state_label.setText(f"Annotation: {state}" if state else "Annotation: not reviewed")
        for s, button in self.buttons.items():
            button.setChecked(s == state)
        self.note.blockSignals(True)
        self.note.setText(note)
        self.note.blockSignals(False)

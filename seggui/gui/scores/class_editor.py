"""The class editor: rename classes, change their colours, mark the background class.

Only names, colours and the background mark change: the values in the masks stay as they
are. Where the masks store classes as colours, the colours are what the classes are, so they
cannot be changed here.
"""

from __future__ import annotations

from PyQt6.QtGui import QColor, QIcon
from PyQt6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from seggui.core.classes import ClassesError, ClassSet
from seggui.gui.widgets import swatch


class ClassEditor(QDialog):
    """A row per class: its value, name, colour and whether it is the background."""

    def __init__(self, classes: ClassSet, colours_locked: bool = False, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Classes")
        self.classes = classes
        self.result_classes: ClassSet | None = None
        self.names: list[QLineEdit] = []
        self.colors: list[tuple[int, int, int]] = [c.color for c in classes]
        self.color_buttons: list[QPushButton] = []
        self.background = QButtonGroup(self)
        grid = QGridLayout()
        for col, title in enumerate(("Value", "Name", "Colour", "Background")):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, col)
        marked = classes.background
        for i, c in enumerate(classes):
            name = QLineEdit(c.name)
            button = QPushButton()
            button.setIcon(QIcon(swatch(c.color)))
            button.setEnabled(not colours_locked)
            button.clicked.connect(lambda _=False, k=i: self._pick(k))
            radio = QRadioButton()
            radio.setChecked(marked == i)
            self.background.addButton(radio, i)
            for col, widget in enumerate((QLabel(str(i)), name, button, radio)):
                grid.addWidget(widget, i + 1, col)
            self.names.append(name)
            self.color_buttons.append(button)
        none = QRadioButton("none")
        none.setChecked(marked is None)
        self.background.addButton(none, -1)
        grid.addWidget(none, len(classes) + 1, 3)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = "Renaming never changes the values in the masks."
        if colours_locked:
            note += " This folder's masks store classes as colours, so colours stay as they are."
        layout.addWidget(QLabel(note))
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def _pick(self, index: int) -> None:
        color = QColorDialog.getColor(QColor(*self.colors[index]), self, "Class colour")
        if color.isValid():
            self.set_color(index, (color.red(), color.green(), color.blue()))

    def set_color(self, index: int, rgb: tuple[int, int, int]) -> None:
        self.colors[index] = rgb
        self.color_buttons[index].setIcon(QIcon(swatch(rgb)))

    def edited(self) -> ClassSet:
        """The classes as the dialog shows them (raises ClassesError when they are invalid)."""
        background = self.background.checkedId()
        return self.classes.edited(
            [n.text() for n in self.names], self.colors, None if background < 0 else background
        )

    def _accept(self) -> None:
        try:
            self.result_classes = self.edited()
        except ClassesError as exc:
            QMessageBox.warning(self, "Classes", str(exc))
            return
        self.accept()

"""Side panels: overlay controls with the class legend, scores, and the review mark."""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from seggui.core.classes import ClassSet, display_colors
from seggui.core.metrics import Scores
from seggui.core.review import STATES


def _swatch(color: tuple[int, int, int]) -> QPixmap:
    pix = QPixmap(14, 14)
    pix.fill(QColor(*color))
    return pix


class OverlayPanel(QGroupBox):
    """Overlay on/off, opacity, fill or contour, difference view, and per-class visibility."""

    changed = pyqtSignal()
    edit_classes = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__("Overlay", parent)
        self.enabled = QCheckBox("Show overlay (O)")
        self.enabled.setChecked(True)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.fill = QRadioButton("Fill")
        self.contour = QRadioButton("Contour (C)")
        self.fill.setChecked(True)
        mode = QButtonGroup(self)
        mode.addButton(self.fill)
        mode.addButton(self.contour)
        self.difference = QCheckBox("Difference (D)")
        self.issues = QCheckBox("Label issues (I)")
        self.uncertainty = QCheckBox("Uncertainty (U)")
        self.right_modes = {
            "difference": self.difference,
            "issues": self.issues,
            "uncertainty": self.uncertainty,
        }
        for box in self.right_modes.values():
            box.toggled.connect(lambda on, b=box: self._only(b) if on else None)
        self.class_box = QVBoxLayout()
        self.class_checks: list[QCheckBox] = []
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Opacity", self.opacity)
        row = QHBoxLayout()
        row.addWidget(self.fill)
        row.addWidget(self.contour)
        form.addRow(row)
        modes = QHBoxLayout()
        for box in self.right_modes.values():
            modes.addWidget(box)
        form.addRow("Right view", modes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        heading = QHBoxLayout()
        heading.addWidget(QLabel("Classes"), 1)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setToolTip("Rename classes, change their colours, mark the background")
        self.edit_button.clicked.connect(self.edit_classes)
        heading.addWidget(self.edit_button)
        layout.addLayout(heading)
        layout.addLayout(self.class_box)
        for w in (self.enabled, self.fill, self.contour, *self.right_modes.values()):
            w.toggled.connect(self.changed)
        self.opacity.valueChanged.connect(self.changed)

    def _only(self, chosen: QCheckBox) -> None:
        """The right view shows one of difference, label issues and uncertainty at a time."""
        for box in self.right_modes.values():
            if box is not chosen and box.isChecked():
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)

    def right_mode(self) -> str | None:
        return next((k for k, b in self.right_modes.items() if b.isChecked()), None)

    def set_classes(self, classes: ClassSet) -> None:
        for check in self.class_checks:
            check.setParent(None)
        self.class_checks = []
        shown = display_colors(classes)
        for c, color in zip(classes, shown, strict=True):
            check = QCheckBox(c.name)
            check.setIcon(QIcon(_swatch(tuple(int(v) for v in color))))
            if tuple(int(v) for v in color) != c.color:
                check.setToolTip(
                    f"Drawn in this colour: its own, {c.color}, would vanish on the slide"
                )
            check.setChecked(True)  # every class is shown until the user hides it
            check.toggled.connect(self.changed)
            self.class_box.addWidget(check)
            self.class_checks.append(check)

    def visible(self) -> np.ndarray:
        return np.array([c.isChecked() for c in self.class_checks], dtype=bool)


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


class ScoresTable(QWidget):
    """Per-class IoU and Dice, the mean, and a confusion matrix."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No scores yet")
        self.summary.setWordWrap(True)
        self.per_class = QTableWidget(0, 3)
        self.per_class.setHorizontalHeaderLabels(["Class", "IoU", "Dice"])
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion = QTableWidget(0, 0)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.per_class)
        layout.addWidget(
            QLabel(
                "Confusion (rows: annotation, columns: prediction, % of row; click a cell for its slides)"
            )
        )
        layout.addWidget(self.confusion)

    def show_scores(self, scores: Scores | None, classes: ClassSet, heading: str) -> None:
        if scores is None:
            self.summary.setText(heading)
            self.per_class.setRowCount(0)
            self.confusion.setRowCount(0)
            self.confusion.setColumnCount(0)
            return
        self.summary.setText(
            f"{heading}\nmIoU {_fmt(scores.miou)} · mean Dice "
            f"{_fmt(scores.mean_dice)} · pixel accuracy "
            f"{_fmt(scores.pixel_accuracy)}"
        )
        n = len(classes)
        self.per_class.setRowCount(n)
        shown = display_colors(classes)  # the colours the views draw the classes in
        for i, c in enumerate(classes):
            name = QTableWidgetItem(c.name)
            name.setIcon(QIcon(_swatch(tuple(int(v) for v in shown[i]))))
            self.per_class.setItem(i, 0, name)
            self.per_class.setItem(i, 1, QTableWidgetItem(_fmt(scores.iou[i])))
            self.per_class.setItem(i, 2, QTableWidgetItem(_fmt(scores.dice[i])))
        cm = scores.confusion
        self.confusion.setRowCount(n)
        self.confusion.setColumnCount(n)
        short = [c.name[:8] for c in classes]
        self.confusion.setHorizontalHeaderLabels(short)
        self.confusion.setVerticalHeaderLabels(short)
        rows = cm.sum(axis=1, keepdims=True).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(rows > 0, 100.0 * cm / rows, 0.0)
        for r in range(n):
            for c in range(n):
                item = QTableWidgetItem(f"{pct[r, c]:.0f}" if rows[r, 0] else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(255 - 1.6 * pct[r, c])
                item.setBackground(
                    QColor(shade, shade, 255) if r == c else QColor(255, shade, shade)
                )
                item.setToolTip(f"{cm[r, c]} pixels")
                self.confusion.setItem(r, c, item)


class ScoresPanel(QTabWidget):
    """Scores of the current slide, and of the folder or the test split so far."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slide = ScoresTable()
        self.folder = ScoresTable()
        self.addTab(self.slide, "Slide")
        self.addTab(self.folder, "Folder")


class Notice(QFrame):
    """A line over the views that says what is wrong and offers the next step."""

    def __init__(self, button_text: str, action, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("Notice { background: #fff4ce; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton(button_text)
        self.button.clicked.connect(action)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_text(self, text: str) -> None:
        self.text.setText(text)
        self.show()


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
            grid.addWidget(button, 0, i)
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

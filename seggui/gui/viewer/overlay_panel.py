"""Overlay controls: on/off, opacity, fill or contour, the right view's mode, and per-class visibility with the class colours as legend."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QIcon
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
)

from seggui.core.classes import ClassSet, display_colors
from seggui.gui.widgets import swatch


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
        modes = QVBoxLayout()  # one under the other: the panel stays narrow
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
            check.setIcon(QIcon(swatch(tuple(int(v) for v in color))))
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

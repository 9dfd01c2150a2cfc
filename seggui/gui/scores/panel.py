"""The scores panel: per-class IoU and Dice and a confusion matrix, for the slide and for the folder or test split."""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QIcon
from PyQt6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from seggui.core.classes import ClassSet, display_colors
from seggui.core.metrics import Scores
from seggui.gui.widgets import swatch


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def abbreviations(names: list[str], width: int = 4) -> list[str]:
    """Short, distinct forms of class names for narrow column headers: a name of up to
    ``width`` + 1 characters as it is, else its first letters (more where two would clash)
    and a full stop."""
    out = []
    for name in names:
        if len(name) <= width + 1:
            out.append(name)
            continue
        n = width
        others = [m for m in names if m != name]
        while n < len(name) and any(m.lower().startswith(name[:n].lower()) for m in others):
            n += 1
        out.append(name if n >= len(name) else name[:n] + ".")
    return out


class ScoresTable(QWidget):
    """Per-class IoU and Dice, the mean, and a confusion matrix."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No scores yet")
        self.summary.setWordWrap(True)
        self.per_class = QTableWidget(0, 3)
        self.per_class.setHorizontalHeaderLabels(["Class", "IoU", "Dice"])
        self.per_class.verticalHeader().setVisible(False)
        header = self.per_class.horizontalHeader()  # the name takes what the numbers leave
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.confusion = QTableWidget(0, 0)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.per_class)
        legend = QLabel(
            "Confusion: rows annotation, columns prediction (hover a header for its name), "
            "% of row; click a cell for its slides"
        )
        legend.setWordWrap(True)
        layout.addWidget(legend)
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
            name.setIcon(QIcon(swatch(tuple(int(v) for v in shown[i]))))
            self.per_class.setItem(i, 0, name)
            self.per_class.setItem(i, 1, QTableWidgetItem(_fmt(scores.iou[i])))
            self.per_class.setItem(i, 2, QTableWidgetItem(_fmt(scores.dice[i])))
        cm = scores.confusion
        self.confusion.setRowCount(n)
        self.confusion.setColumnCount(n)
        names = [c.name for c in classes]
        for i, (name, abbr) in enumerate(zip(names, abbreviations(names), strict=True)):
            column = QTableWidgetItem(abbr)  # columns are narrow: abbreviated, named in full
            column.setToolTip(f"predicted {name}")
            self.confusion.setHorizontalHeaderItem(i, column)
            row = QTableWidgetItem(name)  # rows take the width a name needs
            row.setToolTip(f"annotated {name}")
            self.confusion.setVerticalHeaderItem(i, row)
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

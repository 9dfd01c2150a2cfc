"""The slide list: thumbnail, name, mask, split, score, review state and problems per slide."""

from __future__ import annotations

import math

from PyQt6.QtCore import (
    QAbstractTableModel,
    QSize,
    QSortFilterProxyModel,
    Qt,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seggui.core.review import STATES
from seggui.core.slides import Slide
from seggui.core.split import Split

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COL_NAME, COL_MASK, COL_SPLIT, COL_SCORE, COL_REVIEW, COL_PROBLEM = range(6)


class SlideTableModel(QAbstractTableModel):
    HEADERS = ("Slide", "Mask", "Split", "mIoU", "Review", "Problem")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slides: list[Slide] = []
        self.split = Split()
        self.thumbs: dict[str, QIcon] = {}
        self.scores: dict[str, float] = {}
        self.reviews: dict[str, str] = {}
        self.extra_problems: dict[str, str] = {}
        self.corrected: set[str] = set()
        self._row: dict[str, int] = {}

    def reset(self, slides: list[Slide], split: Split, reviews: dict[str, str]) -> None:
        self.beginResetModel()
        self.slides = list(slides)
        self.split = split
        self._test, self._train = set(split.test), set(split.train)
        self.thumbs, self.scores, self.extra_problems = {}, {}, {}
        self.reviews = dict(reviews)
        self.corrected = {s.name for s in self.slides if s.corrected}
        self._row = {s.name: i for i, s in enumerate(self.slides)}
        self.endResetModel()

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.slides)

    def columnCount(self, parent=None):
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def part(self, name: str) -> str:
        return "test" if name in self._test else "train" if name in self._train else ""

    def problem(self, slide: Slide) -> str:
        return "; ".join(
            p for p in (slide.problem_text(), self.extra_problems.get(slide.name)) if p
        )

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        slide = self.slides[index.row()]
        col = index.column()
        score = self.scores.get(slide.name)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_NAME:
                return slide.name
            if col == COL_MASK:
                if slide.name in self.corrected:
                    return "corrected"
                return "yes" if slide.has_mask else "no"
            if col == COL_SPLIT:
                return self.part(slide.name)
            if col == COL_SCORE:
                return "" if score is None or math.isnan(score) else f"{score:.3f}"
            if col == COL_REVIEW:
                return self.reviews.get(slide.name, "")
            if col == COL_PROBLEM:
                return self.problem(slide)
        if role == SORT_ROLE:
            if col == COL_SCORE:
                return math.inf if score is None or math.isnan(score) else score
            return str(self.data(index, Qt.ItemDataRole.DisplayRole)).lower()
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            return self.thumbs.get(slide.name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.problem(slide) or slide.name
        if role == Qt.ItemDataRole.ForegroundRole and self.problem(slide):
            return QBrush(QColor(200, 30, 30))
        return None

    def _changed(self, name: str, col: int) -> None:
        row = self._row.get(name)
        if row is not None:
            idx = self.index(row, col)
            self.dataChanged.emit(idx, idx)

    def set_thumb(self, name: str, pixmap: QPixmap) -> None:
        self.thumbs[name] = QIcon(pixmap)
        self._changed(name, COL_NAME)

    def set_score(self, name: str, miou: float) -> None:
        self.scores[name] = miou
        self._changed(name, COL_SCORE)

    def set_review(self, name: str, state: str | None) -> None:
        self.reviews[name] = state or ""
        self._changed(name, COL_REVIEW)

    def set_corrected(self, name: str, corrected: bool) -> None:
        (self.corrected.add if corrected else self.corrected.discard)(name)
        self._changed(name, COL_MASK)

    def add_problem(self, name: str, text: str) -> None:
        self.extra_problems[name] = text
        self._changed(name, COL_PROBLEM)

    def row_of(self, name: str) -> int | None:
        return self._row.get(name)


class SlideFilter(QSortFilterProxyModel):
    """Filters by review state, split part, and 'has problems' or 'corrected mask'."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = self.part = ""
        self.problems_only = False
        self.corrected_only = False
        self.setSortRole(SORT_ROLE)

    def set_filter(
        self, state: str, part: str, problems_only: bool, corrected_only: bool = False
    ) -> None:
        self.state, self.part = state, part
        self.problems_only, self.corrected_only = problems_only, corrected_only
        self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):
        model: SlideTableModel = self.sourceModel()
        slide = model.slides[row]
        if self.state:
            got = model.reviews.get(slide.name, "")
            if (got or "unreviewed") != self.state:
                return False
        if self.part and model.part(slide.name) != self.part:
            return False
        if self.corrected_only and slide.name not in model.corrected:
            return False
        return not (self.problems_only and not model.problem(slide))


class SlideList(QWidget):
    """The table with its filters; emits ``current_changed(name)``."""

    current_changed = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = SlideTableModel(self)
        self.proxy = SlideFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.setIconSize(QSize(36, 36))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_NAME, 140)
        for col in (COL_MASK, COL_SPLIT, COL_SCORE, COL_REVIEW):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.state_filter = QComboBox()
        self.state_filter.addItems(["any state", "unreviewed", *STATES])
        self.part_filter = QComboBox()
        self.part_filter.addItems(["any split", "train", "test"])
        self.problem_filter = QComboBox()
        self.problem_filter.addItems(["all slides", "with problems", "corrected masks"])
        for combo in (self.state_filter, self.part_filter, self.problem_filter):
            combo.currentIndexChanged.connect(self._filter_changed)
        self.count_label = QLabel()
        filters = QHBoxLayout()
        for w in (self.state_filter, self.part_filter, self.problem_filter):
            filters.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

    def _filter_changed(self) -> None:
        state = self.state_filter.currentText()
        part = self.part_filter.currentText()
        self.proxy.set_filter(
            "" if state == "any state" else state,
            "" if part == "any split" else part,
            self.problem_filter.currentIndex() == 1,
            self.problem_filter.currentIndex() == 2,
        )
        self.update_count()

    def update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        text = f"{total} slides" if shown == total else f"{shown} of {total} slides"
        self.count_label.setText(text)

    def _row_changed(self, current, previous) -> None:
        if current.isValid():
            source = self.proxy.mapToSource(current)
            self.current_changed.emit(self.model.slides[source.row()].name)

    def current_name(self) -> str | None:
        idx = self.table.currentIndex()
        if not idx.isValid():
            return None
        return self.model.slides[self.proxy.mapToSource(idx).row()].name

    def visible_names(self, around: int = 3) -> list[str]:
        """The current slide and the next ``around`` in the list's order (for look-ahead)."""
        idx = self.table.currentIndex()
        if not idx.isValid():
            return []
        out = []
        for r in range(idx.row(), min(self.proxy.rowCount(), idx.row() + around + 1)):
            out.append(self.model.slides[self.proxy.mapToSource(self.proxy.index(r, 0)).row()].name)
        return out

    def ordered_names(self) -> list[str]:
        return [
            self.model.slides[self.proxy.mapToSource(self.proxy.index(r, 0)).row()].name
            for r in range(self.proxy.rowCount())
        ]

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row is None:
            return
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            self.table.setCurrentIndex(idx)
            self.table.scrollTo(idx)

    def step(self, delta: int) -> None:
        rows = self.proxy.rowCount()
        if rows == 0:
            return
        idx = self.table.currentIndex()
        row = 0 if not idx.isValid() else max(0, min(rows - 1, idx.row() + delta))
        self.table.setCurrentIndex(self.proxy.index(row, 0))

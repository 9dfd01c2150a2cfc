"""The slide list: thumbnail, name, mask, split, score, review state and problems per slide."""

from __future__ import annotations

import math

from PyQt6.QtCore import (
    QAbstractTableModel,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seggui.core.quality import SlideQuality
from seggui.core.review import STATES
from seggui.core.slides import Slide
from seggui.core.split import Split

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
(
    COL_NAME,
    COL_MASK,
    COL_SPLIT,
    COL_SCORE,
    COL_QUALITY,
    COL_UNCERTAINTY,
    COL_PAIR,
    COL_REVIEW,
    COL_PROBLEM,
) = range(9)


def _num(x: float | None) -> float:
    """A sort key that puts slides without a value last."""
    return math.inf if x is None or math.isnan(x) else x


class SlideTableModel(QAbstractTableModel):
    HEADERS = (
        "Slide",
        "Mask",
        "Split",
        "mIoU",
        "Label quality",
        "Uncertainty",
        "Pixels",
        "Review",
        "Problem",
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slides: list[Slide] = []
        self.split = Split()
        self.thumbs: dict[str, QIcon] = {}
        self.scores: dict[str, float] = {}
        self.reviews: dict[str, str] = {}
        self.extra_problems: dict[str, str] = {}
        self.corrected: set[str] = set()
        self.quality: dict[str, SlideQuality] = {}
        self.pair: tuple[str, str] | None = None  # (annotated, predicted) class names
        self.pair_counts: dict[str, int] = {}
        self._row: dict[str, int] = {}

    def reset(self, slides: list[Slide], split: Split, reviews: dict[str, str]) -> None:
        self.beginResetModel()
        self.slides = list(slides)
        self.split = split
        self._test, self._train = set(split.test), set(split.train)
        self.thumbs, self.scores, self.extra_problems, self.quality = {}, {}, {}, {}
        self.pair, self.pair_counts = None, {}
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
            if section == COL_PAIR and self.pair is not None:
                return f"{self.pair[0]} as {self.pair[1]}"
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {
                COL_QUALITY: "Soft-minimum of the probability the model gives the annotated "
                "class: low means the annotation is likely wrong somewhere. "
                "“(audit)”: from a model that never trained on the slide.",
                COL_UNCERTAINTY: "Mean of 1 - (p1 - p2): high where the model is unsure",
                COL_PAIR: "Pixels annotated as the first class and predicted as the second",
            }.get(section)
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
        quality = self.quality.get(slide.name)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_QUALITY and quality is not None:
                if math.isnan(quality.label_quality):
                    return ""
                oos = " (audit)" if quality.out_of_sample else ""
                return f"{quality.label_quality:.3f}{oos}"
            if col == COL_UNCERTAINTY and quality is not None:
                return f"{quality.uncertainty:.3f}"
            if col == COL_PAIR:
                count = self.pair_counts.get(slide.name)
                return "" if count is None else str(count)
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
                return _num(score)
            if col == COL_QUALITY:
                return _num(quality.label_quality if quality else None)
            if col == COL_UNCERTAINTY:  # worst (most unsure) first in ascending order
                return _num(-quality.uncertainty if quality else None)
            if col == COL_PAIR:  # most pixels first
                count = self.pair_counts.get(slide.name)
                return math.inf if count is None else -count
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
            roles = [Qt.ItemDataRole.DisplayRole, SORT_ROLE]  # only what changed
            if col == COL_NAME:
                roles = [Qt.ItemDataRole.DecorationRole]
            elif col == COL_PROBLEM:
                roles += [Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole]
            self.dataChanged.emit(idx, idx, roles)

    def set_thumb(self, name: str, pixmap: QPixmap) -> None:
        self.thumbs[name] = QIcon(pixmap)
        self._changed(name, COL_NAME)

    def set_score(self, name: str, miou: float) -> None:
        self.scores[name] = miou
        self._changed(name, COL_SCORE)

    def set_review(self, name: str, state: str | None) -> None:
        self.reviews[name] = state or ""
        self._changed(name, COL_REVIEW)

    def set_quality(self, name: str, quality: SlideQuality | None) -> None:
        if quality is None:
            self.quality.pop(name, None)
        else:
            self.quality[name] = quality
        row = self._row.get(name)
        if row is not None:
            self.dataChanged.emit(
                self.index(row, COL_QUALITY),
                self.index(row, COL_UNCERTAINTY),
                [Qt.ItemDataRole.DisplayRole, SORT_ROLE],
            )

    def set_pair(self, pair: tuple[str, str] | None, counts: dict[str, int]) -> None:
        """Show, per slide, the pixels annotated as ``pair[0]`` and predicted as ``pair[1]``."""
        self.pair, self.pair_counts = pair, dict(counts)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, COL_PAIR, COL_PAIR)
        if self.slides:
            self.dataChanged.emit(
                self.index(0, COL_PAIR), self.index(len(self.slides) - 1, COL_PAIR)
            )

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
        self.pair_only = False
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
        if self.pair_only and not model.pair_counts.get(slide.name):
            return False
        return not (self.problems_only and not model.problem(slide))


class SlideList(QWidget):
    """The table with its filters; emits ``current_changed(name)``."""

    current_changed = pyqtSignal(str)
    order_changed = pyqtSignal()  # sorted or filtered: the order of slides is another
    rows_in_view = pyqtSignal(list)  # names of the rows on screen (thumbnails first)

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
        # Columns keep the widths they are given: a ResizeToContents column re-measures rows
        # on every score that arrives (1,536 data() calls per update at 10,000 slides), which
        # is what made big folders crawl. Widths are set from the header texts instead.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_NAME, 140)
        metrics = self.table.fontMetrics()
        for col in range(COL_MASK, COL_PROBLEM):
            text = max(
                SlideTableModel.HEADERS[col],
                "corrected",
                "0.000 (audit)" if col == COL_QUALITY else "",
                key=len,
            )
            header.resizeSection(col, metrics.horizontalAdvance(text) + 24)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        # Scores arriving must not move the row under the user's eyes: the list is sorted
        # when the user asks (a header click) or leaves the row.
        self.proxy.setDynamicSortFilter(False)
        self._sort_stale = False
        self.model.dataChanged.connect(self._data_changed)
        self._scroll_timer = QTimer(self)  # at most every 100 ms while the user scrolls
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(100)
        self._scroll_timer.timeout.connect(self._scrolled)
        self.table.verticalScrollBar().valueChanged.connect(lambda _: self._scroll_timer.start())
        self.proxy.layoutChanged.connect(self._scroll_timer.start)
        self.proxy.modelReset.connect(self._scroll_timer.start)
        for signal in (
            self.proxy.layoutChanged,
            self.proxy.modelReset,
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
        ):
            signal.connect(self.order_changed)

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
        self.pair_button = QPushButton()
        self.pair_button.setToolTip("Show every slide again")
        self.pair_button.clicked.connect(self.clear_pair)
        self.pair_button.hide()
        self.table.setColumnHidden(COL_PAIR, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.pair_button)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

    def show_pair(self, pair: tuple[str, str], counts: dict[str, int]) -> None:
        """Only the slides with pixels annotated ``pair[0]`` and predicted ``pair[1]``, most
        first (a click on a cell of the folder's confusion matrix)."""
        self.model.set_pair(pair, counts)
        self.proxy.pair_only = True
        self.proxy.invalidateFilter()
        self.table.setColumnHidden(COL_PAIR, False)
        self.table.sortByColumn(COL_PAIR, Qt.SortOrder.AscendingOrder)
        self.pair_button.setText(
            f"Showing slides with {pair[0]} annotated as… predicted {pair[1]} (click to show all)"
        )
        self.pair_button.show()
        self.update_count()

    def clear_pair(self) -> None:
        self.model.set_pair(None, {})
        self.proxy.pair_only = False
        self.proxy.invalidateFilter()
        self.table.setColumnHidden(COL_PAIR, True)
        self.pair_button.hide()
        self.update_count()

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

    def _data_changed(self, top_left, bottom_right, roles=()) -> None:
        if roles and SORT_ROLE not in roles:
            return  # a thumbnail: the order cannot have changed
        col = self.proxy.sortColumn()
        if top_left.column() <= col <= bottom_right.column():
            self._sort_stale = True  # re-sorted when the user leaves the row, not under them

    def _resort(self) -> None:
        if self._sort_stale:
            self._sort_stale = False
            self.proxy.sort(self.proxy.sortColumn(), self.proxy.sortOrder())

    def _row_changed(self, current, previous) -> None:
        if self._sort_stale and previous.isValid():
            QTimer.singleShot(0, self._resort)
        if current.isValid():
            source = self.proxy.mapToSource(current)
            self.current_changed.emit(self.model.slides[source.row()].name)

    def current_name(self) -> str | None:
        idx = self.table.currentIndex()
        if not idx.isValid():
            return None
        return self.model.slides[self.proxy.mapToSource(idx).row()].name

    def _scrolled(self) -> None:
        """Tell which rows are on screen, so their thumbnails are made before the rest."""
        view = self.table.viewport()
        first = self.table.rowAt(0)
        last = self.table.rowAt(view.height() - 1)
        if first < 0:
            return
        last = self.proxy.rowCount() - 1 if last < 0 else last
        names = [
            self.model.slides[self.proxy.mapToSource(self.proxy.index(r, 0)).row()].name
            for r in range(first, last + 1)
        ]
        self.rows_in_view.emit(names)

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

"""The slide list's data: one row per slide, its columns and roles, and the filter."""

from __future__ import annotations

import math

from PyQt6.QtCore import QAbstractTableModel, QSortFilterProxyModel, Qt
from PyQt6.QtGui import QBrush, QColor, QIcon, QPixmap

from seggui.core.quality import SlideQuality
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
                COL_QUALITY: "Mean probability the model gives the annotated class, each "
                "class weighing the same: low means much of some class's annotation is "
                "likely wrong. "
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
            if col == COL_NAME:  # the folder's natural order (slide2 before slide10)
                return index.row()
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
        self.sorted_by: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted by name, ascending, is the folder's own order: kept as it is, without
        comparing every row (a second on opening a 10,000-slide folder)."""
        self.sorted_by = (column, order)
        if column == COL_NAME and order == Qt.SortOrder.AscendingOrder:
            column = -1
        super().sort(column, order)

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

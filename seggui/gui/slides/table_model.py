"""The slide list's data: one row per slide, its columns and roles, and the filter.

The model reads from the session's facts and holds no copy of them."""

from __future__ import annotations

import math
from typing import ClassVar

from PyQt6.QtCore import QAbstractTableModel, QSortFilterProxyModel, Qt, QTimer
from PyQt6.QtGui import QBrush, QColor, QIcon, QPixmap

from seggui.core.facts import SlideFacts
from seggui.gui.viewer.canvas import to_pixmap

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLES = [Qt.ItemDataRole.DisplayRole, SORT_ROLE]
(
    COL_NAME,
    COL_MASK,
    COL_SPLIT,
    COL_SCORE,
    COL_QUALITY,
    COL_AUDIT,
    COL_UNCERTAINTY,
    COL_PAIR,
    COL_REVIEW,
    COL_PROBLEM,
    COL_BOTH,  # last, so the column numbers saved in settings keep their meaning
) = range(11)


def _num(x: float | None) -> float:
    """A sort key that puts slides without a value last."""
    return math.inf if x is None or math.isnan(x) else x


def _fmt(x: float | None) -> str:
    return BLANK if x is None or math.isnan(x) else f"{x:.3f}"


BLANK = "–"  # shown where a number is not known; the cell's tooltip says why
#: Review states as the narrow State column shows them (the tooltip has the word).
STATE_SHORT = {"accepted": "ok", "needs fix": "fix", "rejected": "rej.", "corrected": "corr."}


class SlideTableModel(QAbstractTableModel):
    """One row per slide of the session's folder. Every value is read from the session's
    facts when Qt asks; the model keeps only the thumbnails (pictures) and the confusion
    pair the user clicked (a query), and turns the session's per-slide change events into
    ``dataChanged`` for the cells that show them."""

    HEADERS = (
        "Slide",
        "Mask",
        "Split",
        "mIoU",
        "Qual.",
        "Audit",
        "Unc.",
        "Pixels",
        "State",
        "Problem",
        "Both",
    )
    TOOLTIPS: ClassVar[dict[int, str]] = {
        COL_NAME: "The slide (hover a row for its full name and any problem)",
        COL_MASK: "Annotation: yes, no, fixed (corrected in seggui and saved; the original "
        "is kept), geo (a whole slide's QuPath GeoJSON) or label (its label image)",
        COL_REVIEW: "Review state: ok (accepted), fix (needs fix), rej. (rejected), corr. "
        "(corrected)",
        COL_PROBLEM: "What is wrong with the slide's files",
        COL_SCORE: "Mean IoU of the active model's prediction against the annotation: sort "
        "ascending for the worst disagreements first (of the active model's scores, the one "
        "that found broken masks best in our measurements, BENCHMARKS.md)",
        COL_QUALITY: "Label quality: mean probability the active model gives the annotated "
        "class, each class weighing the same: low means much of some class's annotation is "
        "likely wrong",
        COL_AUDIT: "Mean IoU against the annotation of models that never trained on the slide "
        "(Model > Audit labels: U-Nets, or pixel forests after a Quick audit): sort ascending "
        "for the worst first. In our measurements the U-Nets' mIoU "
        "found broken masks better than the mIoU column in four runs of eight, worse on "
        "average, the forests' in seven of eight; the Both column, which ranks by both and "
        "by the masks' edge fit, did better (an audit warns when its models learned too "
        "little)",
        COL_BOTH: "Mean of the slide's ranks in the mIoU column, the Audit column, the mask's "
        "edge fit (how well its boundaries sit on the image's edges; left out where the "
        "folder's masks do not follow edges), after a U-Net audit a pixel forest's "
        "out-of-fold mIoU (colour and texture; left out where it learned too little), and "
        "after a Quick audit the forest's largest region of disagreement with the mask: 0 the "
        "folder's worst, 1 its best; sort ascending for the worst first. In our measurements "
        "it found broken masks better than the mIoU column in every run after a U-Net audit, "
        "and in every run of four after a Quick audit (AUROC 0.94-0.98 against 0.73-0.95; "
        "BENCHMARKS.md sections 43-48)",
        COL_UNCERTAINTY: "Uncertainty: mean of 1 - (p1 - p2), high where the model is unsure",
        COL_PAIR: "Pixels annotated as the first class and predicted as the second",
        COL_SPLIT: "Training or test part of the folder's split; 'slide' for a whole slide, "
        "which is reviewed but not in the split",
    }
    #: The cells each fact is shown in.
    FACT_COLUMNS: ClassVar[dict[str, tuple[int, int]]] = {
        "score": (COL_SCORE, COL_SCORE),
        "quality": (COL_QUALITY, COL_UNCERTAINTY),
        "review": (COL_REVIEW, COL_REVIEW),
        "corrected": (COL_MASK, COL_MASK),
        "problem": (COL_PROBLEM, COL_PROBLEM),
    }

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.names: list[str] = []  # the tiles, then the whole slides
        self.thumbs: dict[str, QIcon] = {}
        self.pair: tuple[str, str] | None = None  # (annotated, predicted) class names
        self.pair_counts: dict[str, int] = {}
        self._row: dict[str, int] = {}
        session.opened.connect(self.reset)
        session.fact_changed.connect(self.fact_changed)
        session.thumbnail.connect(lambda name, rgb: self.set_thumb(name, to_pixmap(rgb)))
        # One slide's new score moves every slide's rank in the Both column: its cells are
        # refreshed together, at most a few times a second.
        self._both_timer = QTimer(self)
        self._both_timer.setSingleShot(True)
        self._both_timer.setInterval(300)
        self._both_timer.timeout.connect(self._both_changed)

    @property
    def facts(self) -> SlideFacts:
        return self.session.facts

    def reset(self, ctx) -> None:
        self.beginResetModel()
        self.names = ctx.scan.names()
        self.thumbs = {}
        self.pair, self.pair_counts = None, {}
        self._row = {name: i for i, name in enumerate(self.names)}
        self.endResetModel()

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.names)

    def columnCount(self, parent=None):
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == COL_PAIR and self.pair is not None:
                return f"{self.pair[0]} as {self.pair[1]}"
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return self.TOOLTIPS.get(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.facts is None:
            return None
        facts = self.facts
        name = self.names[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(name, col)
        if role == SORT_ROLE:
            return self._sort_key(index.row(), name, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            return self.thumbs.get(name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(name, col)
        if role == Qt.ItemDataRole.ForegroundRole and facts.problem(name):
            return QBrush(QColor(200, 30, 30))
        return None

    def _text(self, name: str, col: int) -> str:
        facts = self.facts
        if col == COL_NAME:
            return name
        whole = facts.ctx.scan.whole(name)
        if col == COL_MASK:
            if whole is not None:
                if whole.annotation is None:
                    return "no"
                return (
                    "geo" if whole.annotation.suffix.lower() in (".geojson", ".json") else "label"
                )
            if facts.is_corrected(name):
                return "fixed"
            return "yes" if facts.ctx.scan.get(name).has_mask else "no"
        if col == COL_SPLIT:
            return "slide" if whole is not None else facts.part(name)
        if col == COL_SCORE:
            progress, miou = facts.progress(name), facts.miou(name)
            return progress if miou is None and progress else _fmt(miou)
        if col == COL_QUALITY:
            q = facts.quality(name)
            return _fmt(q.label_quality if q else None)
        if col == COL_AUDIT:
            q = facts.audit(name)
            return _fmt(q.miou if q else None)
        if col == COL_BOTH:
            return _fmt(facts.both(name))
        if col == COL_UNCERTAINTY:
            q = facts.quality(name)
            return _fmt(q.uncertainty if q else None)
        if col == COL_PAIR:
            count = self.pair_counts.get(name)
            return "" if count is None else str(count)
        if col == COL_REVIEW:
            state = facts.state(name)
            return STATE_SHORT.get(state, state or "")
        if col == COL_PROBLEM:
            return facts.problem(name)
        return ""

    def _tooltip(self, name: str, col: int) -> str:
        """The row's name and problems, the full word of a short cell, or why a number
        is not known."""
        facts = self.facts
        base = facts.problem(name) or name
        if col == COL_REVIEW and facts.state(name):
            return f"{name}: {facts.state(name)}"
        if col == COL_SCORE and facts.progress(name):
            return f"{name}: predicting, {facts.progress(name)} of the tissue so far"
        if col in (COL_SCORE, COL_QUALITY, COL_AUDIT, COL_BOTH, COL_UNCERTAINTY) and (
            self._text(name, col).startswith(BLANK)
        ):
            return f"{name}: {self.why_blank(name, col)}"
        return base

    def why_blank(self, name: str, col: int) -> str:
        """Why a number of this row is not known."""
        s, facts = self.session, self.facts
        slide = facts.ctx.scan.get(name)
        whole = facts.ctx.scan.whole(name)
        if col == COL_AUDIT or (col == COL_BOTH and not facts.has_audit()):
            return "no audit yet (Model > Audit labels)"
        if col == COL_BOTH:
            return "needs both the mIoU and the Audit score"
        if facts.problem(name) and slide is not None and not slide.usable:
            return "the image cannot be read"
        if s.model_path is None:
            return "no model"
        if whole is not None and facts.progress(name):
            return f"predicting ({facts.progress(name)})"
        if col in (COL_SCORE, COL_QUALITY):
            if (slide is not None and not slide.has_mask) or (
                whole is not None and whole.annotation is None
            ):
                return "not scored: no annotation"
            if not s.knows_classes():
                return "not scored: the model's classes differ from the folder's"
        if whole is not None:
            return (
                "open the slide to predict it"
                if col == COL_SCORE
                else "whole slides: see seggui audit"
            )
        return "not predicted yet"

    def _sort_key(self, row: int, name: str, col: int):
        facts = self.facts
        if col == COL_NAME:  # the folder's natural order (slide2 before slide10)
            return row
        if col == COL_SCORE:
            return _num(facts.miou(name))
        if col == COL_QUALITY:
            q = facts.quality(name)
            return _num(q.label_quality if q else None)
        if col == COL_AUDIT:
            q = facts.audit(name)
            return _num(q.miou if q else None)
        if col == COL_BOTH:
            return _num(facts.both(name))
        if col == COL_UNCERTAINTY:  # worst (most unsure) first in ascending order
            q = facts.quality(name)
            return _num(-q.uncertainty if q else None)
        if col == COL_PAIR:  # most pixels first
            count = self.pair_counts.get(name)
            return math.inf if count is None else -count
        return self._text(name, col).lower()

    def fact_changed(self, name: str, fact: str) -> None:
        if fact in ("score", "quality") and self.facts is not None and self.facts.has_audit():
            self._both_timer.start()
        row = self._row.get(name)
        if row is None or fact not in self.FACT_COLUMNS:
            return
        first, last = self.FACT_COLUMNS[fact]
        if fact == "quality":
            self.dataChanged.emit(
                self.index(row, COL_QUALITY), self.index(row, COL_QUALITY), SORT_ROLES
            )
            self.dataChanged.emit(
                self.index(row, COL_AUDIT), self.index(row, COL_UNCERTAINTY), SORT_ROLES
            )
            return
        roles = list(SORT_ROLES)
        if fact == "problem":
            roles += [Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole]
        self.dataChanged.emit(self.index(row, first), self.index(row, last), roles)

    def _both_changed(self) -> None:
        if self.names:
            last = len(self.names) - 1
            self.dataChanged.emit(self.index(0, COL_BOTH), self.index(last, COL_BOTH), SORT_ROLES)

    def set_thumb(self, name: str, pixmap: QPixmap) -> None:
        self.thumbs[name] = QIcon(pixmap)
        row = self._row.get(name)
        if row is not None:
            idx = self.index(row, COL_NAME)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def set_pair(self, pair: tuple[str, str] | None, counts: dict[str, int]) -> None:
        """Show, per slide, the pixels annotated as ``pair[0]`` and predicted as ``pair[1]``."""
        self.pair, self.pair_counts = pair, dict(counts)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, COL_PAIR, COL_PAIR)
        if self.names:
            self.dataChanged.emit(
                self.index(0, COL_PAIR), self.index(len(self.names) - 1, COL_PAIR)
            )

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
        facts = model.facts
        if facts is None:
            return True
        name = model.names[row]
        if self.state and (facts.state(name) or "unreviewed") != self.state:
            return False
        if self.part and facts.part(name) != self.part:
            return False
        if self.corrected_only and not facts.is_corrected(name):
            return False
        if self.pair_only and not model.pair_counts.get(name):
            return False
        return not (self.problems_only and not facts.problem(name))

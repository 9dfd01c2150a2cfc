"""The slide list: the table with its filters, sorting that never moves the row in view, and
the rows on screen (for thumbnails first)."""

from __future__ import annotations

from PyQt6.QtCore import (
    QSize,
    Qt,
    QTimer,
    pyqtSignal,
)
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

from seggui.core.review import STATES
from seggui.gui.slides.table_model import (
    COL_MASK,
    COL_NAME,
    COL_PAIR,
    COL_PROBLEM,
    SORT_ROLE,
    SlideFilter,
    SlideTableModel,
)


class SlideList(QWidget):
    """The table with its filters; emits ``current_changed(name)``."""

    current_changed = pyqtSignal(str)
    order_changed = pyqtSignal()  # sorted or filtered: the order of slides is another
    rows_in_view = pyqtSignal(list)  # names of the rows on screen (thumbnails first)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.model = SlideTableModel(session, self)
        self.proxy = SlideFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.modelReset.connect(self.update_count)  # once the proxy has its rows
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
            text = max(SlideTableModel.HEADERS[col], "corrected", key=len)
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
        col = self.proxy.sorted_by[0]
        if top_left.column() <= col <= bottom_right.column():
            self._sort_stale = True  # re-sorted when the user leaves the row, not under them

    def _resort(self) -> None:
        if self._sort_stale:
            self._sort_stale = False
            self.proxy.sort(*self.proxy.sorted_by)

    def _row_changed(self, current, previous) -> None:
        if self._sort_stale and previous.isValid():
            QTimer.singleShot(0, self._resort)
        if current.isValid():
            source = self.proxy.mapToSource(current)
            self.current_changed.emit(self.model.names[source.row()])

    def _scrolled(self) -> None:
        """Tell which rows are on screen, so their thumbnails are made before the rest."""
        view = self.table.viewport()
        first = self.table.rowAt(0)
        last = self.table.rowAt(view.height() - 1)
        if first < 0:
            return
        last = self.proxy.rowCount() - 1 if last < 0 else last
        names = [
            self.model.names[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
            for r in range(first, last + 1)
        ]
        self.rows_in_view.emit([n for n in names if n not in self.model.thumbs])

    def visible_names(self, around: int = 3) -> list[str]:
        """The current slide and the next ``around`` in the list's order (for look-ahead)."""
        idx = self.table.currentIndex()
        if not idx.isValid():
            return []
        out = []
        for r in range(idx.row(), min(self.proxy.rowCount(), idx.row() + around + 1)):
            out.append(self.model.names[self.proxy.mapToSource(self.proxy.index(r, 0)).row()])
        return out

    def ordered_names(self) -> list[str]:
        return [
            self.model.names[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
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

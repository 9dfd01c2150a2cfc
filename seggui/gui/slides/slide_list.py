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
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from seggui.core.review import STATES
from seggui.gui.slides.table_model import (
    COL_AUDIT,
    COL_BOTH,
    COL_MASK,
    COL_NAME,
    COL_PAIR,
    COL_PROBLEM,
    COL_QUALITY,
    COL_REVIEW,
    COL_SCORE,
    COL_SPLIT,
    COL_UNCERTAINTY,
    SORT_ROLE,
    SlideFilter,
    SlideTableModel,
)

THUMB_ICON = 24
CELL_PADDING = 8
#: The room a slide's name keeps beside the other columns (its thumbnail included).
NAME_ROOM = THUMB_ICON + 110
#: The widest text each column shows (its header aside), for its width.
COLUMN_TEXTS = {
    COL_MASK: ("fixed", "label"),
    COL_SPLIT: ("train", "slide"),
    COL_SCORE: ("0.000", "100%"),
    COL_QUALITY: ("0.000",),
    COL_AUDIT: ("0.000",),
    COL_BOTH: ("0.000",),
    COL_UNCERTAINTY: ("0.000",),
    COL_PAIR: ("000000",),
    COL_REVIEW: ("corr.",),
    COL_PROBLEM: ("mask has no image",),
}
#: Shown only when asked for (the header's context menu), or when they hold something:
#: the audit's columns once an audit is loaded, the pixel counts of a clicked confusion cell.
DEFAULT_HIDDEN = (COL_AUDIT, COL_BOTH, COL_PAIR, COL_PROBLEM)


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
        self.table.verticalHeader().setDefaultSectionSize(THUMB_ICON + 6)
        self.table.setIconSize(QSize(THUMB_ICON, THUMB_ICON))
        header = self.table.horizontalHeader()
        # Columns keep the widths they are given: a ResizeToContents column re-measures rows
        # on every score that arrives (1,536 data() calls per update at 10,000 slides), which
        # is what made big folders crawl. Widths are set from the widest text each can show.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(24)
        metrics = self.table.fontMetrics()
        for col, widest in COLUMN_TEXTS.items():
            texts = (SlideTableModel.HEADERS[col], *widest)
            width = max(metrics.horizontalAdvance(t) for t in texts) + CELL_PADDING
            header.resizeSection(col, width)
        header.moveSection(header.visualIndex(COL_BOTH), header.visualIndex(COL_AUDIT) + 1)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
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
        #: Both is hidden for want of an audit, not by the user's choice: shown when one comes.
        self._both_waits = False
        self.set_hidden_columns(DEFAULT_HIDDEN)
        self.session = session
        session.fact_changed.connect(self._audit_arrived)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.pair_button)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

    # -- columns ---------------------------------------------------------------------------------
    def hidden_columns(self) -> list[int]:
        """The columns the user keeps hidden (Both while it waits for an audit is not one)."""
        return [
            c
            for c in range(self.model.columnCount())
            if self.table.isColumnHidden(c) and not (c == COL_BOTH and self._both_waits)
        ]

    def set_hidden_columns(self, hidden) -> None:
        """Hide these columns and show the others (the slide's name is always shown)."""
        hidden = {int(c) for c in hidden} - {COL_NAME}
        if self.model.pair is None:
            hidden.add(COL_PAIR)  # only while a confusion cell's slides are shown
        self._both_waits = COL_BOTH not in hidden and (
            self.model.facts is None or not self.model.facts.has_audit()
        )
        if self._both_waits:
            hidden.add(COL_BOTH)  # only with an audit
        for col in range(self.model.columnCount()):
            self.table.setColumnHidden(col, col in hidden)

    def show_column(self, col: int) -> None:
        self.table.setColumnHidden(col, False)
        self._make_room()

    def _make_room(self) -> None:
        """Widen the dock that holds the list when the shown columns would squeeze the
        slides' names (the name column stretches into whatever the others leave)."""
        dock = self.parentWidget()
        window = dock.parentWidget() if isinstance(dock, QDockWidget) else None
        if not isinstance(window, QMainWindow) or dock.isFloating():
            return
        header = self.table.horizontalHeader()
        others = sum(
            header.sectionSize(c)
            for c in range(header.count())
            if c != COL_NAME and not self.table.isColumnHidden(c)
        )
        frame = self.width() - self.table.viewport().width()  # margins, frame, scroll bar
        need = others + NAME_ROOM + frame
        if dock.width() < need:
            window.resizeDocks([dock], [need], Qt.Orientation.Horizontal)

    def _audit_arrived(self, name: str, fact: str) -> None:
        """An audit's scores are there: their column is shown (hidden until then)."""
        facts = self.session.facts
        if fact != "quality" or not facts.audit(name):
            return
        if self.table.isColumnHidden(COL_AUDIT):
            self.show_column(COL_AUDIT)
            self.show_column(COL_BOTH)
        elif self._both_waits:  # the user shows Audit (a remembered choice): Both beside it
            self.show_column(COL_BOTH)
        self._both_waits = False

    def _column_menu(self, pos) -> None:
        """The header's context menu: which columns the list shows."""
        menu = QMenu(self)
        for col, title in enumerate(SlideTableModel.HEADERS):
            if col == COL_NAME:
                continue
            tip = SlideTableModel.TOOLTIPS.get(col, "")
            action = menu.addAction(f"{title} — {tip.split(':')[0]}" if tip else title)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(col))
            action.toggled.connect(
                lambda on, c=col: self.show_column(c) if on else self.table.setColumnHidden(c, True)
            )
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    def show_pair(self, pair: tuple[str, str], counts: dict[str, int]) -> None:
        """Only the slides with pixels annotated ``pair[0]`` and predicted ``pair[1]``, most
        first (a click on a cell of the folder's confusion matrix)."""
        self.model.set_pair(pair, counts)
        self.proxy.pair_only = True
        self.proxy.invalidateFilter()
        self.show_column(COL_PAIR)
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

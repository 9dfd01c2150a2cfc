"""The model versions box: the bundled model and the folder's versions with their test mIoU,
which one is active, and making another one active."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from seggui.core import registry
from seggui.gui.training.run_view import fmt


class VersionsBox(QGroupBox):
    """A table of model versions; ``activate(path)`` when the user makes one active."""

    activate = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__("Model versions", parent)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Version", "Created", "Test mIoU", "Active"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.make_active_button = QPushButton("Make selected version active")
        self.make_active_button.clicked.connect(self.make_selected_active)
        self.compare = QLabel("")
        self.compare.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.compare)
        layout.addWidget(self.make_active_button)
        self.paths: list[Path] = []

    def refresh(self, workspace: Path | None, active: Path | None) -> None:
        rows: list[tuple[Path, registry.ModelMeta]] = []
        if workspace is not None:
            rows = registry.list_versions(workspace)
        bundled = registry.bundled_model_path()
        if bundled.exists():
            try:
                rows = [(bundled, registry.read_meta(bundled))] + rows
            except registry.ModelError:
                pass
        self.paths = [p for p, _ in rows]
        self.table.setRowCount(len(rows))
        active = active.resolve() if active else None
        for r, (path, meta) in enumerate(rows):
            cells = [
                "bundled default" if path == bundled else path.stem,
                meta.created.replace("T", " ")[:16],
                fmt(meta.test_metrics.get("miou")),
                "●" if active is not None and path.resolve() == active else "",
            ]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def select(self, path: str) -> None:
        paths = [str(p) for p in self.paths]
        if path in paths:
            self.table.selectRow(paths.index(path))

    def compare_with_active(self, new_path: str, new_miou, active: Path | None) -> None:
        old = None
        if active is not None:
            try:
                old = registry.read_meta(active).test_metrics.get("miou")
            except registry.ModelError:
                old = None
        self.compare.setText(
            f"New version {Path(new_path).stem}: test mIoU {fmt(new_miou)} (active model: "
            f"{fmt(old)}). Select it and make it active to use it."
        )

    def make_selected_active(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.paths):
            self.activate.emit(str(self.paths[row]))

"""The retrain panel: the prepared split, settings, a live run in a child process, versions.

Training runs in a child process (``seggui.model.train_child``) driven by QProcess: the
window stays responsive because no training code shares its interpreter, a crash in
training cannot take the window down, and Cancel reaches the child as a line on its stdin.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyqtgraph as pg
from PyQt6.QtCore import QProcess, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from seggui.core import registry as store
from seggui.core.curation import curate
from seggui.core.folder import FolderContext
from seggui.gui.retrain_events import ChildEvents, _fmt


class RetrainPanel(ChildEvents, QWidget):
    """Settings, Start/Cancel, progress with time left, live curves, and model versions."""

    started = pyqtSignal()
    stopped = pyqtSignal()
    activate = pyqtSignal(str)  # model path the user made active
    message = pyqtSignal(str)
    progress_line = pyqtSignal(str)  # "Training 42% · 3:10 left", for the status bar
    audited = pyqtSignal(str)  # path of a finished audit's results

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ctx: FolderContext | None = None
        self.active_path: Path | None = None
        self.process: QProcess | None = None
        self._buffer = b""
        self._losses: list[tuple[float, float]] = []
        self._val: list[tuple[int, float]] = []
        self._last_plot = 0.0
        self.last_result: dict | None = None

        self.include_needs_fix = QCheckBox("Also train on slides marked “needs fix”")
        self.include_rejected = QCheckBox("Also train on rejected annotations")
        self.curation_label = QLabel("")
        self.curation_label.setWordWrap(True)
        self._states: dict[str, str | None] = {}
        for box in (self.include_needs_fix, self.include_rejected):
            box.toggled.connect(self.refresh_curation)
        self.split_label = QLabel("No folder")
        self.split_list = QListWidget()
        self.split_list.setMaximumHeight(90)
        split_box = QGroupBox("Prepared split (saved, reused for every version)")
        sl = QVBoxLayout(split_box)
        sl.addWidget(self.split_label)
        sl.addWidget(self.split_list)
        sl.addWidget(self.curation_label)
        sl.addWidget(self.include_needs_fix)
        sl.addWidget(self.include_rejected)

        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(8)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(1e-3)
        self.base = QComboBox()
        self.base.addItems(["4", "8", "16", "32"])
        self.base.setCurrentText("16")
        self.patch = QComboBox()
        self.patch.addItems(["32", "64", "128", "256", "512"])
        self.patch.setCurrentText("256")
        self.budget = QSpinBox()
        self.budget.setRange(0, 24 * 60)
        self.budget.setSuffix(" min")
        self.budget.setSpecialValueText("none (all epochs)")
        self.budget.setToolTip("Stop after this many minutes, keep the best epoch, then score")
        self.augment = QCheckBox("Flips and 90° rotations")
        self.augment.setChecked(True)
        self.colour = QCheckBox("H&&E stain and colour jitter")  # &&: a literal &
        self.colour.setChecked(True)
        self.colour.setToolTip(
            "Vary haematoxylin and eosin amounts, brightness, contrast, saturation and hue per "
            "crop, so the model copes with other labs' staining"
        )
        self.rare = QCheckBox("Centre half the crops on classes (rare classes learned)")
        self.rare.setChecked(True)
        self.rare.setToolTip(
            "Half of each epoch's crops hold a pixel of a class drawn uniformly from those in "
            "the training masks, so a class on few slides is not left unlearned"
        )
        self.from_active = QRadioButton("Start from the active model")
        self.from_scratch = QRadioButton("From scratch")
        self.from_scratch.setChecked(True)
        form = QFormLayout()
        form.addRow("Epochs", self.epochs)
        form.addRow("Time budget", self.budget)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Base filters", self.base)
        form.addRow("Crop size", self.patch)
        form.addRow("Augmentation", self.augment)
        form.addRow("", self.colour)
        form.addRow("Sampling", self.rare)
        form.addRow(self.from_active)
        form.addRow(self.from_scratch)
        settings = QGroupBox("Settings")
        settings.setLayout(form)

        self.audit_folds = QSpinBox()
        self.audit_folds.setRange(2, 10)
        self.audit_folds.setValue(3)
        self.audit_budget = QSpinBox()
        self.audit_budget.setRange(0, 24 * 60)
        self.audit_budget.setValue(15)
        self.audit_budget.setSuffix(" min")
        self.audit_budget.setSpecialValueText("none (all epochs)")
        self.audit_button = QPushButton("Audit labels")
        self.audit_button.setToolTip(
            "Train one model per fold of the non-test slides; each scores the slides it never "
            "saw, so every slide gets an out-of-sample label quality"
        )
        self.audit_button.clicked.connect(self.start_audit)
        audit_box = QGroupBox("Audit labels (out-of-sample label quality)")
        audit_form = QFormLayout(audit_box)
        audit_form.addRow("Folds", self.audit_folds)
        audit_form.addRow("Time budget", self.audit_budget)
        audit_form.addRow(self.audit_button)
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.time_left = QLabel("")
        self.status = QLabel("Idle")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)

        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.loss_plot = pg.PlotWidget(title="Training loss")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setMinimumHeight(120)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#c0392b", width=1.5))
        self.iou_plot = pg.PlotWidget(title="Validation IoU")
        self.iou_plot.setLabel("bottom", "epoch")
        self.iou_plot.setMinimumHeight(120)
        self.iou_curve = self.iou_plot.plot(
            pen=pg.mkPen("#2471a3", width=1.5), symbol="o", symbolSize=6, symbolBrush="#2471a3"
        )

        self.versions = QTableWidget(0, 4)
        self.versions.setHorizontalHeaderLabels(["Version", "Created", "Test mIoU", "Active"])
        self.versions.verticalHeader().setVisible(False)
        self.versions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.versions.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.versions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.make_active_button = QPushButton("Make selected version active")
        self.make_active_button.clicked.connect(self._make_selected_active)
        self.compare = QLabel("")
        self.compare.setWordWrap(True)
        versions = QGroupBox("Model versions")
        vl = QVBoxLayout(versions)
        vl.addWidget(self.versions)
        vl.addWidget(self.compare)
        vl.addWidget(self.make_active_button)

        layout = QVBoxLayout(self)
        layout.addWidget(split_box)
        layout.addWidget(settings)
        layout.addLayout(buttons)
        layout.addWidget(audit_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.time_left)
        layout.addWidget(self.status)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.iou_plot, 1)
        layout.addWidget(versions, 1)
        self._version_paths: list[Path] = []

    # -- context -----------------------------------------------------------------------------
    def set_context(self, ctx: FolderContext | None, active: Path | None) -> None:
        self.ctx, self.active_path = ctx, active
        self.split_list.clear()
        if ctx is None:
            self.split_label.setText("No folder")
            self.start_button.setEnabled(False)
            return
        train, test = ctx.part("train"), ctx.part("test")
        self.split_label.setText(
            f"{len(train)} train · {len(test)} test slides "
            f"(seed {ctx.split.seed}, {ctx.split.test_fraction:.0%} test)"
        )
        for s in test:
            self.split_list.addItem(f"test  · {s.name}")
        for s in train:
            self.split_list.addItem(f"train · {s.name}")
        self.start_button.setEnabled(bool(train) and not self.running)
        self.refresh_curation()
        self.refresh_versions()

    def set_review_states(self, states: dict[str, str | None]) -> None:
        """The review marks that decide what the next run learns from."""
        self._states = dict(states)
        self.refresh_curation()

    def refresh_curation(self) -> None:
        if self.ctx is None:
            self.curation_label.setText("")
            return
        curation = curate(
            self.ctx,
            self._states,
            self.include_needs_fix.isChecked(),
            self.include_rejected.isChecked(),
        )
        self.curation = curation
        self.curation_label.setText(f"<b>{curation.summary()}</b>")
        self.start_button.setEnabled(bool(curation.train) and not self.running)

    def refresh_versions(self) -> None:
        rows: list[tuple[Path, store.ModelMeta]] = []
        if self.ctx is not None:
            rows = store.list_versions(self.ctx.workspace)
        bundled = store.bundled_model_path()
        if bundled.exists():
            try:
                rows = [(bundled, store.read_meta(bundled))] + rows
            except store.ModelError:
                pass
        self._version_paths = [p for p, _ in rows]
        self.versions.setRowCount(len(rows))
        active = self.active_path.resolve() if self.active_path else None
        for r, (path, meta) in enumerate(rows):
            name = "bundled default" if path == bundled else path.stem
            cells = [
                name,
                meta.created.replace("T", " ")[:16],
                _fmt(meta.test_metrics.get("miou")),
                "●" if active is not None and path.resolve() == active else "",
            ]
            for c, text in enumerate(cells):
                self.versions.setItem(r, c, QTableWidgetItem(text))

    def _make_selected_active(self) -> None:
        row = self.versions.currentRow()
        if 0 <= row < len(self._version_paths):
            self.activate.emit(str(self._version_paths[row]))

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None

    def settings(self) -> dict:
        out = {
            "epochs": self.epochs.value(),
            "batch_size": self.batch.value(),
            "learning_rate": self.lr.value(),
            "base_filters": int(self.base.currentText()),
            "patch": int(self.patch.currentText()),
            "augment": self.augment.isChecked(),
            "colour_jitter": self.colour.isChecked(),
            "class_share": 0.5 if self.rare.isChecked() else 0.0,
            "time_budget_s": 60.0 * self.budget.value(),
            "include_needs_fix": self.include_needs_fix.isChecked(),
            "include_rejected": self.include_rejected.isChecked(),
        }
        if self.from_active.isChecked() and self.active_path is not None:
            out["init_from"] = str(self.active_path)
        return out

    def first_model_defaults(self, minutes: int = 10) -> None:
        """Settings for a folder's first model: from scratch, as many epochs as fit in
        ``minutes`` (the best epoch is kept and scored on the test split)."""
        if self.running:
            return
        self.from_scratch.setChecked(True)
        self.epochs.setValue(200)
        self.budget.setValue(minutes)
        self.base.setCurrentText("16")
        self.patch.setCurrentText("256")
        self.batch.setValue(8)
        self.lr.setValue(1e-3)
        self.augment.setChecked(True)
        self.colour.setChecked(True)
        self.rare.setChecked(True)
        self.status.setText(
            f"A first model for this folder: press Start to train for {minutes} minutes."
        )

    def start(self) -> None:
        if self.ctx is None or self.running:
            return
        spec = {"folder": str(self.ctx.root), "settings": self.settings(), "make_active": False}
        self._launch(spec, self.settings()["time_budget_s"], "Training")

    def start_audit(self) -> None:
        """Audit labels in the child process, with the panel's model settings."""
        if self.ctx is None or self.running:
            return
        settings = {**self.settings(), "time_budget_s": 0.0, "init_from": None}
        budget = 60.0 * self.audit_budget.value()
        spec = {
            "folder": str(self.ctx.root),
            "settings": settings,
            "mode": "audit",
            "folds": self.audit_folds.value(),
            "time_budget_s": budget,
        }
        self._launch(spec, budget, "Auditing labels")

    def _launch(self, spec: dict, budget_s: float, what: str) -> None:
        self._budget_s, self._what = budget_s, what
        self._losses, self._val, self._buffer = [], [], b""
        self.loss_curve.setData([], [])
        self.iou_curve.setData([], [])
        self.progress.setValue(0)
        self.last_result = None
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._finished)
        self.process = proc
        self._started_at = time.monotonic()
        proc.start(sys.executable, ["-m", "seggui.model.train_child", json.dumps(spec)])
        self.start_button.setEnabled(False)
        self.audit_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting…")
        self.started.emit()

    def cancel(self) -> None:
        if self.process is not None:
            self.status.setText("Cancelling…")
            self.process.write(b"cancel\n")
            self.cancel_button.setEnabled(False)

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop a running child for good (window closing): cancel, then kill if it lingers."""
        proc = self.process
        if proc is None:
            return
        proc.write(b"cancel\n")
        proc.closeWriteChannel()
        if not proc.waitForFinished(wait_ms):
            proc.kill()
            proc.waitForFinished(2000)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._handle(event)

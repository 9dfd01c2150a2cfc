"""The retrain panel: the prepared split and what the review leaves out of it, the training
settings (defaults from :class:`~seggui.core.train_settings.TrainSettings`), the label audit,
and a live run in the training child, with the model versions below."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from seggui.core import train_events as events
from seggui.core.curation import curate
from seggui.core.folder import FolderContext
from seggui.core.train_settings import DEFAULTS
from seggui.gui.training.child import TrainingChild
from seggui.gui.training.run_view import RunView
from seggui.gui.training.versions import VersionsBox

FIRST_MODEL_MINUTES = 10
AUDIT_MINUTES = 15


class RetrainPanel(QWidget):
    """Settings, Start/Cancel, progress with time left, live curves, and model versions."""

    started = pyqtSignal()
    stopped = pyqtSignal()
    activate = pyqtSignal(str)  # model path the user made active
    message = pyqtSignal(str)
    progress_line = pyqtSignal(str)  # "Training 42% · 3:10 left", for the status bar
    audited = pyqtSignal(str)  # path of a finished audit's results

    def __init__(self, review_states: Callable[[], dict[str, str | None]], parent=None):
        super().__init__(parent)
        self.ctx: FolderContext | None = None
        self.active_path: Path | None = None
        self.review_states = review_states  # the review store's marks, read when needed
        #: Where an audit runs (Settings > Compute): a ClusterSpec as JSON, read at its start.
        self.compute: Callable[[], dict] = dict
        self.child = TrainingChild(self)
        self.child.reported.connect(self._on_event)
        self.child.ended.connect(self._ended)
        self.last_result: events.Event | None = None

        self.include_needs_fix = QCheckBox("Also train on slides marked “needs fix”")
        self.include_rejected = QCheckBox("Also train on rejected annotations")
        self.curation_label = QLabel("")
        self.curation_label.setWordWrap(True)
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
        self.epochs.setValue(DEFAULTS.epochs)
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(DEFAULTS.batch_size)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(DEFAULTS.learning_rate)
        self.base = QComboBox()
        self.base.addItems(["4", "8", "16", "32"])
        self.base.setCurrentText(str(DEFAULTS.base_filters))
        self.patch = QComboBox()
        self.patch.addItems(["32", "64", "128", "256", "512"])
        self.patch.setCurrentText(str(DEFAULTS.patch))
        self.resolution = QComboBox()  # the working resolution: data is the factor
        for f, text in ((1, "full"), (2, "1/2 (4x context, cheaper steps)"), (4, "1/4")):
            self.resolution.addItem(text, f)
        self.block = QComboBox()  # data: TrainSettings.block
        self.block.addItem("3x3 (the seed's)", "standard")
        self.block.addItem("separable", "separable")
        self.block.setCurrentIndex(self.block.findData(DEFAULTS.block))
        self.block.setToolTip(
            "Depthwise-separable blocks halve a training step at the same width, but learned "
            "less per minute on real H&E (BENCHMARKS.md section 24)"
        )
        self.precision = QComboBox()  # data: TrainSettings.precision
        for text, value in (("auto", "auto"), ("float32", "float32"), ("bfloat16", "bfloat16")):
            self.precision.addItem(text, value)
        self.precision.setCurrentIndex(self.precision.findData(DEFAULTS.precision))
        self.precision.setToolTip(
            "What the training steps compute in. bfloat16 on a CPU with AVX512-BF16 or AMX "
            "(auto chooses it there) fit a third more epochs in the same time but learned no "
            "more; without those units it is emulated, 4x slower. The saved model is float32 "
            "either way (BENCHMARKS.md sections 23 and 27)"
        )
        self.budget = QSpinBox()
        self.budget.setRange(0, 24 * 60)
        self.budget.setSuffix(" min")
        self.budget.setSpecialValueText("none (all epochs)")
        self.budget.setToolTip("Stop after this many minutes, keep the best epoch, then score")
        self.augment = QCheckBox("Flips and 90° rotations")
        self.augment.setChecked(DEFAULTS.augment)
        self.colour = QCheckBox("H&&E stain and colour jitter")  # &&: a literal &
        self.colour.setChecked(DEFAULTS.colour_jitter)
        self.colour.setToolTip(
            "Vary haematoxylin and eosin amounts, brightness, contrast, saturation and hue per "
            "crop, so the model copes with other labs' staining"
        )
        self.rare = QCheckBox("Centre half the crops on classes (rare classes learned)")
        self.rare.setChecked(DEFAULTS.class_share > 0)
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
        form.addRow("Resolution", self.resolution)
        form.addRow("Blocks", self.block)
        form.addRow("Precision", self.precision)
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
        self.audit_budget.setValue(AUDIT_MINUTES)
        self.audit_budget.setSuffix(" min")
        self.audit_budget.setSpecialValueText("none (all epochs)")
        self.audit_button = QPushButton("Audit labels")
        self.audit_button.setToolTip(
            "Train one model per fold of the non-test slides; each scores the slides it never "
            "saw, so every slide gets an out-of-sample mIoU and label quality"
        )
        self.audit_button.clicked.connect(lambda: self.start_audit())
        self.quick_audit_button = QPushButton("Quick audit")
        self.quick_audit_button.setToolTip(
            "A pixel forest (colour and texture) per fold instead of a U-Net: seconds instead "
            "of minutes, no time budget. Its out-of-sample mIoU fills the Audit column and, "
            "with the mIoU, the masks' edge fit and the forest's largest region of "
            "disagreement, the Both column"
        )
        self.quick_audit_button.clicked.connect(lambda: self.start_audit(quick=True))
        audit_box = QGroupBox("Audit labels (out-of-sample scores)")
        audit_form = QFormLayout(audit_box)
        audit_form.addRow("Folds", self.audit_folds)
        audit_form.addRow("Time budget", self.audit_budget)
        audit_buttons = QHBoxLayout()
        audit_buttons.addWidget(self.quick_audit_button)
        audit_buttons.addWidget(self.audit_button)
        audit_form.addRow(audit_buttons)
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.run = RunView()
        self.run.progress_line.connect(self.progress_line)
        self.versions = VersionsBox()
        self.versions.activate.connect(self.activate)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(split_box)
        layout.addWidget(settings)
        layout.addLayout(buttons)
        layout.addWidget(audit_box)
        layout.addWidget(self.run, 2)
        layout.addWidget(self.versions, 1)

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

    def refresh_curation(self) -> None:
        if self.ctx is None:
            self.curation_label.setText("")
            return
        curation = curate(
            self.ctx,
            self.review_states(),
            self.include_needs_fix.isChecked(),
            self.include_rejected.isChecked(),
        )
        self.curation = curation
        self.curation_label.setText(f"<b>{curation.summary()}</b>")
        self.start_button.setEnabled(bool(curation.train) and not self.running)

    def refresh_versions(self) -> None:
        self.versions.refresh(self.ctx.workspace if self.ctx else None, self.active_path)

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.child.running

    def settings(self) -> dict:
        out = {
            "epochs": self.epochs.value(),
            "batch_size": self.batch.value(),
            "learning_rate": self.lr.value(),
            "base_filters": int(self.base.currentText()),
            "patch": int(self.patch.currentText()),
            "downsample": int(self.resolution.currentData()),
            "block": self.block.currentData(),
            "precision": self.precision.currentData(),
            "augment": self.augment.isChecked(),
            "colour_jitter": self.colour.isChecked(),
            "class_share": DEFAULTS.class_share if self.rare.isChecked() else 0.0,
            "time_budget_s": 60.0 * self.budget.value(),
            "include_needs_fix": self.include_needs_fix.isChecked(),
            "include_rejected": self.include_rejected.isChecked(),
        }
        if self.from_active.isChecked() and self.active_path is not None:
            out["init_from"] = str(self.active_path)
        return out

    def first_model_defaults(self, minutes: int = FIRST_MODEL_MINUTES) -> None:
        """Settings for a folder's first model: from scratch, as many epochs as fit in
        ``minutes`` (the best epoch is kept and scored on the test split)."""
        if self.running:
            return
        self.from_scratch.setChecked(True)
        self.epochs.setValue(200)
        self.budget.setValue(minutes)
        self.base.setCurrentText(str(DEFAULTS.base_filters))
        self.patch.setCurrentText(str(DEFAULTS.patch))
        self.batch.setValue(DEFAULTS.batch_size)
        self.lr.setValue(DEFAULTS.learning_rate)
        self.augment.setChecked(DEFAULTS.augment)
        self.colour.setChecked(DEFAULTS.colour_jitter)
        self.rare.setChecked(DEFAULTS.class_share > 0)
        self.run.status.setText(
            f"A first model for this folder: press Start to train for {minutes} minutes."
        )

    def start(self) -> None:
        if self.ctx is None or self.running:
            return
        spec = {"folder": str(self.ctx.root), "settings": self.settings(), "make_active": False}
        self._launch(spec, self.settings()["time_budget_s"], "Training")

    def start_audit(self, quick: bool = False) -> None:
        """Audit labels in the child process, with the panel's model settings (``quick``:
        pixel forests as the fold models, here, without a budget)."""
        if self.ctx is None or self.running:
            return
        settings = {**self.settings(), "time_budget_s": 0.0, "init_from": None}
        budget = 0.0 if quick else 60.0 * self.audit_budget.value()
        spec = {
            "folder": str(self.ctx.root),
            "settings": settings,
            "mode": "audit",
            "quick": quick,
            "folds": self.audit_folds.value(),
            "time_budget_s": budget,
            "started": time.monotonic(),  # the budget counts the child's start-up
            "cluster": None if quick else self.compute(),
        }
        self._launch(spec, budget, "Quick audit" if quick else "Auditing labels")

    def _launch(self, spec: dict, budget_s: float, what: str) -> None:
        self.last_result = None
        self.run.begin(what, budget_s)
        self.child.start(spec)
        self.start_button.setEnabled(False)
        self.audit_button.setEnabled(False)
        self.quick_audit_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.started.emit()

    def cancel(self) -> None:
        if self.child.running:
            self.run.status.setText("Cancelling…")
            self.child.cancel()
            self.cancel_button.setEnabled(False)

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop a running child for good (the window is closing)."""
        self.child.shutdown(wait_ms)

    def _on_event(self, event: events.Event) -> None:
        self.run.show_event(event)
        if isinstance(event, events.Done):
            self.versions.compare_with_active(
                event.model_path, event.test_metrics.get("miou"), self.active_path
            )
            for name, reason in event.skipped.items():
                self.message.emit(f"Skipped {name} in training: {reason}")
        elif isinstance(event, events.AuditDone):
            self.audited.emit(event.audit_path)
        elif isinstance(event, events.Failed):
            self.message.emit(f"Training failed: {event.message}")

    def _ended(self, final: events.Event) -> None:
        self.last_result = final
        self.start_button.setEnabled(self.ctx is not None)
        self.audit_button.setEnabled(self.ctx is not None)
        self.quick_audit_button.setEnabled(self.ctx is not None)
        self.cancel_button.setEnabled(False)
        self.progress_line.emit("")
        self.refresh_versions()
        if isinstance(final, events.Done):
            self.versions.select(final.model_path)
        self.stopped.emit()

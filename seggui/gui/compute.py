"""Settings > Compute: whether heavy work runs on this machine or on a Dask cluster, and
Model > Predict all slides, which follows that choice.

The choice is remembered (QSettings, as JSON). An address is checked when the dialog is
accepted, without connecting: a scheduler on another machine needs TLS certificates or
"insecure" ticked. Audit labels reads the choice when it starts (its child process opens the
cluster); Predict all runs in a job with a progress dialog and Cancel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from seggui.core.cluster_address import ClusterRefused, ClusterSpec, check_spec, insecure_warning

KEY = "compute/spec"


class ComputeDialog(QDialog):
    """Where Audit labels and Predict all run: this machine, local worker processes, or a
    running Dask scheduler (with TLS files)."""

    def __init__(self, spec: ClusterSpec, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compute")
        self.here = QRadioButton("This machine (one process)")
        self.local = QRadioButton("Worker processes on this machine:")
        self.remote = QRadioButton("A Dask scheduler:")
        group = QButtonGroup(self)
        for b in (self.here, self.local, self.remote):
            group.addButton(b)
        self.workers = QSpinBox()
        self.workers.setRange(1, 256)
        self.workers.setValue(spec.workers or 2)
        self.address = QLineEdit(spec.address)
        self.address.setPlaceholderText("tls://scheduler.lab:8786")
        self.tls = {
            "tls_ca": QLineEdit(spec.tls_ca),
            "tls_cert": QLineEdit(spec.tls_cert),
            "tls_key": QLineEdit(spec.tls_key),
        }
        self.insecure = QCheckBox("Allow a scheduler on another machine without TLS (insecure)")
        self.insecure.setChecked(spec.insecure)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        (self.remote if spec.address else self.local if spec.workers else self.here).setChecked(
            True
        )

        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Audit labels and Predict all can send their work to Dask: the fold models "
                "train side by side, the slides are shared out. Workers must see the folder "
                "at the same path (a shared filesystem)."
            )
        )
        layout.itemAt(0).widget().setWordWrap(True)
        layout.addWidget(self.here)
        layout.addLayout(_row(self.local, self.workers))
        layout.addLayout(_row(self.remote, self.address))
        form = QFormLayout()
        names = {"tls_ca": "CA certificate", "tls_cert": "Certificate", "tls_key": "Private key"}
        for key, edit in self.tls.items():
            form.addRow(names[key], _with_browse(edit, self))
        layout.addLayout(form)
        layout.addWidget(self.insecure)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.result_spec: ClusterSpec | None = None

    def chosen(self) -> ClusterSpec:
        tls = {k: e.text().strip() for k, e in self.tls.items()}
        if self.local.isChecked():
            return ClusterSpec(workers=self.workers.value())
        if self.remote.isChecked():
            return ClusterSpec(
                self.address.text().strip(), 0, insecure=self.insecure.isChecked(), **tls
            )
        return ClusterSpec()

    def accept(self) -> None:
        """Keep the choice only if seggui would connect to it (checked without connecting)."""
        try:
            self.result_spec = check_spec(self.chosen())
        except ClusterRefused as exc:
            text = str(exc).replace("(--tls-ca, --tls-cert, --tls-key)", "(the three files above)")
            self.message.setText(text.replace("--insecure", "tick “insecure”"))
            return
        super().accept()


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    return row


def _with_browse(edit: QLineEdit, parent: QWidget) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    button = QPushButton("Browse…")

    def browse() -> None:
        path, _ = QFileDialog.getOpenFileName(parent, "Choose a PEM file", edit.text())
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row.addWidget(edit)
    row.addWidget(button)
    return box


class ComputeController:
    """Owns the compute choice: reads and saves it, edits it, and runs Predict all."""

    def __init__(self, settings: QSettings, window, session, feedback, retrain_panel):
        self.settings, self.window = settings, window
        self.session, self.feedback = session, feedback
        retrain_panel.compute = lambda: self.spec().to_json()  # read when an audit starts

    def spec(self) -> ClusterSpec:
        try:
            return ClusterSpec.from_json(json.loads(str(self.settings.value(KEY, "{}"))))
        except (ValueError, TypeError):
            return ClusterSpec()

    def set_spec(self, spec: ClusterSpec) -> None:
        self.settings.setValue(KEY, json.dumps(spec.to_json()))
        self.settings.sync()
        warning = insecure_warning(spec)
        self.feedback.status(
            f"Audit labels and Predict all will run on {spec.describe()}"
            + (f" ({warning})" if warning else ""),
            10000,
        )

    def edit(self) -> None:
        dialog = ComputeDialog(self.spec(), self.window)
        if dialog.exec() and dialog.result_spec is not None:
            self.set_spec(dialog.result_spec)

    def predict_all(self) -> None:
        """Model > Predict all slides: a mask per slide into a chosen folder."""
        if self.session.ctx is None or self.session.model_path is None:
            self.feedback.status("Open a folder with a model first")
            return
        out = QFileDialog.getExistingDirectory(
            self.window, "Write the predicted masks into", str(self.session.ctx.root)
        )
        if out:
            self.write_predictions(Path(out))

    def write_predictions(self, out: Path, done: Callable | None = None):
        """Predict every slide into ``out`` (on the chosen cluster, or here) in a job."""
        ctx, model, spec = self.session.ctx, Path(self.session.model_path), self.spec()
        dialog = QProgressDialog(f"Predicting on {spec.describe()}…", "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("Predict all slides")
        dialog.setMinimumDuration(0)

        def work(progress, cancel):
            return predict_folder(ctx, model, out, spec, progress, cancel)

        def finished(result) -> None:
            dialog.reset()
            written, skipped, problems = result
            self.feedback.status(
                f"Wrote {len(written) - skipped} masks to {out}"
                + (f" ({skipped} already made by this model)" if skipped else "")
                + (f"; {len(problems)} slides could not be predicted" if problems else ""),
                15000,
            )
            if done is not None:
                done(result)

        job = self.feedback.run_job(work, finished, "Predicting all slides")
        job.progress.connect(lambda d, t, _m: (dialog.setMaximum(t), dialog.setValue(d)))
        job.failed.connect(lambda _m: dialog.reset())
        job.cancelled.connect(dialog.reset)
        dialog.canceled.connect(job.cancel)
        return job


def predict_folder(ctx, model: Path, out: Path, spec: ClusterSpec, progress, cancel):
    """``(masks, skipped, problems)``: the folder's tiles predicted into ``out`` here or on
    the cluster (the same files either way)."""
    from seggui.core.registry import read_meta
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster_jobs import ModelRef

    ref = ModelRef(str(model.resolve()), model_hash(model))
    meta = read_meta(model)
    if not spec.used:
        from seggui.model.evaluate import predict_slides
        from seggui.model.predict import Predictor

        predictor = Predictor.from_path(model, meta)
        written, problems = predict_slides(
            predictor, ctx.slides, out, meta.classes, progress, cancel, model_hash=ref.hash
        )
        return written, 0, problems
    from seggui.model.cluster import check_shared, open_client
    from seggui.model.cluster_runs import predict_on_cluster

    out.mkdir(parents=True, exist_ok=True)
    with open_client(spec) as client:
        check_shared(client, [str(ctx.root), ref.path, str(out)])
        return predict_on_cluster(client, ref, ctx.slides, out, meta.classes, progress, cancel)

"""The window's models: activating a version, the versions menu, retraining and the audit."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import QFileDialog

from seggui.core import registry
from seggui.core.audit import load_audit


class ModelsMixin:
    """Part of :class:`~seggui.gui.main_window.MainWindow` (which provides the widgets)."""

    # -- models ----------------------------------------------------------------------------------
    def activate_model(self, path: Path, persist: bool = True) -> None:
        """Predict with ``path`` from now on; ``persist`` makes it the folder's active model."""
        try:
            meta = registry.read_meta(path)
        except registry.ModelError as exc:
            self._error("Cannot use this model", str(exc))
            return
        ctx = self.session.ctx
        if ctx is not None and not meta.classes.same_as(ctx.classes):
            self.notice.show_text(
                f"The model {path.stem} knows other classes ({', '.join(meta.classes.names)}) "
                f"than this folder ({', '.join(ctx.classes.names)}): its predictions are shown "
                "in its own colours and not scored."
            )
        else:
            self.notice.hide()
        if persist and ctx is not None:
            registry.set_active(ctx.workspace, path)
        miou = meta.test_metrics.get("miou")
        label = "bundled default" if path == registry.bundled_model_path() else path.stem
        self.model_label.setText(f"Model: {label}" + (f" (test mIoU {miou:.3f})" if miou else ""))
        self.session.model_meta = meta
        self.session.set_model(path)
        self.retrain.active_path = path
        self.retrain.refresh_versions()
        self._render()

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "Keras models (*.keras)")
        if path:
            self.activate_model(Path(path))

    def _fill_versions(self) -> None:
        self.versions_menu.clear()
        group = QActionGroup(self.versions_menu)
        rows = [(registry.bundled_model_path(), "bundled default")]
        if self.session.ctx is not None:
            rows += [(p, p.stem) for p, _ in registry.list_versions(self.session.ctx.workspace)]
        for path, label in rows:
            try:
                miou = registry.read_meta(path).test_metrics.get("miou")
            except registry.ModelError:
                continue
            text = label + (f"  (test mIoU {miou:.3f})" if miou is not None else "")
            action = self.versions_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(path == self.session.model_path)
            group.addAction(action)
            action.triggered.connect(lambda _=False, p=path: self.activate_model(p))

    def show_retrain(self) -> None:
        self.retrain_dock.show()
        self.retrain_dock.raise_()

    def show_audit(self) -> None:
        """Model > Audit labels: the panel's audit settings, ready to start."""
        self.show_retrain()
        self.retrain.audit_button.setFocus()
        self.statusBar().showMessage(
            "Audit labels: choose folds and a time budget in the panel, then press Audit labels",
            10000,
        )

    def _load_audit(self) -> None:
        """Show the folder's saved audit, if its masks and split are still those it scored."""
        ctx = self.session.ctx
        result = load_audit(ctx) if ctx is not None else None
        self.session.set_audit(result.slides if result is not None else {})
        if result is not None:
            self.statusBar().showMessage(
                f"Label quality of {len(result.slides)} slides is out of sample (audit of "
                f"{result.folds} folds)",
                10000,
            )

    def train_for_folder(self) -> None:
        """A first model of the folder's own: from scratch, within a time budget."""
        self.retrain.first_model_defaults()
        self.show_retrain()

    def _training(self, running: bool) -> None:
        self.task_label.setText("Training…" if running else "")
        self.session.paused = running  # background prediction pauses while training
        self.session.request_predictions()

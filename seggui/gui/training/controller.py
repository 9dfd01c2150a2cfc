"""Models: making a version active, the versions menu, retraining and auditing labels.

The active model is the session's (its path and metadata, set in one call); this controller
reads a model's metadata once, tells the session, and keeps the notice, the status bar's
model label and the retrain panel in step with the session's ``model_changed``.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMenu, QWidget

from seggui.core import registry
from seggui.core.audit import QUICK_AUDIT_FILE, load_audit
from seggui.gui.feedback import Feedback
from seggui.gui.session.session import Session
from seggui.gui.training.int8_child import Int8Maker
from seggui.gui.training.panel import RetrainPanel
from seggui.gui.widgets import Notice


class ModelsController:
    """The active model, its versions, the retrain panel and the audit."""

    def __init__(
        self,
        session: Session,
        panel: RetrainPanel,
        dock: QDockWidget,
        notice: Notice,
        model_label: QLabel,
        versions_menu: QMenu,
        feedback: Feedback,
        parent: QWidget,
    ):
        self.session, self.panel, self.dock = session, panel, dock
        self.notice, self.model_label, self.feedback = notice, model_label, feedback
        self.versions_menu, self.parent = versions_menu, parent
        versions_menu.aboutToShow.connect(self.fill_versions)
        notice.button.clicked.connect(self.train_for_folder)
        session.model_changed.connect(self._model_changed)
        session.classes_changed.connect(self._classes_changed)
        session.fact_changed.connect(self._fact_changed)
        session.opened.connect(self._opened)
        panel.started.connect(lambda: self._training(True))
        panel.stopped.connect(lambda: self._training(False))
        panel.activate.connect(lambda p: self.activate(Path(p)))
        panel.message.connect(feedback.status)
        panel.progress_line.connect(feedback.task)
        panel.audited.connect(self.load_audit)
        self.int8 = Int8Maker(parent)
        self.int8.finished.connect(lambda text: feedback.status(text, 15000))

    def shutdown(self) -> None:
        """Stop the children for good (the window is closing)."""
        self.panel.shutdown()
        self.int8.shutdown()

    def _opened(self, ctx) -> None:
        self.panel.set_context(ctx, self.session.model_path)
        self.activate(registry.resolve_model(ctx.workspace), persist=False)
        self.load_audit()

    def _classes_changed(self, _classes) -> None:
        if self.session.model_path is not None:  # the model may now know these classes
            self.activate(self.session.model_path, persist=False)

    def _fact_changed(self, name: str, fact: str) -> None:
        if fact in ("review", "corrected"):
            self.panel.refresh_curation()

    def activate(self, path: Path, persist: bool = True) -> None:
        """Predict with ``path`` from now on; ``persist`` makes it the folder's active model."""
        try:
            meta = registry.read_meta(path)
        except registry.ModelError as exc:
            self.feedback.error("Cannot use this model", str(exc))
            return
        ctx = self.session.ctx
        if persist and ctx is not None:
            registry.set_active(ctx.workspace, path)
        self.session.set_model(path, meta)

    def _model_changed(self) -> None:
        s = self.session
        path, meta = s.model_path, s.model_meta
        if path is None or meta is None:
            return
        if s.ctx is not None and not s.knows_classes():
            self.notice.show_text(
                f"The model {path.stem} knows other classes ({', '.join(meta.classes.names)}) "
                f"than this folder ({', '.join(s.ctx.classes.names)}): its predictions are "
                "shown in its own colours and not scored."
            )
        else:
            self.notice.hide()
        miou = meta.test_metrics.get("miou")
        label = "bundled default" if path == registry.bundled_model_path() else path.stem
        self.model_label.setText(f"Model: {label}" + (f" (test mIoU {miou:.3f})" if miou else ""))
        self.panel.active_path = path
        self.panel.refresh_versions()
        if s.ctx is not None and s.knows_classes() and path == registry.bundled_model_path():
            self.int8.make(s.ctx.root, path)  # returns at once when it was made before

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent, "Load model", "", "Keras models (*.keras)"
        )
        if path:
            self.activate(Path(path))

    def fill_versions(self) -> None:
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
            action.triggered.connect(lambda _=False, p=path: self.activate(p))

    def show_retrain(self) -> None:
        """The panel's tab, wide enough for its settings (it opens at the side panels' width,
        which cut them)."""
        self.dock.show()
        self.dock.raise_()
        scroll = self.dock.widget()
        need = (
            self.panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 8
        )
        window = self.dock.parentWidget()
        if self.dock.width() < need and not self.dock.isFloating() and window is not None:
            window.resizeDocks([self.dock], [need], Qt.Orientation.Horizontal)

    def show_audit(self) -> None:
        """Model > Audit labels: the panel's audit settings, ready to start."""
        self.show_retrain()
        self.panel.audit_button.setFocus()
        self.feedback.status(
            "Audit labels: Quick audit takes seconds (pixel forests); for U-Net fold models "
            "choose folds and a time budget in the panel, then press Audit labels"
        )

    def load_audit(self, finished: str = "") -> None:
        """Show the folder's saved audit, if its masks and split are still those it scored
        (``finished``: the file of the audit that just ended)."""
        s = self.session
        result = load_audit(s.ctx) if s.ctx is not None else None
        if s.facts is not None:
            s.facts.set_audit(result.slides if result is not None else {})
        if result is not None:
            if Path(finished).name == QUICK_AUDIT_FILE and not result.quick:
                self.feedback.status(
                    "A U-Net audit of these masks holds and stays in the Audit column (it ran "
                    "the same pixel forests); the quick audit was saved beside it"
                )
            elif result.weak:
                self.feedback.status(f"Audit column: {result.caution()}")
            else:
                self.feedback.status(
                    f"The Audit column holds the out-of-sample mIoU of {len(result.slides)} "
                    f"slides ({result.folds} folds of {result.fold_models} models, skill "
                    f"{result.skill:.2f}). {result.advice()}"
                )

    def train_for_folder(self) -> None:
        """A first model of the folder's own: from scratch, within a time budget."""
        self.panel.first_model_defaults()
        self.show_retrain()

    def _training(self, running: bool) -> None:
        self.feedback.task("Training…" if running else "")
        self.session.paused = running  # background prediction pauses while training
        self.session.request_predictions()

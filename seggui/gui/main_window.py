"""The main window: builds the views, panels, editor and menus, and wires them together.

State lives in :class:`~seggui.gui.session.Session`; drawing in
:class:`~seggui.gui.display.SlideDisplay`; editing in :class:`~seggui.gui.editor.Editor`;
the menus and keys in :mod:`seggui.gui.actions`.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from seggui import __version__
from seggui.core import registry
from seggui.core.atomic import atomic_write_text
from seggui.core.audit import load_audit
from seggui.core.demo import write_demo
from seggui.core.export import export_slides
from seggui.core.folder import FolderContext, open_folder, save_classes
from seggui.core.report import scores_csv
from seggui.core.review import STATES
from seggui.core.workspace import user_data_dir
from seggui.gui import actions as action_table
from seggui.gui.canvas import ViewPair
from seggui.gui.class_editor import ClassEditor
from seggui.gui.display import SlideDisplay
from seggui.gui.editor import Editor, EditorBar
from seggui.gui.panels import Notice, OverlayPanel, ReviewPanel, ScoresPanel, _swatch
from seggui.gui.retrain import RetrainPanel
from seggui.gui.session import Session
from seggui.gui.slide_list import SlideList
from seggui.gui.workers import Job

DEMO_COUNT = 40


def demo_folder() -> Path:
    return user_data_dir() / "demo"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("seggui", "seggui")
        self.setWindowTitle("seggui")
        self.resize(1500, 900)
        self.jobs: set[Job] = set()

        self.views = ViewPair()
        self.setCentralWidget(self.views)
        self.slide_list = SlideList()
        self.session = Session(self.slide_list, self)
        self.overlay, self.review, self.scores = OverlayPanel(), ReviewPanel(), ScoresPanel()
        self.scope_box = QComboBox()
        self.scope_box.addItems(["All scored slides", "Test split"])
        self.scope_box.currentIndexChanged.connect(
            lambda i: self.session.set_scope("test" if i == 1 else "folder")
        )
        self.scores.folder.layout().insertWidget(0, self.scope_box)
        self.retrain = RetrainPanel()
        self.display = SlideDisplay(self.views, self.session, self.overlay, self.scores)
        self.editor = Editor(self.session, self.views, self)
        self._build_docks()
        self._build_status_bar()
        self.actions = self._build_menus()
        self.editor_bar = EditorBar(self.editor, self.actions)
        self.views.top.addWidget(self.editor_bar)
        self.notice = Notice("Train a model for this folder", self.train_for_folder)
        self.views.outer.insertWidget(0, self.notice)
        self._connect()
        self._restore_settings()
        self.editor.set_tool("pan")

    # -- construction ----------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        slides_dock = self._dock("Slides", self.slide_list, left, "slides")
        side = QWidget()
        sl = QVBoxLayout(side)
        for widget, stretch in ((self.overlay, 0), (self.review, 0), (self.scores, 1)):
            sl.addWidget(widget, stretch)
        panels_dock = self._dock("Overlay, review and scores", side, right, "panels")
        scroll = QScrollArea()
        scroll.setWidget(self.retrain)
        scroll.setWidgetResizable(True)
        self.retrain_dock = self._dock("Retrain", scroll, right, "retrain")
        # A tab beside the panels: the retrain panel needs the full height for its curves.
        self.tabifyDockWidget(panels_dock, self.retrain_dock)
        self.retrain_dock.hide()
        self.resizeDocks([slides_dock, panels_dock], [360, 330], Qt.Orientation.Horizontal)

    def _build_status_bar(self) -> None:
        self.folder_label, self.model_label = QLabel("No folder"), QLabel("No model")
        self.task_label, self.hover_label = QLabel(""), QLabel("")
        for w in (self.folder_label, self.model_label, self.task_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.hover_label)

    def _build_menus(self) -> dict:
        menus = {key: self.menuBar().addMenu(title) for key, title in action_table.MENUS}
        self.recent_menu = menus["file"].addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.versions_menu = menus["model"].addMenu("Model &versions")
        self.versions_menu.aboutToShow.connect(self._fill_versions)
        e, o = self.editor, self.overlay
        slots = {
            "open": self.choose_folder,
            "open_demo": self.open_demo,
            "export_csv": self.export_csv,
            "export_annotations": self.export_annotations,
            "edit_classes": self.edit_classes,
            "quit": self.close,
            "undo": e.undo,
            "redo": e.redo,
            "save_mask": lambda: self.session.save(self.session.current),
            "revert_mask": self.revert_mask,
            "new_mask": e.new_mask_from_prediction,
            "close_lasso": e.close_lasso,
            "smaller": e.shrink,
            "larger": e.grow,
            "eraser_class": lambda: setattr(e, "eraser_class", e.active_class),
            "overlay": o.enabled.setChecked,
            "contour": lambda on: (o.contour if on else o.fill).setChecked(True),
            "difference": o.difference.setChecked,
            "issues": o.issues.setChecked,
            "uncertainty": o.uncertainty.setChecked,
            "zoom_in": lambda: self.views.zoom(1.25),
            "zoom_out": lambda: self.views.zoom(0.8),
            "fit": self.views.fit,
            "actual": self.views.actual_size,
            "next": lambda: self.slide_list.step(1),
            "previous": lambda: self.slide_list.step(-1),
            "load_model": self.choose_model,
            "retrain": self.show_retrain,
            "evaluate": self.evaluate_test,
            "audit": self.show_audit,
            "shortcuts": self.show_shortcuts,
            "about": self.show_about,
        }
        slots["tool_pan"] = e.escape
        for tool in ("brush", "eraser", "fill", "lasso", "take"):
            slots[f"tool_{tool}"] = lambda _=False, t=tool: e.set_tool(t)
        for i in range(1, 10):
            slots[f"class_{i}"] = lambda _=False, k=i - 1: e.set_class(k)
        for i, state in enumerate(STATES):
            slots[f"mark_{i + 1}"] = lambda _=False, s=state: self.toggle_mark(s)
        return action_table.build(self, slots, menus)

    def _connect(self) -> None:
        s = self.session
        s.shown_changed.connect(self._render)
        s.totals_changed.connect(self._update_folder_scores)
        s.status.connect(lambda m: self.statusBar().showMessage(m, 15000))
        s.task.connect(self.task_label.setText)
        s.error.connect(self._error)
        s.saved.connect(lambda name: (self._after_edit(name), self._review_states_changed()))
        self.editor.changed.connect(self._sync_tool_actions)
        self.editor.edited.connect(self._after_edit)
        self.slide_list.current_changed.connect(self.show_slide)
        self.slide_list.order_changed.connect(self.session.order_changed)
        self.overlay.changed.connect(self._overlay_changed)
        self.overlay.edit_classes.connect(self.edit_classes)
        self.scores.folder.confusion.cellClicked.connect(self.show_confusion_pair)
        self.views.hovered.connect(lambda x, y: self.hover_label.setText(self.display.hover(x, y)))
        self.review.marked.connect(self._mark)
        self.review.note_edited.connect(self._note)
        self.retrain.started.connect(lambda: self._training(True))
        self.retrain.stopped.connect(lambda: self._training(False))
        self.retrain.activate.connect(lambda p: self.activate_model(Path(p)))
        self.retrain.message.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.retrain.progress_line.connect(self.task_label.setText)
        self.retrain.audited.connect(lambda _: self._load_audit())

    def _sync_tool_actions(self) -> None:
        e = self.editor
        self.actions[f"tool_{e.tool}"].setChecked(True)
        self.actions["close_lasso"].setEnabled(e.tool == "lasso")
        self.editor_bar.sync()
        checks = (
            ("overlay", self.overlay.enabled),
            ("contour", self.overlay.contour),
            ("difference", self.overlay.difference),
            ("issues", self.overlay.issues),
            ("uncertainty", self.overlay.uncertainty),
        )
        for key, widget in checks:
            self.actions[key].blockSignals(True)
            self.actions[key].setChecked(widget.isChecked())
            self.actions[key].blockSignals(False)

    # -- compatibility views of the session's state (tests, benchmarks) -----------------------------
    ctx = property(lambda self: self.session.ctx)
    current = property(lambda self: self.session.current)
    loaded = property(lambda self: self.session.loaded)
    predictions = property(lambda self: self.session.predictions)
    reviews = property(lambda self: self.session.reviews)
    model_path = property(lambda self: self.session.model_path)
    loader = property(lambda self: self.session.loader)
    thumbs = property(lambda self: self.session.thumbs)
    predictor = property(lambda self: self.session.predictor)

    # -- settings --------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        if s.value("geometry") is not None:
            self.restoreGeometry(s.value("geometry"))
        if s.value("windowState") is not None:
            self.restoreState(s.value("windowState"))
        self.overlay.opacity.setValue(int(s.value("overlay/opacity", 45)))
        self.overlay.enabled.setChecked(s.value("overlay/enabled", "true") in (True, "true"))
        contour = s.value("overlay/contour", "false") in (True, "true")
        (self.overlay.contour if contour else self.overlay.fill).setChecked(True)
        self.editor.set_size(int(s.value("editor/size", 9)))
        self._sync_tool_actions()

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("overlay/opacity", self.overlay.opacity.value())
        s.setValue("overlay/enabled", self.overlay.enabled.isChecked())
        s.setValue("overlay/contour", self.overlay.contour.isChecked())
        s.setValue("editor/size", self.editor.size)
        s.sync()

    def recent_folders(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue("recent", recent[:10])
        self.settings.setValue("lastFolder", str(folder))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.recent_folders():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_folder(f))
        if not self.recent_folders():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- background jobs -------------------------------------------------------------------------
    def run_job(self, fn, on_success, label: str) -> Job:
        job = Job(fn, self)
        self.jobs.add(job)
        job.progress.connect(lambda d, t, m: self.task_label.setText(f"{label}: {m}"))
        job.succeeded.connect(on_success)
        job.failed.connect(lambda msg: self._error(f"{label} failed", msg))
        job.finished.connect(lambda: (self.jobs.discard(job), self.task_label.setText("")))
        self.task_label.setText(f"{label}…")
        job.start()
        return job

    def _error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setModal(False)
        box.show()

    # -- folders ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.settings.value("lastFolder", str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Open folder of slides", start)
        if folder:
            self.open_folder(folder)

    def open_demo(self) -> None:
        folder = demo_folder()
        if (folder / "classes.json").exists():
            self.open_folder(folder)
            return
        self.run_job(
            lambda progress, cancel: write_demo(folder, DEMO_COUNT, 0, progress, cancel),
            lambda path: self.open_folder(path),
            "Making the demo folder",
        )

    def open_folder(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.folder_label.setText(f"Opening {folder}…")
        self.run_job(
            lambda progress, cancel: open_folder(folder, progress, cancel),
            self._folder_opened,
            "Scanning",
        )

    def _folder_opened(self, ctx: FolderContext) -> None:
        self.session.open(ctx)
        self.display.reset()
        self.overlay.set_classes(ctx.classes)
        self.editor_bar.set_classes(ctx.classes, _swatch)
        self.editor.set_class(1 if len(ctx.classes) > 1 else 0)
        self.folder_label.setText(
            f"{ctx.root} · {len(ctx.slides)} slides · {len(ctx.classes)} classes"
        )
        self.setWindowTitle(f"seggui — {ctx.root.name}")
        self._remember(ctx.root)
        self.activate_model(registry.resolve_model(ctx.workspace), persist=False)
        for problem in ctx.scan.problems:
            self.statusBar().showMessage(f"{problem.name}: {problem.reason}", 15000)
        self.retrain.set_context(ctx, self.session.model_path)
        self._review_states_changed()
        self._load_audit()
        self._update_folder_scores()
        if ctx.slides:
            self.slide_list.step(0)

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

    # -- slides ----------------------------------------------------------------------------------
    def show_slide(self, name: str) -> None:
        self.editor.cancel_lasso()
        self.session.show(name)
        if self.session.reviews is not None:
            r = self.session.reviews.get(name)
            self.review.show_review(r.state, r.note)
        slide = self.session.ctx.scan.get(name) if self.session.ctx else None
        if slide is not None and slide.problems:
            self.statusBar().showMessage(f"{name}: {slide.problem_text()}", 15000)

    def _render(self) -> None:
        name = self.session.current
        slide = self.session.ctx.scan.get(name) if (self.session.ctx and name) else None
        usable = slide is not None and slide.usable
        self.display.render(
            error=None if usable or slide is None else f"{name}: {slide.problem_text()}"
        )

    def _overlay_changed(self) -> None:
        self._sync_tool_actions()
        self.display.restyle()
        self.display.titles()

    def _after_edit(self, name: str) -> None:
        if name == self.session.current:
            self.display.titles()
            if self.session.reviews is not None:
                r = self.session.reviews.get(name)
                self.review.show_review(r.state, r.note)

    def revert_mask(self) -> None:
        name = self.session.current
        if name is None or self.session.ctx is None:
            return
        if not self.session.ctx.masks.is_corrected(name):
            self.statusBar().showMessage(f"{name}: the mask was never changed", 10000)
            return
        answer = QMessageBox.question(
            self, "Revert mask", f"Bring back the original mask of {name}? Its edits are lost."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.session.revert(name)

    # -- scores ----------------------------------------------------------------------------------
    def evaluate_test(self) -> None:
        self.scope_box.setCurrentIndex(1)
        self.scores.setCurrentWidget(self.scores.folder)

    def _update_folder_scores(self) -> None:
        s = self.session
        if s.ctx is None:
            return
        scope = s.scope
        heading = "Test split" if scope == "test" else "All slides with masks"
        done, total = s.records.count(scope)
        self.scores.folder.show_scores(
            s.records.total(scope), s.ctx.classes, f"{heading}: {done} of {total} slides scored"
        )

    def show_confusion_pair(self, row: int, col: int) -> None:
        """A click on the folder matrix's cell (annotated A, predicted B): the slides with
        A-as-B pixels, most first."""
        s = self.session
        if s.ctx is None or max(row, col) >= len(s.ctx.classes):
            return
        names = s.ctx.classes.names
        counts = {
            name: int(scores.confusion[row, col])
            for name, scores in s.records.items()
            if scores.confusion[row, col] > 0
        }
        self.slide_list.show_pair((names[row], names[col]), counts)
        self.statusBar().showMessage(
            f"{len(counts)} slides have pixels annotated {names[row]} and predicted {names[col]}",
            10000,
        )

    def export_csv(self) -> None:
        if self.session.ctx is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export scores", str(self.session.ctx.root / "seggui_scores.csv"), "CSV (*.csv)"
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        """Per-slide scores, split, review state and problems, written atomically."""
        s, model = self.session, self.slide_list.model
        text = scores_csv(
            s.ctx.slides,
            s.ctx.classes,
            s.records.get,
            model.part,
            model.problem,
            s.reviews.all() if s.reviews else {},
            lambda name: s.audit.get(name) or s.quality.get(name),
        )
        atomic_write_text(path, text)
        self.statusBar().showMessage(f"Scores written to {path}", 10000)

    def export_annotations(self) -> None:
        """Every slide's annotation (corrected where it was) as GeoJSON and palette PNGs."""
        ctx = self.session.ctx
        if ctx is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export annotations into", str(ctx.root))
        if folder:
            self.write_exports(Path(folder))

    def write_exports(self, folder: Path) -> Job:
        ctx = self.session.ctx
        self.session.save_all()
        self.session.saver.flush()  # the export includes the edits just made
        slides = [s for s in ctx.slides if s.scorable]
        return self.run_job(
            lambda progress, cancel: export_slides(
                slides,
                ctx.classes,
                folder / "geojson",
                folder / "masks",
                False,
                None,
                progress,
                cancel,
            ),
            lambda done: self.statusBar().showMessage(
                f"Exported {done[0]} slides to {folder} (geojson/, masks/)"
                + (f"; {len(done[1])} could not be read" if done[1] else ""),
                15000,
            ),
            "Exporting",
        )

    # -- classes ---------------------------------------------------------------------------------
    def edit_classes(self) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        colour_masks = ctx.classes.source == "mask colours" or any(
            loaded.base is not None and loaded.base.fmt.coding == "colour"
            for loaded in self.session.loaded.values()
        )
        dialog = ClassEditor(ctx.classes, colour_masks, self)
        if dialog.exec() and dialog.result_classes is not None:
            self.apply_classes(dialog.result_classes)

    def apply_classes(self, classes) -> None:
        """Save new class names, colours or background and show them everywhere."""
        ctx = self.session.ctx
        try:
            path = save_classes(ctx.root, ctx.workspace, classes)
        except OSError as exc:
            self._error("Classes not saved", str(exc))
            return
        self.session.set_classes(classes)
        self.overlay.set_classes(classes)
        self.editor_bar.set_classes(classes, _swatch)
        if self.session.model_path is not None:  # the model may now know these classes
            self.activate_model(self.session.model_path, persist=False)
        self._render()
        self.statusBar().showMessage(f"Classes saved to {path}", 10000)

    # -- review ----------------------------------------------------------------------------------
    def toggle_mark(self, state: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        self._mark("" if s.reviews.get(s.current).state == state else state)

    def _mark(self, state: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        r = s.reviews.set(s.current, state or None)
        self.review.show_review(r.state, r.note)
        self.slide_list.model.set_review(s.current, r.state)
        self._review_states_changed()

    def _review_states_changed(self) -> None:
        states = self.slide_list.model.reviews
        self.retrain.set_review_states({n: st or None for n, st in states.items()})

    def _note(self, text: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        r = s.reviews.get(s.current)
        if text != r.note:
            s.reviews.set(s.current, r.state, text)

    # -- retraining, help, closing -------------------------------------------------------------
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

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Shortcuts", action_table.shortcuts_html())

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About seggui",
            f"<b>seggui {__version__}</b><p>Review semantic segmentation of tissue "
            "images: the U-Net's prediction beside the annotation, where they "
            "disagree, fixing the annotation in place, and retraining on a fixed, "
            "saved split.</p>",
        )

    def closeEvent(self, event) -> None:
        self._save_settings()
        self.retrain.shutdown()
        for job in list(self.jobs):
            job.cancel()
        self.session.close()  # saves edited masks and waits for the saves
        for job in list(self.jobs):
            job.wait(5000)
        super().closeEvent(event)

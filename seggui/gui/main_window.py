"""The main window: builds the views, panels, editor and menus, and wires them together.

State lives in :class:`~seggui.gui.session.Session`; drawing in
:class:`~seggui.gui.display.SlideDisplay`; editing in :class:`~seggui.gui.editor.Editor`;
the menus and keys in :mod:`seggui.gui.actions`.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings, Qt
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
from seggui.core.demo import write_demo
from seggui.core.folder import FolderContext, open_folder
from seggui.core.review import STATES
from seggui.core.workspace import user_data_dir
from seggui.gui import actions as action_table
from seggui.gui.canvas import ViewPair
from seggui.gui.display import SlideDisplay
from seggui.gui.editor import Editor, EditorBar
from seggui.gui.panels import Notice, OverlayPanel, ReviewPanel, ScoresPanel, _swatch
from seggui.gui.retrain import RetrainPanel
from seggui.gui.session import Session
from seggui.gui.slide_list import SlideList
from seggui.gui.window_models import ModelsMixin
from seggui.gui.window_review import ReviewMixin
from seggui.gui.window_scores import ScoresMixin
from seggui.gui.window_settings import SettingsMixin
from seggui.gui.workers import Job

DEMO_COUNT = 40


def demo_folder() -> Path:
    return user_data_dir() / "demo"


class MainWindow(SettingsMixin, ModelsMixin, ScoresMixin, ReviewMixin, QMainWindow):
    """The window; its settings, models, scores and review live in the mixins' modules."""

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
        self.slide_list.rows_in_view.connect(self.session.rows_in_view)
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
        failed = self.slide_list.model.extra_problems.get(name) if name else None
        if slide is not None and not usable:
            failed = slide.problem_text()
        self.display.render(error=f"{name}: {failed}" if failed else None)

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

    # -- retraining, help, closing -------------------------------------------------------------
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

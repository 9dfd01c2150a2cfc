"""The main window: builds the views, the list, the panels and the menus, creates the
controllers that own each concern, and wires them together.

State lives in the :class:`~seggui.gui.session.session.Session`; drawing in
:class:`~seggui.gui.viewer.display.SlideDisplay`; editing in :class:`~seggui.gui.viewer.editor.Editor`;
review marks in :class:`~seggui.gui.review.controller.ReviewController`; scores and exports in
:class:`~seggui.gui.scores.controller.ScoresController`; models, retraining and the audit in
:class:`~seggui.gui.training.controller.ModelsController`; where heavy work runs in
:class:`~seggui.gui.compute.ComputeController`; remembered settings in
:class:`~seggui.gui.settings.SettingsController`; the menus and keys in :mod:`seggui.gui.actions`.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from seggui import __version__
from seggui.core.demo import write_demo
from seggui.core.folder import FolderContext, open_folder
from seggui.core.review import STATES
from seggui.core.workspace import user_data_dir
from seggui.core.wsi import is_whole_slide
from seggui.gui import actions as action_table
from seggui.gui.compute import ComputeController
from seggui.gui.feedback import Feedback
from seggui.gui.review.controller import ReviewController
from seggui.gui.review.panel import ReviewPanel
from seggui.gui.scores.controller import ScoresController
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import LOOKAHEAD, Session
from seggui.gui.settings import PANELS_WIDTH, SLIDES_WIDTH, SettingsController, first_size
from seggui.gui.slides.slide_list import SlideList
from seggui.gui.training.controller import ModelsController
from seggui.gui.training.panel import RetrainPanel
from seggui.gui.viewer.canvas import ViewPair
from seggui.gui.viewer.display import SlideDisplay
from seggui.gui.viewer.editor import Editor, EditorBar
from seggui.gui.viewer.overlay_panel import OverlayPanel
from seggui.gui.widgets import Notice, swatch
from seggui.gui.wsi.controller import WholeSlideController
from seggui.gui.wsi.view import WholeSlidePair

DEMO_COUNT = 40


def demo_folder() -> Path:
    return user_data_dir() / "demo"


class MainWindow(QMainWindow):
    """The window: widgets and controllers, composed."""

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("seggui")
        self.resize(*first_size(self.screen().availableGeometry()))
        self.session = Session(self)
        self._build_status_bar()
        self.feedback = Feedback(self, self.task_label)

        self.views = ViewPair()
        self.whole = None  # the controller, once the shared cache exists
        self._select_after: str | None = None  # a whole slide opened by its file
        self.wsi_views = WholeSlidePair(lambda key: self.whole.cache.get(key))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.views)
        self.stack.addWidget(self.wsi_views)
        self.setCentralWidget(self.stack)
        self.slide_list = SlideList(self.session)
        self.session.order = self.slide_list.ordered_names
        self.overlay, self.review, self.scores = OverlayPanel(), ReviewPanel(), ScoresPanel()
        self.retrain = RetrainPanel(self._review_states)
        self.display = SlideDisplay(self.views, self.session, self.overlay, self.scores)
        self.editor = Editor(self.session, self.views, self)
        self.whole = WholeSlideController(
            self.session, self.wsi_views, self.overlay, self.scores, self.feedback, self
        )
        self._build_docks()
        self.notice = Notice("Train a model for this folder")
        self.views.outer.insertWidget(0, self.notice)
        menus = {key: self.menuBar().addMenu(title) for key, title in action_table.MENUS}

        self.review_control = ReviewController(self.session, self.review, self.feedback, self)
        self.scores_control = ScoresController(
            self.session, self.scores, self.slide_list, self.feedback, self
        )
        self.models = ModelsController(
            self.session,
            self.retrain,
            self.retrain_dock,
            self.notice,
            self.model_label,
            menus["model"].addMenu("Model &versions"),
            self.feedback,
            self,
        )
        settings = settings or QSettings("seggui", "seggui")
        self.compute = ComputeController(settings, self, self.session, self.feedback, self.retrain)
        self.settings_control = SettingsController(
            settings,
            self,
            self.overlay,
            self.editor,
            menus["file"].addMenu("Open &Recent"),
            self.open_folder,
            self.slide_list,
        )
        self.actions = self._build_actions(menus)
        self.editor_bar = EditorBar(self.editor, self.actions)
        self.views.top.addWidget(self.editor_bar)
        self._connect()
        self.settings_control.restore()
        self._sync_tool_actions()
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
        sl.setContentsMargins(2, 2, 2, 2)
        for widget, stretch in ((self.overlay, 0), (self.review, 0), (self.scores, 1)):
            sl.addWidget(widget, stretch)
        side.setMinimumHeight(side.sizeHint().height())
        panel_scroll = QScrollArea()  # a short window scrolls the panels, never cuts them
        panel_scroll.setWidget(side)
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panels_dock = self._dock("Overlay, review and scores", panel_scroll, right, "panels")
        scroll = QScrollArea()
        scroll.setWidget(self.retrain)
        scroll.setWidgetResizable(True)
        self.retrain_dock = self._dock("Retrain", scroll, right, "retrain")
        # A tab beside the panels: the retrain panel needs the full height for its curves.
        self.tabifyDockWidget(panels_dock, self.retrain_dock)
        self.retrain_dock.hide()
        self._side_docks = (slides_dock, panels_dock)
        self._docks_sized = False  # the first show sizes them, unless the user's layout is restored

    def _build_status_bar(self) -> None:
        self.folder_label, self.model_label = QLabel("No folder"), QLabel("No model")
        self.task_label, self.hover_label = QLabel(""), QLabel("")
        for w in (self.folder_label, self.model_label, self.task_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.hover_label)

    def _build_actions(self, menus: dict) -> dict:
        e, o, v = self.editor, self.overlay, self._shown_views
        review, scores, models = self.review_control, self.scores_control, self.models
        slots = {
            "open": self.choose_folder,
            "open_demo": self.open_demo,
            "export_csv": scores.export_csv,
            "export_annotations": scores.export_annotations,
            "edit_classes": scores.edit_classes,
            "quit": self.close,
            "undo": e.undo,
            "redo": e.redo,
            "save_mask": lambda: self.session.edits.save(self.session.current),
            "revert_mask": review.revert_mask,
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
            "zoom_in": lambda: v().zoom(1.25),
            "zoom_out": lambda: v().zoom(0.8),
            "fit": lambda: v().fit(),
            "actual": lambda: v().actual_size(),
            "next": lambda: self.slide_list.step(1),
            "previous": lambda: self.slide_list.step(-1),
            "next_region": lambda: self._step_region(1),
            "previous_region": lambda: self._step_region(-1),
            "slide_mpp": lambda: self.whole.display.ask_mpp(self, self.whole.set_mpp),
            "load_model": models.choose,
            "retrain": models.show_retrain,
            "evaluate": scores.evaluate_test,
            "audit": models.show_audit,
            "predict_all": self.compute.predict_all,
            "compute": self.compute.edit,
            "shortcuts": self.show_shortcuts,
            "about": self.show_about,
            "tool_pan": lambda: (e.escape(), self.whole.regions.clear_active()),
        }
        for tool in ("brush", "eraser", "fill", "lasso", "take"):
            slots[f"tool_{tool}"] = lambda _=False, t=tool: e.set_tool(t)
        for i in range(1, 10):
            slots[f"class_{i}"] = lambda _=False, k=i - 1: e.set_class(k)
        for i, state in enumerate(STATES):
            slots[f"mark_{i + 1}"] = lambda _=False, s=state: self._mark(s)
        return action_table.build(self, slots, menus)

    def _connect(self) -> None:
        s = self.session
        s.status.connect(lambda m: self.feedback.status(m, 15000))
        s.task.connect(self.feedback.task)
        s.error.connect(self.feedback.error)
        s.opened.connect(self._opened)
        s.classes_changed.connect(self._classes_changed)
        s.fact_changed.connect(self._fact_changed)
        s.saved.connect(lambda name: self._refresh_titles(name))
        self.editor.changed.connect(self._sync_tool_actions)
        self.editor.edited.connect(self._refresh_titles)
        self.slide_list.current_changed.connect(self.show_slide)
        self.slide_list.order_changed.connect(s.order_changed)
        self.slide_list.rows_in_view.connect(s.rows_in_view)
        self.overlay.changed.connect(self._overlay_changed)
        self.overlay.edit_classes.connect(self.scores_control.edit_classes)
        self.views.hovered.connect(lambda x, y: self.hover_label.setText(self.display.hover(x, y)))
        self.wsi_views.hovered.connect(
            lambda x, y: self.hover_label.setText(self.whole.display.hover(x, y))
        )

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

    def _review_states(self) -> dict[str, str | None]:
        facts = self.session.facts
        return facts.review_states() if facts is not None else {}

    # -- folders ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.settings_control.last_folder()
        folder = QFileDialog.getExistingDirectory(self, "Open folder of slides", start)
        if folder:
            self.open_folder(folder)

    def open_demo(self) -> None:
        folder = demo_folder()
        if (folder / "classes.json").exists():
            self.open_folder(folder)
            return
        self.feedback.run_job(
            lambda progress, cancel: write_demo(folder, DEMO_COUNT, 0, progress, cancel),
            lambda path: self.open_folder(path),
            "Making the demo folder",
        )

    def open_folder(self, folder: str | Path) -> None:
        """Open a folder of slides; a whole slide's file opens its folder and shows it."""
        folder = Path(folder)
        self._select_after = None
        if folder.is_file() and is_whole_slide(folder):
            folder, self._select_after = folder.parent, folder.stem
        self.folder_label.setText(f"Opening {folder}…")
        self.feedback.run_job(
            lambda progress, cancel: open_folder(folder, progress, cancel),
            self.session.open,
            "Scanning",
        )

    def _opened(self, ctx: FolderContext) -> None:
        self.whole.leave()
        self.stack.setCurrentWidget(self.views)
        self._classes_changed(ctx.classes)
        self.editor.set_class(1 if len(ctx.classes) > 1 else 0)
        self.folder_label.setText(
            f"{ctx.root} · {len(ctx.slides)} slides"
            + (f" + {len(ctx.scan.whole_slides)} whole" if ctx.scan.whole_slides else "")
            + f" · {len(ctx.classes)} classes"
        )
        self.setWindowTitle(f"seggui — {ctx.root.name}")
        self.settings_control.remember(ctx.root)
        for problem in ctx.scan.problems:
            self.feedback.status(f"{problem.name}: {problem.reason}", 15000)
        wanted = self._select_after
        if wanted is not None and ctx.scan.whole(wanted) is not None:
            self.slide_list.select(wanted)
        elif ctx.slides or ctx.scan.whole_slides:
            self.slide_list.step(0)

    def _classes_changed(self, classes) -> None:
        self.overlay.set_classes(classes)
        self.editor_bar.set_classes(classes, swatch)
        self.display.render()
        self.whole.display.restyle()

    # -- slides ----------------------------------------------------------------------------------
    def show_slide(self, name: str) -> None:
        self.editor.cancel_lasso()
        ctx = self.session.ctx
        whole = ctx.scan.whole(name) if ctx else None
        if whole is not None:
            self.editor.set_tool("pan")  # whole slides are reviewed, not painted
            self.stack.setCurrentWidget(self.wsi_views)
            self.whole.show(whole)
        elif self.stack.currentWidget() is not self.views:
            self.whole.leave()
            self.stack.setCurrentWidget(self.views)
        self.session.show(name, self.slide_list.visible_names(LOOKAHEAD))
        slide = ctx.scan.get(name) if ctx else None
        if slide is not None and slide.problems:
            self.feedback.status(f"{name}: {slide.problem_text()}", 15000)

    def _shown_views(self):
        """The view pair on screen: the tile views or the whole-slide views."""
        return self.wsi_views if self.stack.currentWidget() is self.wsi_views else self.views

    def _mark(self, state: str) -> None:
        """Keys 1-4: the active region of a whole slide, else the slide."""
        if self._shown_views() is self.wsi_views:
            text = self.whole.regions.mark_active(state)
            if text is not None:
                self.feedback.status(text)
                return
        self.review_control.toggle(state)

    def _step_region(self, delta: int) -> None:
        if self._shown_views() is not self.wsi_views:
            self.feedback.status("Regions are for whole slides: open one from the list")
            return
        text = self.whole.regions.step(delta)
        self.feedback.status(text or "No regions yet: they are ranked as the slide is scored")

    def _fact_changed(self, name: str, fact: str) -> None:
        if name == self.session.current and fact in ("score", "quality", "corrected"):
            self.display.titles()

    def _overlay_changed(self) -> None:
        self._sync_tool_actions()
        self.display.restyle()
        self.display.titles()
        self.whole.display.restyle()

    def _refresh_titles(self, name: str) -> None:
        if name == self.session.current:
            self.display.titles()

    # -- help, closing ---------------------------------------------------------------------------
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

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._docks_sized:
            self._docks_sized = True
            if not self.settings_control.restored_layout:
                self.resizeDocks(
                    list(self._side_docks), [SLIDES_WIDTH, PANELS_WIDTH], Qt.Orientation.Horizontal
                )

    def closeEvent(self, event) -> None:
        self.settings_control.save()
        self.models.shutdown()  # the training child and the int8 child
        self.feedback.stop_jobs(0)
        self.session.close()  # saves edited masks and waits for the saves
        self.whole.stop()
        self.feedback.stop_jobs()
        super().closeEvent(event)

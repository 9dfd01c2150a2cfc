"""The main window: slide list, the two locked views, overlay/review/score panels, retraining."""

from __future__ import annotations

import csv
import io
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
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
from seggui.core.demo import write_demo
from seggui.core.folder import FolderContext, open_folder
from seggui.core.metrics import Scores
from seggui.core.overlay import blend, difference
from seggui.core.predcache import model_key
from seggui.core.review import STATES, ReviewStore
from seggui.core.workspace import user_data_dir
from seggui.gui.panels import OverlayPanel, ReviewPanel, ScoresPanel
from seggui.gui.retrain import RetrainPanel
from seggui.gui.services import (
    LoadedSlide,
    PredictionService,
    SlideLoader,
    SlidePrediction,
    ThumbnailLoader,
)
from seggui.gui.slide_list import SlideList
from seggui.gui.viewer import ViewPair, to_pixmap
from seggui.gui.workers import Job

DEMO_COUNT = 40
LOADED_SLIDES = 32  # decoded slides kept for going back (about 1 MB each at 512x512)
LOOKAHEAD = 3

SHORTCUTS = [
    ("Ctrl+O", "Open a folder of slides"),
    ("Right / PageDown / Down", "Next slide"),
    ("Left / PageUp / Up", "Previous slide"),
    ("O", "Overlay on/off"),
    ("C", "Fill or contour"),
    ("D", "Difference view (where prediction and annotation disagree)"),
    ("+ / - / mouse wheel", "Zoom both views together"),
    ("F", "Zoom to fit"),
    ("Ctrl+0", "Actual size"),
    ("1 / 2 / 3", "Mark the annotation accepted / needs fix / rejected (again to clear)"),
    ("Ctrl+R", "Retrain panel"),
    ("Ctrl+E", "Export scores as CSV"),
]


def demo_folder() -> Path:
    return user_data_dir() / "demo"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("seggui", "seggui")
        self.setWindowTitle("seggui")
        self.resize(1500, 900)
        self.ctx: FolderContext | None = None
        self.reviews: ReviewStore | None = None
        self.model_path: Path | None = None
        self.active_key: str | None = None
        self.model_meta: registry.ModelMeta | None = None
        self.current: str | None = None
        self.loaded: OrderedDict[str, LoadedSlide] = OrderedDict()
        self.predictions: OrderedDict[str, SlidePrediction] = OrderedDict()
        self.slide_scores: dict[str, Scores] = {}
        self.scope = "folder"
        self.jobs: set[Job] = set()
        self._last_size: tuple[int, int] | None = None

        self.views = ViewPair()
        self.setCentralWidget(self.views)
        self.slide_list = SlideList()
        self.overlay = OverlayPanel()
        self.review = ReviewPanel()
        self.scores = ScoresPanel()
        self.scope_box = QComboBox()
        self.scope_box.addItems(["All scored slides", "Test split"])
        self.scope_box.currentIndexChanged.connect(self._scope_changed)
        self.scores.folder.layout().insertWidget(0, self.scope_box)
        self.retrain = RetrainPanel()

        slides_dock = self._dock(
            "Slides", self.slide_list, Qt.DockWidgetArea.LeftDockWidgetArea, "slides"
        )
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.addWidget(self.overlay)
        sl.addWidget(self.review)
        sl.addWidget(self.scores, 1)
        panels_dock = self._dock(
            "Overlay, review and scores", side, Qt.DockWidgetArea.RightDockWidgetArea, "panels"
        )
        scroll = QScrollArea()
        scroll.setWidget(self.retrain)
        scroll.setWidgetResizable(True)
        self.retrain_dock = self._dock(
            "Retrain", scroll, Qt.DockWidgetArea.RightDockWidgetArea, "retrain"
        )
        # A tab beside the panels: the retrain panel needs the full height for its curves.
        self.tabifyDockWidget(panels_dock, self.retrain_dock)
        self.retrain_dock.hide()
        self.resizeDocks([slides_dock, panels_dock], [360, 330], Qt.Orientation.Horizontal)

        self.folder_label, self.model_label = QLabel("No folder"), QLabel("No model")
        self.task_label, self.hover_label = QLabel(""), QLabel("")
        for w in (self.folder_label, self.model_label, self.task_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.hover_label)

        self.loader = SlideLoader(self)
        self.thumbs = ThumbnailLoader(self)
        self.predictor = PredictionService(self)
        self.loader.done.connect(self._slide_loaded)
        self.loader.error.connect(self._slide_failed)
        self.thumbs.done.connect(self._thumb_ready)
        self.predictor.done.connect(self._predicted)
        self.predictor.error.connect(self._prediction_failed)
        self.predictor.model_ready.connect(self._model_ready)
        self.predictor.model_error.connect(self._model_error)
        self.predictor.idle.connect(lambda: self._task(""))
        for worker in (self.loader, self.thumbs, self.predictor):
            worker.start()

        self.slide_list.current_changed.connect(self.show_slide)
        self.overlay.changed.connect(self._overlay_changed)
        self.views.hovered.connect(self._hover)
        self.review.marked.connect(self._mark)
        self.review.note_edited.connect(self._note)
        self.retrain.started.connect(self._training_started)
        self.retrain.stopped.connect(self._training_stopped)
        self.retrain.activate.connect(lambda p: self.activate_model(Path(p)))
        self.retrain.message.connect(lambda m: self.statusBar().showMessage(m, 10000))

        self._build_menus()
        self._restore_settings()

    # -- construction ------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, checkable=False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open Folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._action(file, "Open &Demo", self.open_demo)
        file.addSeparator()
        self._action(file, "&Export scores as CSV…", self.export_csv, "Ctrl+E")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view = bar.addMenu("&View")
        self.act_overlay = self._action(
            view, "&Overlay", self.overlay.enabled.setChecked, "O", checkable=True
        )
        self.act_contour = self._action(
            view,
            "&Contour instead of fill",
            lambda on: (self.overlay.contour if on else self.overlay.fill).setChecked(True),
            "C",
            checkable=True,
        )
        self.act_diff = self._action(
            view, "&Difference view", self.overlay.difference.setChecked, "D", checkable=True
        )
        view.addSeparator()
        self._action(view, "Zoom &in", lambda: self.views.zoom(1.25), ["+", "="])
        self._action(view, "Zoom o&ut", lambda: self.views.zoom(0.8), "-")
        self._action(view, "Zoom to &fit", self.views.fit, "F")
        self._action(view, "&Actual size", self.views.actual_size, "Ctrl+0")
        view.addSeparator()
        self._action(view, "&Next slide", lambda: self.slide_list.step(1), ["Right", "PgDown"])
        self._action(view, "&Previous slide", lambda: self.slide_list.step(-1), ["Left", "PgUp"])
        for i, state in enumerate(STATES):
            self._action(
                view, f"Mark {state}", lambda _=False, s=state: self.toggle_mark(s), str(i + 1)
            )

        model = bar.addMenu("&Model")
        self._action(model, "&Load model…", self.choose_model)
        self.versions_menu = model.addMenu("Model &versions")
        self.versions_menu.aboutToShow.connect(self._fill_versions)
        self._action(model, "&Retrain…", self.show_retrain, "Ctrl+R")
        self._action(model, "&Evaluate test split", self.evaluate_test)

        help_menu = bar.addMenu("&Help")
        self._action(
            help_menu, "&Shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents
        )
        self._action(help_menu, "&About seggui", self.show_about)
        self._sync_view_actions()

    def _sync_view_actions(self) -> None:
        for action, checked in (
            (self.act_overlay, self.overlay.enabled.isChecked()),
            (self.act_contour, self.overlay.contour.isChecked()),
            (self.act_diff, self.overlay.difference.isChecked()),
        ):
            action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(False)

    # -- settings ----------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        if s.value("geometry") is not None:
            self.restoreGeometry(s.value("geometry"))
        if s.value("windowState") is not None:
            self.restoreState(s.value("windowState"))
        self.overlay.opacity.setValue(int(s.value("overlay/opacity", 45)))
        self.overlay.enabled.setChecked(s.value("overlay/enabled", "true") in (True, "true"))
        (
            self.overlay.contour
            if s.value("overlay/contour", "false") in (True, "true")
            else self.overlay.fill
        ).setChecked(True)
        self._sync_view_actions()

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("overlay/opacity", self.overlay.opacity.value())
        s.setValue("overlay/enabled", self.overlay.enabled.isChecked())
        s.setValue("overlay/contour", self.overlay.contour.isChecked())
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

    # -- background jobs ---------------------------------------------------------------------
    def _task(self, text: str) -> None:
        self.task_label.setText(text)

    def run_job(self, fn, on_success, label: str) -> Job:
        job = Job(fn, self)
        self.jobs.add(job)
        job.progress.connect(lambda d, t, m: self._task(f"{label}: {m}"))
        job.succeeded.connect(on_success)
        job.failed.connect(lambda msg: self._error(f"{label} failed", msg))
        job.finished.connect(lambda: (self.jobs.discard(job), self._task("")))
        self._task(f"{label}…")
        job.start()
        return job

    def _error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setModal(False)
        box.show()

    # -- folders -----------------------------------------------------------------------------
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
        if self.reviews is not None:
            self.reviews.close()
        self.ctx = ctx
        self.reviews = ReviewStore(ctx.workspace)
        reviews = {n: r.state or "" for n, r in self.reviews.all().items()}
        self.loaded.clear()
        self.predictions.clear()
        self.slide_scores.clear()
        self.current = None
        self._last_size = None
        slides = {s.name: s for s in ctx.slides}
        for service in (self.loader, self.thumbs, self.predictor):
            service.want([], [])
            service.forget()
            service.slides = slides
        self.loader.classes = self.predictor.classes = ctx.classes
        self.predictor.workspace = ctx.workspace
        self.slide_list.model.reset(ctx.slides, ctx.split, reviews)
        self.slide_list.update_count()
        self.overlay.set_classes(ctx.classes)
        self.folder_label.setText(
            f"{ctx.root} · {len(ctx.slides)} slides · {len(ctx.classes)} classes"
        )
        self.setWindowTitle(f"seggui — {ctx.root.name}")
        self._remember(ctx.root)
        self.thumbs.want([], [s.name for s in ctx.slides if s.usable])
        self.activate_model(registry.resolve_model(ctx.workspace), persist=False)
        for problem in ctx.scan.problems:
            self.statusBar().showMessage(f"{problem.name}: {problem.reason}", 15000)
        self.retrain.set_context(ctx, self.model_path)
        self._update_folder_scores()
        if ctx.slides:
            self.slide_list.step(0)

    # -- models ------------------------------------------------------------------------------
    def activate_model(self, path: Path, persist: bool = True) -> None:
        """Predict with ``path`` from now on; ``persist`` makes it the folder's active model."""
        try:
            meta = registry.read_meta(path)
        except registry.ModelError as exc:
            self._error("Cannot use this model", str(exc))
            return
        if self.ctx is not None and len(meta.classes) != len(self.ctx.classes):
            self.statusBar().showMessage(
                f"Model {path.stem} predicts {len(meta.classes)} classes but this folder has "
                f"{len(self.ctx.classes)}: predictions are shown, scores are not. Retrain on "
                "this folder (Model > Retrain).",
                20000,
            )
        if persist and self.ctx is not None:
            registry.set_active(self.ctx.workspace, path)
        self.model_path, self.model_meta = path, meta
        miou = meta.test_metrics.get("miou")
        label = "bundled default" if path == registry.bundled_model_path() else path.stem
        self.model_label.setText(f"Model: {label}" + (f" (test mIoU {miou:.3f})" if miou else ""))
        self.predictions.clear()
        self.active_key = None  # until the service has loaded it
        self.slide_scores.clear()
        for name in list(self.slide_list.model.scores):
            self.slide_list.model.set_score(name, math.nan)
        self.predictor.set_model(path)
        self.retrain.active_path = path
        self.retrain.refresh_versions()
        self._request_predictions()
        self._render()

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "Keras models (*.keras)")
        if path:
            self.activate_model(Path(path))

    def _fill_versions(self) -> None:
        self.versions_menu.clear()
        group = QActionGroup(self.versions_menu)
        rows = [(registry.bundled_model_path(), "bundled default")]
        if self.ctx is not None:
            rows += [(p, p.stem) for p, _ in registry.list_versions(self.ctx.workspace)]
        for path, label in rows:
            try:
                miou = registry.read_meta(path).test_metrics.get("miou")
            except registry.ModelError:
                continue
            text = label + (f"  (test mIoU {miou:.3f})" if miou is not None else "")
            action = self.versions_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(self.model_path is not None and path == self.model_path)
            group.addAction(action)
            action.triggered.connect(lambda _=False, p=path: self.activate_model(p))

    def _model_ready(self, meta, path: str) -> None:
        # Emitted by the service before any prediction of this model, so it gates them.
        self.active_key = model_key(path)
        self._task("")

    def _model_error(self, message: str) -> None:
        self._error("Model could not be loaded", message)

    # -- slides ------------------------------------------------------------------------------
    def _usable(self, name: str) -> bool:
        slide = self.ctx.scan.get(name) if self.ctx else None
        return slide is not None and slide.usable

    def _request_predictions(self) -> None:
        names = [n for n in self.slide_list.visible_names(LOOKAHEAD) if self._usable(n)]
        background = [] if self.retrain.running else self._background_order()
        self.predictor.forget([n for n in names if n not in self.predictions])
        self.predictor.want(names, background)
        if names and names[0] not in self.predictions:
            self._task(f"Predicting {names[0]}…")

    def _background_order(self) -> list[str]:
        order = [n for n in self.slide_list.ordered_names() if self._usable(n)]
        if self.scope == "test" and self.ctx is not None:
            test = set(self.ctx.split.test)
            order = [n for n in order if n in test] + [n for n in order if n not in test]
        return order

    def show_slide(self, name: str) -> None:
        self.current = name
        ahead = [n for n in self.slide_list.visible_names(LOOKAHEAD) if self._usable(n)]
        self.loader.forget([n for n in ahead if n not in self.loaded])  # evicted: load again
        self.loader.want(ahead)
        self._request_predictions()
        if self.reviews is not None:
            r = self.reviews.get(name)
            self.review.show_review(r.state, r.note)
        slide = self.ctx.scan.get(name) if self.ctx else None
        if slide is not None and slide.problems:
            self.statusBar().showMessage(f"{name}: {slide.problem_text()}", 15000)
        self._render(error=None if self._usable(name) else f"{name}: {slide.problem_text()}")

    def _slide_loaded(self, name: str, loaded: LoadedSlide) -> None:
        slide = self.ctx.scan.get(name) if self.ctx else None
        if slide is None or slide.image_path != loaded.image_path:
            return  # finished after another folder was opened
        self._keep(self.loaded, name, loaded)
        if loaded.mask_problem:
            self.slide_list.model.add_problem(name, loaded.mask_problem)
        if name == self.current:
            self._render()

    def _keep(self, cache: OrderedDict, name: str, value) -> None:
        """Remember ``value``, forgetting the oldest entries but never the slides in view."""
        cache[name] = value
        cache.move_to_end(name)
        keep = set(self.slide_list.visible_names(LOOKAHEAD))
        for old in list(cache):
            if len(cache) <= LOADED_SLIDES:
                break
            if old not in keep:
                del cache[old]

    def _slide_failed(self, name: str, message: str) -> None:
        self.slide_list.model.add_problem(name, message)
        if name == self.current:
            self._render(error=message)

    def _thumb_ready(self, name: str, rgb: np.ndarray) -> None:
        self.slide_list.model.set_thumb(name, to_pixmap(rgb))

    def _predicted(self, name: str, result: SlidePrediction) -> None:
        slide = self.ctx.scan.get(name) if self.ctx else None
        if (
            slide is None
            or result.image_path != slide.image_path
            or result.model_key != self.active_key
        ):
            return  # for a folder or model no longer shown
        self._keep(self.predictions, name, result)
        if result.scores is not None:
            self.slide_scores[name] = result.scores
            self.slide_list.model.set_score(name, result.scores.miou)
            self._update_folder_scores()
        if name == self.current:
            self._render()

    def _prediction_failed(self, name: str, message: str) -> None:
        self.slide_list.model.add_problem(name, f"prediction failed: {message}")
        if name == self.current:
            self._render()

    # -- drawing -----------------------------------------------------------------------------
    def _overlay_changed(self) -> None:
        self._sync_view_actions()
        self._render()

    def _render(self, error: str | None = None) -> None:
        name = self.current
        loaded = self.loaded.get(name) if name else None
        if loaded is None:
            self.views.left.set_image(None)
            self.views.right.set_image(None)
            title = error or (f"Loading {name}…" if name else "")
            self.views.left_title.setText(title)
            self.views.right_title.setText("")
            return
        classes = self.ctx.classes
        colors = classes.colors
        visible = self.overlay.visible()
        opacity = self.overlay.opacity.value() / 100.0
        contour = self.overlay.contour.isChecked()
        show = self.overlay.enabled.isChecked()
        image = loaded.image
        if loaded.mask is not None:
            left = blend(image, loaded.mask, colors, opacity, visible, contour) if show else image
            self.views.left_title.setText(f"{name} · annotation")
        else:
            left = image
            why = loaded.mask_problem or "no annotation mask (prediction only)"
            self.views.left_title.setText(f"{name} · {why}")
        pred = self.predictions.get(name)
        if pred is None:
            right = image
            self.views.right_title.setText("Predicting…" if self.model_path else "No model")
        else:
            n = len(colors)
            labels = (
                np.minimum(pred.labels, n - 1) if pred.labels.max(initial=0) >= n else (pred.labels)
            )
            if self.overlay.difference.isChecked() and loaded.mask is not None:
                right = difference(image, loaded.mask, labels)
                self.views.right_title.setText(
                    "Difference: red where prediction and annotation disagree"
                )
            else:
                right = blend(image, labels, colors, opacity, visible, contour) if show else image
                s = pred.scores
                extra = f" · mIoU {s.miou:.3f}" if s is not None else ""
                self.views.right_title.setText(f"Prediction ({self.model_path.stem}){extra}")
        self.views.left.set_image(left)
        self.views.right.set_image(right)
        size = image.shape[:2]
        if size != self._last_size:
            self._last_size = size
            QTimer.singleShot(0, self.views.fit)
        self.scores.slide.show_scores(
            pred.scores if pred else None,
            classes,
            f"{name}"
            if pred and pred.scores
            else f"{name}: no scores (needs a mask and a prediction)",
        )

    def _hover(self, x: int, y: int) -> None:
        loaded = self.loaded.get(self.current) if self.current else None
        if loaded is None or not (
            0 <= y < loaded.image.shape[0] and 0 <= x < loaded.image.shape[1]
        ):
            self.hover_label.setText("")
            return
        names = self.ctx.classes.names
        parts = [f"x {x}, y {y}"]
        if loaded.mask is not None:
            parts.append(f"annotation: {names[loaded.mask[y, x]]}")
        pred = self.predictions.get(self.current)
        if pred is not None:
            k = int(pred.labels[y, x])
            label = names[k] if k < len(names) else f"class {k}"
            parts.append(f"prediction: {label} ({pred.confidence[y, x]:.0%})")
        self.hover_label.setText(" · ".join(parts))

    # -- scores ------------------------------------------------------------------------------
    def _scope_changed(self, index: int) -> None:
        self.scope = "test" if index == 1 else "folder"
        self._request_predictions()
        self._update_folder_scores()

    def evaluate_test(self) -> None:
        self.scope_box.setCurrentIndex(1)
        self.scores.setCurrentWidget(self.scores.folder)

    def _update_folder_scores(self) -> None:
        if self.ctx is None:
            return
        if self.scope == "test":
            names = [s.name for s in self.ctx.part("test")]
            heading = "Test split"
        else:
            names = [s.name for s in self.ctx.slides if s.scorable]
            heading = "All slides with masks"
        got = [self.slide_scores[n] for n in names if n in self.slide_scores]
        total = sum((s.confusion for s in got), np.zeros((len(self.ctx.classes),) * 2, np.int64))
        text = f"{heading}: {len(got)} of {len(names)} slides scored"
        self.scores.folder.show_scores(
            Scores.from_confusion(total) if got else None, self.ctx.classes, text
        )

    def export_csv(self) -> None:
        if self.ctx is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export scores", str(self.ctx.root / "seggui_scores.csv"), "CSV (*.csv)"
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        """Per-slide scores, split, review state and problems, written atomically."""
        classes = self.ctx.classes
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "slide",
                "split",
                "has_mask",
                "review",
                "note",
                "miou",
                "mean_dice",
                *[f"iou_{c.name}" for c in classes],
                "problem",
            ]
        )
        model = self.slide_list.model
        reviews = self.reviews.all() if self.reviews else {}
        for slide in self.ctx.slides:
            s = self.slide_scores.get(slide.name)
            r = reviews.get(slide.name)

            def num(x):
                return "" if x is None or math.isnan(x) else f"{x:.6f}"

            writer.writerow(
                [
                    slide.name,
                    model.part(slide.name),
                    int(slide.has_mask),
                    r.state if r and r.state else "",
                    r.note if r else "",
                    num(s.miou) if s else "",
                    num(s.mean_dice) if s else "",
                    *[num(v) if s else "" for v in (s.iou if s else [None] * len(classes))],
                    model.problem(slide),
                ]
            )
        atomic_write_text(path, out.getvalue())
        self.statusBar().showMessage(f"Scores written to {path}", 10000)

    # -- review ------------------------------------------------------------------------------
    def toggle_mark(self, state: str) -> None:
        if self.current is None or self.reviews is None:
            return
        now = self.reviews.get(self.current).state
        self._mark("" if now == state else state)

    def _mark(self, state: str) -> None:
        if self.current is None or self.reviews is None:
            return
        r = self.reviews.set(self.current, state or None)
        self.review.show_review(r.state, r.note)
        self.slide_list.model.set_review(self.current, r.state)

    def _note(self, text: str) -> None:
        if self.current is None or self.reviews is None:
            return
        r = self.reviews.get(self.current)
        if text != r.note:
            self.reviews.set(self.current, r.state, text)

    # -- retraining --------------------------------------------------------------------------
    def show_retrain(self) -> None:
        self.retrain_dock.show()
        self.retrain_dock.raise_()

    def _training_started(self) -> None:
        self._task("Training…")
        self._request_predictions()  # background prediction pauses while training

    def _training_stopped(self) -> None:
        self._task("")
        self._request_predictions()

    # -- help --------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        QMessageBox.information(self, "Shortcuts", f"<table cellspacing=6>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About seggui",
            f"<b>seggui {__version__}</b><p>Review semantic segmentation of tissue "
            "images: the U-Net's prediction beside the annotation, where they "
            "disagree, and retraining on a fixed, saved split.</p>",
        )

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self._save_settings()
        self.retrain.shutdown()
        for job in list(self.jobs):
            job.cancel()
        for worker in (self.loader, self.thumbs, self.predictor):
            worker.stop()
        for job in list(self.jobs):
            job.wait(5000)
        for worker in (self.loader, self.thumbs, self.predictor):
            worker.wait(10000)
        if self.reviews is not None:
            self.reviews.close()
        super().closeEvent(event)

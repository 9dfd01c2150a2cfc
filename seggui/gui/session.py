"""The open folder: its context, background services, caches, mask edits and current slide.

One owner for the state that the window, the slide list, the panels and the editor read.
Results from the services are checked against the folder (image path) and model (key) they
were made for, so a late result from a previous folder or model is dropped.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from seggui.core.editing import EditableMask
from seggui.core.folder import FolderContext
from seggui.core.metrics import Scores
from seggui.core.overlay import disagreement
from seggui.core.predcache import model_key
from seggui.core.quality import SlideQuality, annotated_probability, issue_mask, slide_quality
from seggui.core.records import ScoreRecords
from seggui.core.review import ReviewStore
from seggui.gui.canvas import to_pixmap
from seggui.gui.services import (
    LoadedSlide,
    PredictionService,
    SlideLoader,
    SlidePrediction,
    ThumbnailLoader,
)
from seggui.gui.session_edits import EditsMixin
from seggui.gui.slide_list import SlideList
from seggui.gui.workers import SerialWorker

LOADED_SLIDES = 32  # decoded slides kept for going back (about 1 MB each at 512x512)
LOOKAHEAD = 3
TOTALS_EVERY_MS = 250  # folder totals are redrawn at most this often while scores arrive


class Session(EditsMixin, QObject):
    """State of the open folder, and the glue between it and the background services."""

    shown_changed = pyqtSignal()  # the current slide's content changed: redraw it
    totals_changed = pyqtSignal()
    status = pyqtSignal(str)
    task = pyqtSignal(str)
    error = pyqtSignal(str, str)
    model_ready = pyqtSignal()
    saved = pyqtSignal(str)

    def __init__(self, slide_list: SlideList, parent=None):
        super().__init__(parent)
        self.slide_list = slide_list
        self.generation = 0
        self.ctx: FolderContext | None = None
        self.reviews: ReviewStore | None = None
        self.records = ScoreRecords(0)
        self.model_path: Path | None = None
        self.model_meta = None
        self.active_key: str | None = None
        self.current: str | None = None
        self.loaded: OrderedDict[str, LoadedSlide] = OrderedDict()
        self.predictions: OrderedDict[str, SlidePrediction] = OrderedDict()
        self.edits: dict[str, EditableMask] = {}
        self.quality: dict[str, SlideQuality] = {}  # in-sample, from the active model
        self.audit: dict[str, SlideQuality] = {}  # out-of-sample, from "Audit labels"
        self._contours: dict[str, np.ndarray] = {}  # contour layers of edited masks
        self._diffs: dict[tuple[str, str], tuple[tuple, np.ndarray]] = {}  # (name, mode)
        self.scope = "folder"
        self._order: list[str] | None = None  # the background order, until sort/filter change
        self._thumb_order: list[str] = []
        self.paused = False  # no background prediction (while training)
        self._closed = False

        self.loader = SlideLoader(self)
        self.thumbs = ThumbnailLoader(self)
        self.predictor = PredictionService(self)
        self.saver = SerialWorker(self)
        self.loader.done.connect(self._slide_loaded)
        self.loader.error.connect(self._slide_failed)
        self.thumbs.done.connect(lambda n, rgb: self.slide_list.model.set_thumb(n, to_pixmap(rgb)))
        self.predictor.done.connect(self._predicted)
        self.predictor.error.connect(self._prediction_failed)
        self.predictor.model_ready.connect(self._model_loaded)
        self.predictor.model_error.connect(
            lambda m: self.error.emit("Model could not be loaded", m)
        )
        self.predictor.idle.connect(lambda: self.task.emit(""))
        self.saver.done.connect(self._save_done)
        self.saver.failed.connect(self._save_failed)
        self._totals_timer = QTimer(self)
        self._totals_timer.setSingleShot(True)
        self._totals_timer.setInterval(TOTALS_EVERY_MS)
        self._totals_timer.timeout.connect(self.totals_changed)
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.start()

    # -- folder and model ------------------------------------------------------------------------
    def open(self, ctx: FolderContext) -> None:
        """Make ``ctx`` the open folder (the previous one's edits are saved first)."""
        self.save_all()
        self.saver.flush()
        if self.reviews is not None:
            self.reviews.close()
        self.generation += 1
        self.ctx = ctx
        self.reviews = ReviewStore(ctx.workspace)
        self.records = ScoreRecords(
            len(ctx.classes), ctx.split.test, [s.name for s in ctx.slides if s.scorable]
        )
        for cache in (self.loaded, self.predictions, self.edits, self._contours, self._diffs):
            cache.clear()
        self.quality.clear()
        self.audit.clear()
        self.current = None
        self._order = None
        slides = {s.name: s for s in ctx.slides}
        for service in (self.loader, self.thumbs, self.predictor):
            service.want([], [])
            service.forget()
            service.slides = slides
        self.loader.classes = self.predictor.classes = ctx.classes
        self.predictor.workspace = ctx.workspace
        reviews = {n: r.state or "" for n, r in self.reviews.all().items()}
        self.slide_list.model.reset(ctx.slides, ctx.split, reviews)
        self.slide_list.update_count()
        self._thumb_order = [s.name for s in ctx.slides if s.usable]
        self.thumbs.want([], self._thumb_order)

    def set_classes(self, classes) -> None:
        """New names, colours or background for the open folder's classes (same values)."""
        self.ctx.classes = classes
        self.ctx.masks.classes = classes
        self.loader.classes = self.predictor.classes = classes

    def rows_in_view(self, names: list[str]) -> None:
        """Thumbnails of the rows on screen first; the same background list keeps its place."""
        if self.ctx is not None:
            wanted = [n for n in names if n not in self.slide_list.model.thumbs and self.usable(n)]
            self.thumbs.want(wanted, self._thumb_order)

    def set_model(self, path: Path) -> None:
        """Predict with ``path`` from now on; scores of the previous model are dropped."""
        self.generation += 1
        self.model_path = Path(path)
        self.predictions.clear()
        self._diffs.clear()
        self.quality.clear()
        self.active_key = None  # until the service has loaded it
        self.records.clear()
        for name in list(self.slide_list.model.scores):
            self.slide_list.model.set_score(name, math.nan)
        self.predictor.set_model(path)
        self.request_predictions()
        self.totals_changed.emit()

    def _model_loaded(self, meta, path: str) -> None:
        # Emitted by the service before any prediction of this model, so it gates them.
        self.model_meta = meta
        self.active_key = model_key(path)
        self.task.emit("")
        self.model_ready.emit()

    # -- which slides are wanted -----------------------------------------------------------------
    def usable(self, name: str) -> bool:
        slide = self.ctx.scan.get(name) if self.ctx else None
        return slide is not None and slide.usable

    def request_predictions(self) -> None:
        names = [n for n in self.slide_list.visible_names(LOOKAHEAD) if self.usable(n)]
        background = [] if self.paused else self._background_order()
        self.predictor.forget([n for n in names if n not in self.predictions])
        self.predictor.want(names, background)
        if names and names[0] not in self.predictions:
            self.task.emit(f"Predicting {names[0]}…")

    def _background_order(self) -> list[str]:
        """The order background prediction walks: the list's, test slides first when the
        scope is the test split. Made again only when the sort, filter or scope changes;
        the same list object lets the worker keep its place."""
        if self._order is None:
            order = [n for n in self.slide_list.ordered_names() if self.usable(n)]
            if self.scope == "test" and self.ctx is not None:
                test = set(self.ctx.split.test)
                order = [n for n in order if n in test] + [n for n in order if n not in test]
            self._order = order
        return self._order

    def order_changed(self) -> None:
        """The list was sorted or filtered: background prediction follows the new order."""
        self._order = None

    def set_scope(self, scope: str) -> None:
        self.scope = scope
        self._order = None
        self.request_predictions()
        self.totals_changed.emit()

    def show(self, name: str) -> None:
        """Make ``name`` the current slide (saving the one left if it was edited)."""
        if self.current is not None and self.current != name:
            self.save(self.current)
        self.current = name
        ahead = [n for n in self.slide_list.visible_names(LOOKAHEAD) if self.usable(n)]
        self.loader.forget([n for n in ahead if n not in self.loaded])  # evicted: load again
        self.loader.want(ahead)
        self.request_predictions()
        self.shown_changed.emit()

    # -- results from the services -----------------------------------------------------------------
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

    def _slide_loaded(self, name: str, loaded: LoadedSlide) -> None:
        slide = self.ctx.scan.get(name) if self.ctx else None
        if slide is None or slide.image_path != loaded.image_path:
            return  # finished after another folder was opened
        self._keep(self.loaded, name, loaded)
        if loaded.mask_problem:
            self.slide_list.model.add_problem(name, loaded.mask_problem)
        if name == self.current:
            self.shown_changed.emit()

    def _slide_failed(self, name: str, message: str) -> None:
        self.slide_list.model.add_problem(name, message)
        if name == self.current:
            self.shown_changed.emit()

    def _predicted(self, name: str, result: SlidePrediction) -> None:
        slide = self.ctx.scan.get(name) if self.ctx else None
        if (
            slide is None
            or result.image_path != slide.image_path
            or result.model_key != self.active_key
        ):
            return  # for a folder or model no longer shown
        self._keep(self.predictions, name, result)
        scores, quality = result.scores, result.quality
        edit = self.edits.get(name)
        if edit is not None:  # the mask in memory is newer than the file the service read
            scores = self._compare(edit.labels, result.labels)
            quality = self._quality(result, edit.labels)
        self._set_scores(name, scores)
        self._set_quality(name, quality)
        if name == self.current:
            self.shown_changed.emit()

    def _prediction_failed(self, name: str, message: str) -> None:
        self.slide_list.model.add_problem(name, f"prediction failed: {message}")
        if name == self.current:
            self.shown_changed.emit()

    # -- scores ----------------------------------------------------------------------------------
    def _scorable_against(self, pred: SlidePrediction | None, shape) -> bool:
        return pred is not None and pred.labels.shape == shape and self.knows_classes()

    def knows_classes(self) -> bool:
        """True when the active model's classes are the folder's (same names, same order):
        only then are its predictions scored against the folder's masks."""
        return (
            self.model_meta is not None
            and self.ctx is not None
            and self.model_meta.classes.same_as(self.ctx.classes)
        )

    def _compare(self, truth: np.ndarray, pred: np.ndarray) -> Scores | None:
        if truth.shape != pred.shape or not self.knows_classes():
            return None
        return Scores.compare(truth, pred, len(self.ctx.classes))

    def _set_scores(self, name: str, scores: Scores | None) -> None:
        self.records.set(name, scores)
        self.slide_list.model.set_score(name, scores.miou if scores is not None else math.nan)
        self._schedule_totals()

    def _quality(self, pred: SlidePrediction, truth: np.ndarray | None) -> SlideQuality | None:
        if pred.probs is None or pred.margin is None:
            return None
        known = truth is not None and self.knows_classes()
        return slide_quality(pred.probs, pred.labels, pred.margin, truth if known else None)

    def _set_quality(self, name: str, quality: SlideQuality | None) -> None:
        if quality is None:
            self.quality.pop(name, None)
        else:
            self.quality[name] = quality
        self.slide_list.model.set_quality(name, self.audit.get(name) or quality)

    def set_audit(self, results: dict[str, SlideQuality]) -> None:
        """Out-of-sample label quality from an audit; shown in place of the in-sample one."""
        self.audit = dict(results)
        for name in {*self.audit, *self.quality}:
            self.slide_list.model.set_quality(name, self.audit.get(name) or self.quality.get(name))

    def _schedule_totals(self) -> None:
        if not self._totals_timer.isActive():  # restarting would postpone it while scores pour in
            self._totals_timer.start()

    def scores(self, name: str | None) -> Scores | None:
        return self.records.get(name) if name else None

    # -- what the views show -----------------------------------------------------------------------
    def pixmap(self, loaded: LoadedSlide):
        if loaded.pixmap is None:
            loaded.pixmap = to_pixmap(loaded.image)
        return loaded.pixmap

    def annotation(self, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The slide's annotation (edited or as loaded) and its contour layer."""
        edit = self.edits.get(name)
        if edit is not None:
            return edit.labels, self._contours[name]
        loaded = self.loaded.get(name)
        if loaded is None or loaded.mask is None:
            return None, None
        return loaded.mask, loaded.contour

    def difference(self, name: str) -> np.ndarray | None:
        """Where annotation and prediction disagree, computed once per mask version."""
        return self.review_layer(name, "difference")

    def review_layer(self, name: str, mode: str) -> np.ndarray | None:
        """The right view's layer for ``mode``, computed once per mask version and model:
        ``difference`` (1 where annotation and prediction disagree), ``issues`` (1 on
        label-issue pixels) or ``uncertainty`` (``255 * (1 - margin)``)."""
        truth, _ = self.annotation(name)
        pred = self.predictions.get(name)
        if pred is None:
            return None
        if mode != "uncertainty" and (truth is None or truth.shape != pred.labels.shape):
            return None
        if mode != "difference" and (pred.probs is None or pred.margin is None):
            return None
        edit = self.edits.get(name)
        key = (id(truth), edit.version if edit else 0, pred.model_key)
        hit = self._diffs.get((name, mode))
        if hit is None or hit[0] != key:
            hit = (key, self._compute_layer(mode, truth, pred))
            self._diffs[(name, mode)] = hit
            while len(self._diffs) > 3 * (LOOKAHEAD + 2):
                self._diffs.pop(next(iter(self._diffs)))
        return hit[1]

    @staticmethod
    def _compute_layer(mode: str, truth, pred: SlidePrediction, box=None) -> np.ndarray:
        y0, y1, x0, x1 = box or (0, pred.labels.shape[0], 0, pred.labels.shape[1])
        labels = pred.labels[y0:y1, x0:x1]
        if mode == "difference":
            return disagreement(truth[y0:y1, x0:x1], labels)
        if mode == "issues":
            t = truth[y0:y1, x0:x1]
            p = annotated_probability(pred.probs[y0:y1, x0:x1], t)
            return issue_mask(p, labels, t).astype(np.uint8)
        margin = pred.margin[y0:y1, x0:x1]
        return np.round(255.0 * (1.0 - np.clip(margin, 0.0, 1.0))).astype(np.uint8)

    # -- closing ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Save what changed, wait for the saves, and stop the services."""
        self.save_all()
        self.saver.flush()
        self._closed = True
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.stop()
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.wait(10000)
        if self.reviews is not None:
            self.reviews.close()

"""The open folder: its context, its facts, the active model, the background services and the
current slide.

One owner for the state that the window, the slide list, the panels and the editor read:
the folder context (slides, classes, split, masks), :class:`~seggui.core.facts.SlideFacts`
(scores, label quality, review marks, corrections, problems), the decoded slides and their
predictions, and the active model. Others subscribe to its signals and read from it; it holds
no widget and reaches none. Results from the services are checked against the folder (image
path) and model (key) they were made for, so a late result from a previous folder or model
is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from seggui.core.classes import ClassSet
from seggui.core.facts import SlideFacts
from seggui.core.folder import FolderContext
from seggui.core.metrics import Scores
from seggui.core.overlay import disagreement
from seggui.core.predcache import model_key
from seggui.core.quality import SlideQuality, annotated_probability, issue_mask, slide_quality
from seggui.core.registry import ModelMeta
from seggui.core.review import ReviewStore
from seggui.gui.session.edits import MaskEdits
from seggui.gui.session.services import (
    LoadedSlide,
    PredictionService,
    SlideLoader,
    SlidePrediction,
    ThumbnailLoader,
)
from seggui.gui.viewer.canvas import to_pixmap
from seggui.gui.workers import SerialWorker

LOADED_SLIDES = 32  # decoded slides kept for going back (about 1 MB each at 512x512)
LOOKAHEAD = 3
TOTALS_EVERY_MS = 250  # folder totals are redrawn at most this often while scores arrive
REVIEW_LAYERS = ("difference", "issues", "uncertainty")


class Session(QObject):
    """State of the open folder, and the glue between it and the background services."""

    opened = pyqtSignal(object)  # FolderContext: a folder was opened (its facts are new)
    fact_changed = pyqtSignal(str, str)  # slide name, fact (see core.facts)
    shown_changed = pyqtSignal()  # the current slide's content changed: redraw it
    totals_changed = pyqtSignal()
    classes_changed = pyqtSignal(object)  # ClassSet
    model_changed = pyqtSignal()  # another model is active (its path and metadata are set)
    thumbnail = pyqtSignal(object, object)  # slide name, uint8 RGB array
    status = pyqtSignal(str)
    task = pyqtSignal(str)
    error = pyqtSignal(str, str)
    saved = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = 0
        self.ctx: FolderContext | None = None
        self.facts: SlideFacts | None = None
        self.model_path: Path | None = None
        self.model_meta: ModelMeta | None = None
        self.active_key: str | None = None  # set when the service has loaded the model
        self.current: str | None = None
        self.ahead: list[str] = []  # the current slide and the next ones in the list's order
        self.order: Callable[[], list[str]] = lambda: [s.name for s in self.ctx.slides]
        self.loaded: OrderedDict[str, LoadedSlide] = OrderedDict()
        self.predictions: OrderedDict[str, SlidePrediction] = OrderedDict()
        self._layers: dict[tuple[str, str], tuple[tuple, np.ndarray]] = {}  # (name, mode)
        self.scope = "folder"
        self._background: list[str] | None = None  # the order, until sort/filter change
        self._thumb_order: list[str] = []
        self.paused = False  # no background prediction (while training)
        self._closed = False

        self.loader = SlideLoader(self)
        self.thumbs = ThumbnailLoader(self)
        self.predictor = PredictionService(self.loaded.get, self)
        self.saver = SerialWorker(self)
        self.edits = MaskEdits(self)
        self.loader.done.connect(self._slide_loaded)
        self.loader.error.connect(self._slide_failed)
        self.thumbs.done.connect(self.thumbnail)
        self.predictor.done.connect(self._predicted)
        self.predictor.error.connect(self._prediction_failed)
        self.predictor.model_ready.connect(self._model_loaded)
        self.predictor.model_error.connect(
            lambda m: self.error.emit("Model could not be loaded", m)
        )
        self.predictor.idle.connect(lambda: self.task.emit(""))
        self._totals_timer = QTimer(self)
        self._totals_timer.setSingleShot(True)
        self._totals_timer.setInterval(TOTALS_EVERY_MS)
        self._totals_timer.timeout.connect(self.totals_changed)
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.start()

    # -- folder, classes and model -----------------------------------------------------------------
    def open(self, ctx: FolderContext) -> None:
        """Make ``ctx`` the open folder (the previous one's edits are saved first)."""
        self.edits.save_all()
        self.edits.wait_for_saves()
        if self.facts is not None:
            self.facts.reviews.close()
        self.generation += 1
        self.ctx = ctx
        self.facts = SlideFacts(ctx, ReviewStore(ctx.workspace))
        self.facts.subscribe(self._fact_changed)
        for cache in (self.loaded, self.predictions, self._layers):
            cache.clear()
        self.edits.clear()
        self.current, self.ahead, self._background = None, [], None
        for service in (self.loader, self.thumbs, self.predictor):
            service.want([], [])
            service.forget()
            service.ctx = ctx
        self._thumb_order = [s.name for s in ctx.slides if s.usable]
        self._thumb_order += [w.name for w in ctx.scan.whole_slides]
        self.opened.emit(ctx)
        self.thumbs.want([], self._thumb_order)

    def _fact_changed(self, name: str, fact: str) -> None:
        self.fact_changed.emit(name, fact)
        if fact == "score":
            self._schedule_totals()

    def set_classes(self, classes: ClassSet) -> None:
        """New names, colours or background for the open folder's classes (same values)."""
        self.ctx.set_classes(classes)
        self.classes_changed.emit(classes)

    def set_model(self, path: Path, meta: ModelMeta) -> None:
        """Predict with ``path`` from now on; scores of the previous model are dropped."""
        self.generation += 1
        self.model_path, self.model_meta = Path(path), meta
        self.active_key = None  # until the service has loaded it
        self.predictions.clear()
        self._layers.clear()
        if self.facts is not None:
            self.facts.forget_model()
        self.predictor.set_model(path)
        self.model_changed.emit()
        self.request_predictions()
        self.totals_changed.emit()

    def _model_loaded(self, meta, path: str) -> None:
        # Emitted by the service before any prediction of this model, so it gates them.
        if self.model_path is not None and Path(path) == self.model_path:
            self.active_key = model_key(path)
        self.task.emit("")

    def knows_classes(self) -> bool:
        """True when the active model's classes are the folder's (same names, same order):
        only then are its predictions scored against the folder's masks."""
        return (
            self.model_meta is not None
            and self.ctx is not None
            and self.model_meta.classes.same_as(self.ctx.classes)
        )

    # -- which slides are wanted -----------------------------------------------------------------
    def usable(self, name: str) -> bool:
        slide = self.ctx.scan.get(name) if self.ctx else None
        return slide is not None and slide.usable

    def rows_in_view(self, names: list[str]) -> None:
        """Thumbnails of these rows first; the same background list keeps its place."""
        if self.ctx is not None:
            wanted = [n for n in names if self.usable(n) or self.ctx.scan.whole(n)]
            self.thumbs.want(wanted, self._thumb_order)

    def request_predictions(self) -> None:
        names = [n for n in self.ahead if self.usable(n)]
        background = [] if self.paused else self._background_order()
        self.predictor.forget([n for n in names if n not in self.predictions])
        self.predictor.want(names, background)
        if names and names[0] not in self.predictions:
            self.task.emit(f"Predicting {names[0]}…")

    def _background_order(self) -> list[str]:
        """The order background prediction walks: the list's, test slides first when the
        scope is the test split. Made again only when the sort, filter or scope changes;
        the same list object lets the worker keep its place."""
        if self._background is None and self.ctx is not None:
            order = [n for n in self.order() if self.usable(n)]
            if self.scope == "test":
                test = set(self.ctx.split.test)
                order = [n for n in order if n in test] + [n for n in order if n not in test]
            self._background = order
        return self._background or []

    def order_changed(self) -> None:
        """The list was sorted or filtered: background prediction follows the new order."""
        self._background = None

    def set_scope(self, scope: str) -> None:
        self.scope = scope
        self._background = None
        self.request_predictions()
        self.totals_changed.emit()

    def show(self, name: str, ahead: list[str] | None = None) -> None:
        """Make ``name`` the current slide (saving the one left if it was edited); ``ahead``
        are the slides after it in the list's order, loaded and predicted next."""
        if self.current is not None and self.current != name:
            self.edits.save(self.current)
        self.current = name
        self.ahead = [name, *[n for n in (ahead or []) if n != name]][: LOOKAHEAD + 1]
        wanted = [n for n in self.ahead if self.usable(n)]
        self.loader.forget([n for n in wanted if n not in self.loaded])  # evicted: load again
        self.loader.want(wanted)
        self.request_predictions()
        self.shown_changed.emit()

    # -- results from the services -----------------------------------------------------------------
    def _keep(self, cache: OrderedDict, name: str, value) -> None:
        """Remember ``value``, forgetting the oldest entries but never the slides in view."""
        cache[name] = value
        cache.move_to_end(name)
        keep = set(self.ahead)
        for old in list(cache):
            if len(cache) <= LOADED_SLIDES:
                break
            if old not in keep:
                del cache[old]

    def _slide_loaded(self, name: str, loaded: LoadedSlide) -> None:
        slide = self.ctx.scan.get(name) if self.ctx else None
        if slide is None or slide.image_path != loaded.image_path:
            return  # finished after another folder was opened
        if name in self.predictions:
            loaded.pixels = None  # the model has seen it: keep only what is displayed
        self._keep(self.loaded, name, loaded)
        if loaded.mask_problem:
            self.facts.add_problem(name, loaded.mask_problem)
        if name == self.current:
            self.shown_changed.emit()

    def _slide_failed(self, name: str, message: str) -> None:
        if self.facts is not None:
            self.facts.add_problem(name, message)
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
        loaded = self.loaded.get(name)
        if loaded is not None:
            loaded.pixels = None
        scores, quality = result.scores, result.quality
        edit = self.edits.get(name)
        if edit is not None:  # the mask in memory is newer than the one the service scored
            scores = self.compare(edit.labels, result.labels)
            quality = self.quality_of(result, edit.labels)
        self.facts.set_scores(name, scores)
        self.facts.set_quality(name, quality)
        if name == self.current:
            self.shown_changed.emit()

    def _prediction_failed(self, name: str, message: str) -> None:
        if self.facts is not None:
            self.facts.add_problem(name, f"prediction failed: {message}")
        if name == self.current:
            self.shown_changed.emit()

    # -- scores ----------------------------------------------------------------------------------
    def compare(self, truth: np.ndarray, pred: np.ndarray) -> Scores | None:
        if truth.shape != pred.shape or not self.knows_classes():
            return None
        return Scores.compare(truth, pred, len(self.ctx.classes))

    def quality_of(self, pred: SlidePrediction, truth: np.ndarray | None) -> SlideQuality | None:
        if pred.probs is None or pred.margin is None:
            return None
        known = truth is not None and self.knows_classes()
        return slide_quality(pred.probs, pred.labels, pred.margin, truth if known else None)

    def _schedule_totals(self) -> None:
        if not self._totals_timer.isActive():  # restarting would postpone it while scores pour in
            self._totals_timer.start()

    def scores(self, name: str | None) -> Scores | None:
        return self.facts.scores(name) if self.facts is not None else None

    # -- what the views show -----------------------------------------------------------------------
    def pixmap(self, loaded: LoadedSlide):
        if loaded.pixmap is None:
            loaded.pixmap = to_pixmap(loaded.image)
        return loaded.pixmap

    def annotation(self, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The slide's annotation (edited or as loaded) and its contour layer."""
        edited = self.edits.annotation(name)
        if edited is not None:
            return edited
        loaded = self.loaded.get(name)
        if loaded is None or loaded.mask is None:
            return None, None
        return loaded.mask, loaded.contour

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
        hit = self._layers.get((name, mode))
        if hit is None or hit[0] != key:
            hit = (key, review_layer(mode, truth, pred))
            self._layers[(name, mode)] = hit
            while len(self._layers) > 3 * (LOOKAHEAD + 2):
                self._layers.pop(next(iter(self._layers)))
        return hit[1]

    def forget_layers(self, name: str) -> None:
        for mode in REVIEW_LAYERS:
            self._layers.pop((name, mode), None)

    def patch_layers(self, name: str, box, labels: np.ndarray, version: int) -> None:
        """Bring the cached difference and issue layers up to date inside ``box`` only."""
        pred = self.predictions.get(name)
        if pred is None:
            return
        y0, y1, x0, x1 = box
        for mode in ("difference", "issues"):
            hit = self._layers.get((name, mode))
            if hit is not None:
                hit[1][y0:y1, x0:x1] = review_layer(mode, labels, pred, box)
                self._layers[(name, mode)] = ((id(labels), version, pred.model_key), hit[1])

    # -- closing ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Save what changed, wait for the saves, and stop the services."""
        self.edits.save_all()
        self.edits.wait_for_saves()
        self._closed = True
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.stop()
        for worker in (self.loader, self.thumbs, self.predictor, self.saver):
            worker.wait(10000)
        if self.facts is not None:
            self.facts.reviews.close()


def review_layer(mode: str, truth, pred: SlidePrediction, box=None) -> np.ndarray:
    """One review layer of a prediction against ``truth`` (inside ``box`` when given)."""
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

"""The window's background services: slide loading, thumbnails and prediction.

Each is a :class:`LatestWorker` whose handler does plain engine work; TensorFlow is imported
by the prediction thread when it loads its first model, never by the UI thread. They read the
open folder's slides and classes from its context (the one owner), and a slide is decoded
once per visit: the prediction service takes the pixels and the mask the loader already
decoded when they are there, and reads the files itself only for slides nobody looked at.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtCore import pyqtSignal

from seggui.core.cancel import Cancelled
from seggui.core.folder import FolderContext
from seggui.core.imageio import SlideFileError, check_same_size, read_image, read_mask
from seggui.core.mask_store import EditBase, read_for_edit
from seggui.core.metrics import Scores
from seggui.core.overlay import contour_layer
from seggui.core.predcache import PredictionCache, model_key
from seggui.core.quality import SlideQuality, slide_quality
from seggui.core.slides import Slide
from seggui.gui.workers import LatestWorker

THUMB = 56
log = logging.getLogger(__name__)


@dataclass
class LoadedSlide:
    name: str
    image: np.ndarray  # uint8 RGB
    mask: np.ndarray | None
    mask_problem: str | None
    image_path: Path | None = None
    base: EditBase | None = None  # how the mask is stored, and its file stamp when read
    contour: np.ndarray | None = None  # the mask's contour layer, made off the UI thread
    pixmap: object = None  # the image as a QPixmap, made once on the UI thread
    pixels: np.ndarray | None = None  # float RGB for the model, until the slide is predicted


@dataclass
class SlidePrediction:
    name: str
    labels: np.ndarray
    confidence: np.ndarray
    scores: Scores | None
    model_key: str
    image_path: Path | None = None
    contour: np.ndarray | None = None
    margin: np.ndarray | None = None  # top-two margin, float32
    probs: np.ndarray | None = None  # every class's probability, uint8 (H, W, C)
    quality: SlideQuality | None = None


def load_slide(slide: Slide, ctx: FolderContext) -> LoadedSlide:
    """The slide's image (for display and for the model) and its annotation, each decoded
    once (a bad mask becomes a message)."""
    if not slide.usable:
        raise SlideFileError(
            slide.image_path or slide.mask_path or slide.name, slide.problem_text() or "no image"
        )
    classes = ctx.classes
    pixels = read_image(slide.image_path)
    image = np.round(pixels * 255.0).astype(np.uint8)
    mask, problem, base = None, None, None
    if slide.mask_path is not None:
        try:
            base = read_for_edit(slide.mask_path, classes)
            check_same_size(image, base.labels, slide.mask_path)
            mask = base.labels
        except SlideFileError as exc:
            mask, base, problem = None, None, exc.reason
    contour = contour_layer(mask) if mask is not None else None
    return LoadedSlide(
        slide.name, image, mask, problem, slide.image_path, base, contour, pixels=pixels
    )


def make_thumbnail(path: Path, size: int = THUMB) -> np.ndarray:
    """A small RGB thumbnail, decoded at reduced size where the format allows (JPEG)."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (size * 2, size * 2))
            im = im.convert("RGB")
            im.thumbnail((size, size))
            return np.asarray(im).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise SlideFileError(path, f"no thumbnail ({exc})") from exc


class SlideLoader(LatestWorker):
    """Loads the current slide (and the next ones) for display."""

    def __init__(self, parent=None):
        super().__init__(self._handle, parent)
        self.ctx: FolderContext | None = None

    def _handle(self, name, cancel):
        ctx = self.ctx
        return load_slide(ctx.scan.get(name), ctx)


class ThumbnailLoader(LatestWorker):
    """Makes thumbnails, visible rows first, the rest in the background."""

    def __init__(self, parent=None):
        super().__init__(self._handle, parent)
        self.ctx: FolderContext | None = None

    def _handle(self, name, cancel):
        whole = self.ctx.scan.whole(name)
        if whole is not None:
            from seggui.core.wsi import open_slide

            opened = open_slide(whole.path)
            try:
                return opened.thumbnail(THUMB)
            finally:
                opened.close()
        slide = self.ctx.scan.get(name)
        if not slide.usable:
            raise SlideFileError(slide.name, "no image")
        return make_thumbnail(slide.image_path)


class PredictionService(LatestWorker):
    """Predicts slides with the active model, caching per model on disk and in memory."""

    model_ready = pyqtSignal(object, str)  # ModelMeta, model path
    model_error = pyqtSignal(str)

    def __init__(self, decoded: Callable[[str], LoadedSlide | None], parent=None):
        super().__init__(self._handle, parent)
        self.ctx: FolderContext | None = None
        self.decoded = decoded  # the loader's result for a slide, if it has one
        self._model_lock = threading.Lock()
        self._pending_model: Path | None = None
        self._predictor = None
        self._meta = None
        self._key = ""
        self._cache: PredictionCache | None = None

    def set_model(self, path: str | Path) -> None:
        """Load ``path`` in the worker thread before the next prediction; redo everything."""
        with self._model_lock:
            self._pending_model = Path(path)
        self.forget()

    def _load_pending(self) -> None:
        with self._model_lock:
            path, self._pending_model = self._pending_model, None
        if path is None:
            return
        from seggui.core.registry import read_meta
        from seggui.model.predict import Predictor

        try:  # TensorFlow is imported only when the model has no converted copy yet
            meta = read_meta(path)
            predictor = Predictor.from_path(path, meta)
        except Exception as exc:
            log.exception("model %s could not be loaded", path)
            self.model_error.emit(str(exc))
            return
        workspace = self.ctx.workspace if self.ctx is not None else None
        with self._model_lock:
            self._predictor = predictor
            self._meta = meta
            self._key = model_key(path)
            self._cache = PredictionCache(workspace, self._key) if workspace else None
        self.model_ready.emit(meta, str(path))

    def _handle(self, name, cancel):
        self._load_pending()
        if self._predictor is None:
            raise RuntimeError("no model loaded")
        ctx = self.ctx
        slide = ctx.scan.get(name)
        if not slide.usable:
            raise SlideFileError(slide.name, slide.problem_text() or "no image")
        loaded = self.decoded(name)
        if loaded is not None and loaded.image_path != slide.image_path:
            loaded = None  # decoded for a folder opened before
        hit = self._cache.get(name, slide.image_path) if self._cache else None
        if hit is not None:
            labels, conf, margin, probs = hit
        else:
            pixels = loaded.pixels if loaded is not None else None
            if pixels is None:
                pixels = read_image(slide.image_path)
            pred = self._predictor.predict(pixels, cancel)
            labels, conf = np.ascontiguousarray(pred.labels, np.uint8), pred.confidence
            margin, probs = pred.margin, pred.probs
            if self._cache is not None:
                try:
                    self._cache.put(name, slide.image_path, labels, conf, margin, probs)
                except OSError:  # the cache is an optimisation; a full disk must not stop review
                    log.warning("prediction of %s not cached", name, exc_info=True)
        scores = truth = None
        classes = ctx.classes
        if slide.scorable and self._meta.classes.same_as(classes):
            if loaded is not None:
                truth = loaded.mask
            else:
                try:
                    truth = read_mask(slide.mask_path, classes)
                except SlideFileError:
                    truth = None
            if truth is not None and truth.shape == labels.shape:
                scores = Scores.compare(truth, labels, len(classes))
            else:
                truth = None
        result = SlidePrediction(
            name,
            labels,
            conf,
            scores,
            self._key,
            slide.image_path,
            contour_layer(labels),
            margin,
            probs,
            slide_quality(probs, labels, margin, truth),
        )
        with self._model_lock:
            if self._pending_model is not None:
                raise Cancelled()  # the model changed while predicting: redo with the new one
        return result

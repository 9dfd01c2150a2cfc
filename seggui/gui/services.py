"""The window's background services: slide loading, thumbnails and prediction.

Each is a :class:`LatestWorker` whose handler does plain engine work; TensorFlow is imported
by the prediction thread when it loads its first model, never by the UI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtCore import pyqtSignal

from seggui.core.cancel import Cancelled
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_image_u8, read_mask
from seggui.core.mask_store import EditBase, read_for_edit
from seggui.core.metrics import Scores
from seggui.core.overlay import contour_layer
from seggui.core.predcache import PredictionCache, model_key
from seggui.core.quality import SlideQuality, slide_quality
from seggui.core.slides import Slide
from seggui.gui.workers import LatestWorker

THUMB = 56


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


def load_slide(slide: Slide, classes: ClassSet) -> LoadedSlide:
    """The slide's display image and its annotation (a bad mask becomes a message)."""
    if not slide.usable:
        raise SlideFileError(
            slide.image_path or slide.mask_path or slide.name, slide.problem_text() or "no image"
        )
    image = read_image_u8(slide.image_path)
    mask, problem, base = None, None, None
    if slide.mask_path is not None:
        try:
            base = read_for_edit(slide.mask_path, classes)
            mask = base.labels
            if mask.shape != image.shape[:2]:
                mask, base, problem = None, None, "mask and image differ in size"
        except SlideFileError as exc:
            problem = str(exc)
    contour = contour_layer(mask) if mask is not None else None
    return LoadedSlide(slide.name, image, mask, problem, slide.image_path, base, contour)


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
        self.slides: dict[str, Slide] = {}
        self.classes = ClassSet.default()

    def _handle(self, name, cancel):
        return load_slide(self.slides[name], self.classes)


class ThumbnailLoader(LatestWorker):
    """Makes thumbnails, visible rows first, the rest in the background."""

    def __init__(self, parent=None):
        super().__init__(self._handle, parent)
        self.slides: dict[str, Slide] = {}

    def _handle(self, name, cancel):
        slide = self.slides[name]
        if not slide.usable:
            raise SlideFileError(slide.name, "no image")
        return make_thumbnail(slide.image_path)


class PredictionService(LatestWorker):
    """Predicts slides with the active model, caching per model on disk and in memory."""

    model_ready = pyqtSignal(object, str)  # ModelMeta, model path
    model_error = pyqtSignal(str)

    MEMORY_ITEMS = 24

    def __init__(self, parent=None):
        super().__init__(self._handle, parent)
        self.slides: dict[str, Slide] = {}
        self.classes = ClassSet.default()
        self.workspace: Path | None = None
        self._model_lock = threading.Lock()
        self._pending_model: Path | None = None
        self._predictor = None
        self._meta = None
        self._key = ""
        self._cache: PredictionCache | None = None
        self._memory: dict[str, SlidePrediction] = {}

    def set_model(self, path: str | Path) -> None:
        """Load ``path`` in the worker thread before the next prediction; redo everything."""
        with self._model_lock:
            self._pending_model = Path(path)
            self._memory.clear()
        self.forget()

    def cached(self, name: str) -> SlidePrediction | None:
        """The prediction of ``name`` in the current folder, if it is in memory."""
        with self._model_lock:
            result = self._memory.get(name)
        slide = self.slides.get(name)
        if result is None or slide is None or result.image_path != slide.image_path:
            return None  # a slide of the same name in a folder opened before
        return result

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
        except Exception as exc:  # noqa: BLE001  (any bad model file: tell, keep the old one)
            self.model_error.emit(str(exc))
            return
        with self._model_lock:
            self._predictor = predictor
            self._meta = meta
            self._key = model_key(path)
            self._cache = PredictionCache(self.workspace, self._key) if self.workspace else None
            self._memory.clear()
        self.model_ready.emit(meta, str(path))

    def _handle(self, name, cancel):
        self._load_pending()
        if self._predictor is None:
            raise RuntimeError("no model loaded")
        slide = self.slides[name]
        if not slide.usable:
            raise SlideFileError(slide.name, slide.problem_text() or "no image")
        hit = self._cache.get(name, slide.image_path) if self._cache else None
        if hit is not None:
            labels, conf, margin, probs = hit
        else:
            pred = self._predictor.predict(read_image(slide.image_path), cancel)
            labels, conf = np.ascontiguousarray(pred.labels, np.uint8), pred.confidence
            margin, probs = pred.margin, pred.probs
            if self._cache is not None:
                try:
                    self._cache.put(name, slide.image_path, labels, conf, margin, probs)
                except OSError:
                    pass  # the cache is an optimisation; a full disk must not stop review
        scores = truth = None
        if slide.scorable and self._meta.classes.same_as(self.classes):
            try:
                truth = read_mask(slide.mask_path, self.classes)
                if truth.shape == labels.shape:
                    scores = Scores.compare(truth, labels, len(self.classes))
                else:
                    truth = None
            except SlideFileError:
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
            self._memory[name] = result
            while len(self._memory) > self.MEMORY_ITEMS:
                self._memory.pop(next(iter(self._memory)))
        return result

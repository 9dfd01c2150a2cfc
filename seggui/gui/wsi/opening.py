"""One visit to a whole slide: what is open (reader, annotation, plan, store, per-tile
scores), and the two steps of opening it off the UI thread (the pixels for the first view,
then the annotation and the prediction store)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt6.QtGui import QImage

from seggui.core.atomic import atomic_path
from seggui.core.imageio import SlideFileError
from seggui.core.slides import WholeSlideFile
from seggui.core.wsi import WholeSlide

THUMB_SIDE = 2048
SAVE_EVERY = 16  # predicted tiles between saves of the overview and the scores


@dataclass
class OpenSlide:
    """One visit to a whole slide with one model (a new visit or model: a new generation)."""

    generation: int
    entry: WholeSlideFile
    slide: WholeSlide
    annotations: object  # SlideAnnotations or LabelImageAnnotations, or None
    thumb: np.ndarray
    plan: object = None  # SlidePlan, with a model
    store: object = None  # TileStore
    layers: object = None  # SlideLayers
    model_path: Path | None = None
    n_classes: int = 0
    confusions: dict = field(default_factory=dict)  # (col, row) -> confusion of that tile
    scores_file: Path | None = None
    predicted: set = field(default_factory=set)  # tissue tiles in the store
    lock: threading.Lock = field(default_factory=threading.Lock)
    unsaved: int = 0
    annotation_problem: str | None = None

    def total(self) -> np.ndarray:
        out = np.zeros((self.n_classes, self.n_classes), np.int64)
        with self.lock:
            for conf in self.confusions.values():
                out += conf
        return out

    def progress(self) -> tuple[int, int, bool]:
        """Tissue tiles predicted, tissue tiles, and whether every one is also scored."""
        if self.plan is None:
            return 0, 0, False
        with self.lock:
            done, scored = len(self.predicted), len(self.confusions)
        total = len(self.plan.tissue)
        return done, total, done == total and (self.scores_file is None or scored >= total)

    def save(self) -> None:
        """Keep the overview and the per-tile scores in the store (atomic writes)."""
        self.layers.overview.save(self.store.folder)
        with self.lock:
            tiles = sorted(self.confusions)
            matrices = [self.confusions[t] for t in tiles]
            self.unsaved = 0
        if self.scores_file is not None and tiles:
            with atomic_path(self.scores_file) as tmp, open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    tiles=np.array(tiles, np.int32).reshape(-1, 2),
                    confusion=np.stack(matrices),
                )


def open_whole_slide(entry: WholeSlideFile, generation: int) -> OpenSlide:
    """Open the slide and make its thumbnail (what the first view needs), off the UI thread;
    a damaged slide raises :class:`SlideFileError`."""
    from seggui.core.wsi import open_slide

    slide = open_slide(entry.path, entry.mpp)
    return OpenSlide(generation, entry, slide, None, slide.thumbnail(THUMB_SIDE))


def prepare_whole_slide(
    opened: OpenSlide, classes, workspace: Path, model_path: Path | None, meta
) -> OpenSlide:
    """Load the slide's annotation and (with a model) its plan, store and saved scores, off
    the UI thread, while the first view is already on screen. An unreadable annotation is
    a problem on the slide (``annotation_problem``): the slide is still shown."""
    from seggui.core.annotations import load_annotation_for

    entry, slide = opened.entry, opened.slide
    if entry.annotation:
        try:
            opened.annotations = load_annotation_for(
                entry.annotation, classes, slide.dimensions, apart=True
            )
        except SlideFileError as exc:
            opened.annotation_problem = str(exc)
    if model_path is None or meta is None:
        return opened
    from seggui.core.predcache import model_key
    from seggui.model.slide_layers import SlideLayers
    from seggui.model.slide_predict import plan_slide, store_for

    plan = plan_slide(slide, meta.depth, downsample=meta.downsample)
    store = store_for(workspace, model_key(model_path), entry.path, plan.grid)
    opened.n_classes = len(meta.classes)
    opened.layers = SlideLayers(plan, store, opened.n_classes)
    opened.model_path = Path(model_path)
    opened.predicted = set(store.tiles()) & set(plan.tissue)
    if opened.annotations is not None and meta.classes.same_as(classes):
        st = Path(entry.annotation).stat()
        scores_file = store.folder / f"scores-{st.st_size}-{st.st_mtime_ns}.npz"
        if scores_file.exists():
            with np.load(scores_file) as data:
                opened.confusions = {
                    (int(c), int(r)): m
                    for (c, r), m in zip(data["tiles"], data["confusion"], strict=True)
                }
        opened.scores_file = scores_file
    opened.store = store
    opened.plan = plan  # last: a plan means everything prediction needs is there
    return opened


def close_annotations(o: OpenSlide) -> None:
    """Let the annotation's drawing process go, if it has one."""
    close = getattr(o.annotations, "close", None)
    if close is not None:
        close()


def qimage(rgb: np.ndarray) -> QImage:
    h, w = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_RGB32
    )

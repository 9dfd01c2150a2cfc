"""The whole slide on screen: its reader, annotation, prediction plan and tile store, the
tile cache both views draw from, and the workers that fill it.

Owner of the open whole slide's state (the session owns the folder's): which slide is open,
its prediction's progress, per-tile confusion (summed into the slide's running scores in
the session's facts) and the ranking of its regions by disagreement. Three workers keep
the UI thread free: one reads image tiles, one draws overlay tiles (rasterised annotation,
sampled prediction, review layers), one predicts model tiles (those on screen first, then
the rest of the tissue) into the workspace's store, where a later visit finds them.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QImage

from seggui.core.annotations import SlideAnnotations
from seggui.core.atomic import atomic_path
from seggui.core.cancel import Cancelled
from seggui.core.classes import display_colors
from seggui.core.imageio import SlideFileError
from seggui.core.metrics import Scores, confusion
from seggui.core.overlay import contour_layer
from seggui.core.slides import WholeSlideFile
from seggui.core.wsi import WholeSlide
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import Session
from seggui.gui.viewer.canvas import DIFF_TABLE, REVIEW_TABLES, class_table
from seggui.gui.viewer.overlay_panel import OverlayPanel
from seggui.gui.workers import LatestWorker
from seggui.gui.wsi.view import VIEW_TILE, WholeSlidePair

CACHE_BYTES = 384 * 1024 * 1024  # decoded tiles kept for both views
THUMB_SIDE = 2048
SAVE_EVERY = 16  # predicted tiles between saves of the overview and the scores
REGION_MIN_ANNOTATED = 0.05  # a region is ranked when this share of it is annotated

#: The uncertainty colours with 255 (nothing predicted there) transparent.
UNCERTAINTY_TABLE = [*REVIEW_TABLES["uncertainty"][:255], 0]


class TileCache:
    """Decoded tiles by key, the least recently drawn dropped beyond a byte budget."""

    def __init__(self, budget: int = CACHE_BYTES):
        self.budget = budget
        self.bytes = 0
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()

    def get(self, key: tuple):
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        return hit[0]

    def __contains__(self, key: tuple) -> bool:
        return key in self._items

    def put(self, key: tuple, value, size: int) -> None:
        self.pop(key)
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.budget and len(self._items) > 1:
            _, (_, old) = self._items.popitem(last=False)
            self.bytes -= old

    def pop(self, key: tuple) -> None:
        hit = self._items.pop(key, None)
        if hit is not None:
            self.bytes -= hit[1]

    def held(self) -> list[tuple]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


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

    plan = plan_slide(slide, meta.depth)
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


def _close_annotations(o: OpenSlide) -> None:
    """Let the annotation's drawing process go, if it has one."""
    close = getattr(o.annotations, "close", None)
    if close is not None:
        close()


def _qimage(rgb: np.ndarray) -> QImage:
    h, w = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_RGB32
    )


class WholeSlideController(QObject):
    """Shows one whole slide at a time in the :class:`WholeSlidePair`."""

    opened = pyqtSignal(str)  # slide name, once its views can draw

    def __init__(
        self,
        session: Session,
        pair: WholeSlidePair,
        overlay: OverlayPanel,
        scores: ScoresPanel,
        feedback,
        parent=None,
    ):
        super().__init__(parent)
        self.session, self.pair, self.overlay, self.scores = session, pair, overlay, scores
        self.feedback = feedback
        self.cache = TileCache()
        self.current: OpenSlide | None = None
        self.generation = 0
        self.regions: list[tuple[float, tuple[float, float, float, float]]] = []
        self.region_index = -1
        self.active: tuple[tuple[float, float, float, float], str] | None = None  # box, source
        self._background: list = []
        self._predictor = None  # (model path, Predictor), used by the prediction thread only
        self._then = None  # the second step of opening (annotation, store), for _opened
        self.images = LatestWorker(self._read_image, self)
        self.overlays = LatestWorker(self._draw_overlay, self)
        self.predictions = LatestWorker(self._predict_tile, self)
        self.images.done.connect(self._tile_ready)
        self.overlays.done.connect(self._tile_ready)
        self.predictions.done.connect(self._tile_predicted)
        for worker in (self.images, self.overlays, self.predictions):
            worker.start()
        pair.wanted.connect(self.request)
        pair.region_drawn.connect(self.region_drawn)
        session.model_changed.connect(self.reopen)
        session.fact_changed.connect(self._fact_changed)

    # -- opening ---------------------------------------------------------------------------------
    def show(self, entry: WholeSlideFile) -> None:
        """Open ``entry`` (off the UI thread) and show it; the previous slide is let go."""
        self.leave()
        self.generation += 1
        s = self.session
        generation, model_path, meta = self.generation, s.model_path, s.model_meta
        classes, workspace = s.ctx.classes, s.ctx.workspace
        self.pair.left_title.setText(f"Opening {entry.name}…")
        self.pair.right_title.setText("")
        self.pair.set_slide([], None)

        def first(progress, cancel):
            try:
                return open_whole_slide(entry, generation)
            except SlideFileError as exc:
                return exc

        def then(opened, progress, cancel):
            try:
                return prepare_whole_slide(opened, classes, workspace, model_path, meta)
            except SlideFileError as exc:  # the slide was left (and closed) meanwhile
                return exc

        self._then = then
        self.feedback.run_job(first, self._opened, f"Opening {entry.name}")

    def set_mpp(self, mpp: float) -> None:
        """The user's resolution for the slide shown: remembered in the workspace, and the
        slide opened again with it (areas, and the model's resolution, change with it)."""
        from seggui.core import slide_mpp

        o = self.current
        if o is None:
            return
        slide_mpp.set_mpp(self.session.ctx.workspace, o.entry.name, mpp)
        o.entry.mpp = mpp
        if self.session.facts is not None:
            self.session.facts.add_problem(o.entry.name, "")
        self.show(o.entry)

    def reopen(self) -> None:
        """Another model: the open slide is predicted by it (from its own store)."""
        if self.current is not None:
            self.show(self.current.entry)

    def leave(self) -> None:
        """Stop the work for the slide shown (another slide, or a tile, is shown now)."""
        self.generation += 1
        for worker in (self.images, self.overlays, self.predictions):
            worker.want([], [])
            worker.forget()
        if self.current is not None:
            self.current.slide.close()
            _close_annotations(self.current)
        self.current = None
        self.cache.clear()
        self.regions, self.region_index, self.active = [], -1, None
        self.pair.set_regions([])

    def _opened(self, result) -> None:
        facts = self.session.facts
        if isinstance(result, SlideFileError):
            name = Path(result.path).stem
            if facts is not None:
                facts.add_problem(name, result.reason)
            self.pair.left_title.setText(f"{name}: {result.reason}")
            return
        if result.generation != self.generation:
            result.slide.close()  # another slide was chosen meanwhile
            return
        self.current = o = result
        name = o.entry.name
        if not o.slide.mpp_known and facts is not None:
            facts.add_problem(
                name, f"the file does not say its resolution: {o.slide.mpp} µm per pixel assumed"
            )
        levels = [(lv.width, lv.height, lv.downsample) for lv in o.slide.levels]
        self.pair.set_slide(levels, _qimage(o.thumb))
        self.restyle()
        self.titles()
        self._show_regions()
        self.request()
        then = self._then
        self.feedback.run_job(
            lambda progress, cancel: then(o, progress, cancel),
            self._prepared,
            f"Reading {name}'s annotation",
        )

    def _prepared(self, o) -> None:
        """The annotation and the prediction store are there: overlays, scores, prediction."""
        if isinstance(o, SlideFileError):
            if self.current is not None and self.session.facts is not None:
                self.session.facts.add_problem(self.current.entry.name, o.reason)
            return
        if o is not self.current or o.generation != self.generation:
            _close_annotations(o)  # prepared for a slide left meanwhile
            return
        facts = self.session.facts
        name = o.entry.name
        problems = [o.annotation_problem] if o.annotation_problem else []
        if o.annotations is not None:
            problems += o.annotations.problems[:3]
        if problems and facts is not None:
            facts.add_problem(name, "; ".join(problems))
        if o.plan is not None:
            self._background = list(o.plan.tissue)
            self._rank_regions()
            self._update_scores()
        self.restyle()
        self.titles()
        self.request()
        self.opened.emit(name)

    # -- what the views want -----------------------------------------------------------------------
    def request(self) -> None:
        """Ask the workers for the tiles the views show now (and the model tiles under them)."""
        o = self.current
        if o is None:
            return
        images, overlays = [], []
        for view in self.pair.views():
            i, v = view.visible_keys()
            images += [k for k in i if k not in images]
            overlays += [k for k in v if k not in overlays]
        missing_i = [k for k in images if k not in self.cache]
        missing_o = [k for k in overlays if k not in self.cache]
        self.images.forget(missing_i)
        self.images.want(missing_i)
        self.overlays.forget(missing_o)
        self.overlays.want(missing_o)
        if o.plan is not None:
            self.predictions.want(self._model_tiles_in_view(), self._background)

    def _model_tiles_in_view(self) -> list[tuple[int, int]]:
        o = self.current
        rect = self.pair.left.visible_rect()
        grid, f = o.plan.grid, o.plan.factor
        size = grid.tile * f
        tissue = set(o.plan.tissue)
        cols = range(
            max(0, int(rect.left() // size)), min(grid.columns, int(rect.right() // size) + 1)
        )
        rows = range(
            max(0, int(rect.top() // size)), min(grid.rows, int(rect.bottom() // size) + 1)
        )
        return [(c, r) for r in rows for c in cols if (c, r) in tissue]

    # -- worker threads ----------------------------------------------------------------------------
    def _live(self) -> OpenSlide:
        """The open slide, for a worker; a worker still busy with a slide left is stopped."""
        o = self.current
        if o is None or o.generation != self.generation:
            raise Cancelled
        return o

    def _read_image(self, key, cancel):
        o = self._live()
        _, level, col, row = key
        lv = o.slide.levels[level]
        x, y = col * VIEW_TILE, row * VIEW_TILE
        w, h = min(VIEW_TILE, lv.width - x), min(VIEW_TILE, lv.height - y)
        image = _qimage(o.slide.read_region(level, x, y, w, h))
        return o.generation, image, image.sizeInBytes()

    def _draw_overlay(self, key, cancel):
        from seggui.model.slide_layers import (
            difference_layer,
            issues_layer,
            label_layer,
            uncertainty_layer,
        )

        o = self._live()
        kind, scale, col, row = key
        width0, height0 = o.slide.dimensions
        x, y = col * VIEW_TILE, row * VIEW_TILE
        w = min(VIEW_TILE, math.ceil(width0 / scale) - x)
        h = min(VIEW_TILE, math.ceil(height0 / scale) - y)
        truth = o.annotations.rasterise(x, y, w, h, scale) if o.annotations else None
        if kind == "annotation":
            if truth is None:
                return o.generation, None, 0
            layers = {"labels": truth, "contour": contour_layer(truth)}
        else:
            if o.layers is None:
                return o.generation, None, 0
            box = (x * scale, y * scale, (x + w) * scale, (y + h) * scale)
            probs, known = o.layers.probs(box, w, h)
            labels = label_layer(probs, known)
            layers = {
                "labels": labels,
                "contour": contour_layer(labels),
                "uncertainty": uncertainty_layer(probs, known),
            }
            if truth is not None and o.n_classes == len(self.session.ctx.classes):
                layers["difference"] = difference_layer(labels, truth)
                layers["issues"] = issues_layer(probs, labels, truth)
        return o.generation, layers, sum(a.nbytes for a in layers.values())

    def _predict_tile(self, key, cancel):
        from seggui.model.slide_predict import predict_slide

        o = self._live()
        col, row = key
        new = not o.store.has(col, row)
        try:
            if new:
                predict_slide(
                    self._predictor_for(o.model_path),
                    o.plan,
                    o.store,
                    tiles=[key],
                    cancel=cancel,
                    stored=lambda c, r, pred: o.layers.tile_predicted(c, r, pred.probs),
                )
            with o.lock:
                o.predicted.add(key)
                scored = key in o.confusions
            if o.scores_file is not None and not scored:
                x, y, w, h = o.plan.grid.core(col, row)
                truth = o.annotations.rasterise(x, y, w, h, o.plan.factor)
                conf = confusion(truth, o.store.get(col, row).labels, o.n_classes)
                with o.lock:
                    o.confusions[key] = conf
                    o.unsaved += 1
            elif new:
                with o.lock:
                    o.unsaved += 1
            if o.unsaved >= SAVE_EVERY or (o.unsaved and o.progress()[2]):
                o.save()
        except (Cancelled, SlideFileError):
            raise
        except Exception as exc:  # noqa: BLE001  (reported on the slide)
            return o.generation, key, new, f"{type(exc).__name__}: {exc}"
        return o.generation, key, new, None

    def _predictor_for(self, path: Path):
        if self._predictor is None or self._predictor[0] != path:
            from seggui.core.registry import read_meta
            from seggui.model.predict import Predictor

            self._predictor = (path, Predictor.from_path(path, read_meta(path)))
        return self._predictor[1]

    # -- results (UI thread) -----------------------------------------------------------------------
    def _tile_ready(self, key, result) -> None:
        generation, value, size = result
        if generation != self.generation or value is None:
            return
        self.cache.put(key, value, size)
        self.pair.repaint_views()

    def _tile_predicted(self, _key, result) -> None:
        generation, (col, row), new, failure = result
        o = self.current
        if o is None or generation != self.generation:
            return
        facts = self.session.facts
        if failure is not None:
            if facts is not None:
                facts.add_problem(o.entry.name, f"prediction failed: {failure}")
            return
        if new:
            self._drop_prediction_tiles(o, col, row)
        done, total, finished = o.progress()
        if facts is not None:
            facts.set_progress(
                o.entry.name, None if finished else f"{done * 100 // max(total, 1)}%"
            )
        self._update_scores()
        self._rank_regions()
        self.feedback.task(
            "" if finished else f"Predicting {o.entry.name}: {done} of {total} tissue tiles"
        )
        self.titles()
        self.request()

    def _drop_prediction_tiles(self, o: OpenSlide, col: int, row: int) -> None:
        """Forget drawn prediction tiles that lie over the model tile just predicted."""
        x, y, w, h = o.plan.grid.core(col, row)
        f = o.plan.factor
        x0, y0, x1, y1 = x * f, y * f, (x + w) * f, (y + h) * f
        for key in self.cache.held():
            if key[0] != "prediction":
                continue
            _, scale, c, r = key
            size = VIEW_TILE * scale
            if c * size < x1 and (c + 1) * size > x0 and r * size < y1 and (r + 1) * size > y0:
                self.cache.pop(key)

    def _update_scores(self) -> None:
        o = self.current
        facts = self.session.facts
        if o is None or facts is None or not o.confusions:
            return
        total = o.total()
        facts.set_whole_scores(o.entry.name, Scores.from_confusion(total) if total.sum() else None)

    # -- regions ---------------------------------------------------------------------------------
    def _rank_regions(self) -> None:
        """The slide's model tiles by disagreement with the annotation, worst first."""
        o = self.current
        if o is None or o.plan is None:
            return
        f = o.plan.factor
        ranked = []
        with o.lock:
            confusions = list(o.confusions.items())
        for (col, row), conf in confusions:
            annotated = conf.sum()
            x, y, w, h = o.plan.grid.core(col, row)
            if annotated < REGION_MIN_ANNOTATED * w * h:
                continue
            wrong = 1.0 - np.trace(conf) / annotated
            box = (
                float(round(x * f)),
                float(round(y * f)),
                float(round((x + w) * f)),
                float(round((y + h) * f)),
            )
            ranked.append((float(wrong), box))
        ranked.sort(key=lambda item: -item[0])
        self.regions = ranked

    def step_region(self, delta: int) -> str | None:
        """Show the next (or previous) worst region; its description for the status bar."""
        if not self.regions:
            return None
        self.region_index = (self.region_index + delta) % len(self.regions)
        wrong, box = self.regions[self.region_index]
        self.pair.show_box(box)
        self.active = (box, "ranked")
        self._show_regions()
        x0, y0, x1, y1 = (int(v) for v in box)
        return (
            f"Region {self.region_index + 1} of {len(self.regions)}: "
            f"{wrong:.0%} of its annotated pixels disagree (x {x0}–{x1}, y {y0}–{y1}); "
            "keys 1-4 mark this region, Esc the slide"
        )

    def region_drawn(self, box) -> None:
        """The reviewer drew a region: it is kept, and active for marks."""
        o = self.current
        if o is None or self.session.facts is None:
            return
        self.session.facts.mark_region(o.entry.name, box, None, "drawn")
        self.active = (tuple(float(v) for v in box), "drawn")
        self._show_regions()
        self.feedback.status("Region drawn: keys 1-4 mark it, Esc goes back to the slide")

    def mark_active(self, state: str) -> str | None:
        """Keys 1-4 on the active region: set the mark, or clear it when it has it already.
        Returns a description, or None when no region is active."""
        o = self.current
        if o is None or self.active is None or self.session.facts is None:
            return None
        box, source = self.active
        facts = self.session.facts
        old = next((r for r in facts.regions(o.entry.name) if r.box == box), None)
        new = None if old is not None and old.state == state else state
        if new is None and source == "ranked":
            facts.remove_region(o.entry.name, box)
        else:
            facts.mark_region(o.entry.name, box, new, source)
        return f"Region marked {new}" if new else "Region mark cleared"

    def clear_active(self) -> None:
        if self.active is not None:
            self.active = None
            self._show_regions()

    def _fact_changed(self, name: str, fact: str) -> None:
        if fact == "regions" and self.current is not None and name == self.current.entry.name:
            self._show_regions()

    def _show_regions(self) -> None:
        """Outline the slide's marked and drawn regions, and the active one."""
        o = self.current
        facts = self.session.facts
        if o is None or facts is None:
            self.pair.set_regions([])
            return
        active = self.active[0] if self.active else None
        shown = [(r.box, r.state, r.box == active) for r in facts.regions(o.entry.name)]
        if active is not None and not any(b == active for b, _, _ in shown):
            shown.append((active, None, True))
        self.pair.set_regions(shown)

    # -- drawing ---------------------------------------------------------------------------------
    def right_mode(self) -> str | None:
        mode = self.overlay.right_mode()
        o = self.current
        if mode in ("difference", "issues") and (o is None or o.scores_file is None):
            return None  # needs an annotation in the model's classes
        return mode

    def restyle(self) -> None:
        """Colour tables, opacity and visibility from the overlay panel."""
        s = self.session
        if s.ctx is None:
            return
        table = class_table(display_colors(s.ctx.classes), self.overlay.visible())
        contour = self.overlay.contour.isChecked()
        opacity = self.overlay.opacity.value() / 100.0
        left, right = self.pair.views()
        left.table, left.field = table, "contour" if contour else "labels"
        mode = self.right_mode()
        if mode is None:
            right.table, right.field = table, left.field
            if s.model_meta is not None and not s.knows_classes():
                right.table = class_table(display_colors(s.model_meta.classes))
        else:
            right.field = mode
            right.table = {
                "difference": DIFF_TABLE,
                "issues": REVIEW_TABLES["issues"],
                "uncertainty": UNCERTAINTY_TABLE,
            }[mode]
        for view in (left, right):
            view.opacity = opacity
            view.show_overlay = self.overlay.enabled.isChecked()
        self.pair.repaint_views()
        self.titles()

    def titles(self) -> None:
        o = self.current
        if o is None:
            return
        name = o.entry.name
        w, h = o.slide.dimensions
        size = f"{w:,} x {h:,} px, {w * o.slide.mpp / 1000:.1f} x {h * o.slide.mpp / 1000:.1f} mm"
        if o.annotation_problem:
            self.pair.left_title.setText(f"{name} · {size} · {o.annotation_problem}")
        elif o.annotations is None and o.entry.annotation is not None:
            self.pair.left_title.setText(f"{name} · {size} · reading the annotation…")
        elif o.annotations is None:
            self.pair.left_title.setText(f"{name} · {size} · no annotation ({name}.geojson)")
        elif isinstance(o.annotations, SlideAnnotations):
            count = o.annotations.object_count()
            self.pair.left_title.setText(f"{name} · {size} · annotation, {count} objects")
        else:
            ds = o.annotations.downsample
            self.pair.left_title.setText(f"{name} · {size} · annotation: label image at 1/{ds:g}")
        facts = self.session.facts
        scores = facts.scores(name) if facts is not None else None
        if o.plan is None:
            waiting = self.session.model_path is not None and o.n_classes == 0
            self.pair.right_title.setText("Finding the tissue…" if waiting else "No model")
        else:
            done, total, _ = o.progress()
            parts = [f"Prediction ({o.model_path.stem})"]
            mode = self.right_mode()
            if mode is not None:
                parts[0] = {
                    "difference": "Difference (red)",
                    "issues": "Label issues (magenta)",
                    "uncertainty": "Uncertainty (hot: unsure)",
                }[mode]
            if done < total:
                parts.append(f"{done} of {total} tissue tiles")
            if scores is not None:
                parts.append(f"mIoU {scores.miou:.3f}")
            self.pair.right_title.setText(" · ".join(parts))
        heading = name if scores is not None else f"{name}: no scores yet"
        if self.session.ctx is not None:
            self.scores.slide.show_scores(scores, self.session.ctx.classes, heading)

    def hover(self, x: int, y: int) -> str:
        """The status bar's text for level-0 pixel ``(x, y)``: where, and the classes there."""
        o = self.current
        if o is None:
            return ""
        w, h = o.slide.dimensions
        if not (0 <= x < w and 0 <= y < h):
            return ""
        names = self.session.ctx.classes.names
        parts = [f"x {x}, y {y} ({x * o.slide.mpp / 1000:.2f}, {y * o.slide.mpp / 1000:.2f} mm)"]
        for view, what in zip(self.pair.views(), ("annotation", "prediction"), strict=True):
            from seggui.gui.wsi.view import overlay_scale

            scale = overlay_scale(view.downsample())
            size = VIEW_TILE * scale
            layers = self.cache.get((view.overlay, scale, int(x // size), int(y // size)))
            if layers is None:
                continue
            v = int(layers["labels"][int(y % size // scale), int(x % size // scale)])
            if v < len(names):
                parts.append(f"{what}: {names[v]}")
        return " · ".join(parts)

    def stop(self) -> None:
        self.leave()
        for worker in (self.images, self.overlays, self.predictions):
            worker.stop()
        for worker in (self.images, self.overlays, self.predictions):
            worker.wait(10000)

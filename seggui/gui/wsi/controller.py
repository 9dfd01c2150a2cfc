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
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from seggui.core.cancel import Cancelled
from seggui.core.imageio import SlideFileError
from seggui.core.metrics import Scores, confusion
from seggui.core.overlay import contour_layer
from seggui.core.slides import WholeSlideFile
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import Session
from seggui.gui.viewer.overlay_panel import OverlayPanel
from seggui.gui.workers import LatestWorker
from seggui.gui.wsi.cache import TileCache
from seggui.gui.wsi.display import WholeSlideDisplay
from seggui.gui.wsi.opening import (
    SAVE_EVERY,
    OpenSlide,
    close_annotations,
    open_whole_slide,
    prepare_whole_slide,
    qimage,
)
from seggui.gui.wsi.regions import RegionsController
from seggui.gui.wsi.view import VIEW_TILE, WholeSlidePair


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
        self.regions = RegionsController(session, pair, feedback, lambda: self.current)
        self.display = WholeSlideDisplay(
            session, pair, overlay, scores, self.cache, lambda: self.current
        )
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
        session.model_changed.connect(self.reopen)

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
            close_annotations(self.current)
        self.current = None
        self.cache.clear()
        self.regions.reset()

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
        self.pair.set_slide(levels, qimage(o.thumb))
        self.display.restyle()
        self.regions.show()
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
            close_annotations(o)  # prepared for a slide left meanwhile
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
            self.regions.rank()
            self._update_scores()
        self.display.restyle()
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
        image = qimage(o.slide.read_region(level, x, y, w, h))
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
        self.regions.rank()
        self.feedback.task(
            "" if finished else f"Predicting {o.entry.name}: {done} of {total} tissue tiles"
        )
        self.display.titles()
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

    def stop(self) -> None:
        self.leave()
        for worker in (self.images, self.overlays, self.predictions):
            worker.stop()
        for worker in (self.images, self.overlays, self.predictions):
            worker.wait(10000)

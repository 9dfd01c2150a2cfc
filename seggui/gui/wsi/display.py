"""What the whole-slide views show: colour tables, opacity and the right view's layer from
the overlay panel, the titles, the slide's scores table and the hover text (the whole-slide
counterpart of :mod:`seggui.gui.viewer.display`), and the slide's resolution as the user
sets it."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import QInputDialog, QWidget

from seggui.core.annotations import SlideAnnotations
from seggui.core.classes import display_colors
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import Session
from seggui.gui.viewer.canvas import DIFF_TABLE, REVIEW_TABLES, class_table
from seggui.gui.viewer.overlay_panel import OverlayPanel
from seggui.gui.wsi.cache import TileCache
from seggui.gui.wsi.opening import OpenSlide
from seggui.gui.wsi.view import VIEW_TILE, WholeSlidePair, overlay_scale

#: The uncertainty colours with 255 (nothing predicted there) transparent.
UNCERTAINTY_TABLE = [*REVIEW_TABLES["uncertainty"][:255], 0]


class WholeSlideDisplay:
    """Styles, titles and hover text of the whole-slide views."""

    def __init__(
        self,
        session: Session,
        pair: WholeSlidePair,
        overlay: OverlayPanel,
        scores: ScoresPanel,
        cache: TileCache,
        current: Callable[[], OpenSlide | None],
    ):
        self.session, self.pair, self.overlay, self.scores = session, pair, overlay, scores
        self.cache, self.current = cache, current

    def right_mode(self) -> str | None:
        mode = self.overlay.right_mode()
        o = self.current()
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
        o = self.current()
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
        o = self.current()
        if o is None:
            return ""
        w, h = o.slide.dimensions
        if not (0 <= x < w and 0 <= y < h):
            return ""
        names = self.session.ctx.classes.names
        parts = [f"x {x}, y {y} ({x * o.slide.mpp / 1000:.2f}, {y * o.slide.mpp / 1000:.2f} mm)"]
        for view, what in zip(self.pair.views(), ("annotation", "prediction"), strict=True):
            scale = overlay_scale(view.downsample())
            size = VIEW_TILE * scale
            layers = self.cache.get((view.overlay, scale, int(x // size), int(y // size)))
            if layers is None:
                continue
            v = int(layers["labels"][int(y % size // scale), int(x % size // scale)])
            if v < len(names):
                parts.append(f"{what}: {names[v]}")
        return " · ".join(parts)

    def ask_mpp(self, parent: QWidget, apply: Callable[[float], None]) -> None:
        """Ask for the microns per pixel of the slide shown (its file may not say them)."""
        o = self.current()
        if o is None:
            self.pair.left_title.setText("Choose a whole slide in the list first")
            return
        known = "from the file" if o.slide.mpp_known else "assumed: the file does not say"
        value, ok = QInputDialog.getDouble(
            parent,
            "Whole slide's resolution",
            f"{o.entry.name}: microns per pixel at full resolution ({known})",
            o.slide.mpp,
            0.01,
            100.0,
            4,
        )
        if ok:
            apply(value)

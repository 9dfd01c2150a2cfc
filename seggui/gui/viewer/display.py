"""What the two views show for the current slide: which layers, their colours and titles.

Showing a slide hands arrays to the canvases' layers (nothing is blended); changing the
overlay settings only changes colour tables, opacities and visibility.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QTimer

from seggui.core.classes import display_colors
from seggui.core.facts import SlideFacts
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import Session
from seggui.gui.viewer.canvas import DIFF_TABLE, REVIEW_TABLES, ViewPair, class_table
from seggui.gui.viewer.overlay_panel import OverlayPanel

RIGHT_TITLES = {
    "difference": "Difference (red)",
    "issues": "Label issues (magenta)",
    "uncertainty": "Uncertainty (hot: unsure)",
}
RIGHT_HINTS = {
    "difference": "Red where prediction and annotation disagree",
    "issues": "Magenta where the model confidently disagrees with the annotation",
    "uncertainty": "Hot where the two likeliest classes are close",
}


def quality_facts(facts: SlideFacts, name: str) -> str:
    """E.g. " · label quality 0.912 · audit mIoU 0.877 · uncertainty 0.120", leaving out what
    is not known (a slide without a mask has no label quality; no audit, no audit score)."""
    parts = []
    q, a = facts.quality(name), facts.audit(name)
    if q is not None and not math.isnan(q.label_quality):
        parts.append(f"label quality {q.label_quality:.3f}")
    if a is not None and not math.isnan(a.miou):
        parts.append(f"audit mIoU {a.miou:.3f}")
    if q is not None and not math.isnan(q.uncertainty):
        parts.append(f"uncertainty {q.uncertainty:.3f}")
    return "".join(f" · {p}" for p in parts)


class SlideDisplay:
    """Keeps the views, their titles and the slide's score table in step with the session."""

    def __init__(
        self, views: ViewPair, session: Session, overlay: OverlayPanel, scores: ScoresPanel
    ):
        self.views = views
        self.session = session
        self.overlay = overlay
        self.scores = scores
        self._last_name: str | None = None
        self._table_key = None
        self._table: list[int] = []
        session.opened.connect(self.reset)
        session.shown_changed.connect(self.render)
        session.model_changed.connect(self.render)

    def reset(self, _ctx=None) -> None:
        self._last_name = None

    def _failure(self, name: str) -> str | None:
        """Why the slide cannot be shown, if it cannot."""
        s = self.session
        slide = s.ctx.scan.get(name) if s.ctx else None
        if slide is not None and not slide.usable:
            return slide.problem_text()
        return s.facts.late_problem(name) if s.facts is not None else None

    def render(self) -> None:
        """Show the current slide as the session has it (the one way a slide is drawn)."""
        s = self.session
        name = s.current
        left, right = self.views.left, self.views.right
        loaded = s.loaded.get(name) if name else None
        if loaded is None:
            left.set_pixmap(None)
            right.set_pixmap(None)
            failed = self._failure(name) if name else None
            text = f"{name}: {failed}" if failed else (f"Loading {name}…" if name else "")
            self.views.left_title.setText(text)
            self.views.right_title.setText("")
            return
        pixmap = s.pixmap(loaded)
        left.set_pixmap(pixmap)
        right.set_pixmap(pixmap)
        annotation, contour = s.annotation(name)
        left.mask.set_array(annotation)
        left.contour.set_array(contour)
        pred = s.predictions.get(name)
        right.mask.set_array(pred.labels if pred is not None else None)
        right.contour.set_array(pred.contour if pred is not None else None)
        self.restyle()
        if name != self._last_name:  # each slide is shown fitted, whatever the last one was
            self._last_name = name
            self.views.fit()
            QTimer.singleShot(0, self.views.fit)  # again once the layout has settled
        self.titles()

    def titles(self) -> None:
        """The views' titles and the slide's scores (after a render or an edit)."""
        s = self.session
        name = s.current
        loaded = s.loaded.get(name) if name else None
        if loaded is None:
            return
        annotation, _ = s.annotation(name)
        edit = s.edits.get(name)
        if annotation is not None:
            state = " (edited, not saved yet)" if edit is not None and edit.dirty else ""
            corrected = " · corrected" if s.facts.is_corrected(name) else ""
            self.views.left_title.setText(f"{name} · annotation{corrected}{state}")
        else:
            why = loaded.mask_problem or "no annotation mask (prediction only)"
            self.views.left_title.setText(f"{name} · {why}")
        pred = s.predictions.get(name)
        scores = s.scores(name)
        self.views.right_title.setToolTip("")
        if pred is None:
            self.views.right_title.setText("Predicting…" if s.model_path else "No model")
        elif self._right_mode() is not None:
            self.views.right_title.setText(
                RIGHT_TITLES[self._right_mode()] + quality_facts(s.facts, name)
            )
            self.views.right_title.setToolTip(RIGHT_HINTS[self._right_mode()])
        else:
            extra = f" · mIoU {scores.miou:.3f}" if scores is not None else ""
            self.views.right_title.setText(f"Prediction ({s.model_path.stem}){extra}")
        self.scores.slide.show_scores(
            scores,
            s.ctx.classes,
            name if scores is not None else f"{name}: no scores (needs a mask and a prediction)",
        )

    def _right_mode(self) -> str | None:
        """The review layer the right view shows (None: the prediction)."""
        s = self.session
        mode = self.overlay.right_mode()
        if mode is None or s.current not in s.predictions:
            return None
        return mode if s.review_layer(s.current, mode) is not None else None

    def restyle(self) -> None:
        """Apply the overlay settings: colour tables, opacity, which layers are visible."""
        s = self.session
        if s.ctx is None:
            return
        visible = self.overlay.visible()
        colors = display_colors(s.ctx.classes)
        key = (tuple(visible.tolist()), colors.tobytes())
        if key != self._table_key:
            self._table_key = key
            self._table = class_table(colors, visible)
        show = self.overlay.enabled.isChecked()
        contour = self.overlay.contour.isChecked()
        opacity = self.overlay.opacity.value() / 100.0
        mode = self._right_mode()
        difference = mode is not None
        right = self.views.right
        right.diff.set_array(s.review_layer(s.current, mode) if difference else None)
        right.diff.set_table(REVIEW_TABLES.get(mode, DIFF_TABLE))
        right.diff.setVisible(difference)
        for canvas, plain in ((self.views.left, True), (right, not difference)):
            table = self._table if canvas is self.views.left else self._prediction_table()
            canvas.mask.set_table(table)
            canvas.contour.set_table(table)
            canvas.mask.setOpacity(opacity)
            canvas.mask.setVisible(show and plain and not contour)
            canvas.contour.setVisible(show and plain and contour)

    def _prediction_table(self) -> list[int]:
        """The folder's colours, or the model's own when its classes are not the folder's."""
        s = self.session
        if s.model_meta is None or s.knows_classes():
            return self._table
        return class_table(display_colors(s.model_meta.classes))

    def hover(self, x: int, y: int) -> str:
        s = self.session
        loaded = s.loaded.get(s.current) if s.current else None
        if loaded is None or not (
            0 <= y < loaded.image.shape[0] and 0 <= x < loaded.image.shape[1]
        ):
            return ""
        names = s.ctx.classes.names
        parts = [f"x {x}, y {y}"]
        annotation, _ = s.annotation(s.current)
        if annotation is not None:
            parts.append(f"annotation: {names[annotation[y, x]]}")
        pred = s.predictions.get(s.current)
        if pred is not None:
            k = int(pred.labels[y, x])
            if s.model_meta is not None and not s.knows_classes():
                names = s.model_meta.classes.names  # the model's own classes
            label = names[k] if k < len(names) else f"class {k}"
            parts.append(f"prediction: {label} ({pred.confidence[y, x]:.0%})")
        return " · ".join(parts)

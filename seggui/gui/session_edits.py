"""Mask edits of the open folder: starting an edit, keeping the derived layers and the scores
in step with it, saving off the UI thread, and going back to the original."""

from __future__ import annotations

import numpy as np

from seggui.core.editing import Box, EditableMask
from seggui.core.mask_store import MaskFormat, SaveResult
from seggui.core.metrics import confusion
from seggui.core.overlay import contour_layer, update_contour


class EditsMixin:
    """Part of :class:`~seggui.gui.session.Session` (which holds the state it works on)."""

    # -- editing ---------------------------------------------------------------------------------
    def edit_for(self, name: str | None) -> EditableMask | None:
        """The slide's editable mask, started from the loaded one on first use."""
        if name is None or self.ctx is None:
            return None
        edit = self.edits.get(name)
        if edit is not None:
            return edit
        loaded = self.loaded.get(name)
        if loaded is None or loaded.mask is None or loaded.base is None:
            return None
        edit = EditableMask(loaded.mask, len(self.ctx.classes))
        base = loaded.base
        self.ctx.masks.track(name, base.path, base.stamp, base.fmt)
        return self._start_edit(name, edit, loaded.contour)

    def _start_edit(self, name: str, edit: EditableMask, contour: np.ndarray | None):
        self.edits[name] = edit
        self._contours[name] = contour.copy() if contour is not None else contour_layer(edit.labels)
        for mode in ("difference", "issues", "uncertainty"):
            self._diffs.pop((name, mode), None)
        return edit

    def new_mask_from_prediction(self, name: str) -> EditableMask | None:
        """Start a mask for a slide that has none, from the current prediction."""
        slide = self.ctx.scan.get(name) if self.ctx else None
        pred = self.predictions.get(name)
        if slide is None or slide.has_mask or pred is None or name in self.edits:
            return None
        n = len(self.ctx.classes)
        edit = EditableMask(np.minimum(pred.labels, n - 1), n, saved=False)
        self.ctx.masks.track(name, None, None, MaskFormat.new(self.ctx.classes))
        self._start_edit(name, edit, None)
        self.records.make_eligible(name)
        self._set_scores(name, self._compare(edit.labels, pred.labels))
        self.shown_changed.emit()
        return edit

    def layers_changed(self, name: str, box: Box | None) -> None:
        """Bring the contour and difference layers up to date after an edit of ``box``."""
        if box is None or name not in self.edits:
            return
        edit = self.edits[name]
        update_contour(self._contours[name], edit.labels, box)
        pred = self.predictions.get(name)
        if pred is None:
            return
        y0, y1, x0, x1 = box
        for mode in ("difference", "issues"):
            hit = self._diffs.get((name, mode))
            if hit is not None:
                hit[1][y0:y1, x0:x1] = self._compute_layer(mode, edit.labels, pred, box)
                self._diffs[(name, mode)] = (
                    (id(edit.labels), edit.version, pred.model_key),
                    hit[1],
                )

    def rescore(self, name: str, box: Box, before: np.ndarray, after: np.ndarray) -> None:
        """Update the slide's scores by an edit's change alone (the box's old and new values)."""
        edit = self.edits.get(name)
        pred = self.predictions.get(name)
        if edit is None or not self._scorable_against(pred, edit.shape):
            return
        if name not in self.records:
            self._set_scores(name, self._compare(edit.labels, pred.labels))
            return
        n = len(self.ctx.classes)
        y0, y1, x0, x1 = box
        p = pred.labels[y0:y1, x0:x1]
        scores = self.records.add_delta(name, confusion(after, p, n) - confusion(before, p, n))
        self.slide_list.model.set_score(name, scores.miou)
        self.audit.pop(name, None)  # the audit scored the mask as it was
        self._set_quality(name, self._quality(pred, edit.labels))
        self._schedule_totals()

    # -- saving ----------------------------------------------------------------------------------
    def save(self, name: str | None) -> bool:
        """Save the slide's edited mask off the UI thread if it changed; True if queued."""
        edit = self.edits.get(name) if name else None
        slide = self.ctx.scan.get(name) if (self.ctx and name) else None
        if edit is None or slide is None or not edit.dirty:
            return False
        edit.end_stroke()
        snapshot = edit.labels.copy()
        edit.mark_saved()
        masks, reviews = self.ctx.masks, self.reviews

        def write() -> tuple[SaveResult, str | None]:
            result = masks.save(slide, snapshot)
            fixed = (
                not result.conflict
                and reviews is not None
                and reviews.get(name).state == "needs fix"
            )
            return result, reviews.set(name, "corrected").state if fixed else None

        self.saver.submit((self.generation, name), write)
        self.task.emit(f"Saving {name}…")
        return True

    def save_all(self) -> None:
        for name in list(self.edits):
            self.save(name)

    def _save_done(self, tag, done: tuple[SaveResult, str | None]) -> None:
        generation, name = tag
        result, review = done
        self.task.emit("")
        if generation != self.generation or self.ctx is None or self._closed:
            return  # saved for a folder no longer open: the file is written, nothing to show
        if result.conflict:
            self.error.emit("Mask not overwritten", f"{name}: {result.message}")
            return
        self.ctx.masks.adopt(self.ctx.scan.get(name), result)
        self.slide_list.model.set_corrected(name, True)
        if review is not None:
            self.slide_list.model.set_review(name, review)
        self.status.emit(f"{name}: {result.message}")
        self.saved.emit(name)

    def _save_failed(self, tag, message: str) -> None:
        generation, name = tag
        self.task.emit("")
        edit = self.edits.get(name) if generation == self.generation else None
        if edit is not None:
            edit.mark_unsaved()
        self.error.emit("Mask not saved", f"{name}: {message}")

    def revert(self, name: str) -> None:
        """Bring back the slide's original mask and forget its edits."""
        slide = self.ctx.scan.get(name) if self.ctx else None
        if slide is None or not self.ctx.masks.is_corrected(name):
            return
        self.saver.flush()
        self.ctx.masks.revert(slide)
        for cache in (self.edits, self._contours, self.loaded):
            cache.pop(name, None)
        for mode in ("difference", "issues", "uncertainty"):
            self._diffs.pop((name, mode), None)
        self.slide_list.model.set_corrected(name, False)
        self.records.set(name, None)
        self.loader.forget([name])
        self.predictor.forget([name])
        self.predictions.pop(name, None)
        self.show(name)
        self.status.emit(f"{name}: original mask restored")

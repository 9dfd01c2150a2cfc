"""Mask edits of the open folder: starting an edit, keeping the derived layers and the scores
in step with it, saving off the UI thread, and going back to the original.

Owned by the :class:`~seggui.gui.session.session.Session`; the editable masks, their contour
layers and the queue of saves live here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from seggui.core.editing import Box, EditableMask
from seggui.core.mask_store import MaskFormat, SaveResult
from seggui.core.metrics import confusion
from seggui.core.overlay import contour_layer, update_contour
from seggui.core.review import Review, corrected_after_save

if TYPE_CHECKING:
    from seggui.gui.session.session import Session

log = logging.getLogger(__name__)
CLOSE_WAIT_S = 30.0  # the longest the window waits for pending saves when it closes


class MaskEdits:
    """The open folder's editable masks and their saving."""

    def __init__(self, session: Session):
        self.session = session
        self._edits: dict[str, EditableMask] = {}
        self._contours: dict[str, np.ndarray] = {}
        session.saver.done.connect(self._save_done)
        session.saver.failed.connect(self._save_failed)

    def clear(self) -> None:
        self._edits.clear()
        self._contours.clear()

    def get(self, name: str | None) -> EditableMask | None:
        return self._edits.get(name) if name else None

    def __contains__(self, name: str) -> bool:
        return name in self._edits

    def __getitem__(self, name: str) -> EditableMask:
        return self._edits[name]

    def names(self) -> list[str]:
        return list(self._edits)

    def annotation(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        edit = self._edits.get(name)
        return None if edit is None else (edit.labels, self._contours[name])

    # -- editing ---------------------------------------------------------------------------------
    def edit_for(self, name: str | None) -> EditableMask | None:
        """The slide's editable mask, started from the loaded one on first use."""
        s = self.session
        if name is None or s.ctx is None:
            return None
        edit = self._edits.get(name)
        if edit is not None:
            return edit
        loaded = s.loaded.get(name)
        if loaded is None or loaded.mask is None or loaded.base is None:
            return None
        edit = EditableMask(loaded.mask, len(s.ctx.classes))
        base = loaded.base
        s.ctx.masks.track(name, base.path, base.stamp, base.fmt)
        return self._start(name, edit, loaded.contour)

    def _start(self, name: str, edit: EditableMask, contour: np.ndarray | None):
        self._edits[name] = edit
        self._contours[name] = contour.copy() if contour is not None else contour_layer(edit.labels)
        self.session.forget_layers(name)
        return edit

    def new_mask_from_prediction(self, name: str) -> EditableMask | None:
        """Start a mask for a slide that has none, from the current prediction."""
        s = self.session
        slide = s.ctx.scan.get(name) if s.ctx else None
        pred = s.predictions.get(name)
        if slide is None or slide.has_mask or pred is None or name in self._edits:
            return None
        n = len(s.ctx.classes)
        edit = EditableMask(np.minimum(pred.labels, n - 1), n, saved=False)
        s.ctx.masks.track(name, None, None, MaskFormat.new(s.ctx.classes))
        self._start(name, edit, None)
        s.facts.records.make_eligible(name)
        s.facts.set_scores(name, s.compare(edit.labels, pred.labels))
        s.shown_changed.emit()
        return edit

    def layers_changed(self, name: str, box: Box | None) -> None:
        """Bring the contour and review layers up to date after an edit of ``box``."""
        edit = self._edits.get(name)
        if box is None or edit is None:
            return
        update_contour(self._contours[name], edit.labels, box)
        self.session.patch_layers(name, box, edit.labels, edit.version)

    def rescore(self, name: str, box: Box, before: np.ndarray, after: np.ndarray) -> None:
        """Update the slide's scores by an edit's change alone (the box's old and new values)."""
        s = self.session
        edit = self._edits.get(name)
        pred = s.predictions.get(name)
        if edit is None or pred is None or pred.labels.shape != edit.shape:
            return
        if not s.knows_classes():
            return
        facts = s.facts
        facts.mask_edited(name)
        if name not in facts.records:
            facts.set_scores(name, s.compare(edit.labels, pred.labels))
        else:
            n = len(s.ctx.classes)
            y0, y1, x0, x1 = box
            p = pred.labels[y0:y1, x0:x1]
            facts.add_delta(name, confusion(after, p, n) - confusion(before, p, n))
        facts.set_quality(name, s.quality_of(pred, edit.labels))

    # -- saving ----------------------------------------------------------------------------------
    def save(self, name: str | None) -> bool:
        """Save the slide's edited mask off the UI thread if it changed; True if queued."""
        s = self.session
        edit = self._edits.get(name) if name else None
        slide = s.ctx.scan.get(name) if (s.ctx and name) else None
        if edit is None or slide is None or not edit.dirty:
            return False
        edit.end_stroke()
        snapshot = edit.labels.copy()
        edit.mark_saved()
        masks, reviews = s.ctx.masks, s.facts.reviews

        def write() -> tuple[SaveResult, Review | None]:
            result = masks.save(slide, snapshot)
            return result, None if result.conflict else corrected_after_save(reviews, name)

        s.saver.submit((s.generation, name), write)
        s.task.emit(f"Saving {name}…")
        return True

    def save_all(self) -> None:
        for name in list(self._edits):
            self.save(name)

    def wait_for_saves(self) -> bool:
        """Wait for the queued saves (only when the window closes: nothing may be lost)."""
        return self.session.saver.flush(CLOSE_WAIT_S)

    def _save_done(self, tag, done) -> None:
        s = self.session
        if tag[0] == "revert":
            self._reverted(tag[1], done)
            return
        generation, name = tag
        result, review = done
        s.task.emit("")
        if generation != s.generation or s.ctx is None or s._closed:
            return  # saved for a folder no longer open: the file is written, nothing to show
        if result.conflict:
            s.error.emit("Mask not overwritten", f"{name}: {result.message}")
            return
        s.ctx.masks.adopt(s.ctx.scan.get(name), result)
        s.facts.mask_saved(name, review is not None)
        s.status.emit(f"{name}: {result.message}")
        s.saved.emit(name)

    def _save_failed(self, tag, message: str) -> None:
        s = self.session
        kind, name = tag
        s.task.emit("")
        if kind == "revert":
            s.error.emit("Mask not reverted", f"{name}: {message}")
            return
        edit = self._edits.get(name) if kind == s.generation else None
        if edit is not None:
            edit.mark_unsaved()
        s.error.emit("Mask not saved", f"{name}: {message}")

    # -- reverting -------------------------------------------------------------------------------
    def revert(self, name: str) -> None:
        """Bring back the slide's original mask and forget its edits. The file is restored by
        the save queue, after any save of the slide still waiting in it."""
        s = self.session
        slide = s.ctx.scan.get(name) if s.ctx else None
        if slide is None or not s.ctx.masks.is_corrected(name):
            return
        self._edits.pop(name, None)
        self._contours.pop(name, None)
        masks, generation = s.ctx.masks, s.generation

        def restore() -> int:
            masks.revert(slide)
            return generation

        s.saver.submit(("revert", name), restore)

    def _reverted(self, name: str, generation: int) -> None:
        s = self.session
        s.task.emit("")
        if generation != s.generation:
            return
        s.loaded.pop(name, None)
        s.predictions.pop(name, None)
        s.forget_layers(name)
        s.facts.set_scores(name, None)
        s.facts.mask_reverted(name)
        s.loader.forget([name])
        s.predictor.forget([name])
        if name == s.current:
            s.show(name, s.ahead)
        s.status.emit(f"{name}: original mask restored")

"""The window's review marks and notes, and reverting a corrected mask."""

from __future__ import annotations

from PyQt6.QtWidgets import QMessageBox


class ReviewMixin:
    """Part of :class:`~seggui.gui.main_window.MainWindow` (which provides the widgets)."""

    def revert_mask(self) -> None:
        name = self.session.current
        if name is None or self.session.ctx is None:
            return
        if not self.session.ctx.masks.is_corrected(name):
            self.statusBar().showMessage(f"{name}: the mask was never changed", 10000)
            return
        answer = QMessageBox.question(
            self, "Revert mask", f"Bring back the original mask of {name}? Its edits are lost."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.session.revert(name)

    # -- review ----------------------------------------------------------------------------------
    def toggle_mark(self, state: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        self._mark("" if s.reviews.get(s.current).state == state else state)

    def _mark(self, state: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        r = s.reviews.set(s.current, state or None)
        self.review.show_review(r.state, r.note)
        self.slide_list.model.set_review(s.current, r.state)
        self._review_states_changed()

    def _review_states_changed(self) -> None:
        states = self.slide_list.model.reviews
        self.retrain.set_review_states({n: st or None for n, st in states.items()})

    def _note(self, text: str) -> None:
        s = self.session
        if s.current is None or s.reviews is None:
            return
        r = s.reviews.get(s.current)
        if text != r.note:
            s.reviews.set(s.current, r.state, text)

"""Review marks and notes of the current slide, and reverting a corrected mask.

Marks go through the session's facts (which store them and tell the list); the panel shows
the current slide's mark and follows any change to it, whoever made it.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QMessageBox, QWidget

from seggui.gui.feedback import Feedback
from seggui.gui.review.panel import ReviewPanel
from seggui.gui.session.session import Session


class ReviewController:
    """Marks, notes and reverts for the session's current slide."""

    def __init__(self, session: Session, panel: ReviewPanel, feedback: Feedback, parent: QWidget):
        self.session, self.panel, self.feedback, self.parent = session, panel, feedback, parent
        panel.marked.connect(self.mark)
        panel.note_edited.connect(self.note)
        session.shown_changed.connect(self.show_current)
        session.fact_changed.connect(self._fact_changed)

    def _fact_changed(self, name: str, fact: str) -> None:
        if fact == "review" and name == self.session.current:
            self.show_current()

    def show_current(self) -> None:
        s = self.session
        if s.current is not None and s.facts is not None:
            r = s.facts.review(s.current)
            self.panel.show_review(r.state, r.note)

    def toggle(self, state: str) -> None:
        """Keys 1-4: set the mark, or clear it when the slide already has it."""
        s = self.session
        if s.current is None or s.facts is None:
            return
        self.mark("" if s.facts.state(s.current) == state else state)

    def mark(self, state: str) -> None:
        s = self.session
        if s.current is not None and s.facts is not None:
            s.facts.mark(s.current, state or None)

    def note(self, text: str) -> None:
        s = self.session
        if s.current is None or s.facts is None:
            return
        r = s.facts.review(s.current)
        if text != r.note:
            s.facts.mark(s.current, r.state, text)

    def revert_mask(self) -> None:
        s = self.session
        name = s.current
        if name is None or s.ctx is None:
            return
        if not s.facts.is_corrected(name):
            self.feedback.status(f"{name}: the mask was never changed")
            return
        answer = QMessageBox.question(
            self.parent,
            "Revert mask",
            f"Bring back the original mask of {name}? Its edits are lost.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            s.edits.revert(name)

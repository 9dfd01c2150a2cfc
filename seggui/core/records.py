"""Per-slide scores of the open folder, with running totals per scope.

The window shows the folder's and the test split's scores while predictions arrive one by
one and while masks are edited; re-summing every slide's confusion matrix per event would
grow with the folder. Here each change updates the totals in O(classes^2).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from seggui.core.metrics import Scores

SCOPES = ("folder", "test")


class ScoreRecords:
    """Confusion matrices per slide and their sums over the folder and the test split."""

    def __init__(self, n_classes: int, test: Iterable[str] = (), eligible: Iterable[str] = ()):
        self.n_classes = n_classes
        self.test = set(test)
        self.eligible = set(eligible)  # slides that can be scored (usable image and mask)
        self._slides: dict[str, Scores] = {}
        self._totals = {scope: self._zero() for scope in SCOPES}
        self._counts = dict.fromkeys(SCOPES, 0)
        self._pool = {"folder": len(self.eligible), "test": len(self.eligible & self.test)}

    def make_eligible(self, name: str) -> None:
        """A slide that got a mask (e.g. a new one from the prediction) can now be scored."""
        if name not in self.eligible:
            self.eligible.add(name)
            for scope in self._scopes(name):
                self._pool[scope] += 1

    def _zero(self) -> np.ndarray:
        return np.zeros((self.n_classes, self.n_classes), np.int64)

    def _scopes(self, name: str) -> tuple[str, ...]:
        return ("folder", "test") if name in self.test else ("folder",)

    def __len__(self) -> int:
        return len(self._slides)

    def __contains__(self, name: str) -> bool:
        return name in self._slides

    def items(self):
        """(name, scores) of every scored slide."""
        return self._slides.items()

    def get(self, name: str) -> Scores | None:
        return self._slides.get(name)

    def set(self, name: str, scores: Scores | None) -> None:
        """Record (or with None, forget) a slide's scores, adjusting the totals."""
        old = self._slides.pop(name, None)
        for scope in self._scopes(name):
            if old is not None:
                self._totals[scope] -= old.confusion
                self._counts[scope] -= 1
            if scores is not None:
                self._totals[scope] += scores.confusion
                self._counts[scope] += 1
        if scores is not None:
            self._slides[name] = scores

    def add_delta(self, name: str, delta: np.ndarray) -> Scores | None:
        """Change a scored slide's confusion by ``delta`` (an edit of part of its mask)."""
        old = self._slides.get(name)
        if old is None:
            return None
        scores = Scores.from_confusion(old.confusion + delta)
        self._slides[name] = scores
        for scope in self._scopes(name):
            self._totals[scope] += delta
        return scores

    def clear(self) -> None:
        self._slides.clear()
        self._totals = {scope: self._zero() for scope in SCOPES}
        self._counts = dict.fromkeys(SCOPES, 0)

    def total(self, scope: str) -> Scores | None:
        """The scope's scores so far (None before any slide of it is scored)."""
        return Scores.from_confusion(self._totals[scope].copy()) if self._counts[scope] else None

    def count(self, scope: str) -> tuple[int, int]:
        """Slides scored, and slides that can be scored, in ``scope``."""
        return self._counts[scope], self._pool[scope]

    def recount(self) -> dict[str, np.ndarray]:
        """The totals summed afresh from the slides (to check the running ones)."""
        out = {scope: self._zero() for scope in SCOPES}
        for name, scores in self._slides.items():
            for scope in self._scopes(name):
                out[scope] += scores.confusion
        return out

    def totals(self) -> dict[str, np.ndarray]:
        return {scope: t.copy() for scope, t in self._totals.items()}

"""Every fact the window shows about the open folder's slides, each kept in one place.

Scores (confusion matrices with running totals) live in :class:`ScoreRecords`; label
quality from the active model (in sample) and from an audit (out of sample) here, side by
side; review marks (of slides, and of whole slides' regions) in the :class:`ReviewStore`;
a whole slide's running scores and prediction progress here, apart from the folder's
totals; whether a mask was corrected in the
:class:`MaskStore`; problems found after the scan (a slide that failed to load or predict)
here. Whoever changes a fact does it through this object, which tells its listeners
``(name, fact)``, where fact is "score", "quality", "review", "regions", "corrected" or
"problem";
the slide list, the panels and the CSV read from it and keep no copies.

An edit drops the slide's audit score here (the audit scored the old mask); the rule that a
saved correction of a "needs fix" slide makes it "corrected" is
:func:`~seggui.core.review.corrected_after_save`, applied where the mask is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from seggui.core.folder import FolderContext
from seggui.core.metrics import Scores
from seggui.core.quality import SlideQuality
from seggui.core.ranking import mean_rank
from seggui.core.records import ScoreRecords
from seggui.core.review import Review, ReviewStore

#: The audit's scores that join the Both column where it kept them, each with the sign that
#: makes low mean suspicious (a larger issue region is worse).
BOTH_EXTRAS = (("edge_fit", 1.0), ("forest_miou", 1.0), ("issue_region", -1.0))

Listener = Callable[[str, str], None]


class SlideFacts:
    """The per-slide facts of one open folder, with change notifications."""

    def __init__(self, ctx: FolderContext, reviews: ReviewStore):
        self.ctx = ctx
        self.reviews = reviews
        self.records = ScoreRecords(
            len(ctx.classes), ctx.split.test, [s.name for s in ctx.slides if s.scorable]
        )
        self._quality: dict[str, SlideQuality] = {}  # in sample, from the active model
        self._audit: dict[str, SlideQuality] = {}  # out of sample, from "Audit labels"
        self._problems: dict[str, str] = {}
        # Whole slides: scored apart from the folder's totals (one slide outweighs thousands of
        # tiles), with how far their prediction has gone while it runs.
        self._whole: dict[str, Scores] = {}
        self._progress: dict[str, str] = {}
        self._test, self._train = set(ctx.split.test), set(ctx.split.train)
        self._listeners: list[Listener] = []
        self._both: dict[str, float] | None = None  # derived from scores and audit, on demand

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _tell(self, name: str, fact: str) -> None:
        if fact in ("score", "quality"):
            self._both = None
        for listener in self._listeners:
            listener(name, fact)

    # -- scores ----------------------------------------------------------------------------------
    def scores(self, name: str | None) -> Scores | None:
        if not name:
            return None
        return self.records.get(name) or self._whole.get(name)

    def miou(self, name: str) -> float | None:
        s = self.scores(name)
        return None if s is None or math.isnan(s.miou) else s.miou

    def set_whole_scores(self, name: str, scores: Scores | None) -> None:
        """A whole slide's running scores (its tiles' confusion so far), not in the totals."""
        if scores is None:
            self._whole.pop(name, None)
        else:
            self._whole[name] = scores
        self._tell(name, "score")

    def progress(self, name: str) -> str | None:
        """How far a whole slide's prediction has gone (e.g. "37%"), while it runs."""
        return self._progress.get(name)

    def set_progress(self, name: str, text: str | None) -> None:
        if text is None:
            self._progress.pop(name, None)
        else:
            self._progress[name] = text
        self._tell(name, "score")

    def set_scores(self, name: str, scores: Scores | None) -> None:
        self.records.set(name, scores)
        self._tell(name, "score")

    def add_delta(self, name: str, delta: np.ndarray) -> Scores | None:
        """An edit changed part of the mask: its confusion changes by ``delta``."""
        scores = self.records.add_delta(name, delta)
        self._tell(name, "score")
        return scores

    def forget_model(self) -> None:
        """A new model: every score and in-sample quality of the old one is gone."""
        names = {name for name, _ in self.records.items()} | set(self._quality) | set(self._whole)
        self.records.clear()
        self._quality.clear()
        self._whole.clear()
        self._progress.clear()
        for name in names:
            self._tell(name, "score")
            self._tell(name, "quality")

    # -- label quality ---------------------------------------------------------------------------
    def quality(self, name: str) -> SlideQuality | None:
        """In-sample label quality and uncertainty, from the active model."""
        return self._quality.get(name)

    def audit(self, name: str) -> SlideQuality | None:
        """Out-of-sample label quality from the folder's last audit, while it holds."""
        return self._audit.get(name)

    def has_audit(self) -> bool:
        return bool(self._audit)

    def both(self, name: str) -> float | None:
        """The mean of the slide's rank percentiles in the active model's mIoU, in the
        audit's, in its edge fit, in the pixel forest's mIoU and (after a quick audit) in its
        largest issue region (0: worst of the folder in all, 1: best), among the slides that
        have them all; None without an audit. The last three count where the audit kept them
        (an older audit has none)."""
        if not self._audit:
            return None
        if self._both is None:
            audit = {n: q.miou for n, q in self._audit.items()}
            scores = [{n: self.miou(n) for n in audit}, audit]
            for extra, sign in BOTH_EXTRAS:  # where the audit kept them
                values = {n: sign * getattr(q, extra) for n, q in self._audit.items()}
                if not all(math.isnan(v) for v in values.values()):
                    scores.append(values)
            self._both = mean_rank(*scores)
        return self._both.get(name)

    def set_quality(self, name: str, quality: SlideQuality | None) -> None:
        if quality is None:
            self._quality.pop(name, None)
        else:
            self._quality[name] = quality
        self._tell(name, "quality")

    def set_audit(self, results: dict[str, SlideQuality]) -> None:
        old, self._audit = self._audit, dict(results)
        for name in {*old, *self._audit}:
            self._tell(name, "quality")

    def mask_edited(self, name: str) -> None:
        """The audit scored the mask as it was: an edited slide loses its audit score."""
        if self._audit.pop(name, None) is not None:
            self._tell(name, "quality")

    # -- review ----------------------------------------------------------------------------------
    def review(self, name: str) -> Review:
        return self.reviews.get(name)

    def state(self, name: str) -> str | None:
        return self.reviews.get(name).state

    def review_states(self) -> dict[str, str | None]:
        return {name: r.state for name, r in self.reviews.all().items()}

    def mark(self, name: str, state: str | None, note: str | None = None) -> Review:
        review = self.reviews.set(name, state, note)
        self._tell(name, "review")
        return review

    def mark_region(self, name: str, box, state: str | None, source: str):
        """Mark a region of whole slide ``name`` (see :class:`RegionReview`)."""
        region = self.reviews.set_region(name, box, state, source)
        self._tell(name, "regions")
        return region

    def remove_region(self, name: str, box) -> None:
        self.reviews.remove_region(name, box)
        self._tell(name, "regions")

    def regions(self, name: str):
        return self.reviews.regions(name)

    def mask_saved(self, name: str, review_changed: bool) -> None:
        """A correction of ``name`` was saved (and :func:`corrected_after_save` applied)."""
        self._tell(name, "corrected")
        if review_changed:
            self._tell(name, "review")

    def mask_reverted(self, name: str) -> None:
        self._tell(name, "corrected")

    def is_corrected(self, name: str) -> bool:
        return self.ctx.masks.is_corrected(name)

    # -- split and problems ----------------------------------------------------------------------
    def part(self, name: str) -> str:
        return "test" if name in self._test else "train" if name in self._train else ""

    def add_problem(self, name: str, text: str) -> None:
        self._problems[name] = text
        self._tell(name, "problem")

    def late_problem(self, name: str) -> str | None:
        """A problem found after the scan (the slide failed to load or to predict)."""
        return self._problems.get(name)

    def problem(self, name: str) -> str:
        """Everything wrong with the slide: from the scan, and found since."""
        slide = self.ctx.scan.get(name)
        found = slide.problem_text() if slide is not None else ""
        return "; ".join(p for p in (found, self._problems.get(name)) if p)

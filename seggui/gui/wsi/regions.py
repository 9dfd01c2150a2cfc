"""Regions of the open whole slide: its model tiles ranked by disagreement with the
annotation (N / Shift+N step through them), regions the reviewer draws, and the review
marks on them (keys 1-4 while one is active), kept in the session's facts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seggui.gui.session.session import Session
from seggui.gui.wsi.opening import OpenSlide
from seggui.gui.wsi.view import WholeSlidePair

REGION_MIN_ANNOTATED = 0.05  # a region is ranked when this share of it is annotated
Box = tuple[float, float, float, float]


class RegionsController:
    """The ranking, the active region and the outlines of the slide's regions."""

    def __init__(
        self,
        session: Session,
        pair: WholeSlidePair,
        feedback,
        current: Callable[[], OpenSlide | None],
    ):
        self.session, self.pair, self.feedback, self.current = session, pair, feedback, current
        self.ranked: list[tuple[float, Box]] = []  # (share disagreeing, level-0 box), worst first
        self.index = -1
        self.active: tuple[Box, str] | None = None  # box, source ("ranked" or "drawn")
        pair.region_drawn.connect(self.drawn)
        session.fact_changed.connect(self._fact_changed)

    def reset(self) -> None:
        self.ranked, self.index, self.active = [], -1, None
        self.pair.set_regions([])

    def rank(self) -> None:
        """The slide's model tiles by disagreement with the annotation, worst first."""
        o = self.current()
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
        self.ranked = ranked

    def step(self, delta: int) -> str | None:
        """Show the next (or previous) worst region; its description for the status bar."""
        if not self.ranked:
            return None
        self.index = (self.index + delta) % len(self.ranked)
        wrong, box = self.ranked[self.index]
        self.pair.show_box(box)
        self.active = (box, "ranked")
        self.show()
        x0, y0, x1, y1 = (int(v) for v in box)
        return (
            f"Region {self.index + 1} of {len(self.ranked)}: "
            f"{wrong:.0%} of its annotated pixels disagree (x {x0}–{x1}, y {y0}–{y1}); "
            "keys 1-4 mark this region, Esc the slide"
        )

    def drawn(self, box) -> None:
        """The reviewer drew a region: it is kept, and active for marks."""
        o = self.current()
        if o is None or self.session.facts is None:
            return
        self.session.facts.mark_region(o.entry.name, box, None, "drawn")
        self.active = (tuple(float(v) for v in box), "drawn")
        self.show()
        self.feedback.status("Region drawn: keys 1-4 mark it, Esc goes back to the slide")

    def mark_active(self, state: str) -> str | None:
        """Keys 1-4 on the active region: set the mark, or clear it when it has it already.
        Returns a description, or None when no region is active."""
        o = self.current()
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
            self.show()

    def _fact_changed(self, name: str, fact: str) -> None:
        if fact == "regions" and self.current() is not None and name == self.current().entry.name:
            self.show()

    def show(self) -> None:
        """Outline the slide's marked and drawn regions, and the active one."""
        o = self.current()
        facts = self.session.facts
        if o is None or facts is None:
            self.pair.set_regions([])
            return
        active = self.active[0] if self.active else None
        shown = [(r.box, r.state, r.box == active) for r in facts.regions(o.entry.name)]
        if active is not None and not any(b == active for b, _, _ in shown):
            shown.append((active, None, True))
        self.pair.set_regions(shown)

"""Which slides and masks a training run learns from, decided by the review.

Rejected annotations are left out of training and validation; those marked "needs fix" too
unless the user includes them; corrected masks are used as corrected (the folder already
points at them). The same function serves the retrain panel's counts, ``seggui train`` and
the training child, and what it left out goes into the model's metadata. The test split is
never changed by the review, so every model is scored on the same slides; scores without the
rejected test slides are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seggui.core.folder import FolderContext
from seggui.core.review import ReviewStore
from seggui.core.slides import Slide


@dataclass
class Curation:
    """The training slides after the review, and what was left out and why."""

    train: list[Slide]
    test: list[Slide]
    rejected_test: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # name -> review state

    def count(self, state: str) -> int:
        return sum(1 for s in self.left_out.values() if s == state)

    def summary(self) -> str:
        """E.g. "184 training slides: 12 corrected, 5 rejected left out, 3 needing a fix
        left out"."""
        parts = [f"{len(self.corrected)} corrected"]
        if self.count("rejected"):
            parts.append(f"{self.count('rejected')} rejected left out")
        if self.count("needs fix"):
            parts.append(f"{self.count('needs fix')} needing a fix left out")
        head = f"{len(self.train)} training slide{'s' if len(self.train) != 1 else ''}"
        return f"{head}: {', '.join(parts)}"

    def to_json(self) -> dict:
        return {
            "train_slides": len(self.train),
            "corrected": sorted(self.corrected),
            "left_out": dict(sorted(self.left_out.items())),
            "rejected_test_slides": sorted(self.rejected_test),
        }


def curate(
    ctx: FolderContext,
    states: dict[str, str | None] | None = None,
    include_needs_fix: bool = False,
    include_rejected: bool = False,
) -> Curation:
    """The training slides of ``ctx`` given the review ``states`` (read from the folder's
    review store when None)."""
    if states is None:
        store = ReviewStore(ctx.workspace)
        try:
            states = {name: r.state for name, r in store.all().items()}
        finally:
            store.close()
    excluded = set()
    if not include_rejected:
        excluded.add("rejected")
    if not include_needs_fix:
        excluded.add("needs fix")
    train, left_out = [], {}
    for slide in ctx.part("train"):
        state = states.get(slide.name)
        if state in excluded:
            left_out[slide.name] = state
        else:
            train.append(slide)
    test = ctx.part("test")
    return Curation(
        train,
        test,
        rejected_test=[s.name for s in test if states.get(s.name) == "rejected"],
        corrected=[s.name for s in train if ctx.masks.is_corrected(s.name)],
        left_out=left_out,
    )

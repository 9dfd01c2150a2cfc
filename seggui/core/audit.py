"""Audit results: out-of-sample scores per slide, saved in the workspace.

A score on a training slide from a model that learned that slide is optimistic. The audit
trains K models on folds of the non-test slides, each predicting the slides it never saw,
so every slide gets an mIoU and a label quality from a model that did not train on it. It
ranks by that mIoU: of the U-Net's out-of-sample scores it found injected label errors best;
alone it ranked them worse than the active model's in-sample mIoU on average, and with it,
the masks' edge fit and a pixel forest's out-of-fold mIoU better than either (BENCHMARKS.md
sections 32, 42, 43 and 44). The result
is saved with the models' settings and a key over the masks and the split, and reused until
either changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from seggui.core.atomic import atomic_write_text
from seggui.core.curation import curate
from seggui.core.folder import FolderContext
from seggui.core.mask_store import file_stamp
from seggui.core.quality import SlideQuality

AUDIT_FILE = "audit.json"
#: A quick audit's file: beside, never over, a U-Net audit of minutes.
QUICK_AUDIT_FILE = "audit-quick.json"
#: Bumped when a saved score's meaning changes (2: label quality is no longer the softmin;
#: 3: each slide's out-of-sample mIoU, which the audit ranks by).
AUDIT_FORMAT = 3
#: Below this :func:`skill` the fold models learned too little for their ranking to mean
#: anything (BENCHMARKS.md section 25: models at 0.0-0.1 ranked injected errors at chance).
WEAK_SKILL = 0.3


def skill(correct: int, majority: int, total: int) -> float:
    """How much of the error of "the most common annotated class everywhere" the fold
    models removed on the pixels they scored: 1 when every pixel is as annotated, 0 when
    no better than one class everywhere (negative: worse); nan when there is no such error
    (one class only) or nothing was scored."""
    if total <= 0 or majority >= total:
        return float("nan")
    return 1.0 - (total - correct) / (total - majority)


def assign_folds(names: list[str], folds: int, seed: int = 42) -> dict[str, int]:
    """Each name's fold (scikit-learn's shuffled KFold): folds never overlap."""
    names = sorted(names)
    if len(names) < folds:
        raise ValueError(f"{len(names)} slides cannot be split into {folds} folds")
    out: dict[str, int] = {}
    from sklearn.model_selection import KFold  # only an audit needs it

    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, held_out) in enumerate(splitter.split(names)):
        for i in held_out:
            out[names[i]] = k
    return out


class AuditError(ValueError):
    """The folder cannot be audited as asked (too few slides for the folds)."""


@dataclass
class FoldPlan:
    """Which slides one fold learns from and which it scores (names)."""

    k: int
    folds: int
    learn: list[str]
    held_out: list[str]
    test: list[str]


def plan_folds(ctx: FolderContext, folds: int, seed: int) -> list[FoldPlan]:
    """The folds of the non-test slides (every one is scored, rejected ones included; they
    are only kept out of the learning); the test slides are scored by the first fold."""
    rejected = set(curate(ctx, include_needs_fix=True, include_rejected=False).left_out)
    pool = [s.name for s in ctx.part("train")]
    if len(pool) < folds:
        raise AuditError(f"{len(pool)} training slides cannot be split into {folds} folds")
    fold_of = assign_folds(pool, folds, seed)
    test = [s.name for s in ctx.part("test")]
    plans = []
    for k in range(folds):
        learn = [n for n in pool if fold_of[n] != k and n not in rejected]
        if not learn:
            raise AuditError(f"fold {k + 1} has no slides left to learn from")
        held = [n for n in pool if fold_of[n] == k]
        plans.append(FoldPlan(k, folds, learn, held, test if k == 0 else []))
    return plans


def audit_key(ctx: FolderContext) -> str:
    """Changes when any mask or the split changes (then an audit must be run again); the
    same whether the folder was opened by a relative or an absolute path (``seggui audit
    DIR`` and the window)."""
    h = hashlib.sha256(json.dumps(ctx.split.to_json(), sort_keys=True).encode())
    for slide in sorted(ctx.slides, key=lambda s: s.name):
        if slide.scorable:
            path = os.path.abspath(slide.mask_path)
            h.update(f"{slide.name}|{path}|{file_stamp(slide.mask_path)}".encode())
    return h.hexdigest()[:24]


@dataclass
class AuditResult:
    """Out-of-sample facts per slide, which fold scored it, and how the models were made."""

    key: str
    folds: int
    settings: dict
    slides: dict[str, SlideQuality] = field(default_factory=dict)
    fold_of: dict[str, int] = field(default_factory=dict)  # test slides: -1
    model: str = ""
    seconds: float = 0.0
    created: float = field(default_factory=time.time)
    problems: list[dict] = field(default_factory=list)
    #: Over every pixel the fold models scored: those predicted as annotated, those of the
    #: most common annotated class, and all annotated ones.
    pixels: tuple[int, int, int] = (0, 0, 0)

    @property
    def skill(self) -> float:
        """The fold models' :func:`skill` over every pixel they scored."""
        return skill(*self.pixels)

    @property
    def fold_models(self) -> str:
        """What the fold models were: "U-Net" (an audit) or "pixel forest" (a quick audit)."""
        return self.settings.get("fold_models", "U-Net")

    @property
    def quick(self) -> bool:
        return self.fold_models != "U-Net"

    @property
    def weak(self) -> bool:
        """The fold models learned too little for their ranking to be trusted."""
        return not self.skill >= WEAK_SKILL

    def caution(self) -> str:
        """A sentence for the user when :attr:`weak`, else ""."""
        if not self.weak:
            return ""
        correct, majority, total = self.pixels
        if not total:
            return "The fold models scored no annotated pixels: this audit ranks nothing."
        models = "pixel forests" if self.quick else "fold models"
        remedy = "Run the full audit" if self.quick else "Give the audit more time"
        return (
            f"The {models} learned little ({correct / total:.0%} of pixels as annotated; "
            f"the most common class everywhere: {majority / total:.0%}): their ranking is "
            f"unreliable. {remedy}, or sort by mIoU."
        )

    @property
    def uses_edges(self) -> bool:
        """Whether the slides' edge fits rank in the Both column (the folder's masks follow
        their images' edges)."""
        return any(not math.isnan(q.edge_fit) for q in self.slides.values())

    @property
    def uses_forest(self) -> bool:
        """Whether the pixel forest's mIoU ranks in the Both column (it learned enough)."""
        return any(not math.isnan(q.forest_miou) for q in self.slides.values())

    def advice(self) -> str:
        """Which sort to use now, for the user when the audit is not :attr:`weak`."""
        scores = ["the mIoU", "the Audit column" + (" (pixel forests)" if self.quick else "")]
        if self.uses_edges:
            scores.append("the masks' edge fit")
        if self.uses_forest:
            scores.append("a pixel forest's mIoU")
        if any(not math.isnan(q.issue_region) for q in self.slides.values()):
            scores.append("the forests' largest region of disagreement")
        why = "" if self.uses_edges else " (these masks do not follow their images' edges)"
        listed = ", ".join(scores[:-1]) + " and " + scores[-1]
        return f"Sort the list by its Both column, worst first: it ranks by {listed}{why}."

    def ranked(self) -> list[tuple[str, SlideQuality]]:
        """Slides worst first (lowest out-of-sample mIoU); slides without a mask last."""

        def key(item):
            q = item[1].miou
            return (math.isnan(q), q)  # slides without a score last

        return sorted(self.slides.items(), key=key)

    def to_json(self) -> dict:
        return {
            "format": AUDIT_FORMAT,
            "key": self.key,
            "model": self.model,
            "folds": self.folds,
            "settings": self.settings,
            "seconds": self.seconds,
            "created": self.created,
            "skill": None if math.isnan(self.skill) else round(self.skill, 4),
            "pixels": list(self.pixels),
            "slides": [
                {"name": name, **q.to_json(), "fold": self.fold_of.get(name, -1)}
                for name, q in self.ranked()
            ],
            "problems": self.problems,
        }

    @classmethod
    def from_json(cls, data: dict) -> AuditResult:
        slides, fold_of = {}, {}
        for row in data.get("slides", []):
            slides[row["name"]] = SlideQuality(
                float("nan") if row["label_quality"] is None else row["label_quality"],
                row["uncertainty"],
                row["issue_pixels"],
                row.get("out_of_sample", True),
                float("nan") if row.get("softmin") is None else row["softmin"],
                float("nan") if row.get("miou") is None else row["miou"],
                float("nan") if row.get("edge_fit") is None else row["edge_fit"],
                float("nan") if row.get("forest_miou") is None else row["forest_miou"],
                float("nan") if row.get("issue_region") is None else row["issue_region"],
            )
            fold_of[row["name"]] = row.get("fold", -1)
        return cls(
            data["key"],
            data["folds"],
            data.get("settings", {}),
            slides,
            fold_of,
            data.get("model", ""),
            data.get("seconds", 0.0),
            data.get("created", 0.0),
            data.get("problems", []),
            tuple(data.get("pixels", (0, 0, 0))),
        )


def save_audit(workspace: str | Path, result: AuditResult) -> Path:
    """Save ``result`` in the workspace: a quick audit in a file of its own, so that it never
    replaces a U-Net audit that took minutes."""
    path = Path(workspace) / (QUICK_AUDIT_FILE if result.quick else AUDIT_FILE)
    atomic_write_text(path, json.dumps(result.to_json(), indent=1, allow_nan=False))
    return path


def load_audit(ctx: FolderContext) -> AuditResult | None:
    """The folder's saved audit if its masks and split are still those it scored, and its
    scores mean what they mean now: the U-Net audit where one holds (it ran the same pixel
    forests first, where they learned enough), else the quick audit."""
    for name in (AUDIT_FILE, QUICK_AUDIT_FILE):
        try:
            data = json.loads((ctx.workspace / name).read_text(encoding="utf-8"))
            if data.get("format") != AUDIT_FORMAT:
                continue
            result = AuditResult.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if result.key == audit_key(ctx):
            return result
    return None

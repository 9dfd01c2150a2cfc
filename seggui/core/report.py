"""The per-slide scores table (CSV): split, mask, review state, scores and problems."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable

from seggui.core.classes import ClassSet
from seggui.core.metrics import Scores
from seggui.core.quality import SlideQuality
from seggui.core.review import Review
from seggui.core.slides import Slide


def _num(x) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.6f}"


def scores_csv(
    slides: list[Slide],
    classes: ClassSet,
    scores: Callable[[str], Scores | None],
    part: Callable[[str], str],
    problem: Callable[[Slide], str],
    reviews: dict[str, Review],
    quality: Callable[[str], SlideQuality | None] = lambda name: None,
) -> str:
    """One row per slide; empty cells where a slide has no score (yet)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "slide",
            "split",
            "has_mask",
            "corrected",
            "review",
            "note",
            "miou",
            "mean_dice",
            *[f"iou_{c.name}" for c in classes],
            "label_quality",
            "uncertainty",
            "issue_pixels",
            "out_of_sample",
            "softmin",
            "problem",
        ]
    )
    for slide in slides:
        s = scores(slide.name)
        r = reviews.get(slide.name)
        per_class = [_num(v) for v in s.iou] if s is not None else [""] * len(classes)
        q = quality(slide.name)
        facts = (
            [
                _num(q.label_quality),
                _num(q.uncertainty),
                q.issue_pixels,
                int(q.out_of_sample),
                _num(q.softmin),
            ]
            if q is not None
            else ["", "", "", "", ""]
        )
        writer.writerow(
            [
                slide.name,
                part(slide.name),
                int(slide.has_mask),
                int(slide.corrected),
                r.state if r and r.state else "",
                r.note if r else "",
                _num(s.miou) if s else "",
                _num(s.mean_dice) if s else "",
                *per_class,
                *facts,
                problem(slide),
            ]
        )
    return out.getvalue()

"""The per-slide scores table (CSV): split, mask, review state, scores and problems."""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seggui.core.facts import SlideFacts


def _num(x) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.6f}"


def scores_csv(facts: SlideFacts) -> str:
    """One row per slide of the open folder; empty cells where a slide has no score (yet).

    ``label_quality`` and its neighbours are in sample (the active model); ``audit_*`` are out
    of sample, from the folder's last audit, where it still holds (``audit_edge_fit`` needs no
    model: how well the mask's boundaries sit on the image's edges; ``audit_forest_miou``: a
    pixel forest's out-of-fold mIoU, beside the U-Nets'; after a quick audit the forests'
    mIoU is ``audit_miou`` and ``audit_issue_region`` the share of the slide in the forest's
    largest issue region); ``both_rank`` is the mean of the slide's rank percentiles in
    ``miou``, ``audit_miou``, ``audit_edge_fit``, ``audit_forest_miou`` and (reversed)
    ``audit_issue_region``, those the audit has."""
    classes = facts.ctx.classes
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
            "softmin",
            "audit_miou",
            "audit_label_quality",
            "audit_softmin",
            "audit_edge_fit",
            "audit_forest_miou",
            "audit_issue_region",
            "both_rank",
            "problem",
        ]
    )
    for slide in facts.ctx.slides:
        name = slide.name
        s = facts.scores(name)
        r = facts.review(name)
        per_class = [_num(v) for v in s.iou] if s is not None else [""] * len(classes)
        q, a = facts.quality(name), facts.audit(name)
        in_sample = (
            [_num(q.label_quality), _num(q.uncertainty), q.issue_pixels, _num(q.softmin)]
            if q is not None
            else ["", "", "", ""]
        )
        audit = (
            [
                _num(a.miou),
                _num(a.label_quality),
                _num(a.softmin),
                _num(a.edge_fit),
                _num(a.forest_miou),
                _num(a.issue_region),
            ]
            if a is not None
            else [""] * 6
        )
        writer.writerow(
            [
                name,
                facts.part(name),
                int(slide.has_mask),
                int(facts.is_corrected(name)),
                r.state or "",
                r.note,
                _num(s.miou) if s else "",
                _num(s.mean_dice) if s else "",
                *per_class,
                *in_sample,
                *audit,
                _num(facts.both(name)),
                facts.problem(name),
            ]
        )
    return out.getvalue()

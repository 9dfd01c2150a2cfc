"""The open folder's facts: one owner per fact, change events, and the review rules."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from seggui.core.facts import SlideFacts
from seggui.core.folder import open_folder
from seggui.core.mask_store import read_for_edit
from seggui.core.metrics import Scores
from seggui.core.quality import SlideQuality
from seggui.core.report import scores_csv
from seggui.core.review import ReviewStore, corrected_after_save


def _facts(folder):
    ctx = open_folder(folder)
    facts = SlideFacts(ctx, ReviewStore(ctx.workspace))
    told: list[tuple[str, str]] = []
    facts.subscribe(lambda name, fact: told.append((name, fact)))
    return ctx, facts, told


def _rows(facts) -> dict[str, dict]:
    return {r["slide"]: r for r in csv.DictReader(io.StringIO(scores_csv(facts)))}


def test_scores_quality_and_audit_are_kept_apart_and_told(small_demo):
    ctx, facts, told = _facts(small_demo)
    name = ctx.slides[0].name
    truth = np.zeros((4, 4), np.uint8)
    facts.set_scores(name, Scores.compare(truth, truth, len(ctx.classes)))
    facts.set_quality(name, SlideQuality(0.9, 0.1, 0))
    facts.set_audit({name: SlideQuality(0.4, 0.2, 3, out_of_sample=True, miou=0.35)})
    assert told == [(name, "score"), (name, "quality"), (name, "quality")]
    assert facts.quality(name).label_quality == 0.9  # in sample, not replaced by the audit
    assert facts.audit(name).label_quality == 0.4
    row = _rows(facts)[name]
    assert row["label_quality"] == "0.900000" and row["audit_label_quality"] == "0.400000"
    assert row["audit_miou"] == "0.350000"
    assert row["miou"] != "" and float(row["miou"]) == facts.miou(name)
    facts.mask_edited(name)  # the audit scored the old mask
    assert facts.audit(name) is None and told[-1] == (name, "quality")
    facts.forget_model()
    assert facts.scores(name) is None and facts.quality(name) is None
    facts.reviews.close()


def test_a_saved_correction_of_a_needs_fix_slide_becomes_corrected(small_demo):
    ctx, facts, told = _facts(small_demo)
    fixed, other = ctx.split.train[0], ctx.split.train[1]
    facts.mark(fixed, "needs fix", "border")
    facts.mark(other, "accepted")
    assert corrected_after_save(facts.reviews, other) is None  # accepted stays accepted
    slide = ctx.scan.get(fixed)
    base = read_for_edit(slide.mask_path, ctx.classes)
    ctx.masks.track(fixed, base.path, base.stamp, base.fmt)
    result = ctx.masks.save(slide, np.zeros_like(base.labels))
    review = corrected_after_save(facts.reviews, fixed)
    facts.mask_saved(fixed, review is not None)
    assert facts.state(fixed) == "corrected" and facts.review(fixed).note == "border"
    assert facts.is_corrected(fixed) and not result.conflict
    assert (fixed, "corrected") in told and told[-1] == (fixed, "review")
    row = _rows(facts)[fixed]
    assert row["corrected"] == "1" and row["review"] == "corrected"
    facts.reviews.close()
    assert ReviewStore(ctx.workspace).get(fixed).state == "corrected"  # committed


def test_problems_found_later_join_the_scans(small_demo):
    ctx, facts, told = _facts(small_demo)
    name = ctx.slides[1].name
    assert facts.problem(name) == "" and facts.late_problem(name) is None
    facts.add_problem(name, "prediction failed: boom")
    assert facts.problem(name) == "prediction failed: boom" and told == [(name, "problem")]
    assert _rows(facts)[name]["problem"] == "prediction failed: boom"
    facts.reviews.close()


def test_region_marks_are_kept_per_slide_and_told(tmp_path):
    from seggui.core.review import ReviewStore

    store = ReviewStore(tmp_path)
    box = (0.0, 512.0, 512.0, 1024.0)
    store.set_region("wsi", box, "needs fix", "ranked")
    store.set_region("wsi", (5, 5, 50, 50), None, "drawn")
    store.set_region("wsi", box, "corrected", "ranked")
    store.close()
    again = ReviewStore(tmp_path)
    regions = {r.box: r for r in again.regions("wsi")}
    assert regions[box].state == "corrected" and regions[(5.0, 5.0, 50.0, 50.0)].source == "drawn"
    assert again.regions("other") == [] and again.get("wsi").state is None
    again.remove_region("wsi", box)
    assert [r.box for r in again.regions("wsi")] == [(5.0, 5.0, 50.0, 50.0)]
    again.close()


def test_quality_summed_tile_by_tile_equals_the_whole_slides():
    from seggui.core.quality import QualitySums, slide_quality

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), (64, 96))
    probs_u8 = np.round(probs * 255).astype(np.uint8)
    labels = np.argmax(probs_u8, -1).astype(np.uint8)
    top2 = -np.sort(-probs_u8.astype(np.float32) / 255.0, -1)[..., :2]
    margin = top2[..., 0] - top2[..., 1]
    truth = rng.integers(0, 3, (64, 96)).astype(np.uint8)
    truth[:, 80:] = 255  # not annotated: left out of the label scores
    whole = slide_quality(probs_u8[:, :80], labels[:, :80], margin[:, :80], truth[:, :80])
    sums = QualitySums(3)
    for y in range(0, 64, 32):
        for x in range(0, 96, 32):
            tile = (slice(y, y + 32), slice(x, x + 32))
            sums.add(probs_u8[tile], labels[tile], margin[tile], truth[tile])
    got = sums.result()
    assert abs(got.label_quality - whole.label_quality) < 1e-9
    assert got.issue_pixels == whole.issue_pixels
    assert abs(got.softmin - whole.softmin) < 1e-5
    # Uncertainty is over every predicted pixel, annotated or not.
    assert abs(got.uncertainty - (1 - margin.astype(np.float64).mean())) < 1e-6


def test_both_ranks_slides_by_their_mean_rank_in_miou_audit_edge_fit_and_forest(small_demo):
    from seggui.core.ranking import mean_rank, percentile_ranks

    assert percentile_ranks(np.array([3.0, 1.0, 2.0, 2.0, 5.0])).tolist() == [
        0.8,
        0.2,
        0.5,
        0.5,
        1.0,
    ]
    assert mean_rank({"a": 1.0, "b": float("nan")}, {"a": 0.5, "b": 0.1, "c": 0.2}) == {"a": 1.0}

    ctx, facts, _ = _facts(small_demo)
    a, b, c = (s.name for s in ctx.slides[:3])
    truth = np.array([[0, 0], [1, 1]], np.uint8)
    n = len(ctx.classes)
    # In sample: a agrees fully, b half, c not at all.
    facts.set_scores(a, Scores.compare(truth, truth, n))
    facts.set_scores(b, Scores.compare(truth, np.array([[0, 1], [1, 1]], np.uint8), n))
    facts.set_scores(c, Scores.compare(truth, 1 - truth, n))
    assert facts.both(a) is None  # no audit yet
    audit = {a: 0.2, b: 0.9, c: 0.1}  # the fold models find a worse than b

    def set_audit(**extra: dict[str, float]) -> None:
        """The audit's mIoU per slide, and per slide each score in ``extra``."""
        facts.set_audit(
            {
                k: SlideQuality(
                    0.5, 0.1, 0, out_of_sample=True, miou=v, **{f: e[k] for f, e in extra.items()}
                )
                for k, v in audit.items()
            }
        )

    set_audit()
    # a: ranks 3/3 and 2/3; b: 2/3 and 3/3; c: 1/3 and 1/3.
    assert facts.both(c) == pytest.approx(1 / 3)
    assert facts.both(a) == pytest.approx(5 / 6) and facts.both(b) == pytest.approx(5 / 6)
    assert facts.both(ctx.slides[3].name) is None  # no score for it
    assert float(_rows(facts)[c]["both_rank"]) == round(1 / 3, 6)
    facts.set_scores(a, Scores.compare(truth, 1 - truth, n))  # a now fails in sample too
    # a ties with c in sample (ranks 1.5/3 each): a (1.5/3 + 2/3) / 2, c (1.5/3 + 1/3) / 2.
    assert facts.both(a) == pytest.approx(7 / 12) and facts.both(c) == pytest.approx(5 / 12)
    # An audit that scored edge fits ranks by them too: c's boundaries follow the image best.
    edges = {a: 1.1, b: 1.3, c: 1.6}
    set_audit(edge_fit=edges)
    # a (1.5/3 + 2/3 + 1/3) / 3, b (3/3 + 3/3 + 2/3) / 3, c (1.5/3 + 1/3 + 3/3) / 3.
    assert facts.both(a) == pytest.approx(1 / 2)
    assert facts.both(b) == pytest.approx(8 / 9) and facts.both(c) == pytest.approx(11 / 18)
    assert float(_rows(facts)[c]["audit_edge_fit"]) == 1.6
    # The pixel forest's mIoU counts too where the audit scored it (the edge fit left out).
    forest = {a: 0.7, b: 0.3, c: 0.5}
    set_audit(forest_miou=forest)
    # a (1.5/3 + 2/3 + 3/3) / 3, b (3/3 + 3/3 + 1/3) / 3, c (1.5/3 + 1/3 + 2/3) / 3.
    assert facts.both(a) == pytest.approx(13 / 18)
    assert facts.both(b) == pytest.approx(7 / 9) and facts.both(c) == pytest.approx(1 / 2)
    assert float(_rows(facts)[b]["audit_forest_miou"]) == 0.3
    # A quick audit's issue region counts reversed: the larger, the more suspicious.
    region = {a: 0.02, b: 0.30, c: 0.01}
    set_audit(issue_region=region)
    # a (1.5/3 + 2/3 + 2/3) / 3, b (3/3 + 3/3 + 1/3) / 3, c (1.5/3 + 1/3 + 3/3) / 3.
    assert facts.both(a) == pytest.approx(11 / 18)
    assert facts.both(b) == pytest.approx(7 / 9) and facts.both(c) == pytest.approx(11 / 18)
    assert float(_rows(facts)[b]["audit_issue_region"]) == 0.3
    facts.reviews.close()

"""Whether an audit's fold models learned enough for their ranking to mean anything."""

from __future__ import annotations

import math

from seggui.core.audit import WEAK_SKILL, AuditResult, skill


def test_skill_is_the_share_of_the_one_class_baselines_error_removed():
    assert skill(correct=100, majority=60, total=100) == 1.0  # every pixel as annotated
    assert skill(correct=60, majority=60, total=100) == 0.0  # one class everywhere
    assert abs(skill(correct=80, majority=60, total=100) - 0.5) < 1e-12
    assert skill(correct=40, majority=60, total=100) < 0  # worse than one class everywhere
    assert math.isnan(skill(0, 0, 0))  # nothing scored
    assert math.isnan(skill(50, 100, 100))  # one class only: no error to remove


def test_weak_audits_say_so_and_the_facts_survive_saving():
    weak = AuditResult("k", 3, {}, pixels=(535, 520, 1000))
    assert weak.weak and weak.skill < WEAK_SKILL
    text = weak.caution()
    assert "54% of pixels as annotated" in text and "class everywhere: 52%" in text
    strong = AuditResult("k", 3, {}, pixels=(900, 520, 1000))
    assert not strong.weak and strong.caution() == ""
    assert AuditResult("k", 3, {}).weak  # not measured: not trusted
    again = AuditResult.from_json(strong.to_json())
    assert again.pixels == (900, 520, 1000) and again.skill == strong.skill == 1 - 100 / 480
    assert strong.to_json()["skill"] == round(1 - 100 / 480, 4)
    old = strong.to_json()
    del old["skill"], old["pixels"]  # saved before the skill was kept
    assert math.isnan(AuditResult.from_json(old).skill)


def test_the_advice_names_the_scores_both_ranks_by():
    from seggui.core.quality import SlideQuality

    with_edges = {"a": SlideQuality(0.5, 0.1, 0, True, miou=0.4, edge_fit=1.2)}
    result = AuditResult("k", 3, {}, with_edges, pixels=(900, 520, 1000))
    assert result.uses_edges and "Both column" in result.advice()
    assert "edge fit" in result.advice() and "do not follow" not in result.advice()
    again = AuditResult.from_json(result.to_json())
    assert again.slides["a"].edge_fit == 1.2 and again.uses_edges
    assert not result.uses_forest and "forest" not in result.advice()
    without = AuditResult("k", 3, {}, {"a": SlideQuality(0.5, 0.1, 0, True, miou=0.4)})
    assert not without.uses_edges and "do not follow their images' edges" in without.advice()
    forest = {"a": SlideQuality(0.5, 0.1, 0, True, miou=0.4, edge_fit=1.2, forest_miou=0.6)}
    result = AuditResult.from_json(AuditResult("k", 3, {}, forest).to_json())
    assert result.uses_forest and result.slides["a"].forest_miou == 0.6
    assert result.advice() == (
        "Sort the list by its Both column, worst first: it ranks by the mIoU, the Audit "
        "column, the masks' edge fit and a pixel forest's mIoU."
    )

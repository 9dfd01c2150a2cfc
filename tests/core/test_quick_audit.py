"""The quick audit: a pixel forest per fold as the fold models, no TensorFlow."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seggui.core.audit import AuditError, load_audit, save_audit
from seggui.core.cancel import CancelToken
from seggui.core.folder import open_folder
from seggui.core.quick_audit import FOREST_MODELS, PARTITIONS, run_quick_audit
from tests.conftest import run_python


def _write_mask(path, array, palette) -> None:
    out = Image.fromarray(np.asarray(array, np.uint8), "P")
    out.putpalette(palette)
    out.save(path)


def test_broken_masks_rank_worst_and_the_audit_round_trips(demo_folder):
    ctx = open_folder(demo_folder)
    train = sorted(s.name for s in ctx.part("train"))
    by_name = {s.name: s for s in ctx.slides}
    masks = {}
    for name in train:
        with Image.open(by_name[name].mask_path) as im:
            masks[name], palette = np.asarray(im).copy(), im.getpalette()
    # One mask shifted off its tissue, one replaced by another slide's.
    _write_mask(by_name[train[0]].mask_path, np.roll(masks[train[0]], 48, axis=1), palette)
    _write_mask(by_name[train[2]].mask_path, masks[train[1]], palette)
    ctx = open_folder(demo_folder)
    told: list[tuple[int, int]] = []
    result = run_quick_audit(ctx, folds=2, seed=1, progress=lambda d, t: told.append((d, t)))

    assert result.quick and result.fold_models == FOREST_MODELS and not result.weak
    assert result.settings["partitions"] == PARTITIONS
    scorable = {s.name for s in ctx.slides if s.scorable}
    assert set(result.slides) == scorable
    assert all(q.out_of_sample and 0 <= q.label_quality <= 1 for q in result.slides.values())
    assert {result.fold_of[n] for n in train} == {0, 1}
    assert all(result.fold_of[s.name] == -1 for s in ctx.part("test"))
    worst_two = [name for name, _ in result.ranked()[:2]]
    assert set(worst_two) == {train[0], train[2]}
    region = {n: q.issue_region for n, q in result.slides.items()}
    assert all(0 <= v <= 1 for v in region.values())
    clean = sorted(v for n, v in region.items() if n not in worst_two)
    assert min(region[n] for n in worst_two) > clean[len(clean) // 2]
    assert told[-1][0] == told[-1][1] and len(told) == told[-1][1]  # one report a slide read
    assert "pixel forests" in result.advice() and result.caution() == ""
    assert "largest region of disagreement." in result.advice()

    save_audit(ctx.workspace, result)
    again = load_audit(open_folder(demo_folder))
    assert again.quick and again.slides[train[0]].miou == pytest.approx(
        result.slides[train[0]].miou, abs=1e-6
    )
    assert math.isnan(again.slides[train[0]].forest_miou)  # its forest is the Audit column
    assert again.slides[train[2]].issue_region == pytest.approx(region[train[2]], abs=1e-6)


def test_an_unreadable_slide_is_reported_and_the_rest_scored(demo_folder):
    ctx = open_folder(demo_folder)
    bad = min(s.name for s in ctx.part("train"))
    path = Path(next(s.image_path for s in ctx.slides if s.name == bad))
    path.write_bytes(path.read_bytes()[:2000])  # cut short after the scan read its header
    told: list[tuple[int, int]] = []
    result = run_quick_audit(ctx, folds=2, progress=lambda d, t: told.append((d, t)), partitions=2)
    assert [p["name"] for p in result.problems] == [bad]
    assert bad not in result.slides and len(result.slides) == len(ctx.slides) - 1
    assert result.settings["partitions"] == 2  # each slide read once to learn, once to score
    assert told[-1] == (len(told), len(told)) and len(told) < 2 * len(ctx.slides)


def test_a_cancel_ends_it_and_too_few_slides_are_refused(demo_folder):
    token = CancelToken()
    token.cancel()
    ctx = open_folder(demo_folder)
    assert run_quick_audit(ctx, folds=2, cancel=token) is None
    with pytest.raises(AuditError, match="cannot be split"):
        run_quick_audit(ctx, folds=len(ctx.part("train")) + 1)


def test_seggui_audit_quick_imports_no_tensorflow(demo_folder):
    code = (
        "import json, sys, io, contextlib\n"
        "from seggui.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['audit', {str(demo_folder)!r}, '--quick', '--folds', '2', '--json'])\n"
        "rows = json.loads(out.getvalue())['slides']\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}\n"
        "scored = all(r['miou'] is not None and r['issue_region'] is not None for r in rows)\n"
        "print(code, len(rows), scored, sorted(heavy))\n"
    )
    done = run_python(code)
    assert done.stdout.strip().splitlines()[-1] == "0 6 True []", done.stderr
    assert "pixel forest: 6 slides in" in done.stderr
    assert load_audit(open_folder(demo_folder)).quick


def test_a_quick_audit_never_replaces_a_u_net_audit(demo_folder):
    """A U-Net audit takes minutes: a quick audit is saved beside it, and the U-Net audit
    is the one that holds while both do."""
    from dataclasses import replace

    ctx = open_folder(demo_folder)
    quick = run_quick_audit(ctx, folds=2)
    full = replace(quick, settings={**quick.settings, "fold_models": "U-Net"})
    assert not full.quick
    full_path, quick_path = save_audit(ctx.workspace, full), save_audit(ctx.workspace, quick)
    assert full_path != quick_path and full_path.exists() and quick_path.exists()
    assert not load_audit(ctx).quick
    full_path.unlink()
    assert load_audit(ctx).quick

"""The label audit: folds without overlap, one out-of-sample score per slide, reuse, CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core.audit import assign_folds, audit_key, load_audit, save_audit, skill
from seggui.core.edge_fit import edge_fit
from seggui.core.folder import open_folder
from seggui.core.imageio import read_mask, read_pair
from seggui.core.metrics import Scores
from seggui.model.audit import AUDIT_PATCH, fold_settings, run_audit
from seggui.model.train import TrainSettings
from tests.cli.test_cli import seggui
from tests.conftest import TINY


def test_folds_never_overlap_and_cover_every_slide():
    names = [f"s{i}" for i in range(17)]
    folds = assign_folds(names, 3)
    assert sorted(folds) == sorted(names) and set(folds.values()) == {0, 1, 2}
    sizes = [list(folds.values()).count(k) for k in range(3)]
    assert max(sizes) - min(sizes) <= 1
    assert assign_folds(list(reversed(names)), 3) == folds  # the order given does not matter


def test_fold_models_train_on_small_crops_and_keep_the_rest():
    wide = TrainSettings(patch=256, batch_size=4, epochs=7)
    fold = fold_settings(wide)
    assert fold.patch == AUDIT_PATCH < 256 and wide.patch == 256  # the caller's are untouched
    assert (fold.batch_size, fold.epochs) == (4, 7)
    assert fold_settings(TrainSettings(patch=64)).patch == 64  # smaller ones stay


def test_every_non_test_slide_gets_exactly_one_out_of_sample_score(small_demo):
    ctx = open_folder(small_demo)
    seen: list[str] = []
    mious: dict[str, float] = {}

    def observe(name, pred, truth):
        seen.append(name)
        assert pred.labels.shape == truth.shape and pred.probs.shape[:2] == truth.shape
        mious[name] = Scores.compare(truth, pred.labels, len(ctx.classes)).miou

    result = run_audit(ctx, TrainSettings(epochs=1, **TINY), folds=3, observe=observe)
    train, test = ctx.split.train, ctx.split.test
    assert set(result.slides) == set(train) | set(test)
    assert sorted(seen) == sorted(result.slides)  # each scored slide observed once
    assert all(q.out_of_sample for q in result.slides.values())
    # each slide's mIoU is its fold model's prediction against its annotation; worst first
    assert {n: q.miou for n, q in result.slides.items()} == mious
    assert [q.miou for _, q in result.ranked()] == sorted(mious.values())
    assert sorted(result.fold_of[n] for n in train) == sorted(assign_folds(train, 3).values())
    assert all(result.fold_of[n] == -1 for n in test)
    assert not list(ctx.workspace.glob(".tmp-*"))
    # the skill counts every annotated pixel scored, once
    masks = [read_mask(s.mask_path, ctx.classes) for s in ctx.slides if s.name in result.slides]
    counts = np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=4)
    correct, majority, total = result.pixels
    assert total == counts.sum() and majority == counts.max() and 0 <= correct <= total
    assert result.skill == skill(*result.pixels)
    save_audit(ctx.workspace, result)
    again = load_audit(open_folder(small_demo))
    assert again is not None and set(again.slides) == set(result.slides)
    assert again.pixels == result.pixels
    assert all(
        abs(again.slides[n].softmin - q.softmin) < 1e-6
        and abs(again.slides[n].label_quality - q.label_quality) < 1e-6
        and abs(again.slides[n].miou - q.miou) < 1e-6
        and abs(again.slides[n].edge_fit - q.edge_fit) < 1e-6
        and abs(again.slides[n].forest_miou - q.forest_miou) < 1e-6
        for n, q in result.slides.items()
    )
    # the pixel forest scored every slide out of fold, on the fold models' folds
    assert result.settings["pixel_forest"].startswith("10 slides in ")  # and its skill
    assert all(0 <= q.forest_miou <= 1 for q in result.slides.values())
    # the edge fit is the mask's own, whatever the model predicted; the demo's masks follow
    # their images' edges, so it counts
    assert result.settings["masks_following_edges"] == [10, 10]
    slide = ctx.scan.get(train[0])
    image, truth = read_pair(slide.image_path, slide.mask_path, ctx.classes)
    assert result.slides[train[0]].edge_fit == edge_fit(image, truth)
    # An audit saved when scores meant something else (no format; format 2, before each
    # slide had its mIoU) is not reused.
    path = ctx.workspace / "audit.json"
    old = json.loads(path.read_text())
    for format_ in (None, 2):
        old["format"] = format_
        path.write_text(json.dumps(old))
        assert load_audit(open_folder(small_demo)) is None
    save_audit(ctx.workspace, result)
    # A changed mask makes the saved audit stale.
    mask = small_demo / "masks" / f"{train[0]}.png"
    with Image.open(mask) as im:
        a = np.asarray(im).copy()
        pal = im.getpalette()
    a[:4, :4] = 0
    out = Image.fromarray(a, "P")
    out.putpalette(pal)
    out.save(mask)
    ctx2 = open_folder(small_demo)
    assert audit_key(ctx2) != result.key and load_audit(ctx2) is None


def test_an_audit_of_a_folder_given_by_a_relative_path_holds_in_the_window(small_demo, monkeypatch):
    """``seggui audit DIR`` from the folder's parent and the window (absolute path) agree on
    the key, so the window shows an audit made on the command line."""
    monkeypatch.chdir(small_demo.parent)
    relative = open_folder(small_demo.name)
    assert not Path(relative.slides[0].mask_path).is_absolute()
    assert audit_key(relative) == audit_key(open_folder(small_demo.resolve()))


def test_masks_off_their_images_edges_leave_the_edge_fit_out(small_demo):
    """Where the folder's masks do not follow its images' edges (here: every mask moved off
    them), the edge fit would rank noise: the audit leaves it out and says so."""
    ctx = open_folder(small_demo)
    for slide in ctx.slides:
        with Image.open(slide.mask_path) as im:
            moved = Image.fromarray(np.roll(np.asarray(im), (32, 32), axis=(0, 1)), "P")
            moved.putpalette(im.getpalette())
        moved.save(slide.mask_path)
    result = run_audit(open_folder(small_demo), TrainSettings(epochs=1, **TINY), folds=2)
    # (on these 64-pixel tiles the check's further shift of 32 brings each mask back on its
    # edges, so no moved mask beats its shifted copy)
    assert result.settings["masks_following_edges"] == [0, 10]
    assert all(math.isnan(q.edge_fit) for q in result.slides.values())
    assert all(not math.isnan(q.miou) for q in result.slides.values())


def test_a_pixel_forest_that_would_overrun_its_share_is_left_out(small_demo, monkeypatch):
    """The forest gets a share of a timed audit; where it would not end within it, the
    fold models get its time and the audit says why the forest is missing."""
    import seggui.model.audit as audit_module

    monkeypatch.setattr(audit_module, "FOREST_SHARE", 0.0)
    ctx = open_folder(small_demo)
    result = run_audit(ctx, TrainSettings(epochs=1, **TINY), folds=2, time_budget_s=60.0)
    assert result.settings["pixel_forest"].startswith("left out: it would not end within 0%")
    assert all(math.isnan(q.forest_miou) for q in result.slides.values())
    assert all(not math.isnan(q.miou) for q in result.slides.values())


def test_a_cancel_while_the_pixel_forest_scores_ends_the_audit(small_demo):
    from seggui.core.cancel import CancelToken

    token = CancelToken()
    token.cancel()  # seen at the forest's first slide, before any fold model trains
    ctx = open_folder(small_demo)
    assert run_audit(ctx, TrainSettings(epochs=1, **TINY), folds=2, cancel=token) is None
    assert not list(ctx.workspace.glob(".tmp-*"))


def test_seggui_audit_json_end_to_end(small_demo, tmp_path):
    from seggui.core.classes import ClassSet
    from seggui.model import store
    from seggui.model.unet import build_unet

    # the fold models take the model's size and blocks (separable here)
    tiny = store.save_model(
        build_unet(4, 4, 2, block="separable"),
        tmp_path / "tiny.keras",
        store.ModelMeta(ClassSet.default(4), 4, 2, training={"block": "separable"}),
    )
    result = seggui(
        "audit", str(small_demo), "--model", str(tiny), "--folds", "2", "--epochs", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["folds"] == 2 and data["model"] == str(tiny)
    weak = data["skill"] is None or data["skill"] < 0.3
    assert ("warning: The fold models learned little" in result.stderr) == weak
    assert "10 of 10 masks follow their images' edges: it ranks" in result.stderr
    assert len(data["slides"]) == 10
    row = data["slides"][0]
    assert set(row) == {
        "name",
        "miou",
        "label_quality",
        "uncertainty",
        "issue_pixels",
        "out_of_sample",
        "softmin",
        "edge_fit",
        "forest_miou",
        "issue_region",
    }
    assert all(r["issue_region"] is None for r in data["slides"])  # a quick audit's only
    assert all(r["edge_fit"] >= 0 for r in data["slides"])  # no model needed: every slide
    assert all(0 <= r["forest_miou"] <= 1 for r in data["slides"])
    assert "pixel forest: 10 slides in " in result.stderr
    assert re.search(
        r"fold 2: [\d.]+-[\d.]+ s, fitting until [\d.]+ s, scoring from [\d.]+ s\n", result.stderr
    )
    mious = [r["miou"] for r in data["slides"]]
    assert mious == sorted(mious)  # worst first
    assert (small_demo / ".seggui" / "audit.json").exists()

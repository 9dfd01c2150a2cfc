from __future__ import annotations

import numpy as np

from seggui.core.cancel import CancelToken
from seggui.core.folder import open_folder
from seggui.model import store
from seggui.model.pipeline import cover_tiles, random_crops
from seggui.model.train import TrainSettings, train
from tests.conftest import TINY


def test_crops_pad_small_images_with_zero_weight():
    image = np.random.default_rng(0).random((20, 40, 3)).astype(np.float32)
    mask = np.ones((20, 40), np.uint8)
    x, y, v = random_crops(image, mask, 32, 3, np.random.default_rng(1), augment=True)
    assert x.shape == (3, 32, 32, 3) and y.shape == v.shape == (3, 32, 32)
    assert (v.sum(axis=(1, 2)) == 20 * 32).all()
    x, y, v = cover_tiles(image, mask, 32)
    assert x.shape[0] == 2 and v.sum() == 20 * 40


def test_one_epoch_fit_saves_scored_active_version(small_demo):
    ctx = open_folder(small_demo)
    seen = []
    graph = {**TINY, "eager": False}  # the traced train step, as real runs use it
    result = train(ctx, TrainSettings(epochs=1, **graph), progress=seen.append)
    assert not result.cancelled and result.model_path.exists()
    assert seen[-1].message == "scoring the test split"
    assert any(p.epoch_end and p.val_iou is not None for p in seen)
    meta = store.read_meta(result.model_path)
    assert meta.test_metrics["n_slides"] == len(ctx.part("test"))
    assert 0.0 <= meta.test_metrics["miou"] <= 1.0
    assert meta.split["test"] == ctx.split.test and meta.source_folder
    assert store.active_model_path(ctx.workspace) == result.model_path
    assert not list(ctx.workspace.glob(".tmp-*"))


def test_cancel_stops_within_a_batch_and_keeps_active_model(small_demo):
    ctx = open_folder(small_demo)
    first = train(ctx, TrainSettings(epochs=1, **TINY))
    token = CancelToken()
    batches = []

    def progress(p):
        batches.append(p)
        if len(batches) == 2:
            token.cancel()

    result = train(ctx, TrainSettings(epochs=50, **TINY), progress=progress, cancel=token)
    assert result.cancelled and result.model_path is None
    assert len([p for p in batches if not p.epoch_end]) <= 3
    assert store.active_model_path(ctx.workspace) == first.model_path
    assert len(store.list_versions(ctx.workspace)) == 1
    assert not list(ctx.workspace.glob(".tmp-*"))


def test_retrain_from_active_model(small_demo):
    ctx = open_folder(small_demo)
    first = train(ctx, TrainSettings(epochs=1, **TINY))
    second = train(ctx, TrainSettings(epochs=1, init_from=str(first.model_path), **TINY))
    assert second.meta.parent == first.model_path.stem
    assert len(store.list_versions(ctx.workspace)) == 2


def test_review_decisions_decide_what_training_learns(small_demo, monkeypatch):
    from seggui.core.review import ReviewStore
    from seggui.model import pipeline

    ctx = open_folder(small_demo)
    train_names = ctx.split.train
    rejected, needs_fix = train_names[0], train_names[1]
    store_ = ReviewStore(ctx.workspace)
    store_.set(rejected, "rejected")
    store_.set(needs_fix, "needs fix")
    store_.set(ctx.split.test[0], "rejected")
    store_.close()
    used = []  # slides given to training or validation

    def spy(real):
        def dataset(items, *args, **kwargs):
            used.extend(i.name for i in items)
            return real(items, *args, **kwargs)

        return dataset

    monkeypatch.setattr("seggui.model.train.train_dataset", spy(pipeline.train_dataset))
    monkeypatch.setattr("seggui.model.train.eval_dataset", spy(pipeline.eval_dataset))
    result = train(ctx, TrainSettings(epochs=1, **TINY))
    assert rejected not in used and needs_fix not in used and used
    curation = result.meta.training["curation"]
    assert curation["left_out"] == {rejected: "rejected", needs_fix: "needs fix"}
    assert curation["rejected_test_slides"] == [ctx.split.test[0]]
    clean = result.meta.test_metrics["without_rejected"]
    assert clean["n_slides"] == result.meta.test_metrics["n_slides"] - 1
    used.clear()
    train(ctx, TrainSettings(epochs=1, include_needs_fix=True, **TINY))
    assert needs_fix in used and rejected not in used


def test_a_broken_validation_slide_is_reported_and_training_goes_on(tmp_path):
    """A folder of 4 training slides validates on them all: a damaged one is left out of
    validation and training (named with its reason) and the run still saves a version."""
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path / "demo", count=5, seed=4, size=64)
    ctx = open_folder(folder)
    broken = ctx.part("train")[1]
    data = broken.image_path.read_bytes()
    broken.image_path.write_bytes(data[: len(data) * 2 // 3])  # the header still reads
    ctx = open_folder(folder)
    assert ctx.scan.get(broken.name).usable  # found only when the pixels are decoded
    result = train(ctx, TrainSettings(epochs=2, **TINY))
    assert not result.cancelled and result.model_path.exists()
    assert set(result.skipped) == {broken.name} and "damaged" in result.skipped[broken.name]
    assert result.meta.training["fit_slides"] == len(ctx.part("train"))  # < 5: val == fit

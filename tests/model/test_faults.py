"""Faults: killed training, cancels, refused models, concurrent review writers.

The SIGKILL test runs 3 times in CI; ``pytest -m slow`` runs the full 20.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.folder import open_folder
from seggui.core.review import ReviewStore
from seggui.core.slides import scan_folder
from seggui.model import store
from seggui.model.predict import Predictor
from seggui.model.train import TrainSettings, train
from tests.cli.test_cli import seggui
from tests.conftest import TINY


def _child(folder, epochs: int) -> subprocess.Popen:
    spec = {"folder": str(folder), "settings": {**TINY, "epochs": epochs}, "make_active": True}
    return subprocess.Popen(
        [sys.executable, "-m", "seggui.model.train_child", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def _intact(ctx, split_bytes: bytes, marks: dict) -> None:
    active = store.active_model_path(ctx.workspace)
    assert active is not None and not active.name.startswith(".tmp-")
    store.load_model(active)  # loads, with safe mode, and matches its metadata
    for path, _ in store.list_versions(ctx.workspace):
        assert not path.name.startswith(".tmp-")
        store.load_model(path)
    assert (ctx.workspace / "split.json").read_bytes() == split_bytes
    reviews = ReviewStore(ctx.workspace)
    assert {n: r.state for n, r in reviews.all().items()} == marks
    reviews.close()


def _kill_training(small_demo, kills: int) -> None:
    ctx = open_folder(small_demo)
    train(ctx, TrainSettings(epochs=1, **TINY))
    split_bytes = (ctx.workspace / "split.json").read_bytes()
    reviews = ReviewStore(ctx.workspace)
    marks = {"tile_0001": "accepted", "tile_0002": "rejected"}
    for name, state in marks.items():
        reviews.set(name, state)
    reviews.close()

    started = time.monotonic()
    full = _child(small_demo, 2)
    full.communicate(timeout=300)
    duration = time.monotonic() - started
    assert full.returncode == 0
    rng = random.Random(1234)
    for _ in range(kills):
        proc = _child(small_demo, 2)
        time.sleep(rng.uniform(0.2, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _intact(ctx, split_bytes, marks)


def test_sigkill_during_training_damages_nothing(small_demo):
    _kill_training(small_demo, 3)


@pytest.mark.slow
def test_sigkill_during_training_twenty_times(small_demo):
    _kill_training(small_demo, 20)


def test_child_cancels_on_request_and_when_its_parent_goes(small_demo):
    ctx = open_folder(small_demo)
    proc = _child(small_demo, 500)
    line = b""
    while b'"progress"' not in line:
        line = proc.stdout.readline()
        assert line, "child ended before training"
    t = time.monotonic()
    proc.stdin.close()  # the window went away: the child must stop by itself
    out = proc.stdout.read()
    proc.wait(timeout=60)
    assert time.monotonic() - t < 30
    assert b'"cancelled"' in out and proc.returncode == 0
    assert store.list_versions(ctx.workspace) == []


def test_cancel_prediction_stops_within_a_tile_batch():
    from seggui.model.unet import build_unet

    model = build_unet(2, base_filters=4, depth=2)
    predictor = Predictor(model, depth=2, tile=64, overlap=8, batch_size=1)
    image = np.random.default_rng(0).random((1024, 1024, 3)).astype(np.float32)
    token = CancelToken()
    batches = []
    infer = predictor._infer

    def counting(batch):
        batches.append(token.cancelled)
        if len(batches) == 3:
            token.cancel()  # as if the user pressed Cancel during the third tile batch
        return infer(batch)

    predictor._infer = counting
    with pytest.raises(Cancelled):
        predictor.predict(image, token)
    assert batches == [False, False, False]  # no tile batch started after the cancel


def test_cancel_folder_scan(demo_folder):
    token = CancelToken()

    def progress(done, total, message):
        token.cancel()

    with pytest.raises(Cancelled):
        scan_folder(demo_folder, progress, token)


def test_model_for_other_classes_is_refused_by_evaluate(small_demo, tmp_path):
    from seggui.core.classes import ClassSet
    from seggui.model.unet import build_unet

    other = store.save_model(
        build_unet(2, 4, 2), tmp_path / "two.keras", store.ModelMeta(ClassSet.default(2), 4, 2)
    )
    result = seggui("evaluate", str(small_demo), "--model", str(other))
    assert result.returncode == 1
    assert "not this folder" in result.stderr and "Traceback" not in result.stderr


def test_two_processes_marking_lose_nothing(tmp_path):
    code = (
        "import sys; from seggui.core.review import ReviewStore\n"
        "s = ReviewStore(sys.argv[1])\n"
        "for i in range(40): s.set(f'{sys.argv[2]}{i}', 'accepted', note=str(i))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), p]) for p in "ab"]
    for p in procs:
        assert p.wait(timeout=120) == 0
    assert len(ReviewStore(tmp_path).all()) == 80

"""A training pipeline that ends its Python work when the fit is over, so that destroying the
fit's tf.data iterator does not wait seconds for loader calls starved of the interpreter lock."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from seggui.core.classes import ClassSet
from seggui.model.pipeline import PipelineStop, SkippedFiles, SlideItem, train_dataset
from seggui.model.sampling import CropPlanner

CLASSES = ClassSet.default(4)


def _items(tmp_path, n: int) -> list[SlideItem]:
    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    items = []
    for i in range(n):
        image, mask = tmp_path / "images" / f"s{i}.png", tmp_path / "masks" / f"s{i}.png"
        Image.fromarray(rng.integers(0, 255, (96, 96, 3), np.uint8)).save(image)
        Image.fromarray(rng.integers(0, 4, (96, 96), np.uint8), "L").save(mask)
        items.append(SlideItem(f"s{i}", image, mask))
    return items


def test_a_stopped_pipeline_runs_no_more_python_and_ends(tmp_path):
    items = _items(tmp_path, 3)
    stop = PipelineStop()
    planner = CropPlanner(np.ones((3, 4)), [4, 4, 4], seed=1)
    ds = train_dataset(
        items, CLASSES, 32, 2, planner, True, None, 1, None, SkippedFiles(), None, stop
    )
    iterator = iter(ds.repeat())
    for _ in range(3):
        x, y, _v = next(iterator)
        assert x.shape[1:] == (32, 32, 3) and y.shape[1:] == (32, 32)
    assert not stop.stopped
    assert stop.drain(timeout_s=10)
    assert stop.stopped
    # What the buffers hold may still come out, then the sequence ends: the generator and the
    # loader return at once, so an endless fit's iterator stops.
    assert sum(1 for _ in iterator) < 64


def test_drain_waits_for_a_call_in_flight():
    stop = PipelineStop()
    entered, release = threading.Event(), threading.Event()

    def call():
        with stop:
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=call)
    worker.start()
    entered.wait(5)
    assert not stop.drain(timeout_s=0.2)  # still running
    release.set()
    assert stop.drain(timeout_s=5)
    worker.join()

"""Scale: the background cursor, and a 10,000-slide folder opened, stepped and scored."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

from seggui.gui.workers import LatestWorker
from tests.gui.conftest import open_and_wait


def test_the_worker_cursor_visits_each_wanted_slide_once(qtbot):
    seen: list[str] = []
    lock = threading.Lock()

    def handler(key, cancel):
        with lock:
            seen.append(key)
        return key

    worker = LatestWorker(handler)
    background = [f"s{i}" for i in range(2000)]
    worker.start()
    try:
        for step in range(0, 300, 3):  # the user steps while the background is scored
            worker.want([f"s{step}", f"s{step + 1}"], background)
            time.sleep(0.001)
        qtbot.waitUntil(lambda: len(seen) >= 2000, timeout=60000)
        time.sleep(0.05)
        assert sorted(seen) == sorted(background)  # every slide exactly once
        assert worker.visits() == 2000
        worker.forget(["s1500"])  # a slide to redo: the cursor goes back to it, not to 0
        qtbot.waitUntil(lambda: len(seen) == 2001, timeout=10000)
        assert seen[-1] == "s1500" and worker.visits() == 2000
    finally:
        worker.stop()
        worker.wait(5000)


@pytest.mark.parametrize("count", [500, pytest.param(10000, marks=pytest.mark.slow)])
def test_a_big_folder_opens_steps_to_the_end_and_scores_everything(qtbot, window, tmp_path, count):
    """500 slides prove the property (running totals equal a recount after every slide is
    scored in the background); the 10,000-slide run is the same test under ``-m slow``."""
    folder = tmp_path / "tiles"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    palette = [0, 0, 0, 255, 190, 0, 0, 120, 255, 0, 200, 80] + [0] * 756
    image = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    for i in range(count):
        image.save(folder / "images" / f"t{i:05d}.png")
        mask = Image.fromarray((rng.integers(0, 4, (16, 16))).astype(np.uint8), "P")
        mask.putpalette(palette)
        mask.save(folder / "masks" / f"t{i:05d}.png")
    (folder / "classes.json").write_text(
        '{"classes": [{"name": "background"}, {"name": "stroma"}, {"name": "gland"}, '
        '{"name": "nucleus"}]}'
    )
    last = f"t{count - 1:05d}"
    open_and_wait(qtbot, window, folder, count, timeout=240000)
    window.slide_list.step(count)
    assert window.session.current == last
    qtbot.waitUntil(lambda: last in window.session.predictions, timeout=240000)
    qtbot.waitUntil(lambda: len(window.session.facts.records) == count, timeout=600000)
    fresh = window.session.facts.records.recount()["folder"]
    assert np.array_equal(window.session.facts.records.totals()["folder"], fresh)
    assert window.session.facts.records.count("folder") == (count, count)


def test_thumbnails_of_the_rows_in_view_come_first(qtbot, window, tmp_path):
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path / "many", count=1500, seed=4, size=16)
    arrived: list[str] = []
    real = window.slide_list.model.set_thumb

    def record(name, pixmap):
        arrived.append(name)
        real(name, pixmap)

    window.slide_list.model.set_thumb = record
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.slide_list.model.rowCount() == 1500, timeout=120000)
    window.slide_list.select("tile_1400")  # far down, while thumbnails are being made
    qtbot.waitUntil(lambda: {"tile_1400", "tile_1000"} <= set(arrived), timeout=120000)
    # In folder order tile_1000 would come first; the rows on screen were made before it.
    assert arrived.index("tile_1400") < arrived.index("tile_1000")


def test_names_sort_in_natural_order_without_comparing_rows(qtbot, window, tmp_path):
    from PyQt6.QtCore import Qt

    from seggui.gui.slides.table_model import COL_NAME

    folder = tmp_path / "named"
    folder.mkdir()
    image = Image.fromarray(np.full((16, 16, 3), 200, np.uint8))
    for name in ("s10", "s2", "s1", "S3"):
        image.save(folder / f"{name}.png")
    open_and_wait(qtbot, window, folder, 4)
    proxy = window.slide_list.proxy

    def shown() -> list[str]:
        rows = range(proxy.rowCount())
        return [proxy.data(proxy.index(r, COL_NAME)) for r in rows]

    assert shown() == ["s1", "s2", "S3", "s10"]
    assert proxy.sortColumn() == -1  # the folder's own order: no row was compared
    window.slide_list.table.sortByColumn(COL_NAME, Qt.SortOrder.DescendingOrder)
    assert shown() == ["s10", "S3", "s2", "s1"]
    window.slide_list.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
    assert shown() == ["s1", "s2", "S3", "s10"]

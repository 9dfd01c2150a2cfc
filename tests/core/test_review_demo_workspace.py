from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from seggui.core import workspace as ws
from seggui.core.demo import make_tile, write_demo
from seggui.core.overlay import boundaries, contour_layer, disagreement
from seggui.core.review import ReviewStore


def test_review_marks_persist_and_two_writers_lose_nothing(tmp_path):
    a = ReviewStore(tmp_path)
    a.set("s1", "accepted", "looks right")
    b = ReviewStore(tmp_path)
    assert b.get("s1").state == "accepted" and b.get("s1").note == "looks right"

    def mark(store, prefix):
        for i in range(50):
            store.set(f"{prefix}{i}", "needs fix")

    threads = [threading.Thread(target=mark, args=(s, p)) for s, p in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.close()
    b.close()
    c = ReviewStore(tmp_path)
    assert len(c.all()) == 101
    c.set("s1", "rejected")
    assert c.get("s1").note == "looks right"  # note kept when only the state changes


def test_demo_is_deterministic_and_in_original_layout(tmp_path):
    one = write_demo(tmp_path / "one", count=2, seed=7)
    two = write_demo(tmp_path / "two", count=2, seed=7)
    for sub in ("images/tile_0001.png", "masks/tile_0001.png"):
        assert (one / sub).read_bytes() == (two / sub).read_bytes()
    with Image.open(one / "images/tile_0000.png") as im:
        assert im.mode == "RGBA" and im.size == (512, 512)
    with Image.open(one / "masks/tile_0000.png") as m:
        assert m.mode == "P"
        assert set(np.unique(np.asarray(m))) <= {0, 1, 2, 3}
    image, labels = make_tile(7, 3)
    assert len(np.unique(labels)) >= 3
    assert image[..., :3].std() > 20  # texture, not flat colours


def test_read_only_folder_uses_user_workspace(tmp_path, monkeypatch):
    real = ws.is_writable
    monkeypatch.setattr(ws, "is_writable", lambda d: False if d.name == ".seggui" else real(d))
    folder = tmp_path / "data"
    folder.mkdir()
    got = ws.workspace_dir(folder)
    assert ws.user_data_dir() in got.parents and not (folder / ".seggui").exists()
    assert ws.workspace_dir(folder) == got


def test_overlay_functions():
    labels = np.zeros((4, 4), np.uint8)
    labels[:, 2:] = 1
    assert boundaries(labels)[:, 1:3].all() and not boundaries(labels)[:, 0].any()
    layer = contour_layer(labels)
    assert (layer[:, 1] == 0).all() and (layer[:, 2] == 1).all() and (layer[:, 0] == 255).all()
    diff = disagreement(labels, np.zeros_like(labels))
    assert (diff[:, 2:] == 1).all() and (diff[:, :2] == 0).all()

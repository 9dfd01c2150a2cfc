"""Saving corrected masks: own format kept, original kept, conflicts and read-only folders."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seggui.core import workspace as ws
from seggui.core.folder import open_folder
from seggui.core.imageio import read_mask
from seggui.core.mask_store import read_for_edit
from tests.conftest import shared_folder


def _edit(ctx, name: str, value: int | None = 1):
    """Read a slide's mask for editing, paint a block, save; returns (before, after, result)."""
    slide = ctx.scan.get(name)
    base = read_for_edit(slide.mask_path, ctx.classes)
    ctx.masks.track(name, base.path, base.stamp, base.fmt)
    after = base.labels.copy()
    after[5:25, 7:40] = value if value is not None else 1 - after[5:25, 7:40]  # None: flip
    result = ctx.masks.save(slide, after)
    ctx.masks.adopt(slide, result)
    return base.labels, after, result


def test_palette_mask_keeps_mode_and_palette_and_revert_is_byte_identical(demo_folder):
    ctx = open_folder(demo_folder)
    mask_file = demo_folder / "masks" / "tile_0002.png"
    original_bytes = mask_file.read_bytes()
    with Image.open(mask_file) as im:
        palette = im.getpalette()
    _, after, result = _edit(ctx, "tile_0002", value=3)
    assert result.path == mask_file and not result.conflict
    with Image.open(mask_file) as im:
        assert im.mode == "P" and im.getpalette() == palette
    assert np.array_equal(read_mask(mask_file, ctx.classes), after)
    kept = ctx.masks.original_of("tile_0002")
    assert kept is not None and ctx.workspace in kept.parents
    assert kept.read_bytes() == original_bytes
    # A second save keeps the first original, not the edited file.
    _edit(ctx, "tile_0002", value=2)
    assert ctx.masks.original_of("tile_0002").read_bytes() == original_bytes
    # Reopening the folder knows the slide was corrected.
    assert open_folder(demo_folder).masks.is_corrected("tile_0002")
    ctx.masks.revert(ctx.scan.get("tile_0002"))
    assert mask_file.read_bytes() == original_bytes
    assert not ctx.masks.is_corrected("tile_0002")


def test_binary_0_255_mask_of_real_glands_round_trips(tmp_path):
    glas = shared_folder("glas-test")
    folder = tmp_path / "glas"
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True)
        shutil.copy(glas / sub / "testA_1.png", folder / sub / "testA_1.png")
    ctx = open_folder(folder)
    before, after, _ = _edit(ctx, "testA_1", value=None)
    with Image.open(folder / "masks" / "testA_1.png") as im:
        assert im.mode == "L"
        assert set(np.unique(np.asarray(im)).tolist()) == {0, 255}
    assert np.array_equal(read_mask(folder / "masks" / "testA_1.png", ctx.classes), after)
    assert not np.array_equal(before, after)


def test_index_L_mask_of_real_gleason_tiles_round_trips(tmp_path):
    gleason = shared_folder("gleason")
    folder = tmp_path / "gl"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    shutil.copy(gleason / "images" / "test10.jpg", folder / "images" / "test10.jpg")
    shutil.copy(gleason / "masks" / "test10.png", folder / "masks" / "test10.png")
    shutil.copy(gleason / "masks" / "test100.png", folder / "masks" / "test100.png")  # 5 classes
    ctx = open_folder(folder)
    _, after, _ = _edit(ctx, "test10", value=4)
    with Image.open(folder / "masks" / "test10.png") as im:
        assert im.mode == "L" and np.asarray(im).max() <= 4
    assert np.array_equal(read_mask(folder / "masks" / "test10.png", ctx.classes), after)


def test_a_mask_changed_on_disk_meanwhile_is_not_overwritten(demo_folder):
    ctx = open_folder(demo_folder)
    slide = ctx.scan.get("tile_0001")
    base = read_for_edit(slide.mask_path, ctx.classes)
    ctx.masks.track(slide.name, base.path, base.stamp, base.fmt)
    time.sleep(0.01)
    other = base.labels.copy()
    other[:10] = 0
    Image.fromarray(other, "P").save(slide.mask_path)  # another program saves meanwhile
    theirs = slide.mask_path.read_bytes()
    mine = base.labels.copy()
    mine[30:40] = 2
    result = ctx.masks.save(slide, mine)
    assert result.conflict and "changed on disk" in result.message
    assert slide.mask_path.read_bytes() == theirs
    assert ctx.workspace in result.path.parents
    assert np.array_equal(read_mask(result.path, ctx.classes), mine)


def test_read_only_folder_keeps_corrections_in_the_workspace(demo_folder, monkeypatch):
    real = ws.is_writable
    masks_dir = demo_folder / "masks"
    monkeypatch.setattr(ws, "is_writable", lambda d: False if Path(d) == masks_dir else real(d))
    ctx = open_folder(demo_folder)
    original_bytes = (masks_dir / "tile_0003.png").read_bytes()
    _, after, result = _edit(ctx, "tile_0003", value=2)
    assert ctx.workspace in result.path.parents and "read-only" in result.message
    assert (masks_dir / "tile_0003.png").read_bytes() == original_bytes
    # Every reader that opens the folder gets the corrected mask in place of the folder's.
    again = open_folder(demo_folder)
    slide = again.scan.get("tile_0003")
    assert slide.mask_path == result.path and slide.folder_mask_path == masks_dir / "tile_0003.png"
    assert np.array_equal(read_mask(slide.mask_path, again.classes), after)
    # A second edit goes to the same workspace copy.
    _edit(again, "tile_0003", value=1)
    assert again.scan.get("tile_0003").mask_path == result.path
    again.masks.revert(again.scan.get("tile_0003"))
    assert not result.path.exists()
    assert open_folder(demo_folder).scan.get("tile_0003").mask_path == masks_dir / "tile_0003.png"


def test_new_mask_for_a_slide_without_one(demo_folder):
    from seggui.core.mask_store import MaskFormat

    (demo_folder / "masks" / "tile_0004.png").unlink()
    ctx = open_folder(demo_folder)
    slide = ctx.scan.get("tile_0004")
    assert not slide.has_mask
    ctx.masks.track(slide.name, None, None, MaskFormat.new(ctx.classes))
    labels = np.full(slide.size[::-1], 2, np.uint8)
    result = ctx.masks.save(slide, labels)
    ctx.masks.adopt(slide, result)
    assert result.path == demo_folder / "masks" / "tile_0004.png"
    with Image.open(result.path) as im:
        assert im.mode == "P"
    assert open_folder(demo_folder).scan.get("tile_0004").scorable
    ctx.masks.revert(slide)
    assert not result.path.exists() and slide.mask_path is None


SAVER = textwrap.dedent("""
    import sys, numpy as np
    from seggui.core.folder import open_folder
    from seggui.core.mask_store import read_for_edit
    ctx = open_folder(sys.argv[1])
    slide = ctx.scan.get("tile_0000")
    base = read_for_edit(slide.mask_path, ctx.classes)
    ctx.masks.track(slide.name, base.path, base.stamp, base.fmt)
    noise = np.random.default_rng(0).integers(0, 4, base.labels.shape, dtype=np.uint8)
    print("ready", flush=True)
    i = 0
    while True:  # noisy masks encode slowly, so a kill lands inside a write
        i += 1
        ctx.masks.save(slide, np.where(noise == i % 4, base.labels, noise))
""")


def test_sigkill_during_saves_leaves_an_old_or_new_file(demo_folder):
    mask_file = demo_folder / "masks" / "tile_0000.png"
    for kill in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(demo_folder)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.07 * kill)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with Image.open(mask_file) as im:
            im.load()  # a half-written PNG would fail here
            assert im.mode == "P" and im.size == (512, 512)
    ctx = open_folder(demo_folder)
    assert "tile_0000" in [s.name for s in ctx.slides if s.scorable]
    assert not any(s.name.startswith(".tmp") for s in ctx.slides)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_masks_keep_their_colours(tmp_path, mode):
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path / "c", count=2, seed=1, size=64)
    ctx0 = open_folder(folder)
    for path in (folder / "masks").iterdir():
        labels = read_mask(path, ctx0.classes)
        rgb = ctx0.classes.colors[labels]
        if mode == "RGBA":
            rgb = np.concatenate([rgb, np.full(labels.shape + (1,), 255, np.uint8)], 2)
        Image.fromarray(rgb, mode).save(path)
    ctx = open_folder(folder)
    _, after, result = _edit(ctx, ctx.slides[0].name, value=2)
    with Image.open(result.path) as im:
        assert im.mode == mode
    assert np.array_equal(read_mask(result.path, ctx.classes), after)

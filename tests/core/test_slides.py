from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from seggui.core.slides import FolderError, scan_folder


def _img(path, w=32, h=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)


def _mask(path, w=32, h=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w), np.uint8)).save(path)


def test_images_masks_layout_with_problems(tmp_path):
    _img(tmp_path / "images/a.png")
    _mask(tmp_path / "masks/a.png")
    _img(tmp_path / "images/b.jpg")  # no mask: prediction only
    _img(tmp_path / "images/c.png")
    _mask(tmp_path / "masks/c.png", w=10)  # size mismatch
    _mask(tmp_path / "masks/orphan.png")  # mask with no image
    _img(tmp_path / "images/d.png")
    _img(tmp_path / "images/d.tif")  # same stem twice
    (tmp_path / "images/e.png").write_bytes(b"")  # empty
    scan = scan_folder(tmp_path)
    by = {s.name: s for s in scan.slides}
    assert scan.layout == "images/masks"
    assert by["a"].scorable and not by["a"].problems
    assert by["b"].usable and not by["b"].has_mask and not by["b"].problems
    assert not by["c"].scorable and "32x24" in by["c"].problem_text()
    assert "no image" in by["orphan"].problem_text() and not by["orphan"].usable
    assert by["d"].image_path.name == "d.png" and "d.tif" in by["d"].problem_text()
    assert "empty" in by["e"].problem_text() and not by["e"].usable
    names = {p.name for p in scan.all_problems()}
    assert names == {"c", "orphan", "d", "e"}


def test_flat_layout(tmp_path):
    _img(tmp_path / "x1.png")
    _mask(tmp_path / "x1_mask.png")
    _img(tmp_path / "x2.png")
    scan = scan_folder(tmp_path)
    assert scan.layout == "flat"
    assert [s.name for s in scan.slides] == ["x1", "x2"]
    assert scan.slides[0].scorable and not scan.slides[1].has_mask


def test_natural_order_and_unicode_names(tmp_path):
    for name in ("s10", "s2", "s1", "é ß 漢字 x"):
        _img(tmp_path / "images" / f"{name}.png")
    assert [s.name for s in scan_folder(tmp_path).slides] == ["s1", "s2", "s10", "é ß 漢字 x"]


def test_symlink_loop_and_missing_folder(tmp_path):
    _img(tmp_path / "images/a.png")
    os.symlink(tmp_path / "images/loop.png", tmp_path / "images/loop.png")
    scan = scan_folder(tmp_path)
    assert [s.name for s in scan.slides] == ["a"]
    assert any("link" in p.reason for p in scan.problems)
    with pytest.raises(FolderError, match="does not exist"):
        scan_folder(tmp_path / "nope")


def test_empty_folder_is_a_folder_problem(tmp_path):
    scan = scan_folder(tmp_path)
    assert scan.slides == [] and "no images" in scan.problems[0].reason


def test_scan_does_not_decode_pixels(tmp_path, monkeypatch):
    for i in range(5):
        _img(tmp_path / "images" / f"{i}.png")
        _mask(tmp_path / "masks" / f"{i}.png")

    def boom(self):
        raise AssertionError("pixels decoded while scanning")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", boom)
    scan = scan_folder(tmp_path)
    assert all(s.scorable for s in scan.slides) and len(scan.slides) == 5

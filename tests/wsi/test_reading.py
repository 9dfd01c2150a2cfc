"""Opening whole slides: levels, resolution, regions, and damaged files."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.imageio import SlideFileError
from seggui.core.wsi import DEFAULT_MPP, is_whole_slide, open_slide, write_pyramid


def test_levels_mpp_and_regions_come_from_the_file(pyramid):
    path, image = pyramid
    assert is_whole_slide(path)
    slide = open_slide(path)
    assert slide.dimensions == (1536, 1024) and slide.mpp == 0.25 and slide.mpp_known
    assert [lv.downsample for lv in slide.levels] == [1.0, 4.0]
    assert slide.levels[1].width == 384 and slide.best_level(5.0) == 1 and slide.best_level(2) == 0
    region = slide.read_region(0, 300, 200, 256, 128)
    assert region.shape == (128, 256, 3) and region.dtype == np.uint8
    # JPEG tiles: the region is the image's, up to compression.
    assert np.abs(region.astype(int) - image[200:328, 300:556]).mean() < 4
    outside = slide.read_region(0, 1500, 1000, 100, 100)  # past the edge: white
    assert (outside[30:, 40:] == 255).all()  # the slide itself is 242 there
    assert np.abs(outside[:24, :36].astype(int) - image[1000:, 1500:]).max() < 8
    thumb = slide.thumbnail(96)
    assert max(thumb.shape[:2]) == 96
    slide.close()


def test_a_slide_without_a_resolution_gets_the_stated_default(tmp_path):
    image = np.full((512, 768, 3), 200, np.uint8)
    slide = open_slide(write_pyramid(tmp_path / "nompp.tiff", image, (1, 2), mpp=None))
    assert not slide.mpp_known and slide.mpp == DEFAULT_MPP


def test_a_damaged_slide_is_a_problem_with_its_reason(pyramid, tmp_path):
    path, _ = pyramid
    data = path.read_bytes()
    truncated = tmp_path / "truncated.svs"
    truncated.write_bytes(data[: len(data) // 3])
    not_a_slide = tmp_path / "text.svs"
    not_a_slide.write_text("hello")
    for bad in (truncated, not_a_slide, tmp_path / "missing.svs"):
        with pytest.raises(SlideFileError) as info:
            slide = open_slide(bad)
            slide.read_region(0, 0, 0, 1536, 1024)  # truncated: fails when its tiles are read
        assert bad.name in str(info.value)


def test_small_tiffs_are_tiles_not_slides(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "tile.tif")
    assert not is_whole_slide(tmp_path / "tile.tif")
    assert is_whole_slide(tmp_path / "anything.svs")


def test_both_readers_read_the_same_pixels(pyramid):
    openslide = pytest.importorskip("openslide")
    from seggui.core.wsi import WholeSlide

    path, _ = pyramid
    ours = open_slide(path)
    theirs = WholeSlide(path, openslide.OpenSlide(str(path)), "openslide")
    assert [lv.downsample for lv in theirs.levels] == [lv.downsample for lv in ours.levels]
    assert theirs.mpp == ours.mpp == 0.25
    for level, (x, y) in ((0, (700, 300)), (1, (50, 40))):
        assert np.array_equal(
            ours.read_region(level, x, y, 200, 150), theirs.read_region(level, x, y, 200, 150)
        )


def test_a_resolution_the_user_sets_is_kept_and_used(tmp_path):
    from seggui.core import slide_mpp
    from seggui.core.folder import open_folder

    image = np.full((1024, 1024, 3), 200, np.uint8)
    write_pyramid(tmp_path / "nompp.tiff", image, (1, 4), mpp=None)
    ctx = open_folder(tmp_path)
    (entry,) = ctx.scan.whole_slides
    slide = open_slide(entry.path, entry.mpp)
    assert not slide.mpp_known and slide.mpp == DEFAULT_MPP
    slide.close()
    slide_mpp.set_mpp(ctx.workspace, "nompp", 0.25)
    (entry,) = open_folder(tmp_path).scan.whole_slides
    assert entry.mpp == 0.25
    slide = open_slide(entry.path, entry.mpp)
    assert slide.mpp_known and slide.mpp == 0.25
    slide.close()
    slide_mpp.set_mpp(ctx.workspace, "nompp", None)
    assert open_folder(tmp_path).scan.whole_slides[0].mpp is None

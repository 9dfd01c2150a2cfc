"""Label images as a whole slide's annotation, and `seggui predict` writing them: a slide's
predicted label TIFF laid beside it scores the same model's prediction perfectly."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image

from seggui.core.annotations import UNKNOWN, load_annotation_for
from seggui.core.classes import ClassSet
from seggui.core.slides import scan_folder
from tests.cli.test_cli import seggui
from tests.wsi.conftest import demo_slide_folder

CLASSES = ClassSet.default(3)


def test_a_flat_label_image_at_a_downsample_is_sampled_at_pixel_centres(tmp_path):
    labels = np.zeros((100, 150), np.uint8)
    labels[20:40, 30:90] = 2
    labels[60:, :] = 255  # not annotated
    labels[0, 0] = 7  # no such class: unknown
    path = tmp_path / "s.labels.png"
    Image.fromarray(labels, mode="L").save(path)
    ann = load_annotation_for(path, CLASSES, (600, 400))  # the slide: 4x the label image
    assert ann.downsample == 4 and not ann.problems
    full = ann.rasterise(0, 0, 600, 400, 1.0)
    assert np.array_equal(full[::4, ::4][1:, 1:], np.where(labels < 3, labels, UNKNOWN)[1:, 1:])
    assert full[0, 0] == UNKNOWN
    half = ann.rasterise(60, 40, 30, 30, 2.0)  # level-0 box 120..180, 80..140
    assert (
        half[:, :] == np.where(labels < 3, labels, UNKNOWN)[20:35, 30:45].repeat(2, 0).repeat(2, 1)
    ).all()
    off = ann.rasterise(1000, 1000, 10, 10, 1.0)
    assert (off == UNKNOWN).all()
    bad = load_annotation_for(path, CLASSES, (600, 900))
    assert "does not match" in bad.problems[0]


def test_predicted_label_tiff_is_an_annotation_the_slide_scores_against(tmp_path):
    folder = demo_slide_folder(tmp_path)
    out = tmp_path / "pred"
    result = seggui("predict", str(folder), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "1 whole-slide label images" in result.stdout and "broken" in result.stderr
    tiff = out / "case1.labels.tiff"
    import tifffile

    with tifffile.TiffFile(tiff) as tif:
        assert "downsample=1" in tif.pages.first.description
        assert tif.pages.first.is_tiled and tif.pages.first.shape == (1152, 1152)
    # The label image beside the slide, instead of its GeoJSON: it is the annotation.
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(folder / "case1.tiff", again)
    shutil.copy(folder / "classes.json", again)
    shutil.copy(tiff, again)
    (entry,) = scan_folder(again).whole_slides
    assert entry.annotation == again / "case1.labels.tiff"
    scored = seggui("evaluate", str(again), "--json")
    assert scored.returncode == 0, scored.stderr
    data = json.loads(scored.stdout)
    assert data["slides"][0]["name"] == "case1" and data["miou"] == 1.0

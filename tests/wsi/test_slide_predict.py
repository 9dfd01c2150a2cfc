"""A whole slide predicted over its tissue, tile by tile, cached, resumable, and scored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seggui.core.annotations import UNKNOWN, load_annotations
from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.classes import ClassSet
from seggui.core.export import mask_features
from seggui.core.metrics import confusion
from seggui.core.wsi import open_slide, write_pyramid
from seggui.model.predict import Predictor
from seggui.model.slide_predict import (
    TileStore,
    plan_slide,
    predict_slide,
    slide_confusion,
    slide_reader,
)
from seggui.model.tiled import predict_image
from seggui.model.unet import build_unet
from tests.wsi.conftest import mosaic


@pytest.fixture(scope="module")
def predictor():
    import keras

    keras.utils.set_random_seed(3)
    return Predictor(build_unet(2, 4, 3), 3, backend="tf-fp32")


def test_a_blank_slide_has_no_tissue_tiles(tmp_path, predictor):
    slide = open_slide(
        write_pyramid(tmp_path / "blank.tiff", np.full((1024, 1024, 3), 240, np.uint8), (1, 4))
    )
    plan = plan_slide(slide, 3, model_mpp=0.5, tile=256)
    assert plan.tissue == [] and plan.skipped_share == 1.0
    store = TileStore(tmp_path / "store", plan.grid)
    assert predict_slide(predictor, plan, store) == 0


def test_tissue_tiles_predicted_cached_resumed_and_scored(tmp_path, predictor):
    image = mosaic((1536, 1024))
    image[:, 1000:] = 242  # glass on the right third
    path = write_pyramid(tmp_path / "s.tiff", image, (1, 4), mpp=0.5)
    classes = ClassSet.default(2, names=["background", "tissue"])
    truth = (image.mean(axis=2) < 200).astype(np.uint8)
    features = mask_features(truth, classes)
    features["features"] = [
        f for f in features["features"] if f["properties"]["classification"]["name"] == "tissue"
    ]
    (tmp_path / "s.geojson").write_text(json.dumps(features))
    slide = open_slide(path)
    plan = plan_slide(slide, 3, model_mpp=0.5, tile=256)  # model at the slide's resolution
    assert plan.factor == 1.0 and 0.2 < plan.skipped_share < 0.5  # the glass is skipped
    store = TileStore(tmp_path / "store", plan.grid)
    token = CancelToken()

    def stop_after_two(done, total):
        if done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        predict_slide(predictor, plan, store, progress=stop_after_two, cancel=token)
    assert len(list(store.folder.glob("*.npz"))) == 2 and not list(store.folder.glob(".tmp-*"))
    rest = predict_slide(predictor, plan, store)  # resumes: only what is missing
    assert rest == len(plan.tissue) - 2
    assert predict_slide(predictor, plan, store) == 0  # reopened: all cached
    # The stitched tiles are the prediction of the image as the slide stores it (JPEG).
    pixels = slide_reader(slide, 1.0)(0, 0, 1536, 1024)
    whole = predict_image(predictor, pixels, tile=256)
    for col, row in plan.tissue:
        x, y, w, h = plan.grid.core(col, row)
        assert np.array_equal(store.get(col, row).labels, whole.labels[y : y + h, x : x + w])
    # Running totals over tiles equal a recount over the stitched slide's annotated tissue.
    ann = load_annotations(tmp_path / "s.geojson", classes)
    total = slide_confusion(plan, store, ann, 2)
    full_truth = ann.rasterise(0, 0, 1536, 1024)
    covered = np.zeros((1024, 1536), bool)
    for col, row in plan.tissue:
        x, y, w, h = plan.grid.core(col, row)
        covered[y : y + h, x : x + w] = True
    recount = confusion(np.where(covered, full_truth, UNKNOWN), whole.labels, 2)
    assert np.array_equal(total, recount) and total.sum() == (full_truth[covered] < 2).sum()


def test_whole_slides_are_read_at_the_working_resolution(pyramid):
    from seggui.core.wsi import open_slide
    from seggui.model.slide_predict import plan_slide

    path, _ = pyramid
    slide = open_slide(path)
    try:
        full, half = plan_slide(slide, 2), plan_slide(slide, 2, downsample=2)
    finally:
        slide.close()
    assert half.factor == 2 * full.factor
    assert half.grid.width == round(full.grid.width / 2)

"""The input normalisation stored with a model is the one every prediction path uses."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from seggui.core.classes import ClassSet
from seggui.core.folder import open_folder
from seggui.core.registry import ModelMeta
from seggui.model import store
from seggui.model.pipeline import channel_stats
from seggui.model.predict import Predictor
from seggui.model.train import TrainSettings, _items, split_validation, train
from seggui.model.unet import build_unet, input_normalisation
from tests.conftest import TINY

MEAN = [0.9, 0.1, 0.5]
STD = [0.05, 0.3, 2.0]  # far from [0, 1] input: a path that skipped it would disagree widely
PATHS = ["reference", "tf-fp32", "tf-bf16"]
try:
    import seggui.model.ovpath  # noqa: F401

    PATHS += ["openvino", "openvino-cached"]
except ImportError:
    pass


@pytest.fixture(scope="module")
def odd_model(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build_unet(3, 4, 2, mean=MEAN, std=STD)
    twin = build_unet(3, 4, 2)  # the same weights, fed normalised pixels by hand
    twin.set_weights(model.get_weights())
    path = tmp_path_factory.mktemp("odd") / "odd.keras"
    store.save_model(model, path, ModelMeta(ClassSet.default(3), base_filters=4, depth=2))
    image = np.random.default_rng(1).random((44, 60, 3)).astype(np.float32)
    by_hand = (image - np.float32(MEAN)) / np.float32(STD)
    expected = Predictor(twin, 2, backend="reference").predict(by_hand)
    return path, image, expected


def test_metadata_holds_the_models_own_normalisation(odd_model):
    path, _, _ = odd_model
    meta = store.read_meta(path)
    assert meta.input_mean == pytest.approx(MEAN) and meta.input_std == pytest.approx(STD)
    assert "input_mean" in meta.normalization
    model, _ = store.load_model(path)
    mean, std = input_normalisation(model)
    assert mean == pytest.approx(MEAN) and std == pytest.approx(STD)


@pytest.mark.parametrize("path_name", PATHS)
def test_every_prediction_path_normalises_as_stored(odd_model, path_name):
    path, image, expected = odd_model
    meta = store.read_meta(path)
    if path_name == "openvino-cached":
        predictor = Predictor.from_path(path, meta)
    else:
        model, _ = store.load_model(path)
        predictor = Predictor(model, meta.depth, backend=path_name)
    got = predictor.predict(image)
    exact = path_name in ("reference", "tf-fp32") or not predictor.path.count("bf16")
    assert (got.labels == expected.labels).mean() >= (1.0 if exact else 0.98)
    assert np.abs(got.confidence - expected.confidence).max() < (1e-3 if exact else 0.05)


def test_training_stores_the_training_images_statistics(small_demo):
    ctx = open_folder(small_demo)
    tiny = TINY
    result = train(ctx, TrainSettings(epochs=1, **tiny), make_active=False)
    fit_slides, _ = split_validation(result.curation.train, 0.1, 42)
    mean, std = channel_stats(_items(fit_slides), 42)
    meta = store.read_meta(result.model_path)
    assert meta.input_mean == pytest.approx(mean) and meta.input_std == pytest.approx(std)
    assert not np.allclose(mean, 0.5)  # tissue is not grey: the numbers came from the images
    plain = train(ctx, TrainSettings(epochs=1, normalise=False, **tiny), make_active=False)
    assert store.read_meta(plain.model_path).input_mean is None

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest

from seggui.core.classes import ClassSet
from seggui.model import store
from seggui.model.predict import Predictor
from seggui.model.unet import build_unet

CLASSES2 = ClassSet.default(2)


def _tiny(n=2):
    keras.utils.set_random_seed(0)
    return build_unet(n, base_filters=4, depth=2)


def test_shapes_and_softmax():
    model = build_unet(3, base_filters=4, depth=4)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 32, 32, 3)
    assert np.allclose(y.sum(-1), 1.0, atol=1e-5)
    names = [layer.__class__.__name__ for layer in model.layers]
    assert names.count("MaxPooling2D") == 4 and names.count("Conv2DTranspose") == 4
    assert names.count("Dropout") == 8 and names.count("BatchNormalization") == 18


def test_save_reload_round_trip(tmp_path):
    model = _tiny()
    path = store.save_model(
        model, tmp_path / "m.keras", store.ModelMeta(CLASSES2, base_filters=4, depth=2)
    )
    loaded, meta = store.load_model(path)
    x = np.random.default_rng(1).random((1, 32, 32, 3)).astype(np.float32)
    assert np.allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    assert meta.classes.names == CLASSES2.names and meta.depth == 2 and meta.created
    assert json.loads((tmp_path / "m.json").read_text())["format"] == store.FORMAT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]


def test_bad_models_are_refused(tmp_path):
    model = _tiny()
    good = store.save_model(model, tmp_path / "good.keras", store.ModelMeta(CLASSES2, 4, 2))

    bare = tmp_path / "bare.keras"
    model.save(bare)
    with pytest.raises(store.ModelError, match="not a seggui model"):
        store.load_model(bare)

    trunc = tmp_path / "trunc.keras"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "trunc.json").write_text((tmp_path / "good.json").read_text())
    with pytest.raises(store.ModelError, match="damaged|cannot be loaded"):
        store.load_model(trunc)

    wrong = tmp_path / "wrong.keras"
    store.save_model(model, wrong, store.ModelMeta(ClassSet.default(4), 4, 2))
    with pytest.raises(store.ModelError, match="predicts 2 classes"):
        store.load_model(wrong)

    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Lambda(lambda t: t * 0.5)(inputs)
    lam = tmp_path / "lam.keras"
    store.save_model(keras.Model(inputs, outputs), lam, store.ModelMeta(ClassSet.default(3), 4, 2))
    with pytest.raises(store.ModelError, match="safe mode"):
        store.load_model(lam)


def test_versions_and_active_pointer(tmp_path):
    model = _tiny()
    assert store.resolve_model(tmp_path) == store.bundled_model_path()
    first = store.save_model(model, store.new_version_path(tmp_path), store.ModelMeta(CLASSES2))
    second = store.save_model(model, store.new_version_path(tmp_path), store.ModelMeta(CLASSES2))
    assert [p for p, _ in store.list_versions(tmp_path)] == [first, second]
    store.set_active(tmp_path, first)
    assert store.resolve_model(tmp_path) == first
    assert store.resolve_model(tmp_path, "x.keras").name == "x.keras"


def test_predictor_any_size_and_tiling_agree():
    model = _tiny(3)
    rng = np.random.default_rng(2)
    image = rng.random((70, 90, 3)).astype(np.float32)
    whole = Predictor(model, depth=2, tile=512).predict(image)
    assert whole.labels.shape == (70, 90) and whole.labels.dtype == np.uint8
    assert whole.confidence.shape == (70, 90) and (whole.confidence <= 1.0 + 1e-6).all()
    tiled = Predictor(model, depth=2, tile=48, overlap=12, batch_size=3).predict(image)
    assert tiled.labels.shape == (70, 90)
    # Tiles see less context near their seams, so a few pixels may differ; most must agree.
    assert (tiled.labels == whole.labels).mean() > 0.9


def test_bundled_model_is_a_valid_seggui_model():
    path = store.bundled_model_path()
    assert path.exists(), "resources/default_model.keras is missing"
    assert zipfile.is_zipfile(path)
    _model, meta = store.load_model(path)
    assert len(meta.classes) == 4 and meta.test_metrics["miou"] >= 0.9


def test_parallel_predict_writes_the_same_bytes_as_sequential(tmp_path):
    from seggui.core.demo import write_demo
    from seggui.core.folder import open_folder
    from seggui.model.evaluate import evaluate_slides, predict_slides
    from seggui.model.predict import Predictor
    from seggui.model.unet import build_unet

    ctx = open_folder(write_demo(tmp_path / "d", count=7, seed=2, size=96))
    (ctx.root / "images" / "broken.png").write_bytes(b"not a png")
    ctx = open_folder(ctx.root)
    predictor = Predictor(build_unet(4, 4, 2), depth=2)
    seq, p1 = predict_slides(predictor, ctx.slides, tmp_path / "seq", ctx.classes, workers=0)
    par, p2 = predict_slides(predictor, ctx.slides, tmp_path / "par", ctx.classes, workers=3)
    assert [p.name for p in seq] == [p.name for p in par] and len(seq) == 7
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(seq, par, strict=True))
    assert {p.name for p in p1} == {p.name for p in p2} == {"broken"}
    r1 = evaluate_slides(predictor, ctx.slides, ctx.classes, workers=0)
    r2 = evaluate_slides(predictor, ctx.slides, ctx.classes, workers=3)
    assert (r1.overall.confusion == r2.overall.confusion).all()

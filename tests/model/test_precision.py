"""bfloat16 training: chosen per CPU, and the saved model is float32 and loads everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.folder import open_folder
from seggui.model import precision, store
from seggui.model.predict import Predictor
from seggui.model.train import TrainSettings, train


@pytest.mark.parametrize("bf16_units", [True, False])
def test_auto_trains_in_bfloat16_only_on_a_cpu_with_bf16_units(monkeypatch, bf16_units):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: bf16_units)
    want = "bfloat16" if bf16_units else "float32"
    assert precision.training_precision("auto", has_gpu=False) == want
    assert precision.training_precision("auto", has_gpu=True) == "float32"
    assert precision.training_precision("bfloat16", has_gpu=True) == "bfloat16"
    with pytest.raises(ValueError, match="unknown precision"):
        precision.training_precision("fp8")


def test_an_isa_cap_below_bf16_means_no_bf16_units(monkeypatch):
    from seggui.model import cpu

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    cpu.cpu_has_bf16.cache_clear()
    try:
        assert not cpu.cpu_has_bf16()
    finally:
        cpu.cpu_has_bf16.cache_clear()


def test_a_model_trained_in_bfloat16_is_saved_in_float32_and_predicts(tmp_path):
    from seggui.core.demo import write_demo

    ctx = open_folder(write_demo(tmp_path / "demo", count=6, seed=3, size=64))
    settings = TrainSettings(
        epochs=2, batch_size=4, base_filters=4, depth=2, patch=32, eager=True, precision="bfloat16"
    )
    result = train(ctx, settings)
    assert result.meta.training["precision_used"] == "bfloat16"
    model, meta = store.load_model(result.model_path)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    image = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    reference = Predictor(model, meta.depth, backend="reference").predict(image)
    fast = Predictor.from_path(result.model_path, meta).predict(image)
    assert reference.labels.shape == (64, 64) and (reference.labels == fast.labels).mean() > 0.99


def test_the_bfloat16_twin_computes_in_bfloat16_with_the_same_weights():
    from seggui.model.unet import build_unet

    model = build_unet(3, 4, 2, mean=[0.5] * 3, std=[0.2] * 3, block="separable")
    twin = precision.with_precision(model, "bfloat16")
    assert twin.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert twin.layers[-1].dtype_policy.name == "float32"  # the softmax
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    x = np.random.default_rng(1).random((1, 16, 16, 3)).astype(np.float32)
    out = twin.predict(x, verbose=0)
    assert out.dtype == np.float32
    assert np.abs(out - model.predict(x, verbose=0)).max() < 0.05  # bf16 keeps ~3 digits

"""The fast prediction paths agree with the reference (the model as trained, fp32)."""

from __future__ import annotations

import numpy as np
import pytest

from seggui.core.folder import open_folder
from seggui.core.imageio import read_image
from seggui.model import store
from seggui.model.fastpath import fold_batchnorm
from seggui.model.predict import Predictor
from seggui.model.train import TrainSettings, train

BACKENDS = ["tf-fp32", "tf-bf16"]
try:
    import seggui.model.ovpath  # noqa: F401

    BACKENDS.append("openvino")
except ImportError:
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path_factory.mktemp("fast") / "demo", count=8, seed=11, size=96)
    ctx = open_folder(folder)
    settings = TrainSettings(epochs=3, batch_size=4, base_filters=8, depth=3, patch=64)
    result = train(ctx, settings)
    model, meta = store.load_model(result.model_path)
    images = [read_image(s.image_path) for s in ctx.slides]
    return model, meta, images


def test_folding_batchnorm_is_exact(trained):
    model, meta, images = trained
    fused = fold_batchnorm(model, meta.base_filters, meta.depth, bf16=False)
    x = np.stack(images[:4])
    ref = model.predict(x, verbose=0)
    got = fused.predict(x, verbose=0)
    assert np.abs(ref - got).max() < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_agrees_with_reference(trained, backend):
    model, meta, images = trained
    reference = Predictor(model, meta.depth, backend="reference")
    fast = Predictor(model, meta.depth, backend=backend)
    changed, worst = [], 0.0
    for image in images:
        r, f = reference.predict(image), fast.predict(image)
        assert f.labels.shape == r.labels.shape and f.labels.dtype == np.uint8
        changed.append((r.labels != f.labels).mean())
        worst = max(worst, float(np.abs(r.confidence - f.confidence).max()))
    limit = 1e-4 if backend == "tf-fp32" else 0.01  # bf16 keeps ~3 significant digits
    assert np.mean(changed) <= limit, (backend, np.mean(changed))
    assert worst < (1e-4 if backend == "tf-fp32" else 0.1)

"""The working resolution: a model trained at 1/2 sees reduced slides, records the factor, and
every prediction path gives full-size results from probabilities brought back to full size."""

from __future__ import annotations

import numpy as np

from seggui.core.resolution import enlarge_probabilities, reduce_image, reduce_mask
from tests.conftest import TINY


def test_reducing_and_enlarging():
    image = np.arange(6 * 5 * 3, dtype=np.float32).reshape(6, 5, 3)
    small = reduce_image(image, 2)
    assert small.shape == (3, 3, 3)
    assert np.allclose(small[0, 0], image[:2, :2].mean(axis=(0, 1)))
    assert np.allclose(small[2, 2], image[4:6, 4:5].mean(axis=(0, 1)))  # the edge repeated
    mask = np.arange(36).reshape(6, 6) % 4
    assert np.array_equal(reduce_mask(mask, 2), mask[1::2, 1::2])  # no blended classes
    flat = np.full((3, 3, 4), 0.25, np.float32)
    assert np.allclose(enlarge_probabilities(flat, 6, 5, 2), 0.25)
    ramp = np.linspace(0, 1, 8, dtype=np.float32)[None, :, None].repeat(2, 0)
    big = enlarge_probabilities(ramp, 4, 16, 2)
    assert big.shape == (4, 16, 1) and np.all(np.diff(big[0, :, 0]) >= 0)  # smooth, no steps
    assert reduce_image(image, 1) is image and reduce_mask(mask, 1) is mask


def test_a_model_trained_at_half_resolution_predicts_full_size_everywhere(small_demo, tmp_path):
    from seggui.cli import main
    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_image, read_mask
    from seggui.core.train_settings import TrainSettings
    from seggui.model import store
    from seggui.model.predict import Predictor
    from seggui.model.train import train

    ctx = open_folder(small_demo)
    settings = TrainSettings(epochs=1, downsample=2, **{**TINY, "patch": 32})
    result = train(ctx, settings, make_active=True)
    meta = store.read_meta(result.model_path)
    assert meta.downsample == 2 and meta.training["downsample"] == 2
    slide = ctx.slides[0]
    image = read_image(slide.image_path)
    fast = Predictor.from_path(result.model_path, meta)  # OpenVINO's copy where installed
    model, _ = store.load_model(result.model_path)
    reference = Predictor(model, meta.depth, backend="reference", downsample=meta.downsample)
    a, b = fast.predict(image), reference.predict(image)
    assert fast.downsample == 2 and a.labels.shape == image.shape[:2] == b.labels.shape
    assert a.probs.shape[:2] == image.shape[:2]
    # OpenVINO computes in bf16 on a CPU with bf16 units: a 1-epoch model's near-ties may
    # flip there, its probabilities stay within 0.1 and its clear decisions stay.
    assert np.abs(a.probs.astype(np.int16) - b.probs.astype(np.int16)).max() <= 26
    clear = b.margin >= 0.05
    assert not clear.any() or (a.labels == b.labels)[clear].mean() > 0.99
    # Not a blocky upscale of a half-size label image: labels come from enlarged probabilities.
    half = Predictor(model, meta.depth, backend="reference").predict(reduce_image(image, 2))
    assert half.labels.shape == (32, 32)
    assert main(["predict", str(small_demo), "--out", str(tmp_path / "out")]) == 0
    written = read_mask(tmp_path / "out" / f"{slide.name}.png", ctx.classes)
    assert written.shape == image.shape[:2]
    assert not clear.any() or (written == a.labels)[clear].mean() > 0.99
    assert (written == a.labels).mean() > 0.9

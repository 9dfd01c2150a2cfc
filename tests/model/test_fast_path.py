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
from seggui.model.unet import block_of
from tests.conftest import run_python

BACKENDS = ["tf-fp32", "tf-bf16"]
try:
    import seggui.model.ovpath  # noqa: F401

    BACKENDS.append("openvino")
except ImportError:
    pass


@pytest.fixture(scope="module", params=["standard", "separable"])
def trained(tmp_path_factory, request):
    """A tiny trained U-Net of each kind of block, saved and loaded back."""
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path_factory.mktemp("fast") / "demo", count=8, seed=11, size=96)
    ctx = open_folder(folder)
    settings = TrainSettings(
        epochs=3, batch_size=4, base_filters=8, depth=3, patch=64, eager=True, block=request.param
    )
    result = train(ctx, settings)
    model, meta = store.load_model(result.model_path)
    assert block_of(model) == meta.block == request.param
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
        flipped = r.labels != f.labels
        if backend != "tf-fp32":
            # bf16 keeps ~3 significant digits: a tiny model's near-ties (the two likeliest
            # classes within 0.05) may flip; a clear decision must not
            flipped = flipped[r.margin >= 0.05]
        changed.append(flipped.mean() if flipped.size else 0.0)
        worst = max(worst, float(np.abs(r.confidence - f.confidence).max()))
    limit = 1e-4 if backend == "tf-fp32" else 0.01  # bf16 keeps ~3 significant digits
    assert np.mean(changed) <= limit, (backend, np.mean(changed))
    assert worst < (1e-4 if backend == "tf-fp32" else 0.1)


def test_the_converted_copy_is_cached_and_predicting_through_it_imports_no_tensorflow(tmp_path):

    pytest.importorskip("openvino")
    from seggui.core.demo import write_demo
    from seggui.core.imageio import read_image
    from seggui.core.registry import bundled_model_path, read_meta
    from seggui.model.ovcache import ir_path
    from seggui.model.predict import Predictor

    folder = write_demo(tmp_path / "d", count=2, seed=5)
    model = tmp_path / "models" / "m.keras"
    model.parent.mkdir()
    for suffix in (".keras", ".json"):
        (model.with_suffix(suffix)).write_bytes(
            bundled_model_path().with_suffix(suffix).read_bytes()
        )
    meta = read_meta(model)
    xml = ir_path(model)
    assert not xml.exists()
    image = read_image(folder / "images" / "tile_0000.png")
    cached = Predictor.from_path(model, meta).predict(image)
    assert xml.exists() and xml.with_suffix(".bin").exists() and xml.parent.parent == model.parent
    reference = Predictor(
        __import__("seggui.model.store").model.store.load_model(model)[0],
        meta.depth,
        backend="openvino",
    ).predict(image)
    assert (cached.labels == reference.labels).mean() > 0.9999
    assert cached.probs.shape == (512, 512, 4) and cached.margin.shape == (512, 512)
    code = (
        "import sys\n"
        "from seggui.core.registry import read_meta\n"
        "from seggui.core.imageio import read_image\n"
        "from seggui.model.predict import Predictor\n"
        f"p = Predictor.from_path({str(model)!r}, read_meta({str(model)!r}))\n"
        f"p.predict(read_image({str(folder / 'images' / 'tile_0001.png')!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = run_python(code)
    assert out.stdout.strip() == "[]"
    # A changed model file gets a copy of its own.
    with open(model, "ab") as fh:
        fh.write(b"\0")
    assert ir_path(model) != xml


def test_converting_a_model_sends_no_usage_data(tmp_path):
    """OpenVINO's converter reports each conversion to Google Analytics unless the user opted
    out (and leaves an ID file in ~/intel); each report forks a process and waits up to 3 s.
    seggui's processes send nothing. The child's sockets refuse and log every lookup and
    connection, so that even a regression reaches no address."""
    import os
    import subprocess
    import sys

    pytest.importorskip("openvino")
    home, log = tmp_path / "home", tmp_path / "network.log"
    home.mkdir()
    code = (
        "import socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        f"    with open({str(log)!r}, 'a') as fh:\n"
        "        fh.write(repr(args)[:300] + '\\n')\n"
        "    raise OSError('no network in this test')\n"
        "socket.getaddrinfo = socket.create_connection = refuse\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "from seggui.core.registry import bundled_model_path, read_meta\n"
        "from seggui.model.ovcache import build_ir\n"
        "from pathlib import Path\n"
        "path = bundled_model_path()\n"
        f"build_ir(path, read_meta(path), Path({str(tmp_path / 'm.xml')!r}))\n"
        "print(sys.modules.get('openvino_telemetry', 'missing'))\n"
    )
    quiet = ("CI", "TF_BUILD", "JENKINS_URL")  # the telemetry's own off switches for CI
    env = {k: v for k, v in os.environ.items() if k not in quiet} | {"HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert not log.exists(), log.read_text()  # no lookup, no connection
    assert (tmp_path / "m.xml").exists() and out.stdout.strip() == "None"
    assert not (home / "intel").exists()  # no client ID written for an analytics service


@pytest.mark.skipif("openvino" not in BACKENDS, reason="needs OpenVINO")
def test_softmax_written_as_logsumexp_gives_the_same_outputs(trained):
    from seggui.model.ovpath import OpenVinoRunner

    model, meta, images = trained
    x = np.stack(images[:2]).astype(np.float32)[..., :3] / 255
    outputs, kinds = [], []
    for fuse in (False, True):
        runner = OpenVinoRunner(model, meta.base_filters, meta.depth, "f32")
        runner.fuse_softmax = fuse
        outputs.append(runner(x))
        graph = runner._compiled_for(x.shape).get_runtime_model()
        kinds.append(
            {str(op.get_rt_info()["layerType"].astype(str)) for op in graph.get_ordered_ops()}
        )
    (labels, conf, margin, probs), (labels2, conf2, margin2, probs2) = outputs
    assert "Softmax" in kinds[0] and "Softmax" not in kinds[1]
    assert np.array_equal(labels, labels2)
    assert np.abs(conf - conf2).max() < 1e-5 and np.abs(margin - margin2).max() < 1e-5
    assert np.abs(probs.astype(int) - probs2).max() <= 1


@pytest.mark.skipif("openvino" not in BACKENDS, reason="needs OpenVINO")
@pytest.mark.parametrize("tile", [512, 48])
def test_labels_alone_are_the_predictions_labels(trained, tile):
    """``seggui predict`` keeps only the labels and computes them from the Softmax's input:
    the same classes as the full prediction, whole or stitched from tiles (bf16 may flip a
    near-tie), without computing what it does not keep."""
    model, meta, images = trained
    predictor = Predictor(model, meta.depth, tile=tile, overlap=8, backend="openvino")
    for image in images[:3]:
        full = predictor.predict(image)
        labels = predictor.predict_labels(image)
        assert labels.shape == full.labels.shape == image.shape[:2]
        assert labels.dtype == np.uint8
        assert not np.any((labels != full.labels) & (full.margin >= 0.05))
        assert np.mean(labels != full.labels) < 0.01
    shape = (1, min(tile, 96), min(tile, 96), 3)
    graph = predictor._infer._compiled_for(shape, labels=True).get_runtime_model()
    kinds = {str(op.get_rt_info()["layerType"].astype(str)) for op in graph.get_ordered_ops()}
    assert "Softmax" not in kinds and len(graph.outputs) == 1

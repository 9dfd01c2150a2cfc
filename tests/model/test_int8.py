"""The int8 copy is used only when it agrees with fp32 (and is faster)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("nncf")

from seggui.core.classes import ClassSet
from seggui.core.registry import ModelMeta
from seggui.model import store
from seggui.model.int8 import calibration_tiles, int8_paths, quantize_and_check, read_check
from seggui.model.ovcache import build_ir, cached_runner, ir_path
from seggui.model.unet import build_unet


@pytest.fixture
def converted(tmp_path):
    import keras

    keras.utils.set_random_seed(2)
    model = build_unet(3, 4, 2, mean=[0.7, 0.5, 0.7], std=[0.2, 0.2, 0.2])
    path = store.save_model(
        model, tmp_path / "m.keras", ModelMeta(ClassSet.default(3), base_filters=4, depth=2)
    )
    meta = store.read_meta(path)
    xml = build_ir(path, meta, ir_path(path))
    rng = np.random.default_rng(0)
    images = [rng.random((300, 280, 3), dtype=np.float32) for _ in range(4)]
    return path, meta, xml, images


def test_int8_is_refused_when_its_agreement_check_fails(converted):
    path, meta, xml, images = converted
    tiles = calibration_tiles(images[:2], 6)
    assert len(tiles) == 6 and tiles[0].shape == (256, 256, 3)
    check = quantize_and_check(xml, tiles, images[2:], limit=0.0)
    # An untrained model's classes are near ties: int8 moves some pixels, which fails a 0 limit.
    assert check.changed > 0 and not check.agrees and not check.used
    assert "refused" in check.reason()
    saved = read_check(xml)
    assert saved is not None and saved.changed == pytest.approx(check.changed)
    assert cached_runner(path, meta).precision != "int8"


def _rewrite_timing(xml, ms_int8: float, ms_default: float) -> None:
    """The saved check with other timings (the speed of this machine is not under test)."""
    report = int8_paths(xml)[1]
    data = json.loads(report.read_text())
    data.update(ms_int8=ms_int8, ms_default=ms_default)
    report.write_text(json.dumps(data))


def test_an_agreeing_copy_is_the_default_exactly_when_it_is_faster(converted):
    path, meta, xml, images = converted
    check = quantize_and_check(xml, calibration_tiles(images[:2], 6), images[2:], limit=1.0)
    assert check.agrees
    assert (cached_runner(path, meta).precision == "int8") == check.used  # as measured here
    _rewrite_timing(xml, ms_int8=10.0, ms_default=20.0)
    runner = cached_runner(path, meta)
    assert runner.precision == "int8"
    labels = runner(np.ascontiguousarray(images[3][None, :256, :256]))[0]
    assert labels.shape == (1, 256, 256) and labels.max() < 3
    assert cached_runner(path, meta, int8=False).precision != "int8"
    _rewrite_timing(xml, ms_int8=20.0, ms_default=20.0)  # agrees, but not faster
    assert cached_runner(path, meta).precision != "int8"


def test_ensure_int8_makes_the_copy_once_and_the_cli_skips_it_after(demo_folder, monkeypatch):
    """After a retrain (the training child) or on the bundled model's first use (the window,
    in a child running `quantize --if-missing`), the copy is made once and then reused."""
    import contextlib
    import io

    import keras

    from seggui.cli import main
    from seggui.core.folder import open_folder
    from seggui.model import int8

    ctx = open_folder(demo_folder)
    keras.utils.set_random_seed(3)
    path = store.save_model(
        build_unet(4, 4, 2), ctx.workspace / "tiny.keras", ModelMeta(ClassSet.default(4), 4, 2)
    )
    meta = store.read_meta(path)
    made = int8.ensure_int8(ctx, path, meta)
    assert made is not None and read_check(ir_path(path)) is not None

    def no_second_copy(*args, **kwargs):
        raise AssertionError("the copy was made already")

    monkeypatch.setattr(int8, "quantize_for_folder", no_second_copy)
    again = int8.ensure_int8(ctx, path, meta)
    assert again is not None and again.changed == pytest.approx(made.changed)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["quantize", str(demo_folder), "--model", str(path), "--if-missing"])
    assert code == 0 and "already checked" in out.getvalue()

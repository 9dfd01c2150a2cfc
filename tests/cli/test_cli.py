"""The `seggui` command end to end, as a user runs it (a subprocess per command)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.cli import main
from tests.conftest import shared_folder

TINY_TRAIN = [
    "--eager",
    "--epochs",
    "1",
    "--base-filters",
    "4",
    "--depth",
    "3",
    "--patch",
    "64",
    "--batch-size",
    "4",
    "--crops-per-image",
    "1",
]


def seggui_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command as a user runs it: a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "seggui", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=cwd,
        env=env,
    )


def seggui(*args: str) -> subprocess.CompletedProcess:
    """The command's ``main`` in this process (TensorFlow is imported once per test run);
    exit status, stdout and stderr as a process would give them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["seggui", *args], code, out.getvalue(), err.getvalue())


def _json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_usage_errors_exit_2_and_failures_exit_1(tmp_path):
    """The one run as a real process: exit codes, one-line errors and --debug."""
    assert seggui_process("train").returncode == 2
    assert seggui_process("demo", "--out", str(tmp_path), "--count", "x").returncode == 2
    missing = seggui_process("evaluate", str(tmp_path / "missing"))
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    debug = seggui_process("--debug", "evaluate", str(tmp_path / "missing"))
    assert "Traceback" in debug.stderr


def test_demo_train_predict_evaluate(tmp_path):
    demo = tmp_path / "demo"
    assert seggui("demo", "--out", str(demo), "--count", "6", "--seed", "2").returncode == 0
    trained = seggui("train", str(demo), *TINY_TRAIN, "--out", str(tmp_path / "m.keras"))
    assert trained.returncode == 0, trained.stderr
    assert "test split" in trained.stdout and (tmp_path / "m.keras").exists()
    assert "nan" not in trained.stderr and "loss " in trained.stderr  # the progress lines
    out = tmp_path / "pred"
    pred = seggui("predict", str(demo), "--out", str(out))
    assert pred.returncode == 0, pred.stderr
    masks = sorted(out.glob("*.png"))
    assert len(masks) == 6
    with Image.open(masks[0]) as m:
        assert m.mode == "P" and m.size == (512, 512)
    report = _json(seggui("evaluate", str(demo), "--json"))
    assert report["model"].endswith(".keras") and ".seggui" in report["model"]
    assert report["n_slides"] == len(json.loads((demo / ".seggui/split.json").read_text())["test"])
    assert [c["name"] for c in report["per_class"]] == ["background", "stroma", "gland", "nucleus"]
    every = _json(
        seggui("evaluate", str(demo), "--all", "--json", "--model", str(tmp_path / "m.keras"))
    )
    assert every["n_slides"] == 6 and len(every["slides"]) == 6


def test_bundled_model_scores_the_demo(tmp_path):
    demo = tmp_path / "d"
    assert seggui("demo", "--out", str(demo), "--count", "10").returncode == 0
    report = _json(seggui("evaluate", str(demo), "--all", "--json"))
    assert "default_model.keras" in report["model"]
    assert report["miou"] >= 0.9


def test_broken_files_are_listed_and_the_rest_scored(tmp_path):
    demo = tmp_path / "demo"
    assert seggui("demo", "--out", str(demo), "--count", "5").returncode == 0
    (demo / "images/empty.png").write_bytes(b"")
    data = (demo / "images/tile_0000.png").read_bytes()
    (demo / "images/trunc.png").write_bytes(data[: len(data) // 3])
    shutil.copy(demo / "masks/tile_0001.png", demo / "masks/trunc.png")
    Image.fromarray(np.zeros((10, 10, 4), np.uint8)).save(demo / "images/odd.png")
    shutil.copy(demo / "masks/tile_0001.png", demo / "masks/odd.png")
    shutil.copy(demo / "masks/tile_0001.png", demo / "masks/lonely.png")
    Image.fromarray(np.full((512, 512), 9, np.uint8)).save(demo / "masks/tile_0002.png")
    report = _json(seggui("evaluate", str(demo), "--all", "--json"))
    reasons = {p["name"]: p["reason"] for p in report["problems"]}
    assert "empty" in reasons["empty"]
    assert "trunc" in reasons and "odd" in reasons and "no image" in reasons["lonely"]
    assert "outside the 4 classes" in reasons["tile_0002"]
    assert report["n_slides"] == 4 and report["miou"] is not None


def test_gleason_real_data_five_classes_jpeg(tmp_path):
    src = shared_folder("gleason")
    folder = tmp_path / "gleason"
    shutil.copytree(src, folder)  # the workspace is written beside the data
    trained = seggui("train", str(folder), *TINY_TRAIN)
    assert trained.returncode == 0, trained.stderr
    report = _json(seggui("evaluate", str(folder), "--json"))
    assert len(report["per_class"]) == 5 and report["n_slides"] >= 2
    out = tmp_path / "pred"
    assert seggui("predict", str(folder), "--out", str(out)).returncode == 0
    with Image.open(next(out.glob("*.png"))) as m:
        assert m.mode == "P" and m.size == (1201, 1201)


def test_glas_real_data_binary_masks(tmp_path):
    src = shared_folder("glas-test")
    folder = tmp_path / "glas"
    shutil.copytree(src, folder)
    trained = seggui("train", str(folder), *TINY_TRAIN)
    assert trained.returncode == 0, trained.stderr
    report = _json(seggui("evaluate", str(folder), "--json"))
    assert [c["name"] for c in report["per_class"]] == ["background", "foreground"]
    assert report["n_slides"] == 8 and 0 <= report["miou"] <= 1
    sizes = {Image.open(p).size for p in (folder / "images").glob("*.png")}
    assert (775, 522) in sizes


def test_progress_line_never_prints_nan():
    import math

    from seggui.cli.common import progress_text
    from seggui.model.train import TrainProgress

    line = progress_text(TrainProgress(3, 3, 5, 5, math.nan, message="scoring the test split"))
    assert "nan" not in line and "scoring the test split" in line
    assert "loss 0.1235" in progress_text(TrainProgress(1, 3, 2, 5, 0.12345, val_iou=math.nan))
    # Before the first epoch (the audit's pixel forest): no "epoch 0/3".
    forest = TrainProgress(0, 3, 0, 1, math.nan, message="pixel forest: colour and texture")
    assert progress_text(forest) == "pixel forest: colour and texture"


def test_a_model_with_other_classes_is_not_scored(tmp_path):
    demo = tmp_path / "d"
    assert seggui("demo", "--out", str(demo), "--count", "4").returncode == 0
    (demo / "classes.json").unlink()  # now the classes are "class 0" ... "class 3"
    result = seggui("evaluate", str(demo), "--json")
    assert result.returncode == 1
    assert "classes" in result.stderr and "seggui train" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_real_gleason_masks_to_geojson_round_trips(tmp_path):
    from seggui.core.annotations import load_annotations
    from seggui.core.classes import ClassSet

    src = shared_folder("gleason")
    folder = tmp_path / "gleason"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for stem in ("test10", "test100"):
        shutil.copy(src / "images" / f"{stem}.jpg", folder / "images")
        shutil.copy(src / "masks" / f"{stem}.png", folder / "masks")
    out, masks = tmp_path / "geo", tmp_path / "png"
    result = seggui(
        "export", str(folder), "--geojson", str(out), "--masks", str(masks), "--include-background"
    )
    assert result.returncode == 0, result.stderr
    classes = ClassSet.default(5, names=[f"class {i}" for i in range(5)])
    holes = 0
    for stem in ("test10", "test100"):
        data = json.loads((out / f"{stem}.geojson").read_text())
        assert data["type"] == "FeatureCollection" and data["features"]
        for f in data["features"]:
            assert f["type"] == "Feature" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
            assert f["properties"]["objectType"] == "annotation"
            assert set(f["properties"]["classification"]) == {"name", "color"}
            holes += len(f["geometry"]["coordinates"]) - 1
        truth = np.asarray(Image.open(src / "masks" / f"{stem}.png"))
        back = load_annotations(out / f"{stem}.geojson", classes).rasterise(
            0, 0, truth.shape[1], truth.shape[0]
        )
        for c in np.unique(truth):
            a, b = truth == c, back == c
            assert (a & b).sum() / (a | b).sum() >= 0.99
        with Image.open(masks / f"{stem}.png") as m:
            assert m.mode == "P" and np.array_equal(np.asarray(m), truth)
    assert holes > 0  # the real masks have regions with holes, and they are kept
    usage = seggui("export", str(folder))
    assert usage.returncode == 2

"""Shared fixtures: small generated folders, the real data in ../shared/data, isolation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Before any test module imports OpenVINO: its converter's usage reports stay off in the test
# process as in seggui's own (nothing here may connect beyond 127.0.0.1).
import seggui.model  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEGGUI_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Training settings of the tests' tiny fits: a few steps of 32-pixel crops, run eagerly (no
#: tracing; the traced path is test_one_epoch_fit's).
TINY = {
    "batch_size": 4,
    "base_filters": 4,
    "depth": 2,
    "patch": 32,
    "crops_per_image": 2,
    "eager": True,
}
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The window and the training child make int8 copies in the background (a minute of NNCF);
# the suite keeps fp32 predictions and its cores: tests/model/test_int8.py covers them.
os.environ.setdefault("SEGGUI_INT8_BACKGROUND", "0")


@pytest.fixture(scope="session")
def _shared_openvino(tmp_path_factory) -> Path:
    """One folder for converted OpenVINO copies (named by the model file's hash), so the
    bundled model is converted once per test run, not once per test."""
    return tmp_path_factory.mktemp("openvino")


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch, _shared_openvino):
    """Keep per-user data (fallback workspaces, the demo) out of the real home directory;
    each test gets its own, sharing only the converted model copies."""
    data = tmp_path_factory.mktemp("userdata")
    (data / "openvino").symlink_to(_shared_openvino, target_is_directory=True)
    monkeypatch.setenv("SEGGUI_DATA_DIR", str(data))


def run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter, as a user's process would start. A child that
    hangs prints every thread's stack and fails the test, instead of stalling the run."""
    guard = f"import faulthandler; faulthandler.dump_traceback_later({timeout - 20}, exit=True)\n"
    out = subprocess.run(
        [sys.executable, "-c", guard + code],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return out


def shared_folder(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data {path} is not present (../shared/data is outside the repo)")
    return path


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory):
    """``template(count, seed, size)``: a demo folder written once per test run (the demo is
    the same for the same seed) for the fixtures below to copy."""
    from seggui.core.demo import write_demo

    written: dict[tuple[int, int, int], Path] = {}

    def template(count: int, seed: int, size: int) -> Path:
        key = (count, seed, size)
        if key not in written:
            written[key] = write_demo(tmp_path_factory.mktemp("demo"), count, seed, size=size)
        return written[key]

    return template


@pytest.fixture
def demo_folder(tmp_path, _demo_template) -> Path:
    """Six 512x512 demo slides in the original layout (a copy of its own)."""
    return Path(shutil.copytree(_demo_template(6, 3, 512), tmp_path / "demo"))


@pytest.fixture
def small_demo(tmp_path, _demo_template) -> Path:
    """Ten 64x64 demo slides, for tiny training runs (a copy of its own)."""
    return Path(shutil.copytree(_demo_template(10, 5, 64), tmp_path / "small"))

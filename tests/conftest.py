"""Shared fixtures: small generated folders, the real data in ../shared/data, isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture
def demo_folder(tmp_path) -> Path:
    """Six 512x512 demo slides in the original layout."""
    from seggui.core.demo import write_demo

    return write_demo(tmp_path / "demo", count=6, seed=3)


@pytest.fixture
def small_demo(tmp_path) -> Path:
    """Ten 64x64 demo slides, for tiny training runs."""
    from seggui.core.demo import write_demo

    return write_demo(tmp_path / "small", count=10, seed=5, size=64)

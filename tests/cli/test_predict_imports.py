"""`seggui predict` with the model's converted copy on disk imports neither TensorFlow nor
scikit-learn (nor Dask without --cluster/--workers): importing them cost seconds per run."""

from __future__ import annotations

import pytest

from tests.conftest import run_python

pytest.importorskip("openvino")


def test_seggui_predict_imports_no_tensorflow_and_no_scikit_learn(demo_folder, tmp_path):
    from seggui.cli import main

    assert main(["predict", str(demo_folder), "--out", str(tmp_path / "first")]) == 0  # converts
    code = (
        "import sys\n"
        "from seggui.cli import main\n"
        f"code = main(['predict', {str(demo_folder)!r}, '--out', {str(tmp_path / 'again')!r}])\n"
        "heavy = ('tensorflow', 'keras', 'sklearn', 'distributed', 'dask')\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = run_python(code)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
    assert len(list((tmp_path / "again").glob("*.png"))) == 6

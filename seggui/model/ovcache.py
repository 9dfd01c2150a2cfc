"""OpenVINO copies of saved models, kept on disk so that predicting imports no TensorFlow.

The first prediction with a model converts it (BatchNorm folded, the review outputs in the
graph, spatial size left open) and saves the result beside the model, named by a hash of the
model file, so a changed model is converted again; where the model's folder cannot be
written (the bundled model in site-packages), the copy goes to the user's data directory.
Later runs read the converted copy with OpenVINO alone: importing TensorFlow and converting
cost about 5 s before the first tile. Importing this module raises ImportError without
OpenVINO.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import openvino as ov

from seggui.core import workspace as ws
from seggui.core.slide_results import model_hash
from seggui.model.cpu import cpu_has_bf16
from seggui.model.ovgraph import ShapeRunner, review_outputs

CACHE_DIR = ".openvino"


def ir_path(model_path: str | Path) -> Path:
    """Where the converted copy of ``model_path`` lives (the ``.xml``; the ``.bin`` beside)."""
    from seggui.core.registry import bundled_model_path

    model_path = Path(model_path)
    beside = model_path.parent / CACHE_DIR
    shipped = model_path.resolve() == bundled_model_path().resolve()  # never write a package
    folder = beside if not shipped and ws.is_writable(beside) else ws.user_data_dir() / "openvino"
    return folder / f"{model_path.stem}-{model_hash(model_path)}.xml"


def build_ir(model_path: str | Path, meta, xml: Path) -> Path:
    """Convert a saved model (this imports TensorFlow) and save the copy atomically."""
    from seggui.model import store
    from seggui.model.fastpath import fold_batchnorm

    model, _ = store.load_model(model_path)  # safe mode, and every check of a model file
    fused = fold_batchnorm(model, meta.base_filters, meta.depth, bf16=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras on the traced input
        converted = review_outputs(ov.convert_model(fused, input=[(-1, -1, -1, 3)]))
    return save_ir(converted, xml)


def save_ir(model: ov.Model, xml: Path) -> Path:
    """Save an OpenVINO model as ``xml`` and its ``.bin``, atomically: a crash leaves the old
    pair or the new one, and an ``.xml`` never exists without its weights."""
    xml.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-ov-", dir=xml.parent))
    try:
        ov.save_model(model, tmp / "model.xml", compress_to_fp16=False)
        os.replace(tmp / "model.bin", xml.with_suffix(".bin"))  # weights first
        os.replace(tmp / "model.xml", xml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return xml


class CachedRunner(ShapeRunner):
    """Runs a model's converted copy read from disk (no TensorFlow, no Keras)."""

    def __init__(self, xml: Path, precision: str):
        super().__init__(precision)
        self._model = self._core.read_model(str(xml))

    def model_for(self, shape: tuple) -> ov.Model:
        model = self._model.clone()
        model.reshape({model.inputs[0]: ov.PartialShape(list(shape))})
        return model


def cached_runner(model_path: str | Path, meta, int8: bool = True) -> CachedRunner:
    """The runner of a model's converted copy, converting it first if there is none; its int8
    copy instead where one was made (``seggui quantize``) and passed its check."""
    from seggui.model.int8 import int8_paths, read_check

    xml = ir_path(model_path)
    if not (xml.exists() and xml.with_suffix(".bin").exists()):
        build_ir(model_path, meta, xml)
    precision = "bf16" if cpu_has_bf16() else "f32"
    check = read_check(xml) if int8 else None
    if check is not None and check.used:
        runner = CachedRunner(int8_paths(xml)[0], precision)
        runner.precision = "int8"
        return runner
    return CachedRunner(xml, precision)

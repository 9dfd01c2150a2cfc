"""Optional OpenVINO runtime for CPU inference (``pip install "seggui[fast]"``).

The folded-BatchNorm graph is converted in memory and compiled once per input shape (a
static shape compiles to faster kernels than a dynamic model reshaped: 34 ms against 43 ms
per 512x512 tile in bf16 on the 2-core CI machine). Importing this
module raises ImportError when OpenVINO is not installed, and callers fall back to TensorFlow.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

import numpy as np
import openvino as ov

from seggui.model.fastpath import fold_batchnorm
from seggui.model.ovgraph import review_outputs, top_class_only, unpack


class OpenVinoRunner:
    """Runs a folded U-Net on OpenVINO's CPU plugin; one compiled model per input shape."""

    MAX_SHAPES = 8

    def __init__(
        self, model, base_filters: int, depth: int, precision: str = "bf16", review: bool = True
    ):
        """``review`` False: top class and probability only (no margin, no probabilities)."""
        self.review = review
        self._fused = fold_batchnorm(model, base_filters, depth, bf16=False)
        self._core = ov.Core()
        self._config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        self._compiled: OrderedDict[tuple, ov.CompiledModel] = OrderedDict()
        self._lock = threading.Lock()
        self.precision = precision

    def _compiled_for(self, shape: tuple) -> ov.CompiledModel:
        with self._lock:
            compiled = self._compiled.get(shape)
            if compiled is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # Keras on the traced input
                    converted = ov.convert_model(self._fused, input=[shape])
                    model = (review_outputs if self.review else top_class_only)(converted)
                compiled = self._core.compile_model(model, "CPU", self._config)
                self._compiled[shape] = compiled
                while len(self._compiled) > self.MAX_SHAPES:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(shape)
            return compiled

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(labels uint8, confidence float32, margin float32, probs uint8 NHWC)`` for a
        float32 NHWC batch; margin is the top probability less the second."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        out = self._compiled_for(batch.shape)(batch)
        return unpack(out, self.review)


def openvino_callable(model, base_filters: int, depth: int, precision: str = "bf16"):
    return OpenVinoRunner(model, base_filters, depth, precision)

"""Optional OpenVINO runtime for CPU inference (``pip install "seggui[fast]"``).

The folded-BatchNorm graph is converted in memory and compiled once per input shape (a
static shape compiles to faster kernels than a dynamic model reshaped: 34 ms against 43 ms
per 512x512 tile in bf16 on the 2-core CI machine). Importing this
module raises ImportError when OpenVINO is not installed, and callers fall back to TensorFlow.
"""

from __future__ import annotations

import warnings

import openvino as ov

from seggui.model.fastpath import fold_batchnorm
from seggui.model.ovgraph import ShapeRunner, review_outputs, top_class_only


class OpenVinoRunner(ShapeRunner):
    """Runs a folded U-Net converted in memory from its Keras model."""

    def __init__(
        self, model, base_filters: int, depth: int, precision: str = "bf16", review: bool = True
    ):
        """``review`` False: top class and probability only (no margin, no probabilities)."""
        super().__init__(precision, review)
        self._fused = fold_batchnorm(model, base_filters, depth, bf16=False)

    def model_for(self, shape: tuple) -> ov.Model:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Keras on the traced input
            converted = ov.convert_model(self._fused, input=[shape])
        return (review_outputs if self.review else top_class_only)(converted)

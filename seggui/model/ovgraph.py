"""The OpenVINO graph's outputs: what review needs, computed inside the graph (no Keras)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import openvino as ov

from seggui.model.cpu import worker_threads


def top_class_only(model: ov.Model) -> ov.Model:
    """The model with its probabilities replaced by (top probability, top class) alone: the
    graph before review outputs existed, kept to measure what they cost."""
    probs = model.get_results()[0].input_value(0)
    probs.get_tensor().set_names(set())
    top = ov.opset13.topk(probs, 1, -1, "max", "none", "i32")
    results = [ov.opset13.result(top.output(i)) for i in range(2)]
    return ov.Model(results, model.get_parameters(), "seggui-unet-top1")


def review_outputs(model: ov.Model) -> ov.Model:
    """The model with its probabilities replaced by what review needs, computed in the graph:
    the two most likely classes with their probabilities, and every class's probability in
    8 bits (for the probability of the annotated class).

    Taking the classes inside the graph saves an argmax over 512x512x4 in NumPy, several
    milliseconds per tile (a sixth of the whole inference).
    """
    op = ov.opset13
    probs = model.get_results()[0].input_value(0)
    probs.get_tensor().set_names(set())  # its name belongs to the Result being replaced
    k = min(2, model.get_results()[0].get_output_partial_shape(0)[-1].get_length())
    top = op.topk(probs, k, -1, "max", "value", "i32")
    scaled = op.add(
        op.multiply(probs, op.constant(np.float32(255.0))), op.constant(np.float32(0.5))
    )
    probs_u8 = op.convert(op.clamp(scaled, 0.0, 255.0), "u8")
    results = [op.result(top.output(0)), op.result(top.output(1)), op.result(probs_u8)]
    return ov.Model(results, model.get_parameters(), "seggui-unet-top")


def labels_only(model: ov.Model) -> ov.Model:
    """The model with its outputs replaced by the top class alone, taken from the scores the
    Softmax reads where it has one: the same class (the Softmax keeps the order), without the
    Softmax, the second class or the 8-bit probabilities (35.8 -> 32.7 ms a 512x512 int8
    tile on the CI's AVX512 EPYC). For callers that keep only the labels."""
    op = ov.opset13
    topk = [n for n in model.get_ordered_ops() if n.get_type_name() == "TopK"]
    scores = topk[-1].input_value(0) if topk else model.get_results()[0].input_value(0)
    if scores.get_node().get_type_name() == "Softmax":
        scores = scores.get_node().input_value(0)
    top = op.topk(scores, 1, -1, "max", "none", "i32")
    classes = op.convert(op.squeeze(top.output(1), op.constant(np.int64(-1))), "u8")
    return ov.Model([op.result(classes)], model.get_parameters(), "seggui-unet-labels")


def softmax_as_logsumexp(model: ov.Model) -> ov.Model:
    """The model with each Softmax over its last axis written as ``exp(x - logsumexp(x))``.

    OpenVINO's CPU plugin runs a Softmax over a last axis of a few classes in a kernel of its
    own, the largest single node of the U-Net (5 of 40 ms a 512x512 int8 tile on the CI's
    AVX512 EPYC); written this way it is fused with the operations around it (about 2 ms).
    The probabilities agree to float rounding. Changes ``model`` in place and returns it.
    """
    op = ov.opset13
    last = op.constant(np.int64(-1))
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Softmax":
            continue
        rank = node.get_output_partial_shape(0).rank
        axis = int(node.get_attributes()["axis"])
        if not rank.is_static or axis not in (-1, rank.get_length() - 1):
            continue
        logits = node.input_value(0)
        shifted = op.subtract(logits, op.reduce_max(logits, last, True))
        total = op.reduce_sum(op.exp(shifted), last, True)
        probs = op.exp(op.subtract(shifted, op.log(total)))
        names = node.output(0).get_names()
        for target in node.output(0).get_target_inputs():
            target.replace_source_output(probs.output(0))
        if names:
            probs.output(0).get_tensor().set_names(names)
    model.validate_nodes_and_infer_types()
    return model


def unpack(out, review: bool = True) -> tuple:
    """``(labels uint8, confidence float32, margin float32 | None, probs uint8 | None)`` from
    a compiled model's results."""
    if not review:
        return out[1][..., 0].astype(np.uint8), out[0][..., 0], None, None
    values, classes, probs = out[0], out[1], out[2]
    margin = values[..., 0] - values[..., 1] if values.shape[-1] > 1 else values[..., 0]
    return classes[..., 0].astype(np.uint8), values[..., 0], margin, probs


class ShapeRunner:
    """Runs a U-Net on OpenVINO's CPU plugin, compiled once per input shape (a static shape
    compiles to faster kernels than a dynamic model reshaped per call); subclasses say how
    the model for a shape is made."""

    MAX_SHAPES = 8
    #: Softmax written as exp(x - logsumexp(x)) before compiling (bench/inference.py compares).
    fuse_softmax = True

    def __init__(self, precision: str, review: bool = True):
        self._core = ov.Core()
        self._config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        threads = worker_threads()
        if threads:  # one of several worker processes on this machine: its share of the cores
            self._config["INFERENCE_NUM_THREADS"] = threads
            self._config["ENABLE_CPU_PINNING"] = False  # else every worker takes core 0
        self._compiled: OrderedDict[tuple, ov.CompiledModel] = OrderedDict()
        self._lock = threading.Lock()
        self.precision = precision
        self.review = review

    def model_for(self, shape: tuple) -> ov.Model:
        raise NotImplementedError

    def _compiled_for(self, shape: tuple, labels: bool = False) -> ov.CompiledModel:
        key = (*shape, labels)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                model = self.model_for(shape)
                if labels:
                    model = labels_only(model)
                elif self.fuse_softmax:
                    model = softmax_as_logsumexp(model)
                compiled = self._core.compile_model(model, "CPU", self._config)
                self._compiled[key] = compiled
                while len(self._compiled) > self.MAX_SHAPES:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(key)
            return compiled

    def __call__(self, batch: np.ndarray) -> tuple:
        """``(labels uint8, confidence float32, margin float32, probs uint8 NHWC)`` for a
        float32 NHWC batch; margin is the top probability less the second."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return unpack(self._compiled_for(batch.shape)(batch), self.review)

    def labels(self, batch: np.ndarray) -> np.ndarray:
        """The top class alone (uint8, NHW) for a float32 NHWC batch: see :func:`labels_only`."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._compiled_for(batch.shape, labels=True)(batch)[0]

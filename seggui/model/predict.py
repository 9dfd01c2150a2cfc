"""Prediction: one fast path for any image size, tiled with bounded memory.

Every caller (the CLI, the window's worker, training's test scoring) goes through
:class:`Predictor`, so a faster implementation only has to be swapped in here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seggui.core.cancel import CancelToken
from seggui.core.quality import prediction_parts
from seggui.core.resolution import enlarge_probabilities, reduce_image


@dataclass
class Prediction:
    """Per pixel: the predicted class, its probability, the margin to the second most likely
    class, and every class's probability in 8 bits (value / 255)."""

    labels: np.ndarray  # (H, W) uint8
    confidence: np.ndarray | None  # (H, W) float32 in [0, 1]; None from predict_labels
    margin: np.ndarray | None = None  # (H, W) float32 in [0, 1]
    probs: np.ndarray | None = None  # (H, W, C) uint8


def _first_conv_filters(model) -> int:
    for layer in model.layers:
        if hasattr(layer, "filters"):
            return int(layer.filters)
    raise ValueError("model has no convolution")


def _make_backend(model, base_filters: int, depth: int, backend: str):
    """``(description, fn)`` where ``fn(batch) -> (labels uint8, confidence float32,
    margin float32, probs uint8)``."""
    import tensorflow as tf

    from seggui.model.cpu import cpu_has_bf16
    from seggui.model.fastpath import fold_batchnorm

    if backend in ("auto", "openvino"):
        try:
            from seggui.model.ovpath import OpenVinoRunner

            runner = OpenVinoRunner(model, base_filters, depth, "bf16" if cpu_has_bf16() else "f32")
        except ImportError:
            if backend == "openvino":
                raise
        else:
            return f"OpenVINO {runner.precision}, BatchNorm folded", runner
        backend = "tf-bf16" if cpu_has_bf16() else "tf-fp32"
    net = model
    description = "TensorFlow fp32, as trained (reference)"
    if backend in ("tf-bf16", "tf-fp32"):
        bf16 = backend == "tf-bf16"
        try:
            net = fold_batchnorm(model, base_filters, depth, bf16)
            description = f"TensorFlow {'bf16' if bf16 else 'fp32'}, BatchNorm folded"
        except ValueError:
            net = model  # not a plain seggui U-Net: run it as it is
    elif backend != "reference":
        raise ValueError(f"unknown backend {backend!r}")

    @tf.function(reduce_retracing=True)
    def forward(x):
        probs = tf.cast(net(x, training=False), tf.float32)
        k = min(2, probs.shape[-1])
        top = tf.math.top_k(probs, k=k)
        margin = top.values[..., 0] - top.values[..., 1] if k > 1 else top.values[..., 0]
        probs_u8 = tf.cast(tf.clip_by_value(tf.round(probs * 255.0), 0.0, 255.0), tf.uint8)
        return tf.cast(top.indices[..., 0], tf.uint8), top.values[..., 0], margin, probs_u8

    def run_tf(batch):
        return tuple(t.numpy() for t in forward(tf.constant(batch)))

    return description, run_tf


def _from_probabilities(probs: np.ndarray) -> Prediction:
    """Labels, confidence, margin and 8-bit probabilities from float class probabilities."""
    return Prediction(*prediction_parts(probs))


def _tile_starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


class Predictor:
    """Runs a U-Net over whole images of any size.

    Images are reflect-padded to a multiple of ``2**depth``; those larger than ``tile`` are cut
    into overlapping tiles, and each output pixel is taken from the tile in which it lies
    farthest from an edge, so seams never show and memory is bounded by the tile batch.
    """

    def __init__(
        self,
        model,
        depth: int = 4,
        tile: int = 512,
        overlap: int = 64,
        batch_size: int = 4,
        backend: str = "auto",
        base_filters: int | None = None,
        tta: bool = False,
        downsample: int = 1,
    ):
        """``backend``: ``"auto"`` (OpenVINO bf16 where installed, else TensorFlow with
        BatchNorm folded, in bf16 where the CPU has bf16 units), ``"openvino"``,
        ``"tf-bf16"``, ``"tf-fp32"`` (folded), or ``"reference"`` (the model as trained).
        ``tta``: average the class probabilities over the image and its three flips (test-time
        augmentation: four times the work). ``downsample``: the model's working resolution
        (its metadata says): images are reduced by it and the probabilities enlarged back."""
        self.model = model
        self.tta = tta
        self.downsample = max(1, int(downsample))
        self.multiple = 2**depth
        self.tile = max(self.multiple, tile // self.multiple * self.multiple)
        self.overlap = min(overlap, self.tile // 4)
        self.batch_size = batch_size
        if model is None:  # made by from_path with a ready runner
            return
        if base_filters is None:
            base_filters = _first_conv_filters(model)
        self.path, self._infer = _make_backend(model, base_filters, depth, backend)

    @classmethod
    def from_path(cls, model_path, meta, **kwargs) -> Predictor:
        """A predictor for a saved model that, where OpenVINO is installed, runs the model's
        converted copy kept on disk: no TensorFlow is imported once that copy exists."""
        try:
            from seggui.model.ovcache import cached_runner
        except ImportError:
            cached_runner = None
        if cached_runner is not None:
            runner = cached_runner(model_path, meta)
            predictor = cls(None, meta.depth, downsample=meta.downsample, **kwargs)
            predictor.path, predictor._infer = f"OpenVINO {runner.precision}, cached", runner
            return predictor
        from seggui.model import store

        model, _ = store.load_model(model_path)
        return cls(model, meta.depth, downsample=meta.downsample, **kwargs)

    def _pad(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        ph = -h % self.multiple
        pw = -w % self.multiple
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "edge"
            image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)
        return image

    def infer(self, batch: np.ndarray):
        """The model on a batch of equal-size images whose sides are multiples of
        ``2**depth``: ``(labels, confidence, margin, probs)``, batch first."""
        return self._infer(batch)

    def predict(self, image: np.ndarray, cancel: CancelToken | None = None) -> Prediction:
        """Predict one float32 RGB image in [0, 1] (at full size whatever the working
        resolution)."""
        f = self.downsample
        small = reduce_image(np.asarray(image, dtype=np.float32), f)
        pred = self._predict_tta(small, cancel) if self.tta else self._predict_once(small, cancel)
        if f == 1:
            return pred
        if pred.probs is None:
            raise ValueError("a reduced working resolution needs the class probabilities")
        h, w = image.shape[:2]
        return _from_probabilities(enlarge_probabilities(pred.probs / 255.0, h, w, f))

    def predict_labels(self, image: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
        """The predicted class of every pixel of one float32 RGB image in [0, 1], as
        :meth:`predict` gives it, computed without the probabilities where the backend can
        (OpenVINO, full working resolution, no test-time augmentation): ``seggui predict``
        keeps nothing else."""
        labels = getattr(self._infer, "labels", None)
        if labels is None or self.downsample != 1 or self.tta:
            return self.predict(image, cancel).labels
        return self._predict_once(image, cancel, lambda b: (labels(b), None, None, None)).labels

    def _predict_tta(self, image: np.ndarray, cancel: CancelToken | None) -> Prediction:
        total = None
        for flip in ((), (0,), (1,), (0, 1)):
            probs = self._predict_once(np.flip(image, flip) if flip else image, cancel).probs
            if probs is None:
                raise ValueError("test-time augmentation needs the class probabilities")
            probs = np.flip(probs, flip) if flip else probs
            total = probs.astype(np.float32) if total is None else total + probs
        return _from_probabilities(total / (4 * 255.0))

    def _predict_once(
        self, image: np.ndarray, cancel: CancelToken | None, infer: Callable | None = None
    ) -> Prediction:
        """``infer`` (default: the backend's) may give no confidence: then neither has the
        prediction."""
        infer = infer or self._infer
        h, w = image.shape[:2]
        padded = self._pad(np.asarray(image, dtype=np.float32))
        ph, pw = padded.shape[:2]
        if ph <= self.tile and pw <= self.tile:
            labels, conf, margin, probs = infer(padded[None])
            return Prediction(
                labels[0, :h, :w],
                None if conf is None else conf[0, :h, :w],
                None if margin is None else margin[0, :h, :w],
                None if probs is None else probs[0, :h, :w],
            )

        th, tw = min(self.tile, ph), min(self.tile, pw)
        stride_y = max(self.multiple, th - 2 * self.overlap)
        stride_x = max(self.multiple, tw - 2 * self.overlap)
        labels = np.zeros((ph, pw), dtype=np.uint8)
        conf = margin = probs = None  # made on the first tile that has them
        boxes = [
            (y, x) for y in _tile_starts(ph, th, stride_y) for x in _tile_starts(pw, tw, stride_x)
        ]
        for i in range(0, len(boxes), self.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = boxes[i : i + self.batch_size]
            batch = np.stack([padded[y : y + th, x : x + tw] for y, x in chunk])
            tl, tc, tm, tp = infer(batch)
            if tc is not None and conf is None:
                conf = np.zeros((ph, pw), dtype=np.float32)
            if tm is not None and margin is None:
                margin = np.zeros((ph, pw), dtype=np.float32)
                probs = np.zeros((ph, pw, tp.shape[-1]), dtype=np.uint8)
            for k, (y, x) in enumerate(chunk):
                # Keep the tile's centre; its margins belong to the neighbour unless at an edge.
                y0 = 0 if y == 0 else self.overlap
                x0 = 0 if x == 0 else self.overlap
                y1 = th if y + th >= ph else th - self.overlap
                x1 = tw if x + tw >= pw else tw - self.overlap
                labels[y + y0 : y + y1, x + x0 : x + x1] = tl[k, y0:y1, x0:x1]
                if conf is not None:
                    conf[y + y0 : y + y1, x + x0 : x + x1] = tc[k, y0:y1, x0:x1]
                if tm is not None:
                    margin[y + y0 : y + y1, x + x0 : x + x1] = tm[k, y0:y1, x0:x1]
                    probs[y + y0 : y + y1, x + x0 : x + x1] = tp[k, y0:y1, x0:x1]
        crop = (slice(0, h), slice(0, w))
        return Prediction(
            labels[crop],
            None if conf is None else conf[crop],
            None if margin is None else margin[crop],
            None if probs is None else probs[crop],
        )

"""Inference speed: seggui's prediction path vs plain ``model.predict`` on the same weights.

Run: ``python bench/inference.py [--model PATH] [--runs N]``. Prints a table and JSON with
milliseconds per 512x512 tile (median and min) at batch 1 and 4, the speed-up over
``model.predict`` measured in the same run (the OpenVINO path also without its review
outputs, and with OpenVINO's own Softmax kernel, for what each costs), and how far each
path's output is from the fp32 reference: the fraction of pixels whose class changes and the
largest probability change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import machine, repeat, save, table

from seggui.core.demo import make_tile
from seggui.model import store
from seggui.model.predict import Predictor


def tiles(n: int) -> np.ndarray:
    """Demo tiles from a seed the bundled model was not trained on."""
    return np.stack([make_tile(1234, i)[0][..., :3] for i in range(n)]).astype(np.float32) / 255


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(store.bundled_model_path()))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    model, meta = store.load_model(args.model)
    images = tiles(8)

    reference = model.predict(images, batch_size=4, verbose=0)
    ref_labels = reference.argmax(-1)
    ref_conf = reference.max(-1)

    backends = ["reference", "tf-fp32", "tf-bf16"]
    try:
        import seggui.model.ovpath  # noqa: F401

        backends.append("openvino")
    except ImportError:
        print("OpenVINO is not installed: its row is left out (pip install 'seggui[fast]')")

    baseline = {
        "path": "model.predict (baseline)",
        "changed_pixels": 0.0,
        "max_confidence_diff": 0.0,
    }
    for batch in (1, 4):
        t = repeat(lambda batch=batch: model.predict(images[:batch], verbose=0), args.runs, 2)
        baseline[f"b{batch}_median_ms_per_tile"] = t["median_ms"] / batch
        baseline[f"b{batch}_min_ms_per_tile"] = t["min_ms"] / batch
    rows = [baseline]
    if "openvino" in backends:
        backends.insert(backends.index("openvino"), "openvino-top-only")
        backends.insert(backends.index("openvino"), "openvino-softmax-kernel")
    for backend in backends:
        if backend == "openvino-top-only":  # the graph before the review outputs, for their cost
            from seggui.model.ovpath import OpenVinoRunner

            predictor = Predictor(model, meta.depth, backend="openvino")
            predictor._infer = OpenVinoRunner(
                model, meta.base_filters, meta.depth, predictor._infer.precision, review=False
            )
            predictor.path += " (top class only, no review outputs)"
        elif backend == "openvino-softmax-kernel":  # before Softmax was written as logsumexp
            predictor = Predictor(model, meta.depth, backend="openvino")
            predictor._infer.fuse_softmax = False
            predictor.path += " (OpenVINO's Softmax kernel)"
        else:
            predictor = Predictor(model, meta.depth, backend=backend)
        preds = [predictor.predict(im) for im in images]
        labels = np.stack([p.labels for p in preds])
        conf = np.stack([p.confidence for p in preds])
        row = {
            "path": f"seggui {backend}: {predictor.path}",
            "changed_pixels": float((labels != ref_labels).mean()),
            "max_confidence_diff": float(np.abs(conf - ref_conf).max()),
        }
        t = repeat(lambda p=predictor: p.predict(images[0]), args.runs, warmup=2)
        row["b1_median_ms_per_tile"], row["b1_min_ms_per_tile"] = t["median_ms"], t["min_ms"]
        t = repeat(lambda p=predictor: p._infer(images[:4]), args.runs, warmup=2)
        row["b4_median_ms_per_tile"] = t["median_ms"] / 4
        row["b4_min_ms_per_tile"] = t["min_ms"] / 4
        rows.append(row)
    for row in rows:
        row["speedup_b1"] = baseline["b1_median_ms_per_tile"] / row["b1_median_ms_per_tile"]
        row["speedup_b4"] = baseline["b4_median_ms_per_tile"] / row["b4_median_ms_per_tile"]

    predictor = Predictor(model, meta.depth)
    result = {
        "benchmark": "inference",
        "machine": machine(),
        "model": args.model,
        "default_path": predictor.path,
        "tile": "512x512",
        "rows": rows,
    }
    print(
        table(
            rows,
            [
                "path",
                "b1_median_ms_per_tile",
                "b1_min_ms_per_tile",
                "b4_median_ms_per_tile",
                "speedup_b1",
                "speedup_b4",
                "changed_pixels",
                "max_confidence_diff",
            ],
        )
    )
    print(f"seggui's default path here: {predictor.path}")
    print(json.dumps(result, indent=1))
    save("inference", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

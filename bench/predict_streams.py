"""Batch prediction with one OpenVINO request on every core against several streams.

``seggui predict`` and the window's folder masks run ``inference_streams()`` tiles at once,
each on its own stream fed by the reader threads; the window's own predictions keep one
request on every core (the slide in view soonest). Both predictors write the same 48 demo
tiles with ``predict_slides``, in turn, ``--rounds`` times in one process (the machine is
shared and noisy: the ratio within a round is what counts).

    python bench/predict_streams.py [--rounds 3] [--tiles 48]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tiles", type=int, default=48)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seggui-streams-"))
    os.environ["SEGGUI_DATA_DIR"] = str(tmp / "user")
    from seggui.core.demo import write_demo
    from seggui.core.folder import open_folder
    from seggui.core.registry import bundled_model_path, read_meta
    from seggui.model.cpu import inference_streams
    from seggui.model.evaluate import predict_slides
    from seggui.model.predict import Predictor

    ctx = open_folder(write_demo(tmp / "d", count=args.tiles, seed=11))
    model = bundled_model_path()
    meta = read_meta(model)
    streams = max(2, inference_streams())
    predictors = {
        1: Predictor.from_path(model, meta),
        streams: Predictor.from_path(model, meta, streams=streams),
    }
    for p in predictors.values():  # compiled for the tile's shape before timing
        predict_slides(p, ctx.slides[:4], tmp / "warm", meta.classes)
    ms: dict[int, list[float]] = {k: [] for k in predictors}
    for r in range(args.rounds):
        for k, p in predictors.items():
            t = time.perf_counter()
            predict_slides(p, ctx.slides, tmp / f"out{k}", meta.classes)
            ms[k].append((time.perf_counter() - t) / len(ctx.slides) * 1000)
            print(f"round {r + 1}: {k} stream(s) {ms[k][-1]:.1f} ms per tile", flush=True)
    rows = [
        {
            "streams": k,
            "ms per tile (median)": statistics.median(v),
            "each round": " ".join(f"{x:.1f}" for x in v),
            "tiles/s vs one request": statistics.median(ms[1]) / statistics.median(v),
        }
        for k, v in ms.items()
    ]
    print(table(rows, list(rows[0])))
    print(f"precision: {predictors[1].path}; machine: {machine()}")
    save("predict_streams", {"machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

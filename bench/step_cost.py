"""What one training step costs, per megapixel, for each block and precision (issue 20).

The train step of seggui's compiled U-Net (AdamW, cross-entropy with sample weights, the IoU
metric) on a batch already in memory, so only the model's maths is timed: the seed's 3x3
blocks against depthwise-separable ones (at the same and at twice the width), each in
float32 and in Keras's mixed_bfloat16 (bf16 units where the CPU has AVX512-BF16 or AMX,
emulated elsewhere). Each variant in a fresh process, one after another; ratios against the
seed's float32 step measured in the same run. The machine is shared and noisy: the variants
run in turn ``--rounds`` times and each keeps its fastest round.

    python bench/step_cost.py [--patch 256] [--batch-size 8] [--steps 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, save, table

VARIANTS = [
    ("standard", 16, "float32"),
    ("separable", 16, "float32"),
    ("separable", 32, "float32"),
    ("standard", 16, "bfloat16"),
    ("separable", 16, "bfloat16"),
]


def child(block: str, base: int, precision: str, patch: int, batch: int, steps: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from seggui.model.losses import segmentation_loss
    from seggui.model.precision import with_precision
    from seggui.model.unet import build_unet

    keras.utils.set_random_seed(1)
    model = build_unet(4, base, 4, mean=[0.5] * 3, std=[0.2] * 3, block=block)
    if precision != "float32":
        model = with_precision(model, precision)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3, 1e-4),
        loss=segmentation_loss(4, False),
        weighted_metrics=[keras.metrics.MeanIoU(4, sparse_y_pred=False, name="iou")],
    )
    rng = np.random.default_rng(0)
    x = rng.random((batch, patch, patch, 3), np.float32)
    y = rng.integers(0, 4, (batch, patch, patch)).astype(np.int32)
    w = np.ones((batch, patch, patch), np.float32)
    data = tf.data.Dataset.from_tensors((x, y, w)).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # tracing
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    step = (time.perf_counter() - start) / steps
    return {
        "block": block,
        "base filters": base,
        "precision": precision,
        "parameters": model.count_params(),
        "s per step": round(step, 3),
        "s per Mpx": round(step / (batch * patch * patch / 1e6), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patch", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        block, base, precision = args.child
        row = child(block, int(base), precision, args.patch, args.batch_size, args.steps)
        print(json.dumps(row))
        return
    rows: list[dict] = [{} for _ in VARIANTS]
    for _ in range(args.rounds):
        for i, (block, base, precision) in enumerate(VARIANTS):
            cmd = [sys.executable, __file__, "--child", block, str(base), precision]
            cmd += ["--patch", str(args.patch), "--batch-size", str(args.batch_size)]
            cmd += ["--steps", str(args.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(row, flush=True)
            if not rows[i] or row["s per step"] < rows[i]["s per step"]:
                rows[i] = row
    base_step = rows[0]["s per step"]
    for row in rows:
        row["step / seed's fp32"] = round(row["s per step"] / base_step, 2)
    print(table(rows, list(rows[0])))
    result = {"machine": machine(), "patch": args.patch, "batch size": args.batch_size}
    print(f"saved {save('step_cost', {**result, 'rows': rows})}")


if __name__ == "__main__":
    main()

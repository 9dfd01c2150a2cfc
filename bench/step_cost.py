"""What one training step costs, per megapixel, for each block and precision (issue 20).

The train step of seggui's compiled U-Net (AdamW, cross-entropy with sample weights, the IoU
metric) on a batch already in memory, so only the model's maths is timed. ``--set blocks``:
the seed's 3x3 blocks against depthwise-separable ones (at the same and at twice the width),
each in float32 and in Keras's mixed_bfloat16 (bf16 units where the CPU has AVX512-BF16 or
AMX, emulated elsewhere), on ``--batch-size`` crops of ``--patch``. ``--set shapes``: the
notebook's step (Adam, plain cross-entropy, no metric) on 4 images of 512² against the same
pixels as 16 crops of 256², and seggui's compile on 16 and on 4 crops of 256² (what
``--batch-size 4`` gives), so the cost per megapixel of each difference shows. Each variant
in a fresh process, one after another; ratios against the first variant measured in the same
run. ``--set crops``: the notebook's step on 4 x 512² against seggui's on the same tiles, on
the same pixels as 64 crops of 128² and on 16 and 4 such crops (the default crop with
``--batch-size 16`` and ``4``), each timed over the same pixels: what a step's fixed cost
adds per pixel when the crops are small. ``--set execution``: 4 crops of 128² with 1, 4 and 8
steps in each call of the traced step (Keras's ``steps_per_execution``). The machine is
shared and noisy: the variants run in turn ``--rounds`` times and each keeps its fastest
round.

    python bench/step_cost.py [--set blocks|shapes|crops|execution] [--patch 256] [--batch-size 8]
        [--steps 4] [--rounds 2]
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

#: (block, base filters, precision, compile, patch, batch); 0: --patch / --batch-size.
SETS = {
    "blocks": [
        ("standard", 16, "float32", "seggui", 0, 0),
        ("separable", 16, "float32", "seggui", 0, 0),
        ("separable", 32, "float32", "seggui", 0, 0),
        ("standard", 16, "bfloat16", "seggui", 0, 0),
        ("separable", 16, "bfloat16", "seggui", 0, 0),
    ],
    "shapes": [
        ("standard", 16, "float32", "notebook", 512, 4),
        ("standard", 16, "float32", "notebook", 256, 16),
        ("standard", 16, "float32", "seggui", 256, 16),
        ("standard", 16, "float32", "seggui", 256, 4),
    ],
    "crops": [
        ("standard", 16, "float32", "notebook", 512, 4),
        ("standard", 16, "float32", "seggui", 512, 4),
        ("standard", 16, "float32", "seggui", 128, 64),
        ("standard", 16, "float32", "seggui", 128, 16),
        ("standard", 16, "float32", "seggui", 128, 4),
    ],
}
#: Steps per execution (Keras's ``steps_per_execution``: steps run in one call of the traced
#: function) of a variant: the variants of the "execution" set, on 4 crops of 128².
EXECUTION = (1, 4, 8)
SETS["execution"] = [("standard", 16, "float32", "seggui", 128, 4)] * len(EXECUTION)
#: Sets whose variants each time the same pixels (``--steps`` steps of 4 x 512²), so a small
#: batch is timed over as many steps as it takes to cover them.
EQUAL_PIXELS = {"crops", "execution"}


def child(
    block: str,
    base: int,
    precision: str,
    compiled: str,
    patch: int,
    batch: int,
    steps: int,
    per_execution: int = 1,
) -> dict:
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
    rng = np.random.default_rng(0)
    x = rng.random((batch, patch, patch, 3), np.float32)
    y = rng.integers(0, 4, (batch, patch, patch)).astype(np.int32)
    if compiled == "notebook":
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        data = tf.data.Dataset.from_tensors((x, y)).repeat()
    else:
        model.compile(
            steps_per_execution=per_execution,
            optimizer=keras.optimizers.AdamW(1e-3, 1e-4),
            loss=segmentation_loss(4, False),
            weighted_metrics=[
                keras.metrics.MeanIoU(4, sparse_y_pred=False, name="iou", dtype="float32")
            ],
        )
        w = np.ones((batch, patch, patch), np.float32)
        data = tf.data.Dataset.from_tensors((x, y, w)).repeat()
    model.fit(data, steps_per_epoch=2 * per_execution, epochs=1, verbose=0)  # tracing
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    step = (time.perf_counter() - start) / steps
    return {
        "block": block,
        "base filters": base,
        "precision": precision,
        "compile": compiled,
        "batch": f"{batch} x {patch}²",
        "steps per execution": per_execution,
        "parameters": model.count_params(),
        "s per step": round(step, 3),
        "s per Mpx": round(step / (batch * patch * patch / 1e6), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=sorted(SETS), default="blocks")
    parser.add_argument("--patch", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-execution", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        block, base, precision, compiled = args.child
        row = child(
            block,
            int(base),
            precision,
            compiled,
            args.patch,
            args.batch_size,
            args.steps,
            args.per_execution,
        )
        print(json.dumps(row))
        return
    variants = SETS[args.set]
    rows: list[dict] = [{} for _ in variants]
    for _ in range(args.rounds):
        for i, (block, base, precision, compiled, patch, batch) in enumerate(variants):
            cmd = [sys.executable, __file__, "--child", block, str(base), precision, compiled]
            cmd += ["--patch", str(patch or args.patch)]
            steps = args.steps
            if args.set in EQUAL_PIXELS:
                steps = max(args.steps, args.steps * 4 * 512 * 512 // (batch * patch * patch))
            cmd += ["--batch-size", str(batch or args.batch_size), "--steps", str(steps)]
            if args.set == "execution":
                cmd += ["--per-execution", str(EXECUTION[i])]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(row, flush=True)
            if not rows[i] or row["s per step"] < rows[i]["s per step"]:
                rows[i] = row
    base = rows[0]["s per Mpx"]
    for row in rows:
        row["per Mpx / first"] = round(row["s per Mpx"] / base, 2)
    print(table(rows, list(rows[0])))
    result = {"machine": machine(), "set": args.set, "rows": rows}
    print(f"saved {save('step_cost', result)}")


if __name__ == "__main__":
    main()

"""What the stain and colour jitter costs beside the train step it feeds (issue 20, step 1).

CPU seconds (all threads, ``time.process_time``) per megapixel of real H&E crops: the
jitter as training runs it (each crop on its own, in a tf.data map), each of its parts
alone, and the seggui train step (standard blocks, base 16) on the same crops. The jitter's
share of the step says how many of the cores the model needs it takes; CPU seconds rather
than wall time, because on a machine with more cores the two run side by side.

    python bench/jitter_cost.py [--folder DIR] [--crops 64] [--patch 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, save, table

DATA = HERE.parent.parent / "shared" / "data" / "glas-test"


def crops(folder: Path, n: int, patch: int):
    """``n`` crops of ``patch`` from the folder's images, in [0, 1]."""
    import numpy as np

    from seggui.core.imageio import read_image

    out = []
    from seggui.core.folder import open_folder

    paths = [s.image_path for s in open_folder(folder).slides]
    rng = np.random.default_rng(0)
    while len(out) < n:
        image = read_image(paths[len(out) % len(paths)])[..., :3]
        y = rng.integers(0, image.shape[0] - patch + 1)
        x = rng.integers(0, image.shape[1] - patch + 1)
        out.append(image[y : y + patch, x : x + patch].astype(np.float32) / 255.0)
    return np.stack(out)


def cpu_seconds(fn, repeats: int = 3) -> float:
    """The fewest CPU seconds (all threads) of ``repeats`` calls, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", type=Path, default=DATA)
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--patch", type=int, default=256)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from seggui.model.augment import ColourJitter, jitter_colours
    from seggui.model.losses import segmentation_loss
    from seggui.model.unet import build_unet

    x = crops(args.folder, args.crops, args.patch)
    mpx = x.shape[0] * x.shape[1] * x.shape[2] / 1e6
    none = ColourJitter(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    parts = {
        "the whole jitter (as trained)": ColourJitter(),
        "stain (HED) only": ColourJitter(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0),
        "brightness and contrast only": ColourJitter(0.0, 0.0, 0.08, 0.15, 0.0, 0.0),
        "saturation only": ColourJitter(0.0, 0.0, 0.0, 0.0, 0.15, 0.0),
        "hue only": ColourJitter(0.0, 0.0, 0.0, 0.0, 0.0, 0.03),
        "nothing (the map alone)": none,
    }

    def mapped(settings: ColourJitter):
        ds = tf.data.Dataset.from_tensor_slices(x).map(
            lambda c: jitter_colours(c, settings), num_parallel_calls=tf.data.AUTOTUNE
        )
        return lambda: [None for _ in ds]

    rows = []
    for what, settings in parts.items():
        s = cpu_seconds(mapped(settings))
        rows.append({"what": what, "CPU s per Mpx": round(s / mpx, 3)})

    keras.utils.set_random_seed(1)
    model = build_unet(4, 16, 4, mean=[0.5] * 3, std=[0.2] * 3)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3, 1e-4),
        loss=segmentation_loss(4, False),
        weighted_metrics=[
            keras.metrics.MeanIoU(4, sparse_y_pred=False, name="iou", dtype="float32")
        ],
    )
    batch = 8
    y = np.random.default_rng(0).integers(0, 4, x.shape[:3]).astype(np.int32)
    w = np.ones(x.shape[:3], np.float32)
    data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(batch)
    steps = x.shape[0] // batch
    step = cpu_seconds(lambda: model.fit(data, epochs=1, verbose=0, steps_per_epoch=steps), 1)
    rows.append({"what": f"the train step ({batch} x {args.patch}²)", "CPU s per Mpx": step / mpx})
    for row in rows:
        row["share of the step"] = round(row["CPU s per Mpx"] / (step / mpx), 4)
    print(table(rows, list(rows[0])))
    print(f"saved {save('jitter_cost', {'machine': machine(), 'rows': rows})}")


if __name__ == "__main__":
    main()

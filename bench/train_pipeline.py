"""Is the input pipeline the bottleneck of training? (issue 20, step 1)

The full `seggui train` fit (decode, class-aware crops, flips, stain and colour jitter,
tf.data, Keras fit with its callbacks) against the limit of this machine: the same compiled
model's train step on batches already in memory, in the same run. Both after their tracing,
over the same number of steps; the ratio is the pipeline's share of the limit (target
>= 0.85). Real tiles: ../shared/data/glas-test.

    python bench/train_pipeline.py [--folder DIR] [--steps 24] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, save, table

DATA = HERE.parent.parent / "shared" / "data" / "glas-test"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", default=str(DATA))
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import keras
    import numpy as np

    from seggui.core.cancel import CancelToken
    from seggui.core.folder import open_folder
    from seggui.core.train_settings import TrainSettings
    from seggui.model.augment import ColourJitter
    from seggui.model.losses import class_weights
    from seggui.model.pipeline import SkippedFiles, class_pixels, crops_for, train_dataset
    from seggui.model.sampling import CropPlanner
    from seggui.model.train import _items, fit, split_validation

    ctx = open_folder(args.folder)
    slides = [s for s in ctx.slides if s.scorable and s.name in set(ctx.split.train)]
    settings = TrainSettings(epochs=3, steps_per_epoch=args.steps, batch_size=args.batch_size)

    class BatchClock(keras.callbacks.Callback):
        """When each training batch ended, by epoch (validation runs between epochs)."""

        def __init__(self):
            super().__init__()
            self.ends: dict[int, list[float]] = {}
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.ends[epoch] = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.ends[self.epoch].append(time.perf_counter())

    clock = BatchClock()
    with tempfile.TemporaryDirectory() as tmp:
        fitted = fit(ctx, slides, settings, lambda p: None, CancelToken(), Path(tmp), [clock])
    # Epoch 0 traces; later epochs' batches, their first one left out (the pipeline refills
    # after validation), are the pipeline's steady state.
    gaps = [b - a for e in range(1, 3) for a, b in zip(clock.ends[e][1:], clock.ends[e][2:])]
    pipeline = 1.0 / float(np.mean(gaps))

    # The same model and batch size on batches already in memory: the limit.
    fit_slides, _ = split_validation(slides, settings.val_fraction, settings.seed)
    items = _items(fit_slides)
    counts = class_pixels(items, ctx.classes)
    crops = [crops_for((s.size[1], s.size[0]), settings.patch) for s in fit_slides]
    planner = CropPlanner(counts, crops, settings.class_share, settings.seed)
    ds = train_dataset(
        items,
        ctx.classes,
        settings.patch,
        settings.batch_size,
        planner,
        settings.augment,
        ColourJitter() if settings.colour_jitter else None,
        settings.seed,
        class_weights(settings.class_weights, counts),
        SkippedFiles(),
    )
    batches = list(ds.repeat().take(args.steps))
    model = fitted.model
    for x, y, w in batches[:3]:
        model.train_on_batch(x, y, sample_weight=w)
    started = time.perf_counter()
    for x, y, w in batches:
        model.train_on_batch(x, y, sample_weight=w)
    limit = len(batches) / (time.perf_counter() - started)

    rows = [
        {"what": "in memory: the model's train step (the limit)", "steps/s": round(limit, 3)},
        {"what": "seggui train: the full pipeline", "steps/s": round(pipeline, 3)},
    ]
    result = {
        "machine": machine(),
        "folder": str(args.folder),
        "slides": len(slides),
        "batch size": settings.batch_size,
        "patch": settings.patch,
        "steps": args.steps,
        "rows": rows,
        "pipeline / limit": round(pipeline / limit, 3),
    }
    print(table(rows, ["what", "steps/s"]))
    print(f"pipeline / limit: {pipeline / limit:.3f} (target >= 0.85)")
    print(f"saved {save('train_pipeline', result)}")


if __name__ == "__main__":
    main()

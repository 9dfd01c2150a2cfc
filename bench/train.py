"""Training: seggui's streaming trainer vs the notebook way (all images in one array, fit).

Run: ``python bench/train.py [--slides 40] [--epochs 2] [--budget-s 300] [--scaling 50,200,1000]``.

1. Throughput and peak memory on the same demo folder, model size (base 16, 4 classes),
   epochs and pixels per epoch: images per second (512x512 equivalents) and peak RSS.
2. Quality per minute: both train for the same wall-clock budget on one core set, then the
   test split's mIoU (the notebook scored with the same metrics code).
3. seggui's peak memory at several folder sizes with a fixed number of steps: it must not
   grow with the folder.

Each measurement runs in a fresh child process, so peak RSS belongs to that run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, save, table


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_notebook(folder: str, epochs: int, budget_s: float) -> dict:
    """The original notebook: every training image in one array, ``model.fit``, predict."""
    import keras
    import numpy as np
    from PIL import Image

    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_image, read_mask
    from seggui.core.metrics import ScoreAccumulator
    from seggui.model.unet import build_unet

    ctx = open_folder(folder)
    train = ctx.part("train")
    # The notebook needs one array: slides of other sizes are resized to 512x512, as it did.
    side = 512

    def fit_image(a):
        if a.shape[:2] == (side, side):
            return a
        return (
            np.asarray(
                Image.fromarray((a * 255).astype(np.uint8)).resize(
                    (side, side), Image.Resampling.BILINEAR
                ),
                np.float32,
            )
            / 255
        )

    def fit_mask(m):
        if m.shape == (side, side):
            return m
        return np.asarray(Image.fromarray(m).resize((side, side), Image.Resampling.NEAREST))

    x = np.stack([fit_image(read_image(s.image_path)) for s in train])
    y = np.stack([fit_mask(read_mask(s.mask_path, ctx.classes)) for s in train])
    keras.utils.set_random_seed(42)
    model = build_unet(len(ctx.classes), 16, 4)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy()
    )

    class Budget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if budget_s and time.monotonic() - start > budget_s:
                self.model.stop_training = True

    start = time.monotonic()
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[Budget()])
    seconds = time.monotonic() - start
    acc = ScoreAccumulator(len(ctx.classes))
    for s in ctx.part("test"):
        truth = read_mask(s.mask_path, ctx.classes)
        probs = model.predict(fit_image(read_image(s.image_path))[None], verbose=0)[0]
        labels = probs.argmax(-1).astype(np.uint8)
        if labels.shape != truth.shape:
            labels = np.asarray(
                Image.fromarray(labels).resize(truth.shape[::-1], Image.Resampling.NEAREST)
            )
        acc.add(s.name, truth, labels)
    epochs_run = len(history.history["loss"])
    return {
        "seconds": seconds,
        "images_per_s": len(train) * epochs_run / seconds,
        "epochs_run": epochs_run,
        "test_miou": acc.result().miou,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_seggui(folder: str, epochs: int, budget_s: float, steps: int = 0) -> dict:
    from seggui.core.folder import open_folder
    from seggui.model.train import TrainSettings, train

    ctx = open_folder(folder)
    fit_time = {}

    def progress(p):
        if p.epoch_end:
            fit_time["seconds"], fit_time["epochs"] = p.elapsed, p.epoch

    settings = TrainSettings(
        epochs=epochs, batch_size=8, time_budget_s=budget_s, steps_per_epoch=steps, val_fraction=0.1
    )
    result = train(ctx, settings, progress=progress, make_active=False)
    seconds = fit_time["seconds"]
    fit_slides = result.meta.training["fit_slides"]
    # 512x512-equivalents per second: an epoch covers each slide's area once in 256 crops.
    images = fit_slides * fit_time["epochs"] if not steps else steps * 8 / 4 * fit_time["epochs"]
    return {
        "seconds": seconds,
        "images_per_s": images / seconds,
        "epochs_run": fit_time["epochs"],
        "test_miou": result.meta.test_metrics["miou"],
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def demo(root: Path, n: int) -> str:
    from seggui.core.demo import write_demo

    folder = root / f"demo{n}"
    if not folder.exists():
        write_demo(folder, count=n, seed=7)
    return str(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--slides", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=300.0)
    parser.add_argument("--scaling", default="50,200,1000")
    parser.add_argument("--real", default=str(HERE.parent.parent / "shared" / "data" / "glas-test"))
    parser.add_argument(
        "--skip", default="", help="comma list of parts to skip: speed,quality,scaling"
    )
    args = parser.parse_args()
    if args.child:
        kind, folder, epochs, budget, *rest = args.child
        fn = child_notebook if kind == "notebook" else child_seggui
        extra = [int(rest[0])] if rest and kind == "seggui" else []
        print(json.dumps(fn(folder, int(epochs), float(budget), *extra)))
        return 0

    skip = set(args.skip.split(","))
    result = {"benchmark": "train", "machine": machine(), "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "speed" not in skip:
            folder = demo(root, args.slides)
            nb = run_child("notebook", folder, str(args.epochs), "0")
            sg = run_child("seggui", folder, str(args.epochs), "0")
            for name, r in (("notebook (all in memory, model.fit)", nb), ("seggui train", sg)):
                result["rows"].append(
                    {
                        "part": "speed",
                        "what": name,
                        **r,
                        "ratio_vs_notebook": r["images_per_s"] / nb["images_per_s"],
                    }
                )
            save("train", result)
        if "quality" not in skip:
            sets = [("demo", demo(root, args.slides))]
            if Path(args.real).is_dir():
                sets.append((Path(args.real).name, args.real))
            for label, folder in sets:
                nb = run_child("notebook", folder, "1000", str(args.budget_s))
                sg = run_child("seggui", folder, "1000", str(args.budget_s))
                for name, r in (("notebook", nb), ("seggui", sg)):
                    result["rows"].append(
                        {"part": f"quality/{args.budget_s:.0f}s on {label}", "what": name, **r}
                    )
                    save("train", result)
        if "scaling" not in skip:
            for n in (int(v) for v in args.scaling.split(",")):
                folder = demo(root, n)
                r = run_child("seggui", folder, "1", "0", "20")
                result["rows"].append({"part": "memory scaling", "what": f"{n} slides", **r})
                save("train", result)
    print(
        table(
            result["rows"],
            [
                "part",
                "what",
                "images_per_s",
                "ratio_vs_notebook",
                "epochs_run",
                "test_miou",
                "peak_rss_mb",
                "seconds",
            ],
        )
    )
    print(json.dumps(result, indent=1))
    save("train", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

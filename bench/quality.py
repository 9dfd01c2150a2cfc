"""Retrain quality: test mIoU after the same wall time, and time to the notebook's mIoU.

Run: ``python bench/quality.py [--sets gleason,glas-test,demo] [--seconds 300]
[--seeds 1,2] [--methods notebook,old,new]``.

Methods, each in a fresh child process, each given the same seconds of fitting on the
same fixed 80:20 split:

- ``notebook``: the original notebook: every training image resized to 512x512 into one
  array, ``model.fit`` with Adam 1e-3 and cross-entropy, no augmentation;
- ``old``: ``seggui train`` with the defaults before this change (random crops, flips and
  rotations only, constant Adam 1e-3, raw [0, 1] input);
- ``new``: ``seggui train`` with today's defaults;
- ``new-<field>=<value>[,...]``: today's defaults with some settings changed (ablations).

Weights are saved at the end of every epoch with the seconds of fitting so far and scored on
the test split after the run, so scoring costs no training time. Reported per run: the
final model's test mIoU (seggui keeps its best epoch on validation, the notebook its last)
over the classes present in the test masks and over every class annotated or predicted,
per-class IoU (on the test split, and for seggui's runs on the training split too), the
share of test pixels predicted as a class absent from the test masks, and the fitting
seconds at which the test mIoU first reached the notebook's final mIoU of the same seed
(time to accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, notebook_arrays, save, table, to_side

SHARED = Path(os.environ.get("SEGGUI_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
#: Left out of a set's copy: a workspace someone made in the shared set.
WORKSPACE = shutil.ignore_patterns(".seggui")
#: The defaults of ``seggui train`` before stain jitter, class-aware crops, the schedule and
#: the input normalisation.
OLD = {
    "colour_jitter": False,
    "class_share": 0.0,
    "schedule": "constant",
    "weight_decay": 0.0,
    "normalise": False,
    "dice_loss": False,
}


def test_scores(predict, ctx, part: str = "test") -> dict:
    """Scores of ``predict(image) -> labels`` on the test split (or another ``part``)."""
    import numpy as np

    from seggui.core.imageio import read_image, read_mask
    from seggui.core.metrics import ScoreAccumulator, Scores

    n = len(ctx.classes)
    acc = ScoreAccumulator(n)
    for slide in ctx.part(part):
        if slide.scorable:
            acc.add(
                slide.name,
                read_mask(slide.mask_path, ctx.classes),
                predict(read_image(slide.image_path)),
            )
    cm = acc.total
    in_truth = cm.sum(axis=1) > 0
    scores = Scores.from_confusion(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.diag(cm) / (cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm))
    return {
        "miou_present": float(np.mean(iou[in_truth])),
        "miou_all": scores.miou,
        "iou": [None if np.isnan(v) else round(float(v), 4) for v in iou],
        "absent_share": float(cm[:, ~in_truth].sum() / max(cm.sum(), 1)),
    }


class EpochWeights:
    """A Keras callback that keeps every epoch's weights with the fitting seconds so far."""

    def __new__(cls, folder: Path):
        import keras

        class _Saver(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.saved: list[tuple[float, Path]] = []
                self.start = time.monotonic()
                self.pause = 0.0

            def on_train_begin(self, logs=None):
                self.start = time.monotonic()

            def on_epoch_end(self, epoch, logs=None):
                t = time.monotonic()
                path = folder / f"epoch{epoch:04d}.weights.h5"
                self.model.save_weights(str(path))
                self.saved.append((t - self.start - self.pause, path))
                self.pause += time.monotonic() - t

        return _Saver()


def child_notebook(folder: str, seconds: float, seed: int, work: Path) -> dict:
    import keras
    import numpy as np
    from PIL import Image

    from seggui.core.folder import open_folder
    from seggui.model.unet import build_unet

    ctx = open_folder(folder)
    x, y = notebook_arrays(ctx)
    keras.utils.set_random_seed(seed)
    model = build_unet(len(ctx.classes), 16, 4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    saver = EpochWeights(work)

    class Budget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() - saver.start - saver.pause > seconds:
                self.model.stop_training = True

    model.fit(x, y, batch_size=8, epochs=100000, verbose=0, callbacks=[saver, Budget()])

    def predict(image):
        h, w = image.shape[:2]
        probs = model.predict(to_side(image, Image.Resampling.BILINEAR)[None], verbose=0)[0]
        labels = probs.argmax(-1).astype(np.uint8)
        return np.asarray(Image.fromarray(labels).resize((w, h), Image.Resampling.NEAREST))

    curve = []
    for t, path in saver.saved:
        model.load_weights(str(path))
        curve.append((round(t, 1), test_scores(predict, ctx)["miou_present"]))
    return {"final": test_scores(predict, ctx), "curve": curve, "epochs": len(curve)}


def child_seggui(folder: str, seconds: float, seed: int, work: Path, settings: dict) -> dict:
    from seggui.core.cancel import CancelToken
    from seggui.core.curation import curate
    from seggui.core.folder import open_folder
    from seggui.model.predict import Predictor
    from seggui.model.train import TrainSettings, fit

    ctx = open_folder(folder)
    train_settings = TrainSettings(epochs=100000, seed=seed, time_budget_s=seconds, **settings)
    saver = EpochWeights(work)
    fitted = fit(
        ctx, curate(ctx).train, train_settings, lambda p: None, CancelToken(), work, [saver]
    )
    model = fitted.model
    predictor = Predictor(
        model, train_settings.depth, backend="reference", downsample=train_settings.downsample
    )
    final = test_scores(lambda image: predictor.predict(image).labels, ctx)
    # the training split too: a class at 0.00 there was not learned at all, not just not
    # carried over to new slides
    train_iou = test_scores(lambda image: predictor.predict(image).labels, ctx, "train")["iou"]
    tta = Predictor(
        model,
        train_settings.depth,
        backend="reference",
        tta=True,
        downsample=train_settings.downsample,
    )
    start = time.perf_counter()
    final_tta = test_scores(lambda image: tta.predict(image).labels, ctx)
    tta_s = time.perf_counter() - start
    start = time.perf_counter()
    test_scores(lambda image: predictor.predict(image).labels, ctx)
    plain_s = time.perf_counter() - start
    curve = []
    for t, path in saver.saved:
        model.load_weights(str(path))
        scores = test_scores(lambda image: predictor.predict(image).labels, ctx)
        curve.append((round(t, 1), scores["miou_present"]))
    return {
        "final": final,
        "final_tta": final_tta,
        "train_iou": train_iou,
        "tta_cost": tta_s / max(plain_s, 1e-9),
        "curve": curve,
        "epochs": len(curve),
    }


def method_settings(method: str) -> dict:
    if method == "old":
        return dict(OLD)
    if method == "new":
        return {}
    if method.startswith("new-"):
        out = {}
        for pair in method[4:].split(","):
            key, value = pair.split("=")
            out[key] = json.loads(value)
        return out
    raise SystemExit(f"unknown method {method}")


def run_child(method: str, folder: str, seconds: float, seed: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, folder, str(seconds), str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def iou_text(iou: list) -> str:
    return " ".join("-" if v is None else f"{v:.2f}" for v in iou)


def time_to(curve: list, target: float) -> float | None:
    for t, miou in curve:
        if miou >= target:
            return t
    return None


def folders(names: list[str], root: Path) -> dict[str, str]:
    out = {}
    for name in names:
        if name.startswith("demo"):
            from seggui.core.demo import write_demo

            folder = root / name
            write_demo(folder, count=int(name[4:] or 40), seed=7)
            out[name] = str(folder)
        elif (SHARED / name).is_dir():  # a copy: the split and models are written beside it
            out[name] = str(shutil.copytree(SHARED / name, root / name, ignore=WORKSPACE))
        else:
            raise SystemExit(f"no set {name!r} in {SHARED} (set SEGGUI_SHARED_DATA)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--sets", default="gleason,glas-test,demo40")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--methods", default="notebook,old,new")
    parser.add_argument("--name", default="quality", help="name of the results file")
    args = parser.parse_args()
    if args.child:
        method, folder, seconds, seed = args.child
        with tempfile.TemporaryDirectory() as tmp:
            if method == "notebook":
                r = child_notebook(folder, float(seconds), int(seed), Path(tmp))
            else:
                r = child_seggui(
                    folder, float(seconds), int(seed), Path(tmp), method_settings(method)
                )
        print(json.dumps(r))
        return 0

    result = {"benchmark": "quality", "machine": machine(), "seconds": args.seconds, "rows": []}
    # ";" between methods when a method sets several things ("new-block=...,base_filters=32")
    methods = args.methods.split(";" if ";" in args.methods else ",")
    with tempfile.TemporaryDirectory() as tmp:
        for label, folder in folders(args.sets.split(","), Path(tmp)).items():
            for seed in (int(s) for s in args.seeds.split(",")):
                runs = {}
                for method in methods:
                    started = time.monotonic()
                    runs[method] = run_child(method, folder, args.seconds, seed)
                    runs[method]["wall_s"] = round(time.monotonic() - started, 1)
                target = runs["notebook"]["final"]["miou_present"] if "notebook" in runs else None
                for method, r in runs.items():
                    f = r["final"]
                    row = {
                        "set": label,
                        "seed": seed,
                        "method": method,
                        "epochs": r["epochs"],
                        "miou_present": f["miou_present"],
                        "miou_all": f["miou_all"],
                        "absent_share": f["absent_share"],
                        "iou": iou_text(f["iou"]),
                        "iou train": iou_text(r["train_iou"]) if "train_iou" in r else "",
                        "tta_miou": r.get("final_tta", {}).get("miou_present"),
                        "tta_cost": r.get("tta_cost"),
                        "s_to_notebook": None if target is None else time_to(r["curve"], target),
                        "curve": r["curve"],
                    }
                    result["rows"].append(row)
                    print(table([row], [c for c in row if c != "curve"]), flush=True)
                save(args.name, result)
    columns = ["set", "seed", "method", "epochs", "miou_present", "miou_all", "absent_share"]
    columns += ["iou", "iou train", "tta_miou", "tta_cost", "s_to_notebook"]
    print(table(result["rows"], columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

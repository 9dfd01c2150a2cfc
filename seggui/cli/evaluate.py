"""``seggui evaluate``: score a model on the test split (or every slide with a mask)."""

from __future__ import annotations

import json
import time

from seggui.cli.common import (
    ProgressBar,
    check_classes,
    load_predictor,
    open_context,
    quiet_tensorflow,
    rate,
)

NAME = "evaluate"
HELP = "score a model on the test split"
SYNOPSIS = "seggui evaluate FOLDER [--model PATH] [--all] [--json] [--tta]"
SUMMARY = "IoU, Dice and confusion of the test split"


def add_arguments(p) -> None:
    p.add_argument("folder")
    p.add_argument("--model", help="model .keras (default: active, else bundled)")
    p.add_argument("--all", action="store_true", help="score every slide, not only the test split")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--tta",
        action="store_true",
        help="average the prediction over the image and its flips (4x the time)",
    )


def run(args) -> int:
    quiet_tensorflow()
    from seggui.model.evaluate import evaluate_slides

    ctx = open_context(args.folder)
    path, predictor, meta = load_predictor(ctx, args.model)
    predictor.tta = args.tta
    if any(s.scorable for s in ctx.slides):  # nothing to score: report the folder's problems
        check_classes(ctx, meta)
    if args.all:
        slides = [s for s in ctx.slides if s.has_mask or s.problems]
    else:
        names = set(ctx.split.test)
        slides = [s for s in ctx.slides if s.name in names]
    started = time.monotonic()
    report = evaluate_slides(predictor, slides, meta.classes, ProgressBar("evaluate"))
    rate(len(report.slides), time.monotonic() - started)
    seen = {p.name for p in report.problems}
    # Also warnings on slides that were scored anyway (e.g. two images with one name).
    report.problems += [p for p in ctx.scan.all_problems() if p.name not in seen]
    data = report.to_json(str(path))
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        miou = "n/a" if data["miou"] is None else f"{data['miou']:.4f}"
        dice = "n/a" if data["mean_dice"] is None else f"{data['mean_dice']:.4f}"
        print(f"model {path.name}: {data['n_slides']} slides, mIoU {miou}, mean Dice {dice}")
        for c in data["per_class"]:
            iou = "n/a" if c["iou"] is None else f"{c['iou']:.4f}"
            print(f"  {c['name']}: IoU {iou}")
        for p in data["problems"]:
            print(f"problem: {p['name']}: {p['reason']}")
    return 0 if report.overall is not None else 1


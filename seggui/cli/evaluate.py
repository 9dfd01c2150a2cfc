"""``seggui evaluate``: score a model on the test split (or every slide with a mask)."""

from __future__ import annotations

import json
import time

from seggui.cli.common import (
    ProgressBar,
    add_cluster_arguments,
    check_classes,
    cluster_client,
    cluster_spec,
    load_predictor,
    model_ref,
    open_context,
    quiet_tensorflow,
    rate,
    whole_slide_tiles,
)

NAME = "evaluate"
HELP = "score a model on the test split"
SYNOPSIS = (
    "seggui evaluate FOLDER [--model PATH] [--all] [--json] [--tta]\n"
    "                [--cluster ADDRESS [--tls-ca F --tls-cert F --tls-key F] [--insecure] | --workers N]"
)
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
    add_cluster_arguments(p)


def run(args) -> int:
    quiet_tensorflow()
    from seggui.model.evaluate import evaluate_slides

    spec = cluster_spec(args)  # a refused address fails before anything else is done
    ctx = open_context(args.folder)
    path, predictor, meta = load_predictor(ctx, args.model)
    predictor.tta = args.tta
    scorable = any(s.scorable for s in ctx.slides) or any(
        w.annotation for w in ctx.scan.whole_slides
    )
    if scorable:  # nothing to score: report the folder's problems
        check_classes(ctx, meta)
    if args.all:
        slides = [s for s in ctx.slides if s.has_mask or s.problems]
    else:
        names = set(ctx.split.test)
        slides = [s for s in ctx.slides if s.name in names]
    started = time.monotonic()
    if spec is not None:
        report = _on_cluster(spec, ctx, model_ref(path, args.tta), meta, slides)
    else:
        report = evaluate_slides(predictor, slides, meta.classes, ProgressBar("evaluate"))
    if ctx.scan.whole_slides:  # every annotated whole slide (they are not in the split)
        add_whole_slides(report, ctx, path, predictor, meta)
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


def add_whole_slides(report, ctx, model_path, predictor, meta) -> None:
    """Score the folder's whole slides tile by tile over their tissue and add them to the
    report (the overall scores sum every slide's confusion, tiles and whole slides alike)."""
    import numpy as np

    from seggui.core.metrics import Scores
    from seggui.core.predcache import model_key
    from seggui.model.slide_predict import score_whole_slides

    scores, problems = score_whole_slides(
        predictor,
        model_key(model_path),
        ctx.scan.whole_slides,
        meta.classes,
        ctx.workspace,
        meta.depth,
        progress=ProgressBar("whole slides"),
    )
    report.slides.update(scores)
    report.problems += problems
    if report.slides:
        n = len(meta.classes)
        total = sum((s.confusion for s in report.slides.values()), np.zeros((n, n), np.int64))
        report.overall = Scores.from_confusion(total)


def _on_cluster(spec, ctx, ref, meta, slides):
    """The tiles scored by the cluster (records of an earlier run for this model are used),
    the whole slides' tissue tiles predicted by it (then scored here from their stores)."""
    import sys

    from seggui.model.cluster_runs import evaluate_on_cluster

    with cluster_client(spec, [ctx.root, ref.path, ctx.workspace], "scores") as client:
        report, reused = evaluate_on_cluster(
            client, ref, slides, meta.classes, ctx.workspace, ProgressBar("evaluate")
        )
        if reused:
            print(f"{reused} slides' scores taken from an earlier run", file=sys.stderr)
        if not ref.tta:
            report.problems += whole_slide_tiles(client, ctx, ref, meta)
    return report

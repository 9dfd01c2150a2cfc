"""The ``seggui`` command: the window, and demo / train / predict / evaluate subcommands.

Exit status: 0 on success, 2 on a usage error, 1 on a failure (one line on stderr; the
traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from seggui import __version__
from seggui.cli_common import (
    CliError,
    ProgressBar,
    _check_classes,
    _load_predictor,
    _open,
    _quiet_tensorflow,
    _rate,
    progress_text,
)
from seggui.cli_quantize import cmd_quantize
from seggui.cli_review import cmd_audit, cmd_export

SUBCOMMANDS = ("demo", "train", "predict", "evaluate", "audit", "export", "quantize", "gui")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seggui",
        description="Review semantic segmentation of tissue images. `seggui [FOLDER]` opens the "
        "window (the demo when no folder is given); the subcommands work headless.",
        epilog="subcommands: demo, train, predict, evaluate, audit, export, quantize "
        "(`seggui SUBCOMMAND --help`)",
    )
    p.add_argument("--version", action="version", version=f"seggui {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the review window")
    g.add_argument("folder", nargs="?", help="folder of slides (default: the demo)")

    d = sub.add_parser("demo", help="write a folder of synthetic H&E-like demo tiles")
    d.add_argument("--out", required=True, help="folder to write")
    d.add_argument("--count", type=int, default=60, help="number of tiles (default 60)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    t = sub.add_parser("train", help="train a U-Net on the folder's prepared split")
    t.add_argument("folder")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    t.add_argument("--base-filters", type=int, default=16)
    t.add_argument("--depth", type=int, default=4, help="number of poolings (default 4)")
    t.add_argument("--patch", type=int, default=256, help="training crop size (default 256)")
    t.add_argument(
        "--crops-per-image",
        type=int,
        default=0,
        help="random crops per slide and epoch (default: enough to cover it once)",
    )
    t.add_argument(
        "--minutes",
        type=float,
        default=0,
        help="stop after this many minutes of fitting (then score and save)",
    )
    t.add_argument("--no-augment", action="store_true", help="no flips or rotations")
    t.add_argument(
        "--no-colour-jitter",
        action="store_true",
        help="no H&E stain, brightness, contrast, saturation or hue jitter",
    )
    t.add_argument(
        "--class-share",
        type=float,
        default=0.5,
        help="share of crops centred on a class drawn uniformly, so rare classes are "
        "learned (default 0.5; 0: random crops only)",
    )
    t.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default="cosine",
        help="learning rate: warm-up then cosine decay over the run (default), or constant",
    )
    t.add_argument(
        "--weight-decay", type=float, default=1e-4, help="AdamW weight decay (0: plain Adam)"
    )
    t.add_argument(
        "--no-normalise",
        action="store_true",
        help="feed raw [0, 1] RGB instead of the training images' per-channel mean/std",
    )
    t.add_argument("--dice", action="store_true", help="add a Dice term to the loss")
    t.add_argument("--class-weights", choices=("none", "balanced"), default="none")
    t.add_argument("--from-model", help="start from this model's weights instead of scratch")
    t.add_argument(
        "--include-needs-fix", action="store_true", help="also train on slides marked needs fix"
    )
    t.add_argument(
        "--include-rejected", action="store_true", help="also train on rejected annotations"
    )
    t.add_argument("--out", help="also save the model to this .keras path")
    t.add_argument(
        "--no-activate",
        action="store_true",
        help="do not make the new model the folder's active model",
    )

    pr = sub.add_parser("predict", help="write predicted masks (mode P PNGs)")
    pr.add_argument("folder")
    pr.add_argument("--out", required=True, help="folder for the masks")
    pr.add_argument("--model", help="model .keras (default: active, else bundled)")

    e = sub.add_parser("evaluate", help="score a model on the test split")
    e.add_argument("folder")
    e.add_argument("--model", help="model .keras (default: active, else bundled)")
    e.add_argument("--all", action="store_true", help="score every slide, not only the test split")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument(
        "--tta",
        action="store_true",
        help="average the prediction over the image and its flips (4x the time)",
    )
    a = sub.add_parser(
        "audit", help="rank slides by out-of-sample label quality (worst annotations first)"
    )
    a.add_argument("folder")
    a.add_argument("--model", help="take the fold models' size from this model")
    a.add_argument("--folds", type=int, default=3, help="folds of the non-test slides (3)")
    a.add_argument("--time-budget", type=float, default=0, help="seconds for all folds")
    a.add_argument("--epochs", type=int, default=20, help="epochs per fold (within the budget)")
    a.add_argument(
        "--tta", action="store_true", help="score with the flips averaged (4x the scoring time)"
    )
    a.add_argument("--json", action="store_true", help="print one JSON object")
    q = sub.add_parser(
        "quantize",
        help="an int8 copy of the model for prediction, used only if it agrees with fp32",
    )
    q.add_argument("folder")
    q.add_argument("--model", help="model .keras (default: active, else bundled)")
    q.add_argument(
        "--calibration", type=int, default=32, help="training slides to calibrate on (32)"
    )
    q.add_argument("--check", type=int, default=16, help="test slides to check on (16)")
    q.add_argument(
        "--limit", type=float, help="share of pixels that may change class (default 0.005)"
    )
    q.add_argument("--json", action="store_true", help="print one JSON object")
    x = sub.add_parser(
        "export", help="annotations (or predictions) as QuPath GeoJSON and/or palette PNGs"
    )
    x.add_argument("folder")
    x.add_argument("--geojson", metavar="DIR", help="one GeoJSON FeatureCollection per slide")
    x.add_argument("--masks", metavar="DIR", help="one mode-P PNG per slide, class palette")
    x.add_argument("--prediction", action="store_true", help="export the model's prediction")
    x.add_argument("--model", help="model .keras for --prediction (default: active, else bundled)")
    x.add_argument("--include-background", action="store_true", help="export it too (GeoJSON)")
    return p


def cmd_demo(args) -> int:
    from seggui.core.demo import write_demo

    if args.count < 1:
        raise CliError("--count must be at least 1")
    out = write_demo(args.out, args.count, args.seed, ProgressBar("demo"))
    print(f"wrote {args.count} demo slides to {out}")
    return 0


def cmd_train(args) -> int:
    _quiet_tensorflow()
    from seggui.model.train import TrainingError, TrainSettings, train

    ctx = _open(args.folder)
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        base_filters=args.base_filters,
        depth=args.depth,
        patch=args.patch,
        crops_per_image=args.crops_per_image,
        time_budget_s=args.minutes * 60,
        augment=not args.no_augment,
        colour_jitter=not args.no_colour_jitter,
        class_share=args.class_share,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        normalise=not args.no_normalise,
        dice_loss=args.dice,
        class_weights=args.class_weights,
        init_from=args.from_model,
        include_needs_fix=args.include_needs_fix,
        include_rejected=args.include_rejected,
    )
    if args.out and not args.out.endswith(".keras"):
        raise CliError("--out must end in .keras")
    from seggui.core.curation import curate

    curation = curate(ctx, None, args.include_needs_fix, args.include_rejected)
    print(
        f"{curation.summary()}; testing on {len(curation.test)} "
        f"({len(ctx.classes)} classes: {', '.join(ctx.classes.names)})",
        file=sys.stderr,
    )
    bar = ProgressBar("train")

    def progress(p):
        total = p.epochs * p.batches
        done = (p.epoch - 1) * p.batches + p.batch
        bar(done, total, progress_text(p))

    try:
        result = train(ctx, settings, args.out, progress, make_active=not args.no_activate)
    except TrainingError as exc:
        raise CliError(str(exc)) from exc
    for name, reason in result.skipped.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    m = result.meta.test_metrics
    print(f"saved model to {result.model_path}")
    miou = "n/a" if m.get("miou") is None else f"{m['miou']:.4f}"
    dice = "n/a" if m.get("mean_dice") is None else f"{m['mean_dice']:.4f}"
    print(f"test split ({m.get('n_slides', 0)} slides): mIoU {miou}, mean Dice {dice}")
    clean = m.get("without_rejected") or {}
    if result.curation is not None and result.curation.rejected_test:
        cm = "n/a" if clean.get("miou") is None else f"{clean['miou']:.4f}"
        print(f"  without its {len(result.curation.rejected_test)} rejected slides: mIoU {cm}")
    for c in m.get("per_class", []):
        iou = "n/a" if c["iou"] is None else f"{c['iou']:.4f}"
        print(f"  {c['name']}: IoU {iou}")
    return 0


def cmd_predict(args) -> int:
    _quiet_tensorflow()
    from seggui.model.evaluate import predict_slides

    ctx = _open(args.folder)
    path, predictor, meta = _load_predictor(ctx, args.model)
    started = time.monotonic()
    written, problems = predict_slides(
        predictor,
        ctx.slides,
        Path(args.out),
        meta.classes,
        ProgressBar("predict"),
    )
    for p in problems:
        print(f"problem: {p.name}: {p.reason}", file=sys.stderr)
    _rate(len(written), time.monotonic() - started)
    print(f"wrote {len(written)} masks to {args.out} with {path.name}")
    return 0 if written or not ctx.slides else 1


def cmd_evaluate(args) -> int:
    _quiet_tensorflow()
    from seggui.model.evaluate import evaluate_slides

    ctx = _open(args.folder)
    path, predictor, meta = _load_predictor(ctx, args.model)
    predictor.tta = args.tta
    if any(s.scorable for s in ctx.slides):  # nothing to score: report the folder's problems
        _check_classes(ctx, meta)
    if args.all:
        slides = [s for s in ctx.slides if s.has_mask or s.problems]
    else:
        names = set(ctx.split.test)
        slides = [s for s in ctx.slides if s.name in names]
    started = time.monotonic()
    report = evaluate_slides(predictor, slides, meta.classes, ProgressBar("evaluate"))
    _rate(len(report.slides), time.monotonic() - started)
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


def cmd_gui(args) -> int:
    try:
        from seggui.gui.app import run
    except ImportError as exc:
        raise CliError(f"the window cannot start: {exc}") from exc
    return run(args.folder)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `seggui [FOLDER]` opens the window; any other first word is a subcommand.
    positional = [a for a in argv if not a.startswith("-")]
    wants_help = any(a in ("-h", "--help", "--version") for a in argv)
    if (not positional or positional[0] not in SUBCOMMANDS) and (positional or not wants_help):
        argv = ["gui", *argv] if not argv or argv[0] != "--debug" else ["--debug", "gui", *argv[1:]]
    parser = _parser()
    args = parser.parse_args(argv)
    handler = {
        "demo": cmd_demo,
        "train": cmd_train,
        "predict": cmd_predict,
        "evaluate": cmd_evaluate,
        "audit": cmd_audit,
        "export": cmd_export,
        "quantize": cmd_quantize,
        "gui": cmd_gui,
    }[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("seggui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for users; the traceback on request
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"seggui: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""``seggui audit``: out-of-sample mIoU and label quality from K fold models, worst first."""

from __future__ import annotations

import json
import sys

from seggui.cli import STARTED
from seggui.cli.common import (
    CliError,
    ProgressBar,
    add_cluster_arguments,
    cluster_client,
    cluster_spec,
    open_context,
    progress_text,
    quiet_tensorflow,
)
from seggui.core.train_settings import DEFAULTS, TrainSettings

NAME = "audit"
HELP = "rank slides by out-of-sample mIoU (worst annotations first)"
SYNOPSIS = (
    "seggui audit FOLDER [--quick] [--model PATH] [--folds K] [--time-budget S] [--epochs N] [--json]\n"
    "             [--tta] [--cluster ADDRESS [--tls-ca F --tls-cert F --tls-key F] [--insecure] |\n"
    "             --workers N]"
)
SUMMARY = "mIoU and label quality from models that never saw the slide"


def add_arguments(a) -> None:
    a.add_argument("folder")
    a.add_argument(
        "--quick",
        action="store_true",
        help="pixel forests instead of U-Nets as the fold models: seconds, no TensorFlow",
    )
    a.add_argument(
        "--model", help="take the fold models' size, blocks and working resolution from this model"
    )
    a.add_argument("--folds", type=int, default=3, help="folds of the non-test slides (3)")
    a.add_argument(
        "--time-budget",
        type=float,
        default=0,
        help="seconds of wall time for the whole audit, start-up and scoring included",
    )
    a.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS.epochs,
        help=f"epochs per fold (within the budget; default {DEFAULTS.epochs})",
    )
    a.add_argument(
        "--tta", action="store_true", help="score with the flips averaged (4x the scoring time)"
    )
    a.add_argument("--json", action="store_true", help="print one JSON object")
    add_cluster_arguments(a)


def run(args) -> int:
    quiet_tensorflow()
    from seggui.core.audit import load_audit, save_audit

    if args.folds < 2:
        print("seggui audit: error: --folds must be at least 2", file=sys.stderr)
        return 2
    spec = cluster_spec(args)
    if args.quick and (spec is not None or args.tta or args.time_budget):
        print(
            "seggui audit: error: --quick runs here, in seconds: no --cluster, --workers, "
            "--tta or --time-budget",
            file=sys.stderr,
        )
        return 2
    ctx = open_context(args.folder)
    settings = TrainSettings(epochs=args.epochs)
    model_name = ""
    if args.model:
        from seggui.core import registry

        try:
            meta = registry.read_meta(args.model)
        except registry.ModelError as exc:
            raise CliError(str(exc)) from exc
        settings.base_filters, settings.depth = meta.base_filters, meta.depth
        settings.block, settings.downsample = meta.block, meta.downsample
        model_name = str(args.model)
    bar = ProgressBar("audit")
    data = {"slides": [], "problems": []}
    result = path = None
    if any(s.scorable for s in ctx.slides) or not ctx.scan.whole_slides:
        if args.quick:
            result = _forests(ctx, settings, args.folds, bar)
        else:
            result = _fold_models(ctx, settings, args, model_name, bar, STARTED, spec)
        path = save_audit(ctx.workspace, result)
        data = result.to_json()
        held = load_audit(ctx) if result.quick else None
        if held is not None and not held.quick:
            print(
                "note: a U-Net audit of these masks holds: the window keeps showing it; this "
                f"quick audit is saved beside it ({path.name})",
                file=sys.stderr,
            )
    whole, whole_problems = _whole_slides(ctx, args.model) if ctx.scan.whole_slides else ([], [])
    data["slides"] += whole
    problems = (
        data["problems"]
        + [p.to_json() for p in whole_problems]
        + [p.to_json() for p in ctx.scan.all_problems()]
    )
    if result is not None and result.weak:
        print(f"warning: {result.caution()}", file=sys.stderr)
    if result is not None and "masks_following_edges" in result.settings:
        _say_edges(*result.settings["masks_following_edges"])
    if result is not None and "pixel_forest" in result.settings:
        print(f"pixel forest: {result.settings['pixel_forest']}", file=sys.stderr)
    if result is not None:
        _say_folds(result.settings.get("fold_spans", []))
    if args.json:
        out = {
            "model": model_name,
            "folds": result.folds if result is not None else 0,
            "skill": data.get("skill"),
            "slides": [
                {k: row.get(k) for k in ("name", "miou", "edge_fit", "forest_miou", "issue_region")}
                | {
                    k: row[k]
                    for k in (
                        "label_quality",
                        "uncertainty",
                        "issue_pixels",
                        "out_of_sample",
                        "softmin",
                    )
                }
                | ({"worst_regions": row["worst_regions"]} if "worst_regions" in row else {})
                for row in data["slides"]
            ],
            "problems": problems,
        }
        print(json.dumps(out, indent=1))
        return 0
    print(f"{'slide':30} {'mIoU':>6} {'label quality':>13} {'uncertainty':>11} {'issue px':>9}")
    for row in data["slides"]:
        m = "n/a" if row.get("miou") is None else f"{row['miou']:.4f}"
        q = "n/a" if row["label_quality"] is None else f"{row['label_quality']:.4f}"
        print(
            f"{row['name']:30} {m:>6} {q:>13} {row['uncertainty']:>11.4f} {row['issue_pixels']:>9}"
        )
    for p in problems:
        print(f"problem: {p['name']}: {p['reason']}")
    if result is not None:
        print(
            f"{len(data['slides']) - len(whole)} slides scored out of sample by {result.folds} "
            f"{'pixel forests' if result.quick else 'fold models'} in {result.seconds:.0f} s "
            f"(skill {result.skill:.2f}); saved in {path}",
            file=sys.stderr,
        )
    if whole:
        print(
            f"{len(whole)} whole slides scored by the active model (never trained on: whole "
            "slides are not in the split), tile by tile",
            file=sys.stderr,
        )
    return 0


def _say_edges(following: int, checked: int) -> None:
    """Whether the edge fit ranks in this folder (its masks follow their images' edges)."""
    from seggui.core.edge_fit import masks_follow_edges

    if masks_follow_edges(following, checked):
        used = "it ranks in the list's Both column"
    else:
        used = "their edge fit is left out of the ranking"
    print(f"{following} of {checked} masks follow their images' edges: {used}", file=sys.stderr)


def _say_folds(spans: list) -> None:
    """Where each fold model's time went, from the audit's start: a fold that ran long or
    started late (a busy worker, a slow conversion) shows here."""
    for k, (began, fitted, converted, ended, *where) in enumerate(spans):
        on = f" on {where[0]}" if where else ""
        print(
            f"fold {k + 1}: {began:.1f}-{ended:.1f} s, fitting until {fitted:.1f} s, "
            f"scoring from {converted:.1f} s{on}",
            file=sys.stderr,
        )


def _forests(ctx, settings, folds: int, bar):
    """A quick audit's out-of-sample scores: a pixel forest per fold."""
    from seggui.core.audit import AuditError
    from seggui.core.quick_audit import run_quick_audit

    try:
        return run_quick_audit(ctx, folds, settings.seed, lambda d, t: bar(d, t, "pixel forests"))
    except AuditError as exc:
        raise CliError(str(exc)) from exc


def _fold_models(ctx, settings, args, model_name, bar, started, spec):
    """The fold models' out-of-sample scores, here or on the cluster."""
    from contextlib import nullcontext

    from seggui.core.audit import AuditError
    from seggui.model.audit import run_audit
    from seggui.model.train import TrainingError

    where = nullcontext()
    if spec is not None:
        where = cluster_client(spec, [ctx.root, ctx.workspace], "fold models")
    try:
        with where as client:
            return run_audit(
                ctx,
                settings,
                args.folds,
                args.time_budget,
                lambda p: bar(p.epoch, p.epochs, progress_text(p)),
                model_name=model_name,
                tta=args.tta,
                started=started,
                client=client,
            )
    except (TrainingError, AuditError) as exc:
        raise CliError(str(exc)) from exc


def _whole_slides(ctx, explicit: str | None) -> tuple[list[dict], list]:
    """Whole slides' label quality under the active (or given) model, with each slide's
    five worst regions (level-0 boxes)."""
    from seggui.cli.common import load_predictor
    from seggui.core.predcache import model_key
    from seggui.model.slide_predict import whole_slide_quality

    path, predictor, meta = load_predictor(ctx, explicit)
    found, problems = whole_slide_quality(
        predictor,
        model_key(path),
        ctx.scan.whole_slides,
        meta.classes,
        ctx.workspace,
        meta.depth,
        progress=ProgressBar("whole slides"),
    )
    rows = []
    for w in found:
        row = {"name": w.name, **w.quality.to_json()}
        row["worst_regions"] = [
            {"box": [round(v) for v in box], "label_quality": round(q, 4)}
            for q, box in w.worst_regions
        ]
        rows.append(row)
    return rows, problems

"""The ``seggui audit`` and ``seggui export`` subcommands: ranking the annotations, and
writing them out for other tools."""

from __future__ import annotations

import json
import sys

from seggui.cli_common import (
    CliError,
    ProgressBar,
    _load_predictor,
    _open,
    _quiet_tensorflow,
    progress_text,
)


def cmd_audit(args) -> int:
    _quiet_tensorflow()
    from seggui.core.audit import save_audit
    from seggui.model.audit import run_audit
    from seggui.model.train import TrainingError, TrainSettings

    if args.folds < 2:
        print("seggui audit: error: --folds must be at least 2", file=sys.stderr)
        return 2
    ctx = _open(args.folder)
    settings = TrainSettings(epochs=args.epochs)
    model_name = ""
    if args.model:
        from seggui.core import registry

        try:
            meta = registry.read_meta(args.model)
        except registry.ModelError as exc:
            raise CliError(str(exc)) from exc
        settings.base_filters, settings.depth = meta.base_filters, meta.depth
        model_name = str(args.model)
    bar = ProgressBar("audit")
    try:
        result = run_audit(
            ctx,
            settings,
            args.folds,
            args.time_budget,
            lambda p: bar(p.epoch, p.epochs, progress_text(p)),
            model_name=model_name,
            tta=args.tta,
        )
    except TrainingError as exc:
        raise CliError(str(exc)) from exc
    path = save_audit(ctx.workspace, result)
    data = result.to_json()
    problems = data["problems"] + [p.to_json() for p in ctx.scan.all_problems()]
    if args.json:
        out = {
            "model": model_name,
            "folds": result.folds,
            "slides": [
                {
                    k: row[k]
                    for k in (
                        "name",
                        "label_quality",
                        "uncertainty",
                        "issue_pixels",
                        "out_of_sample",
                        "softmin",
                    )
                }
                for row in data["slides"]
            ],
            "problems": problems,
        }
        print(json.dumps(out, indent=1))
        return 0
    print(f"{'slide':30} {'label quality':>13} {'uncertainty':>11} {'issue px':>9}")
    for row in data["slides"]:
        q = "n/a" if row["label_quality"] is None else f"{row['label_quality']:.4f}"
        print(f"{row['name']:30} {q:>13} {row['uncertainty']:>11.4f} {row['issue_pixels']:>9}")
    for p in problems:
        print(f"problem: {p['name']}: {p['reason']}")
    print(
        f"{len(data['slides'])} slides scored out of sample by {result.folds} fold models in "
        f"{result.seconds:.0f} s; saved in {path}",
        file=sys.stderr,
    )
    return 0


def cmd_export(args) -> int:
    from seggui.core.export import export_slides
    from seggui.core.imageio import read_image

    if not args.geojson and not args.masks:
        print("seggui export: error: give --geojson DIR and/or --masks DIR", file=sys.stderr)
        return 2
    ctx = _open(args.folder)
    classes, predictor = ctx.classes, None
    if args.prediction:
        _quiet_tensorflow()
        _, predictor, meta = _load_predictor(ctx, args.model)
        classes = meta.classes
    slides = [s for s in ctx.slides if (s.usable if predictor else s.scorable)]
    done, problems = export_slides(
        slides,
        classes,
        args.geojson,
        args.masks,
        args.include_background,
        (lambda s: predictor.predict(read_image(s.image_path)).labels) if predictor else None,
        ProgressBar("export"),
    )
    for p in problems + ctx.scan.all_problems():
        print(f"problem: {p.name}: {p.reason}", file=sys.stderr)
    what = "predictions" if predictor is not None else "annotations"
    print(
        f"exported the {what} of {done} slides"
        + "".join(
            f" · {kind} in {d}"
            for kind, d in (("GeoJSON", args.geojson), ("masks", args.masks))
            if d
        )
    )
    return 0 if done or not slides else 1

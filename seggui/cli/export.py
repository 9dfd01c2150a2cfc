"""``seggui export``: annotations (or predictions) as QuPath GeoJSON and/or palette PNGs."""

from __future__ import annotations

import sys

from seggui.cli.common import ProgressBar, load_predictor, open_context, quiet_tensorflow

NAME = "export"
HELP = "annotations (or predictions) as QuPath GeoJSON and/or palette PNGs"
SYNOPSIS = (
    "seggui export FOLDER [--geojson DIR] [--masks DIR] [--prediction] [--model PATH]\n"
    "              [--include-background]"
)
SUMMARY = "QuPath GeoJSON and palette PNGs"


def add_arguments(x) -> None:
    x.add_argument("folder")
    x.add_argument("--geojson", metavar="DIR", help="one GeoJSON FeatureCollection per slide")
    x.add_argument("--masks", metavar="DIR", help="one mode-P PNG per slide, class palette")
    x.add_argument("--prediction", action="store_true", help="export the model's prediction")
    x.add_argument("--model", help="model .keras for --prediction (default: active, else bundled)")
    x.add_argument("--include-background", action="store_true", help="export it too (GeoJSON)")


def run(args) -> int:
    from seggui.core.export import export_slides
    from seggui.core.imageio import read_image

    if not args.geojson and not args.masks:
        print("seggui export: error: give --geojson DIR and/or --masks DIR", file=sys.stderr)
        return 2
    ctx = open_context(args.folder)
    classes, predictor = ctx.classes, None
    if args.prediction:
        quiet_tensorflow()
        _, predictor, meta = load_predictor(ctx, args.model)
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

"""``seggui export``: annotations (or predictions) as QuPath GeoJSON and/or palette PNGs."""

from __future__ import annotations

import sys

from seggui.cli.common import (
    ProgressBar,
    add_cluster_arguments,
    cluster_spec,
    load_predictor,
    model_ref,
    open_context,
    predict_with_cluster,
    quiet_tensorflow,
)

NAME = "export"
HELP = "annotations (or predictions) as QuPath GeoJSON and/or palette PNGs"
SYNOPSIS = (
    "seggui export FOLDER [--geojson DIR] [--masks DIR] [--prediction] [--model PATH]\n"
    "              [--include-background]\n"
    "              [--cluster ADDRESS [--tls-ca F --tls-cert F --tls-key F] [--insecure] | --workers N]"
)
SUMMARY = "QuPath GeoJSON and palette PNGs"


def add_arguments(x) -> None:
    x.add_argument("folder")
    x.add_argument("--geojson", metavar="DIR", help="one GeoJSON FeatureCollection per slide")
    x.add_argument("--masks", metavar="DIR", help="one mode-P PNG per slide, class palette")
    x.add_argument("--prediction", action="store_true", help="export the model's prediction")
    x.add_argument("--model", help="model .keras for --prediction (default: active, else bundled)")
    x.add_argument("--include-background", action="store_true", help="export it too (GeoJSON)")
    add_cluster_arguments(x)  # with --prediction: the cluster predicts, this machine traces


def run(args) -> int:
    from seggui.core.export import export_slides
    from seggui.core.imageio import read_image, read_mask

    if not args.geojson and not args.masks:
        print("seggui export: error: give --geojson DIR and/or --masks DIR", file=sys.stderr)
        return 2
    spec = cluster_spec(args)
    if spec is not None and not args.prediction:
        print(
            "seggui export: error: --cluster/--workers predict: add --prediction", file=sys.stderr
        )
        return 2
    ctx = open_context(args.folder)
    classes, predictor, meta, model_path, labels_of = ctx.classes, None, None, None, None
    if args.prediction:
        quiet_tensorflow()
        model_path, predictor, meta = load_predictor(ctx, args.model)
        classes = meta.classes

        def labels_of(s):
            return predictor.predict_labels(read_image(s.image_path))

    problems = []
    if spec is not None:  # predicted by the cluster into the workspace, traced here
        ref = model_ref(model_path)
        predicted = ctx.workspace / "predicted" / ref.hash
        _, _, problems = predict_with_cluster(spec, ctx, ref, meta, predicted)

        def labels_of(s):
            return read_mask(predicted / f"{s.name}.png", classes)

    failed = {p.name for p in problems}
    slides = [
        s for s in ctx.slides if (s.usable if predictor else s.scorable) and s.name not in failed
    ]
    done, more = export_slides(
        slides,
        classes,
        args.geojson,
        args.masks,
        args.include_background,
        labels_of,
        ProgressBar("export"),
    )
    problems += more
    whole = 0
    if ctx.scan.whole_slides and args.geojson:
        whole, more = _export_whole_slides(args, ctx, classes, predictor, meta, model_path)
        problems += more
    elif ctx.scan.whole_slides:
        print("whole slides are exported as GeoJSON only: give --geojson DIR", file=sys.stderr)
    for p in problems + ctx.scan.all_problems():
        print(f"problem: {p.name}: {p.reason}", file=sys.stderr)
    what = "predictions" if predictor is not None else "annotations"
    print(
        f"exported the {what} of {done} slides"
        + (f" and {whole} whole slides (areas in areas.csv)" if whole else "")
        + "".join(
            f" · {kind} in {d}"
            for kind, d in (("GeoJSON", args.geojson), ("masks", args.masks))
            if d
        )
    )
    return 0 if done or whole or not (slides or ctx.scan.whole_slides) else 1


def _export_whole_slides(args, ctx, classes, predictor, meta, model_path):
    """Whole slides: one GeoJSON each, merged across tiles, in level-0 pixels; areas.csv."""
    from seggui.core.predcache import model_key
    from seggui.model.slide_export import export_whole_slides

    done, problems, _ = export_whole_slides(
        ctx.scan.whole_slides,
        classes,
        args.geojson,
        ctx.workspace,
        args.include_background,
        predictor,
        model_key(model_path) if model_path else None,
        meta.depth if meta is not None else 4,
        ProgressBar("whole slides"),
    )
    return done, problems

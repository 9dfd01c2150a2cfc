"""``seggui predict``: one predicted mode-P mask per image, same name and size."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seggui.cli.common import (
    ProgressBar,
    add_cluster_arguments,
    cluster_spec,
    load_predictor,
    model_ref,
    open_context,
    predict_with_cluster,
    quiet_tensorflow,
    rate,
)

NAME = "predict"
HELP = "write predicted masks (mode P PNGs)"
SYNOPSIS = (
    "seggui predict FOLDER --out DIR [--model PATH]\n"
    "               [--cluster ADDRESS [--tls-ca F --tls-cert F --tls-key F] [--insecure] | --workers N]"
)
SUMMARY = "one mode-P PNG per image (whole slides: label TIFF)"


def add_arguments(p) -> None:
    p.add_argument("folder")
    p.add_argument("--out", required=True, help="folder for the masks")
    p.add_argument("--model", help="model .keras (default: active, else bundled)")
    add_cluster_arguments(p)


def run(args) -> int:
    quiet_tensorflow()
    from seggui.model.evaluate import predict_slides

    spec = cluster_spec(args)  # a refused address fails before anything else is done
    ctx = open_context(args.folder)
    path, predictor, meta = load_predictor(ctx, args.model)
    ref = model_ref(path)
    out = Path(args.out).resolve()
    started = time.monotonic()
    skipped = 0
    if spec is not None:
        written, skipped, problems = predict_with_cluster(spec, ctx, ref, meta, out)
    else:
        written, problems = predict_slides(
            predictor, ctx.slides, out, meta.classes, ProgressBar("predict"), model_hash=ref.hash
        )
    rate(len(written) - skipped, time.monotonic() - started)
    whole = []
    if ctx.scan.whole_slides:
        from seggui.core.predcache import model_key
        from seggui.model.slide_export import predict_whole_slides

        whole, more = predict_whole_slides(
            predictor,
            model_key(path),
            ctx.scan.whole_slides,
            meta.classes,
            ctx.workspace,
            meta.depth,
            out,
            ProgressBar("whole slides"),
        )
        problems += [p for p in more if p.name not in {q.name for q in problems}]
    for p in problems:
        print(f"problem: {p.name}: {p.reason}", file=sys.stderr)
    print(
        f"wrote {len(written) - skipped} masks"
        + (f" ({skipped} already made by this model, kept)" if skipped else "")
        + (f" and {len(whole)} whole-slide label images (NAME.labels.tiff)" if whole else "")
        + f" to {args.out} with {path.name}"
    )
    return 0 if written or whole or not (ctx.slides or ctx.scan.whole_slides) else 1

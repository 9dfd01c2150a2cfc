"""``seggui predict``: one predicted mode-P mask per image, same name and size."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seggui.cli.common import ProgressBar, load_predictor, open_context, quiet_tensorflow, rate

NAME = "predict"
HELP = "write predicted masks (mode P PNGs)"
SYNOPSIS = "seggui predict FOLDER --out DIR [--model PATH]"
SUMMARY = "one mode-P PNG per image (whole slides: label TIFF)"


def add_arguments(p) -> None:
    p.add_argument("folder")
    p.add_argument("--out", required=True, help="folder for the masks")
    p.add_argument("--model", help="model .keras (default: active, else bundled)")


def run(args) -> int:
    quiet_tensorflow()
    from seggui.model.evaluate import predict_slides

    ctx = open_context(args.folder)
    path, predictor, meta = load_predictor(ctx, args.model)
    started = time.monotonic()
    written, problems = predict_slides(
        predictor,
        ctx.slides,
        Path(args.out),
        meta.classes,
        ProgressBar("predict"),
    )
    rate(len(written), time.monotonic() - started)
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
            Path(args.out),
            ProgressBar("whole slides"),
        )
        problems += more
    for p in problems:
        print(f"problem: {p.name}: {p.reason}", file=sys.stderr)
    print(
        f"wrote {len(written)} masks"
        + (f" and {len(whole)} whole-slide label images (NAME.labels.tiff)" if whole else "")
        + f" to {args.out} with {path.name}"
    )
    return 0 if written or whole or not (ctx.slides or ctx.scan.whole_slides) else 1

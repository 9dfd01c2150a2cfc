"""``seggui demo``: a folder of synthetic H&E-like tiles in the original layout."""

from __future__ import annotations

from seggui.cli.common import CliError, ProgressBar

NAME = "demo"
HELP = "write a folder of synthetic H&E-like demo tiles"
SYNOPSIS = "seggui demo --out DIR [--count N] [--seed S]\n            [--wsi [--size PIXELS]]"
SUMMARY = "synthetic H&E-like demo folder"


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--count", type=int, default=60, help="number of tiles (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--wsi",
        action="store_true",
        help="write one large pyramidal whole slide (demo-wsi.tiff) and its GeoJSON instead",
    )
    p.add_argument(
        "--size", type=int, default=40960, help="the whole slide's side in pixels (default 40960)"
    )


def run(args) -> int:
    from seggui.core.demo import write_demo

    if args.wsi:
        from seggui.core.demo_wsi import write_demo_wsi

        if args.size < 2048:
            raise CliError("--size must be at least 2048")
        path = write_demo_wsi(args.out, args.size, args.seed, ProgressBar("demo"))
        print(f"wrote the whole slide {path} and its annotation {path.with_suffix('.geojson')}")
        return 0
    if args.count < 1:
        raise CliError("--count must be at least 1")
    out = write_demo(args.out, args.count, args.seed, ProgressBar("demo"))
    print(f"wrote {args.count} demo slides to {out}")
    return 0

"""``seggui demo``: a folder of synthetic H&E-like tiles in the original layout."""

from __future__ import annotations

from seggui.cli.common import CliError, ProgressBar

NAME = "demo"
HELP = "write a folder of synthetic H&E-like demo tiles"
SYNOPSIS = "seggui demo --out DIR [--count N] [--seed S]"
SUMMARY = "synthetic H&E-like demo folder"


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--count", type=int, default=60, help="number of tiles (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args) -> int:
    from seggui.core.demo import write_demo

    if args.count < 1:
        raise CliError("--count must be at least 1")
    out = write_demo(args.out, args.count, args.seed, ProgressBar("demo"))
    print(f"wrote {args.count} demo slides to {out}")
    return 0

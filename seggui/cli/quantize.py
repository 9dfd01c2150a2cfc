"""The ``seggui quantize`` subcommand: an int8 copy of a model, used only if it agrees."""

from __future__ import annotations

import json

from seggui.cli.common import CliError, open_context

NAME = "quantize"
HELP = "an int8 copy of the model for prediction, used only if it agrees with fp32"
SYNOPSIS = (
    "seggui quantize FOLDER [--model PATH] [--calibration N] [--check N] [--limit X] [--json]\n"
    "                [--if-missing]"
)
SUMMARY = "an int8 copy, used where it agrees and is faster"


def add_arguments(q) -> None:
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
    q.add_argument(
        "--if-missing", action="store_true", help="only when the model has no checked copy yet"
    )


def run(args) -> int:
    from seggui.core.registry import ModelError, read_meta, resolve_model

    try:
        from seggui.model.int8 import AGREEMENT_LIMIT, quantize_for_folder
    except ImportError as exc:
        raise CliError(f"int8 needs OpenVINO and NNCF: pip install 'seggui[fast]' ({exc})") from exc

    ctx = open_context(args.folder)
    path = resolve_model(ctx.workspace, args.model)
    if args.if_missing:
        from seggui.model.int8 import read_check
        from seggui.model.ovcache import ir_path

        found = read_check(ir_path(path))
        if found is not None:
            print(f"{path.name}: int8 copy already checked: {found.reason()}")
            return 0
    try:
        meta = read_meta(path)
        result = quantize_for_folder(ctx, path, meta, args.calibration, args.check, args.limit)
    except (ModelError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    limit = AGREEMENT_LIMIT if args.limit is None else args.limit
    if args.json:
        print(json.dumps({"model": str(path), **result.to_json()}, indent=1))
    else:
        # the numbers once, then the verdict (the window's status line shows this line whole)
        if result.used:
            verdict = "used"
        else:
            verdict = "refused" if not result.agrees else "not used (not faster)"
        print(
            f"{path.name}: int8 changes {result.changed:.3%} of pixels on {result.check_images} "
            f"slides (limit {limit:.2%}); {result.ms_int8:.1f} ms per 512x512 tile against "
            f"{result.ms_default:.1f} ms in {result.default_precision}: {verdict}"
        )
    return 0

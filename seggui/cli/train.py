"""``seggui train``: a U-Net on the folder's prepared split, as the retrain panel trains it.

Every flag's default is the one in :class:`~seggui.core.train_settings.TrainSettings`.
"""

from __future__ import annotations

import sys

from seggui.cli.common import CliError, ProgressBar, open_context, progress_text, quiet_tensorflow
from seggui.core.resolution import FACTORS
from seggui.core.train_settings import DEFAULTS, TrainSettings

NAME = "train"
HELP = "train a U-Net on the folder's prepared split"
SYNOPSIS = (
    "seggui train FOLDER [--epochs N] [--minutes M] [--batch-size B] [--lr X] [--base-filters F]\n"
    "             [--depth D] [--block standard|separable] [--patch P] [--downsample 1|2|4]\n"
    "             [--crops-per-image K] [--no-augment] [--no-colour-jitter] [--class-share S]\n"
    "             [--schedule cosine|constant] [--weight-decay W] [--no-normalise] [--dice]\n"
    "             [--class-weights balanced|sqrt] [--from-model PATH] [--out PATH] [--no-activate]\n"
    "             [--include-needs-fix] [--include-rejected] [--eager] [--cache-mb MB]\n"
    "             [--precision auto|float32|bfloat16]"
)
SUMMARY = "a new model version, scored on the test split"


def add_arguments(t) -> None:
    d = DEFAULTS
    t.add_argument("folder")
    t.add_argument("--epochs", type=int, default=d.epochs, help=f"(default {d.epochs})")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help=f"(default {d.batch_size})")
    t.add_argument(
        "--lr", type=float, default=d.learning_rate, help=f"learning rate ({d.learning_rate})"
    )
    t.add_argument("--base-filters", type=int, default=d.base_filters)
    t.add_argument(
        "--depth", type=int, default=d.depth, help=f"number of poolings (default {d.depth})"
    )
    t.add_argument(
        "--block",
        choices=("standard", "separable"),
        default=d.block,
        help="convolution blocks: the seed's 3x3 convolutions, or depthwise-separable ones "
        f"(cheaper per step at the same width; default {d.block})",
    )
    t.add_argument(
        "--patch", type=int, default=d.patch, help=f"training crop size (default {d.patch})"
    )
    t.add_argument(
        "--downsample",
        type=int,
        choices=FACTORS,
        default=d.downsample,
        help="working resolution: see the slides at 1/2 or 1/4 (more context, cheaper steps; "
        "predictions come back at full size)",
    )
    t.add_argument(
        "--crops-per-image",
        type=int,
        default=d.crops_per_image,
        help="random crops per slide and epoch (default: enough to cover it once)",
    )
    t.add_argument(
        "--minutes",
        type=float,
        default=d.time_budget_s / 60,
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
        default=d.class_share,
        help="share of crops centred on a class drawn uniformly, so rare classes are "
        f"learned (default {d.class_share}; 0: random crops only)",
    )
    t.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default=d.schedule,
        help="learning rate: warm-up then cosine decay over the run (default), or constant",
    )
    t.add_argument(
        "--weight-decay",
        type=float,
        default=d.weight_decay,
        help=f"AdamW weight decay (default {d.weight_decay}; 0: plain Adam)",
    )
    t.add_argument(
        "--no-normalise",
        action="store_true",
        help="feed raw [0, 1] RGB instead of the training images' per-channel mean/std",
    )
    t.add_argument("--dice", action="store_true", help="add a Dice term to the loss")
    t.add_argument(
        "--class-weights",
        choices=("none", "balanced", "sqrt"),
        default=d.class_weights,
        help="weigh each class's pixels in the loss by the inverse of its share of the "
        "training masks (balanced) or its square root (sqrt: milder; lifted Gleason grade 3 a "
        "little at grade 4's expense, BENCHMARKS.md section 38)",
    )
    t.add_argument("--from-model", help="start from this model's weights instead of scratch")
    t.add_argument(
        "--include-needs-fix", action="store_true", help="also train on slides marked needs fix"
    )
    t.add_argument(
        "--include-rejected", action="store_true", help="also train on rejected annotations"
    )
    t.add_argument(
        "--eager",
        action="store_true",
        help="run the steps without tracing them first: faster for a few steps, slower for more",
    )
    t.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default=d.precision,
        help="what the steps compute in (default float32; auto: bfloat16 on a CPU with "
        "AVX512-BF16 or AMX, float32 elsewhere); the saved model is float32 either way",
    )
    t.add_argument(
        "--cache-mb",
        type=int,
        default=d.cache_mb,
        help=f"keep decoded slides in memory up to this many MB (default {d.cache_mb}; "
        "0: decode a slide on every visit)",
    )
    t.add_argument("--out", help="also save the model to this .keras path")
    t.add_argument(
        "--no-activate",
        action="store_true",
        help="do not make the new model the folder's active model",
    )


def settings_from(args) -> TrainSettings:
    """The training settings the flags ask for (the rest at their defaults)."""
    return TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        base_filters=args.base_filters,
        depth=args.depth,
        block=args.block,
        patch=args.patch,
        downsample=args.downsample,
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
        eager=args.eager,
        cache_mb=args.cache_mb,
        precision=args.precision,
    )


def run(args) -> int:
    quiet_tensorflow()
    from seggui.core.curation import curate
    from seggui.model.train import TrainingError, train

    if args.out and not args.out.endswith(".keras"):
        raise CliError("--out must end in .keras")
    ctx = open_context(args.folder)
    settings = settings_from(args)
    curation = curate(ctx, None, args.include_needs_fix, args.include_rejected)
    from seggui.model.devices import describe, training_devices
    from seggui.model.precision import training_precision

    print(
        f"{curation.summary()}; testing on {len(curation.test)} "
        f"({len(ctx.classes)} classes: {', '.join(ctx.classes.names)}); "
        f"on {describe(training_devices())} in {training_precision(settings.precision)}",
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
    for problem in result.test_report.problems if result.test_report else []:
        print(f"not scored {problem.name}: {problem.reason}", file=sys.stderr)
    m = result.meta.test_metrics
    print(f"saved model to {result.model_path}")
    print(
        f"test split ({m.get('n_slides', 0)} slides): mIoU {_score(m.get('miou'))}, "
        f"mean Dice {_score(m.get('mean_dice'))}"
    )
    clean = m.get("without_rejected") or {}
    if result.curation is not None and result.curation.rejected_test:
        print(
            f"  without its {len(result.curation.rejected_test)} rejected slides: "
            f"mIoU {_score(clean.get('miou'))}"
        )
    for c in m.get("per_class", []):
        print(f"  {c['name']}: IoU {_score(c['iou'])}")
    return 0


def _score(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"

"""How a U-Net is trained: every setting with its default, in one place.

The command line's flags, the retrain panel's fields, the training child and the audit all
read their defaults from :class:`TrainSettings`, so they cannot disagree. Plain data: no
TensorFlow, so the window and ``seggui --help`` can read it without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class TrainSettings:
    epochs: int = 20
    batch_size: int = 8
    learning_rate: float = 1e-3
    base_filters: int = 16
    depth: int = 4
    # The U-Net's convolution blocks: "standard" (the seed's 3x3 convolutions) or
    # "separable" (depthwise-separable ones: fewer multiply-adds for the same width).
    block: str = "standard"
    # What the steps compute in: "float32", "bfloat16", or "auto" (bfloat16 on a CPU with
    # AVX512-BF16 or AMX, else float32). Weights are float32 and saved so in every case.
    # float32 by default: on such a CPU bfloat16 fit a third more epochs in the same time
    # but learned no more over two seeds of both real sets (BENCHMARKS.md section 27).
    precision: str = "float32"
    # The crops' side. 128 by default: at equal wall time a 256 crop gave too few steps to
    # leave "one class everywhere" in some runs; over two seeds of both real sets 128 learned
    # more (GlaS 0.61 against 0.42, Gleason 0.28 against 0.24; BENCHMARKS.md section 31).
    patch: int = 128
    crops_per_image: int = 0
    augment: bool = True  # flips and 90-degree rotations
    colour_jitter: bool = True  # H&E stain, brightness, contrast, saturation and hue jitter
    class_share: float = 0.5  # share of crops centred on a class drawn uniformly (rare ones)
    dice_loss: bool = False
    class_weights: str = "none"  # "none", "balanced" or "sqrt" (see losses.class_weights)
    schedule: str = "cosine"  # "cosine": warm-up then cosine decay; "constant"
    weight_decay: float = 1e-4  # AdamW's decoupled weight decay; 0: Adam
    normalise: bool = True  # per-channel mean/std of the training images, inside the model
    seed: int = 42
    init_from: str | None = None
    val_fraction: float = 0.1
    steps_per_epoch: int = 0  # 0: one pass over each training slide's area
    include_needs_fix: bool = False  # train on slides marked "needs fix" as they are
    include_rejected: bool = False  # train on slides whose annotation was rejected
    time_budget_s: float = 0.0  # stop (and save) after this many seconds of fitting; 0: none
    # The working resolution: the model sees slides reduced by this factor (1, 2 or 4), in
    # training and in every prediction (recorded in its metadata); predictions come back to
    # full size as probabilities.
    downsample: int = 1
    # Run the steps eagerly instead of tracing them into a graph first. Tracing costs about
    # 15 s per run on 2 cores (BENCHMARKS.md section 14), which only pays off over many steps:
    # for a run of a few steps (the tests' tiny fits) eager is 2.5x faster; slower otherwise.
    eager: bool = False
    # Decoded training and validation slides kept in memory up to this many MB, so a run
    # decodes each slide once instead of once per visit (0: decode on every visit).
    cache_mb: int = 1024


DEFAULTS = TrainSettings()


def default(name: str):
    """The default of one setting (raises for an unknown name, so a typo fails loudly)."""
    if name not in {f.name for f in fields(TrainSettings)}:
        raise KeyError(name)
    return getattr(DEFAULTS, name)

"""Training a U-Net on a folder's prepared split, cancellable, never replacing a model early.

The run streams crops from disk, keeps the best-on-validation weights, scores the test split
at the end and only then saves a new model version (atomically). A cancelled or failed run
leaves the folder's models exactly as they were.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import tensorflow as tf
from sklearn.model_selection import train_test_split

from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.curation import Curation, curate
from seggui.core.folder import FolderContext
from seggui.core.imageio import SlideFileError
from seggui.core.resolution import reduced_size
from seggui.core.slides import Slide
from seggui.core.train_settings import TrainSettings
from seggui.model import store
from seggui.model.augment import ColourJitter
from seggui.model.devices import training_devices
from seggui.model.evaluate import EvalReport, evaluate_slides
from seggui.model.losses import class_weights, segmentation_loss, silence_unseen_classes
from seggui.model.pipeline import (
    SkippedFiles,
    SlideCache,
    SlideItem,
    channel_stats,
    class_pixels,
    crops_for,
    eval_dataset,
    load_pair,
    train_dataset,
)
from seggui.model.precision import training_precision, with_precision
from seggui.model.predict import Predictor
from seggui.model.progress import ProgressAndCancel, TrainProgress
from seggui.model.sampling import CropPlanner
from seggui.model.schedule import WarmupCosine
from seggui.model.unet import block_of, build_unet


class TrainingError(Exception):
    """Training cannot start or go on, with the reason."""


@dataclass
class TrainResult:
    model_path: Path | None
    meta: store.ModelMeta | None
    history: dict = field(default_factory=dict)
    cancelled: bool = False
    test_report: EvalReport | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    curation: Curation | None = None


def _items(slides: list[Slide], downsample: int = 1) -> list[SlideItem]:
    return [SlideItem(s.name, s.image_path, s.mask_path, downsample) for s in slides]


def _strategy():
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def split_validation(
    train: list[Slide], fraction: float, seed: int
) -> tuple[list[Slide], list[Slide]]:
    """Hold a few training slides out for choosing the best epoch (never the test split)."""
    if len(train) < 5:
        return train, train
    fit, val = train_test_split(
        train, test_size=max(1, round(len(train) * fraction)), random_state=seed
    )
    return fit, val


def _readable(
    slides: list[Slide], f: int, classes, cache: SlideCache | None, skipped: SkippedFiles
) -> list[Slide]:
    """The validation slides whose files decode (into the cache, so it costs no extra read);
    the others are reported in ``skipped`` and left out, since every epoch's validation must
    hold as many tiles as its slides' sizes promise."""
    readable = []
    for slide, item in zip(slides, _items(slides, f), strict=True):
        try:
            cache.load(item, classes) if cache is not None else load_pair(item, classes)
        except SlideFileError as exc:
            skipped.add(slide.name, exc.reason)
            continue
        readable.append(slide)
    if not readable:
        raise TrainingError(
            "none of the validation slides can be read: "
            + "; ".join(f"{k}: {v}" for k, v in skipped.reasons.items())
        )
    return readable


@dataclass
class Fitted:
    """A fitted model with its best epoch's weights, or a cancelled fit."""

    model: keras.Model | None
    history: dict
    fit_slides: list[Slide]
    val_slides: list[Slide]
    skipped: dict[str, str]
    parent: str
    seconds: float
    cancelled: bool = False
    unseen: list[str] = field(default_factory=list)  # classes in no training mask: switched off
    precision: str = "float32"  # what the steps computed in (the model is float32 again)


def fit(
    ctx: FolderContext,
    train_slides: list[Slide],
    settings: TrainSettings,
    report: Callable[[TrainProgress], None],
    cancel: CancelToken,
    run_dir: Path,
    callbacks: list[keras.callbacks.Callback] | None = None,
    ends_by: float | None = None,
) -> Fitted:
    """Fit a U-Net on ``train_slides`` (a few held out to pick the best epoch), in memory.

    ``callbacks``: more Keras callbacks for the fit (benchmarks checkpoint every epoch).
    ``ends_by``: a ``time.monotonic()`` by which the steps stop (the settings' time budget
    is then what is left of it once the data and the model are ready)."""
    classes = ctx.classes
    n = len(classes)
    fit_slides, val_slides = split_validation(train_slides, settings.val_fraction, settings.seed)
    batch = settings.batch_size
    f = settings.downsample
    fit_items = _items(fit_slides, f)
    crops = [
        settings.crops_per_image or crops_for(reduced_size(s.size[1], s.size[0], f), settings.patch)
        for s in fit_slides
    ]
    report(TrainProgress(1, settings.epochs, 0, 1, math.nan, message="reading the training masks"))
    counts = class_pixels(fit_items, classes)
    planner = CropPlanner(counts, crops, settings.class_share, settings.seed)
    batches = settings.steps_per_epoch or max(1, math.ceil(planner.crops_per_epoch / batch))
    skipped = SkippedFiles()
    cache = SlideCache(settings.cache_mb << 20) if settings.cache_mb > 0 else None
    train_ds = train_dataset(
        fit_items,
        classes,
        settings.patch,
        batch,
        planner,
        settings.augment,
        ColourJitter() if settings.colour_jitter else None,
        settings.seed,
        class_weights(settings.class_weights, counts),
        skipped,
        cache,
    )
    val_slides = _readable(val_slides, f, classes, cache, skipped)
    val_tiles = sum(
        math.ceil(h / settings.patch) * math.ceil(w / settings.patch)
        for h, w in (reduced_size(s.size[1], s.size[0], f) for s in val_slides)
    )
    val_ds = eval_dataset(_items(val_slides, f), classes, settings.patch, batch, skipped, cache)
    val_ds = val_ds.apply(tf.data.experimental.assert_cardinality(math.ceil(val_tiles / batch)))

    parent = ""
    with _strategy().scope():
        if settings.init_from:
            model, parent_meta = store.load_model(settings.init_from)
            if len(parent_meta.classes) != n:
                raise TrainingError(
                    f"the starting model has {len(parent_meta.classes)} classes "
                    f"but this folder has {n}"
                )
            settings.base_filters, settings.depth = parent_meta.base_filters, parent_meta.depth
            settings.block = block_of(model)
            parent = parent_meta.name or Path(settings.init_from).stem
        else:
            keras.utils.set_random_seed(settings.seed)
            cached = (lambda item: cache.load(item, classes)[0]) if cache is not None else None
            mean, std = (
                channel_stats(fit_items, settings.seed, load=cached)
                if settings.normalise
                else (None,) * 2
            )
            model = build_unet(
                n, settings.base_filters, settings.depth, mean=mean, std=std, block=settings.block
            )
        precision = training_precision(settings.precision)
        if precision != "float32":
            model = with_precision(model, precision)
        if settings.weight_decay:
            optimizer = keras.optimizers.AdamW(settings.learning_rate, settings.weight_decay)
        else:
            optimizer = keras.optimizers.Adam(settings.learning_rate)
        model.compile(
            optimizer=optimizer,
            loss=segmentation_loss(n, settings.dice_loss),
            weighted_metrics=[
                keras.metrics.MeanIoU(n, sparse_y_pred=False, name="iou", dtype="float32")
            ],
            run_eagerly=settings.eager,
        )

    if ends_by is not None:
        settings = replace(settings, time_budget_s=max(1.0, ends_by - time.monotonic()))
    best = run_dir / "best.weights.h5"
    progress = ProgressAndCancel(report, cancel, settings.epochs, batches, settings.time_budget_s)
    callbacks = [
        *(callbacks or []),
        progress,
        keras.callbacks.ModelCheckpoint(
            str(best),
            monitor="val_iou",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
        ),
    ]
    if settings.schedule == "cosine":
        callbacks.append(
            WarmupCosine(settings.learning_rate, settings.epochs * batches, settings.time_budget_s)
        )
    elif settings.schedule != "constant":
        raise TrainingError(f"unknown learning-rate schedule {settings.schedule!r}")
    history = model.fit(
        train_ds.repeat(),
        validation_data=val_ds,
        epochs=settings.epochs,
        steps_per_epoch=batches,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    seconds = round(time.monotonic() - progress.start, 1)
    common = (history.history, fit_slides, val_slides, dict(skipped.reasons), parent, seconds)
    if cancel.cancelled:
        return Fitted(None, *common, cancelled=True)
    if best.exists():
        model.load_weights(str(best))
    if precision != "float32":
        model = with_precision(model, "float32")
    unseen = [] if settings.init_from else silence_unseen_classes(model, counts)
    return Fitted(model, *common, unseen=[classes.names[c] for c in unseen], precision=precision)


def train(
    ctx: FolderContext,
    settings: TrainSettings,
    out_path: str | Path | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    cancel: CancelToken | None = None,
    make_active: bool = True,
) -> TrainResult:
    """Train on ``ctx``'s train split and save a new scored version (unless cancelled)."""
    cancel = cancel or CancelToken()
    report = progress or (lambda p: None)
    classes = ctx.classes
    curation = curate(
        ctx,
        include_needs_fix=settings.include_needs_fix,
        include_rejected=settings.include_rejected,
    )
    train_slides, test_slides = curation.train, curation.test
    if not train_slides:
        why = f" after the review ({curation.summary()})" if curation.left_out else ""
        raise TrainingError(f"no training slides with a usable image and mask{why}")
    run_dir = Path(tempfile.mkdtemp(prefix=".tmp-train-", dir=ctx.workspace))
    try:
        fitted = fit(ctx, train_slides, settings, report, cancel, run_dir)
        history, skipped = fitted.history, fitted.skipped
        if fitted.cancelled:
            return TrainResult(None, None, history, True, skipped=skipped)
        model, fit_slides, val_slides, parent = (
            fitted.model,
            fitted.fit_slides,
            fitted.val_slides,
            fitted.parent,
        )
        last_loss = history.get("loss") or [math.nan]
        report(
            TrainProgress(
                settings.epochs,
                settings.epochs,
                1,
                1,
                float(last_loss[-1]),
                message="scoring the test split",
            )
        )
        predictor = Predictor(model, settings.depth, downsample=settings.downsample)
        try:
            test_report = evaluate_slides(predictor, test_slides, classes, cancel=cancel)
        except Cancelled:
            return TrainResult(None, None, history, True, skipped=skipped)
        meta = store.ModelMeta(
            classes=classes,
            base_filters=settings.base_filters,
            depth=settings.depth,
            split=ctx.split.to_json(),
            training={
                **asdict(settings),
                "fit_slides": len(fit_slides),
                "val_slides": len(val_slides),
                "epochs_run": len(history.get("loss", [])),
                "best_val_iou": max(history.get("val_iou", [math.nan])),
                "seconds": fitted.seconds,
                "devices": training_devices(),
                "curation": curation.to_json(),
                "unseen_classes": fitted.unseen,
                "precision_used": fitted.precision,
            },
            test_metrics={
                **test_report.summary(),
                "without_rejected": test_report.without(curation.rejected_test).summary(),
            },
            source_folder=str(ctx.root.resolve()),
            parent=parent,
        )
        target = Path(out_path) if out_path else store.new_version_path(ctx.workspace)
        store.save_model(model, target, meta)
        if out_path:
            version = store.new_version_path(ctx.workspace)
            store.save_model(model, version, store.ModelMeta(**{**meta.__dict__, "name": ""}))
        else:
            version = target
        if make_active:
            store.set_active(ctx.workspace, version)
        return TrainResult(target, meta, history, False, test_report, skipped, curation)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)

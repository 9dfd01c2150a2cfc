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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import tensorflow as tf
from sklearn.model_selection import train_test_split

from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.curation import Curation, curate
from seggui.core.folder import FolderContext
from seggui.core.slides import Slide
from seggui.model import store
from seggui.model.evaluate import EvalReport, evaluate_slides
from seggui.model.losses import _class_weights, _dice_loss
from seggui.model.pipeline import SkippedFiles, SlideItem, crops_for, eval_dataset, train_dataset
from seggui.model.predict import Predictor
from seggui.model.unet import build_unet


class TrainingError(Exception):
    """Training cannot start or go on, with the reason."""


@dataclass
class TrainSettings:
    epochs: int = 20
    batch_size: int = 8
    learning_rate: float = 1e-3
    base_filters: int = 16
    depth: int = 4
    patch: int = 256
    crops_per_image: int = 0
    augment: bool = True
    dice_loss: bool = False
    class_weights: str = "none"  # "none" or "balanced"
    seed: int = 42
    init_from: str | None = None
    val_fraction: float = 0.1
    steps_per_epoch: int = 0  # 0: one pass over each training slide's area
    include_needs_fix: bool = False  # train on slides marked "needs fix" as they are
    include_rejected: bool = False  # train on slides whose annotation was rejected
    time_budget_s: float = 0.0  # stop (and save) after this many seconds of fitting; 0: none


@dataclass
class TrainProgress:
    """One report from a running fit: where it is, how it goes and how long is left."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    val_iou: float | None = None
    val_loss: float | None = None
    elapsed: float = 0.0
    eta: float | None = None
    epoch_end: bool = False
    message: str = ""


@dataclass
class TrainResult:
    model_path: Path | None
    meta: store.ModelMeta | None
    history: dict = field(default_factory=dict)
    cancelled: bool = False
    test_report: EvalReport | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    curation: Curation | None = None


class _ProgressAndCancel(keras.callbacks.Callback):
    """Reports every batch and stops the fit within one batch of a cancel.

    With a time budget it also ends the fit (normally: validated, scored, saved) at the first
    batch past the budget.
    """

    def __init__(
        self,
        report: Callable[[TrainProgress], None],
        cancel: CancelToken,
        epochs: int,
        batches: int,
        time_budget_s: float = 0.0,
    ):
        super().__init__()
        self.report, self.cancel = report, cancel
        self.time_budget_s = time_budget_s
        self.epochs, self.batches = epochs, batches
        self.start = time.monotonic()
        self.epoch = 0
        self.done_batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _eta(self) -> float | None:
        if self.done_batches == 0:
            return None
        per = (time.monotonic() - self.start) / self.done_batches
        return per * max(0, self.epochs * self.batches - self.done_batches)

    def on_train_batch_end(self, batch, logs=None):
        self.done_batches += 1
        over_budget = self.time_budget_s and time.monotonic() - self.start > self.time_budget_s
        if self.cancel.cancelled or over_budget:
            self.model.stop_training = True
        logs = logs or {}
        self.report(
            TrainProgress(
                self.epoch + 1,
                self.epochs,
                batch + 1,
                self.batches,
                float(logs.get("loss", math.nan)),
                elapsed=time.monotonic() - self.start,
                eta=self._eta(),
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.done_batches = max(self.done_batches, (epoch + 1) * self.batches)
        val = logs.get("val_iou")
        self.report(
            TrainProgress(
                epoch + 1,
                self.epochs,
                self.batches,
                self.batches,
                float(logs.get("loss", math.nan)),
                None if val is None else float(val),
                None if logs.get("val_loss") is None else float(logs["val_loss"]),
                time.monotonic() - self.start,
                self._eta(),
                epoch_end=True,
            )
        )
        if self.cancel.cancelled:
            self.model.stop_training = True


def _items(slides: list[Slide]) -> list[SlideItem]:
    return [SlideItem(s.name, s.image_path, s.mask_path) for s in slides]


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


def fit(
    ctx: FolderContext,
    train_slides: list[Slide],
    settings: TrainSettings,
    report: Callable[[TrainProgress], None],
    cancel: CancelToken,
    run_dir: Path,
) -> Fitted:
    """Fit a U-Net on ``train_slides`` (a few held out to pick the best epoch), in memory."""
    classes = ctx.classes
    n = len(classes)
    fit_slides, val_slides = split_validation(train_slides, settings.val_fraction, settings.seed)
    batch = settings.batch_size
    crops = sum(
        settings.crops_per_image or crops_for((s.size[1], s.size[0]), settings.patch)
        for s in fit_slides
    )
    batches = settings.steps_per_epoch or max(1, math.ceil(crops / batch))
    skipped = SkippedFiles()
    weights = _class_weights(settings.class_weights, n, fit_slides, ctx)
    train_ds = train_dataset(
        _items(fit_slides),
        classes,
        settings.patch,
        batch,
        settings.crops_per_image,
        settings.augment,
        settings.seed,
        weights,
        skipped,
    )
    val_tiles = sum(
        math.ceil(s.size[0] / settings.patch) * math.ceil(s.size[1] / settings.patch)
        for s in val_slides
    )
    val_ds = eval_dataset(_items(val_slides), classes, settings.patch, batch, skipped).apply(
        tf.data.experimental.assert_cardinality(math.ceil(val_tiles / batch))
    )

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
            parent = parent_meta.name or Path(settings.init_from).stem
        else:
            keras.utils.set_random_seed(settings.seed)
            model = build_unet(n, settings.base_filters, settings.depth)
        ce = keras.losses.SparseCategoricalCrossentropy()
        loss = ce
        if settings.dice_loss:
            dice = _dice_loss(n)

            def loss(y_true, y_pred):
                return ce(y_true, y_pred) + dice(y_true, y_pred)

        model.compile(
            optimizer=keras.optimizers.Adam(settings.learning_rate),
            loss=loss,
            weighted_metrics=[
                keras.metrics.MeanIoU(n, sparse_y_pred=False, name="iou", dtype="float32")
            ],
        )

    best = run_dir / "best.weights.h5"
    progress = _ProgressAndCancel(report, cancel, settings.epochs, batches, settings.time_budget_s)
    callbacks = [
        progress,
        keras.callbacks.ModelCheckpoint(
            str(best),
            monitor="val_iou",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
        ),
    ]
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
    return Fitted(model, *common)


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
        predictor = Predictor(model, settings.depth)
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
                "curation": curation.to_json(),
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

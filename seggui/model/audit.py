"""Audit labels: K models on folds of the non-test slides, each scoring what it never saw.

Each fold's model trains on the other folds (less the slides whose annotation was rejected,
as any training here) and predicts its own fold; the test slides, which no fold trained on,
are scored by the first fold's model. Nothing is saved as a model version: the models exist
only to give out-of-sample label-quality scores.

The time budget bounds the whole audit's wall time, start-up and scoring included: each fold
is given an end time, and its fit stops early enough to leave room for validating and for
scoring its slides at a speed measured on this machine first. In one process the folds run
one after another and share the budget; on a cluster (:mod:`seggui.model.audit_parallel`)
they run side by side and each has all of it. The fold models train on crops of at most
:data:`AUDIT_PATCH` pixels: more, cheaper steps in the same seconds.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from seggui.core.audit import WEAK_SKILL, AuditResult, FoldPlan, audit_key, plan_folds
from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.edge_fit import edge_evidence, masks_follow_edges
from seggui.core.folder import FolderContext
from seggui.core.imageio import SlideFileError, read_image, read_pair
from seggui.core.metrics import Scores
from seggui.core.pixel_forest import OutOfTime, out_of_fold_miou
from seggui.core.quality import SlideQuality, slide_quality
from seggui.core.quick_audit import forest_folds, slide_reader
from seggui.core.slides import Slide
from seggui.core.train_settings import TrainSettings
from seggui.model.predict import Prediction, Predictor
from seggui.model.progress import TrainProgress

DEFAULT_FOLDS = 3
#: Room kept at the end of a fold for what is not measured (the best weights loaded, the
#: last batch past the end): this share of the fold's time, and at least SAFETY_S.
SAFETY_SHARE = 0.05
SAFETY_S = 1.0
#: The fit gets at least this much however late a fold starts (a model must exist to score).
MIN_FIT_S = 1.0
#: The fold models' crop side at most, whatever the user trains with: on 2 cores a fold's
#: minutes buy a few dozen steps of 256-pixel crops, too few to leave "one class everywhere";
#: four times the steps of 128-pixel crops learn in the same time (BENCHMARKS.md section 30).
AUDIT_PATCH = 128
#: The share of a timed audit the pixel forest may take before the fold models start; a
#: forest that would take longer is left out (17-30 s for 40 GlaS tiles of 775x522 on 2 cores).
FOREST_SHARE = 0.2
#: Scoring speed measured in this process: ``(classes, filters, depth) -> (first, per pixel)``.
_MEASURED: dict[tuple[int, int, int], tuple[float, float]] = {}

Observe = Callable[[str, Prediction, np.ndarray], None]


@dataclass
class FoldResult:
    """One fold's out-of-sample scores, or ``cancelled``."""

    k: int
    slides: dict[str, SlideQuality] = field(default_factory=dict)
    fold_of: dict[str, int] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)
    best_val_iou: float = float("nan")
    fit_seconds: float = 0.0
    cancelled: bool = False
    correct: int = 0  # annotated pixels predicted as annotated
    truth_counts: np.ndarray | None = None  # annotated pixels per class
    following: int = 0  # masks that fit their image's edges better than shifted
    #: began, fit ended, predictor made (converted), ended: ``time.time()``
    span: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    where: str = ""  # the process that ran it (a Dask worker's address)


def fold_settings(settings: TrainSettings) -> TrainSettings:
    """What a fold model trains with: ``settings`` with crops of at most :data:`AUDIT_PATCH`."""
    return replace(settings, patch=min(settings.patch, AUDIT_PATCH))


def scoring_seconds(
    settings: TrainSettings, n_classes: int, samples: list[Slide], pixels: int
) -> float:
    """How long making a fold model's predictor and scoring ``pixels`` takes here: measured
    on an untrained model of the fold's size (conversion and tracing included), with the
    first of ``samples`` that reads."""
    from seggui.model.unet import build_unet

    key = (n_classes, settings.base_filters, settings.depth)
    if key not in _MEASURED:  # once per process: the folds after the first reuse it
        image = None
        for slide in samples:
            try:
                image = read_image(slide.image_path)
                break
            except SlideFileError:
                continue
        if image is None:
            return 0.0
        started = time.monotonic()
        model = build_unet(n_classes, settings.base_filters, settings.depth, block=settings.block)
        predictor = Predictor(model, settings.depth, downsample=settings.downsample)
        predictor.predict(image)
        first = time.monotonic() - started
        again = time.monotonic()
        predicted = predictor.predict(image)
        edge_evidence(image, predicted.labels)  # scored beside the mIoU for every slide
        per_pixel = (time.monotonic() - again) / max(1, image.shape[0] * image.shape[1])
        _MEASURED[key] = (first, per_pixel)
    first, per_pixel = _MEASURED[key]
    return first + per_pixel * pixels


def run_fold(
    ctx: FolderContext,
    plan: FoldPlan,
    settings: TrainSettings,
    ends_by: float | None,
    report: Callable[[TrainProgress], None],
    cancel: CancelToken,
    tta: bool = False,
    observe: Observe | None = None,
) -> FoldResult:
    """Train one fold's model and score its held-out (and test) slides, done by ``ends_by``
    (``time.monotonic()``) when given."""
    from seggui.model.train import fit

    began = time.time()
    # The previous fold's fit left its tf.data training iterator in a reference cycle; when a
    # collection destroys it, its destructor waits for the pipeline's threads to finish the
    # crops in flight (3 s idle, 7-16 s on 2 busy cores). Done here, the fit's end time is set
    # after it; left to chance, it stalled a batch of the next fit past its fold's end.
    gc.collect()
    by_name = {s.name: s for s in ctx.slides}
    scored = [by_name[n] for n in plan.held_out + plan.test]
    learn = [by_name[n] for n in plan.learn]
    result = FoldResult(plan.k)
    fit_ends_by = None
    if ends_by is not None:
        validated = settings.val_fraction * sum(s.size[0] * s.size[1] for s in learn)
        pixels = sum(s.size[0] * s.size[1] for s in scored if s.usable) * (4 if tta else 1)
        reserve = scoring_seconds(settings, len(ctx.classes), learn, int(pixels + validated))
        now = time.monotonic()
        safety = max(SAFETY_S, SAFETY_SHARE * (ends_by - now))
        fit_ends_by = max(now + MIN_FIT_S, ends_by - reserve - safety)

    def fold_report(p: TrainProgress) -> None:
        report(replace(p, message=p.message or f"fold {plan.k + 1}/{plan.folds}"))

    run_dir = Path(tempfile.mkdtemp(prefix=".tmp-audit-", dir=ctx.workspace))
    try:
        fitted = fit(
            ctx, learn, replace(settings), fold_report, cancel, run_dir, ends_by=fit_ends_by
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if fitted.cancelled:
        return FoldResult(plan.k, cancelled=True)
    result.best_val_iou = max(fitted.history.get("val_iou", [float("nan")]))
    result.fit_seconds = fitted.seconds
    fit_ended = time.time()
    predictor = Predictor(fitted.model, settings.depth, tta=tta, downsample=settings.downsample)
    converted = time.time()
    report(
        TrainProgress(
            plan.k + 1,
            plan.folds,
            1,
            1,
            float("nan"),
            message=f"fold {plan.k + 1}/{plan.folds}: scoring {len(scored)} slides",
        )
    )
    held = set(plan.held_out)
    try:
        for slide in scored:
            cancel.raise_if_cancelled()
            _score(slide, predictor, ctx, result, plan.k if slide.name in held else -1, observe)
    except Cancelled:
        return FoldResult(plan.k, cancelled=True)
    result.span = (began, fit_ended, converted, time.time())
    return result


def run_audit(
    ctx: FolderContext,
    settings: TrainSettings,
    folds: int = DEFAULT_FOLDS,
    time_budget_s: float = 0.0,
    progress: Callable[[TrainProgress], None] | None = None,
    cancel: CancelToken | None = None,
    model_name: str = "",
    tta: bool = False,
    observe: Observe | None = None,
    started: float | None = None,
    client=None,
) -> AuditResult | None:
    """Out-of-sample label quality for every slide with a mask; None when cancelled.

    ``time_budget_s`` bounds the audit's wall time from ``started`` (``time.monotonic()``;
    now when not given): the caller's start-up counts. ``client``: a Dask client; the folds
    then train side by side, one task each. ``tta``: score with the prediction averaged over
    the image and its flips. ``observe(name, prediction, annotation)`` sees every
    out-of-sample prediction (a benchmark compares other per-slide scores on them).
    """
    cancel = cancel or CancelToken()
    report = progress or (lambda p: None)
    started = time.monotonic() if started is None else started
    started_wall = time.time() - (time.monotonic() - started)
    ends_by = started + time_budget_s if time_budget_s else None
    plans = plan_folds(ctx, folds, settings.seed)
    report(TrainProgress(0, folds, 0, 1, float("nan"), message="pixel forest: colour and texture"))
    try:
        forest, note = _forest_scores(ctx, plans, settings.seed, started, time_budget_s, cancel)
    except Cancelled:
        return None
    settings = fold_settings(settings)
    if client is not None:
        from seggui.model.audit_parallel import run_folds_on_cluster

        results = run_folds_on_cluster(client, ctx, plans, settings, ends_by, tta, report, cancel)
    else:
        results = []
        for plan in plans:
            fold_end = None
            if ends_by is not None:  # the time left, shared by the folds still to run
                now = time.monotonic()
                fold_end = now + (ends_by - now) / (folds - plan.k)
            results.append(run_fold(ctx, plan, settings, fold_end, report, cancel, tta, observe))
            if results[-1].cancelled:
                return None
    if results is None or any(r.cancelled for r in results):
        return None
    per_fold = replace(settings, time_budget_s=time_budget_s)
    result = AuditResult(audit_key(ctx), folds, asdict(per_fold), model=model_name)
    for r in results:
        result.slides.update(r.slides)
        result.fold_of.update(r.fold_of)
        result.problems += r.problems
    result.settings["fold_val_iou"] = [round(float(r.best_val_iou), 4) for r in results]
    result.settings["fold_fit_seconds"] = [r.fit_seconds for r in results]
    result.settings["parallel"] = client is not None
    # Where each fold's time went, from the audit's start (s): began, fit ended, predictor
    # made, ended, and the worker.
    result.settings["fold_spans"] = [
        [round(t - started_wall, 1) for t in r.span] + ([r.where] if r.where else [])
        for r in results
    ]
    following = sum(r.following for r in results)
    result.settings["masks_following_edges"] = [following, len(result.slides)]
    if not masks_follow_edges(following, len(result.slides)):  # the edge fit ranks nothing here
        result.slides = {n: replace(q, edge_fit=float("nan")) for n, q in result.slides.items()}
    result.slides = {
        n: replace(q, forest_miou=forest.get(n, float("nan"))) for n, q in result.slides.items()
    }
    result.settings["pixel_forest"] = note
    counts = sum((r.truth_counts for r in results if r.truth_counts is not None), np.zeros(1))
    correct = sum(r.correct for r in results)
    result.pixels = (correct, int(counts.max()), int(counts.sum()))
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _forest_scores(
    ctx: FolderContext,
    plans: list[FoldPlan],
    seed: int,
    started: float,
    budget_s: float,
    cancel: CancelToken,
) -> tuple[dict[str, float], str]:
    """The pixel forest's out-of-fold mIoU per slide, on the fold models' folds, and a note
    of what it took (or why it was left out)."""
    deadline = started + FOREST_SHARE * budget_s if budget_s else None
    t = time.monotonic()
    try:
        scores = out_of_fold_miou(
            forest_folds(ctx, plans),
            slide_reader(ctx),
            len(ctx.classes),
            seed,
            deadline,
            cancel.raise_if_cancelled,
        )
    except OutOfTime as exc:
        return {}, f"left out: it would not end within {FOREST_SHARE:.0%} of the budget ({exc})"
    took = f"{len(scores.miou)} slides in {time.monotonic() - t:.1f} s, skill {scores.skill:.2f}"
    if not scores.skill >= WEAK_SKILL:  # colour and texture do not tell the classes apart
        return {}, f"left out: it learned too little ({took})"
    return scores.miou, took


def _score(
    slide: Slide,
    predictor: Predictor,
    ctx: FolderContext,
    result: FoldResult,
    fold: int,
    observe: Observe | None,
) -> None:
    try:
        image, truth = read_pair(slide.image_path, slide.mask_path, ctx.classes)
        pred = predictor.predict(image)
    except SlideFileError as exc:
        result.problems.append({"name": slide.name, "reason": str(exc)})
        return
    # One confusion matrix over the annotated pixels gives the mIoU and the skill's counts.
    fit, follows = edge_evidence(image, truth)
    scores = Scores.compare(truth, pred.labels, len(ctx.classes))
    result.slides[slide.name] = replace(
        slide_quality(pred.probs, pred.labels, pred.margin, truth, out_of_sample=True),
        miou=scores.miou,
        edge_fit=fit,
    )
    result.following += follows
    result.fold_of[slide.name] = fold
    result.correct += int(np.trace(scores.confusion))
    counts = scores.confusion.sum(axis=1)
    result.truth_counts = counts if result.truth_counts is None else result.truth_counts + counts
    if observe is not None:
        observe(slide.name, pred, truth)

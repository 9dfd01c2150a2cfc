"""Audit labels: K models on folds of the non-test slides, each scoring what it never saw.

Each fold's model trains on the other folds (less the slides whose annotation was rejected,
as any training here) and predicts its own fold; the test slides, which no fold trained on,
are scored by the first fold's model. Nothing is saved as a model version: the models exist
only to give out-of-sample label-quality scores.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from seggui.core.audit import AuditResult, assign_folds, audit_key
from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.curation import curate
from seggui.core.folder import FolderContext
from seggui.core.imageio import SlideFileError, read_pair
from seggui.core.quality import slide_quality
from seggui.core.slides import Slide
from seggui.model.predict import Prediction, Predictor
from seggui.model.train import TrainingError, TrainProgress, TrainSettings, fit

DEFAULT_FOLDS = 3


def run_audit(
    ctx: FolderContext,
    settings: TrainSettings,
    folds: int = DEFAULT_FOLDS,
    time_budget_s: float = 0.0,
    progress: Callable[[TrainProgress], None] | None = None,
    cancel: CancelToken | None = None,
    model_name: str = "",
    tta: bool = False,
    observe: Callable[[str, Prediction, np.ndarray], None] | None = None,
) -> AuditResult | None:
    """Out-of-sample label quality for every slide with a mask; None when cancelled.

    ``time_budget_s`` is shared equally by the folds' training runs. ``tta``: score with
    the prediction averaged over the image and its flips. ``observe(name, prediction,
    annotation)`` sees every out-of-sample prediction (a benchmark compares other per-slide
    scores on them).
    """
    cancel = cancel or CancelToken()
    report = progress or (lambda p: None)
    started = time.monotonic()
    curation = curate(ctx, include_needs_fix=True, include_rejected=False)
    rejected = set(curation.left_out)
    pool = ctx.part("train")  # every non-test slide is scored, rejected ones included
    if len(pool) < folds:
        raise TrainingError(f"{len(pool)} training slides cannot be split into {folds} folds")
    fold_of = assign_folds([s.name for s in pool], folds, settings.seed)
    per_fold = replace(settings, time_budget_s=time_budget_s / folds if time_budget_s else 0.0)
    result = AuditResult(audit_key(ctx), folds, asdict(per_fold), model=model_name)
    run_root = Path(tempfile.mkdtemp(prefix=".tmp-audit-", dir=ctx.workspace))
    try:
        for k in range(folds):
            learn = [s for s in pool if fold_of[s.name] != k and s.name not in rejected]
            held_out = [s for s in pool if fold_of[s.name] == k]
            if not learn:
                raise TrainingError(f"fold {k + 1} has no slides left to learn from")

            def fold_report(p: TrainProgress, k=k) -> None:
                report(replace(p, message=p.message or f"fold {k + 1}/{folds}"))

            run_dir = run_root / f"fold{k}"
            run_dir.mkdir()
            fitted = fit(ctx, learn, replace(per_fold), fold_report, cancel, run_dir)
            if fitted.cancelled:
                return None
            predictor = Predictor(fitted.model, per_fold.depth, tta=tta)
            scored = held_out + (ctx.part("test") if k == 0 else [])
            report(
                TrainProgress(
                    k + 1,
                    folds,
                    1,
                    1,
                    float("nan"),
                    message=f"fold {k + 1}/{folds}: scoring {len(scored)} slides",
                )
            )
            try:
                for slide in scored:
                    cancel.raise_if_cancelled()
                    _score(slide, predictor, ctx, result, k if slide in held_out else -1, observe)
            except Cancelled:
                return None
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _score(
    slide: Slide,
    predictor: Predictor,
    ctx: FolderContext,
    result: AuditResult,
    fold: int,
    observe: Callable[[str, Prediction, np.ndarray], None] | None,
) -> None:
    try:
        image, truth = read_pair(slide.image_path, slide.mask_path, ctx.classes)
        pred = predictor.predict(image)
    except SlideFileError as exc:
        result.problems.append({"name": slide.name, "reason": str(exc)})
        return
    result.slides[slide.name] = slide_quality(
        pred.probs, pred.labels, pred.margin, truth, out_of_sample=True
    )
    result.fold_of[slide.name] = fold
    if observe is not None:
        observe(slide.name, pred, truth)

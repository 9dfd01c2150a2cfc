"""A quick audit: pixel forests instead of U-Nets as the fold models, in seconds.

The full audit's U-Net fold models need minutes to learn anything on a laptop's cores; a
pixel forest per fold (:mod:`seggui.core.pixel_forest`) learns the folder's colours and
textures in seconds. A quick audit scores every slide with the forest of the fold it was
held out of: its out-of-sample mIoU (the Audit column), its label quality from the forest's
probabilities, and how well its mask follows its image's edges. The list's Both column then
ranks by the active model's mIoU, that forest mIoU and the edge fit: on GlaS copies with
broken masks it ranked them better than the mIoU column in seven runs of eight, a little
worse than with a 15-minute audit's U-Nets added (BENCHMARKS.md section 45). No TensorFlow:
the CLI and the window's panel start it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from seggui.core.audit import AuditResult, FoldPlan, audit_key, plan_folds
from seggui.core.cancel import Cancelled, CancelToken
from seggui.core.edge_fit import edge_evidence, masks_follow_edges
from seggui.core.folder import FolderContext
from seggui.core.imageio import SlideFileError, read_pair
from seggui.core.pixel_forest import DEPTH, TREES, out_of_fold_miou

#: What a quick audit's fold models are (kept in its settings; the window and CLI say it).
FOREST_MODELS = "pixel forest"
#: Fold partitions whose forests score each slide together (seeds ``seed``, ``seed + 1``, ...).
#: One partition's ranking depends on which slides share a fold, and a bag of two ranked
#: broken masks above a typical single partition on twelve GlaS copies, but not above the
#: default partition on four new ones, as its rule required (BENCHMARKS.md section 52): one.
PARTITIONS = 1


def forest_folds(ctx: FolderContext, plans: list[FoldPlan]) -> list[tuple[list[str], list[str]]]:
    """Per fold, the scorable slides it learns from and those it scores."""
    scorable = {s.name for s in ctx.slides if s.scorable}
    return [
        ([n for n in p.learn if n in scorable], [n for n in p.held_out + p.test if n in scorable])
        for p in plans
    ]


def slide_reader(ctx: FolderContext) -> Callable[[str], tuple[np.ndarray, np.ndarray]]:
    """``name -> (image, mask)`` for the folder's slides, as the forest reads them."""
    by_name = {s.name: s for s in ctx.slides}

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        return read_pair(by_name[name].image_path, by_name[name].mask_path, ctx.classes)

    return read


def run_quick_audit(
    ctx: FolderContext,
    folds: int = 3,
    seed: int = 42,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
    partitions: int = PARTITIONS,
) -> AuditResult | None:
    """Out-of-sample scores for every slide with a mask from one pixel forest per fold of
    each of ``partitions`` fold partitions (a slide's forests: those of the folds that held
    it out); None when cancelled. ``progress(done, total)`` is told after each slide read.
    Raises :class:`~seggui.core.audit.AuditError` when the folder cannot be split into
    ``folds``."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    plans = plan_folds(ctx, folds, seed)
    split = forest_folds(ctx, plans) + [
        f for r in range(1, partitions) for f in forest_folds(ctx, plan_folds(ctx, folds, seed + r))
    ]
    total = len({n for learn, _ in split for n in learn}) + len({n for _, s in split for n in s})
    read_slide = slide_reader(ctx)
    edges: dict[str, tuple[float, bool]] = {}
    problems: dict[str, str] = {}
    done = 0

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            image, mask = read_slide(name)
        except SlideFileError as exc:
            problems[name] = str(exc)
            raise
        if name not in edges:  # each slide is read to learn from and to score: fit once
            edges[name] = edge_evidence(image, mask)
        return image, mask

    def tick() -> None:
        nonlocal done
        cancel.raise_if_cancelled()
        done += 1
        if progress is not None:
            progress(min(done, total), total)

    try:
        scores = out_of_fold_miou(split, read, len(ctx.classes), seed, check=tick)
    except Cancelled:
        return None
    fold_of = {n: p.k for p in plans for n in p.held_out} | {n: -1 for n in plans[0].test}
    following = sum(edges[n][1] for n in scores.quality)
    use_edges = masks_follow_edges(following, len(scores.quality))
    settings = {
        "fold_models": FOREST_MODELS,
        "seed": seed,
        "partitions": partitions,
        "trees": TREES,
        "max_depth": DEPTH,
        "masks_following_edges": [following, len(scores.quality)],
    }
    result = AuditResult(audit_key(ctx), folds, settings)
    result.slides = {
        n: replace(q, edge_fit=edges[n][0] if use_edges else float("nan"))
        for n, q in scores.quality.items()
    }
    result.fold_of = {n: fold_of[n] for n in result.slides}
    result.problems = [{"name": n, "reason": r} for n, r in sorted(problems.items())]
    result.pixels = scores.pixels
    result.seconds = round(time.monotonic() - started, 1)
    took = f"{len(scores.quality)} slides in {result.seconds:.1f} s, skill {scores.skill:.2f}"
    result.settings["pixel_forest"] = took
    return result

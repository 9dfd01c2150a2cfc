"""``predict`` and ``evaluate`` over a folder with the slides spread over a Dask cluster.

The results equal a run in one process (same model, same precision, same files): a predicted
mask is the same bytes, the scores the same numbers, since every slide is predicted whole by
the same :class:`~seggui.model.predict.Predictor` and the per-slide confusion matrices are
summed here in the folder's order. What already exists for this model is not submitted again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import ClassSet
from seggui.core.metrics import Scores
from seggui.core.slide_results import ScoreRecords, mask_is_current
from seggui.core.slides import Problem, Slide, WholeSlideFile
from seggui.model import cluster_jobs as jobs
from seggui.model.cluster import run_tasks
from seggui.model.evaluate import EvalReport

#: Pixels of small slides that go in one task: a task's own cost (about 10-20 ms of the
#: scheduler's and the worker's time on 2 cores) is then a few percent of its work.
GROUP_PIXELS = 4 * 512 * 512
#: Whole-slide tissue tiles per task: big enough to keep a worker busy for a while, small
#: enough that a killed worker loses little and the slide spreads over the cluster.
TILES_PER_TASK = 32


def group_slides(slides: list[Slide], pixels: int = GROUP_PIXELS) -> list[list[Slide]]:
    """Consecutive slides in groups of about ``pixels`` (a big slide is a group alone)."""
    groups: list[list[Slide]] = []
    size = 0
    for s in slides:
        if not groups or size >= pixels:
            groups.append([])
            size = 0
        groups[-1].append(s)
        size += s.size[0] * s.size[1] if s.size else pixels
    return groups


def _key(kind: str, model: jobs.ModelRef, name: str) -> str:
    return f"seggui-{kind}-{model.hash}{'-tta' if model.tta else ''}-{name}"


def predict_on_cluster(
    client,
    model: jobs.ModelRef,
    slides: list[Slide],
    out_dir: Path,
    classes: ClassSet,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[list[Path], int, list[Problem]]:
    """``(masks written or already there, how many were skipped as finished, problems)``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = [Problem(s.name, s.problem_text() or "no image") for s in slides if not s.usable]
    usable = [s for s in slides if s.usable]
    target = {s.name: out_dir / f"{s.name}.png" for s in usable}
    todo = [s for s in usable if not mask_is_current(target[s.name], model.hash, s.image_path)]
    groups = group_slides(todo)
    outcomes = run_tasks(
        client,
        jobs.predict_group,
        [
            (model, [(s.name, str(s.image_path), str(target[s.name])) for s in g], classes)
            for g in groups
        ],
        [_key("predict", model, f"{g[0].name}+{len(g)}") for g in groups],
        progress,
        "predicted",
        cancel,
    )
    outcomes = [o for group in outcomes for o in group]
    for leftover in out_dir.glob(".tmp-*.png"):  # a killed worker's unfinished write
        leftover.unlink(missing_ok=True)
    failed = {o.name: o.problem for o in outcomes if o.problem}
    problems += [Problem(s.name, failed[s.name]) for s in usable if s.name in failed]
    written = [target[s.name] for s in usable if s.name not in failed]
    return written, len(usable) - len(todo), problems


def evaluate_on_cluster(
    client,
    model: jobs.ModelRef,
    slides: list[Slide],
    classes: ClassSet,
    workspace: Path,
    progress: ProgressFn = no_progress,
) -> tuple[EvalReport, int]:
    """The report :func:`~seggui.model.evaluate.evaluate_slides` would give, and how many
    slides were taken from an earlier run's records instead of being predicted again."""
    problems = [
        Problem(s.name, s.problem_text() or ("no mask" if not s.has_mask else "unusable"))
        for s in slides
        if not s.scorable
    ]
    usable = [s for s in slides if s.scorable]
    records = ScoreRecords(workspace, model.hash, "tta" if model.tta else "")
    found = {s.name: records.load(s.name, s.image_path, s.mask_path) for s in usable}
    todo = [s for s in usable if found[s.name] is None]
    groups = group_slides(todo)
    outcomes = run_tasks(
        client,
        jobs.score_group,
        [
            (
                model,
                [(s.name, str(s.image_path), str(s.mask_path)) for s in g],
                classes,
                str(workspace),
            )
            for g in groups
        ],
        [_key("score", model, f"{g[0].name}+{len(g)}") for g in groups],
        progress,
        "scored",
    )
    outcomes = [o for group in outcomes for o in group]
    failed = {}
    for o in outcomes:
        if o.problem:
            failed[o.name] = o.problem
        else:
            found[o.name] = o.confusion
    problems += [Problem(s.name, failed[s.name]) for s in usable if s.name in failed]
    per_slide = {
        s.name: Scores.from_confusion(found[s.name]) for s in usable if s.name not in failed
    }
    total = sum((s.confusion for s in per_slide.values()), np.zeros((len(classes),) * 2, np.int64))
    overall = Scores.from_confusion(total) if per_slide else None
    return EvalReport(classes, overall, per_slide, problems), len(usable) - len(todo)


def predict_whole_slides_on_cluster(
    client,
    model: jobs.ModelRef,
    model_key: str,
    entries: list[WholeSlideFile],
    workspace: Path,
    depth: int,
    progress: ProgressFn = no_progress,
) -> list[Problem]:
    """Fill each whole slide's tile store with the cluster, a chunk of tissue tiles a task;
    stitching and scoring then read the stores as after a run in one process."""
    from seggui.core.imageio import SlideFileError
    from seggui.core.registry import read_meta
    from seggui.core.wsi import open_slide
    from seggui.model.slide_predict import plan_slide, store_for

    downsample = read_meta(model.path).downsample
    calls, keys, problems = [], [], []
    for entry in entries:
        try:
            slide = open_slide(entry.path, entry.mpp)
            try:
                plan = plan_slide(slide, depth, downsample=downsample)
            finally:
                slide.close()
        except SlideFileError as exc:
            problems.append(Problem(entry.name, str(exc)))
            continue
        store = store_for(workspace, model_key, entry.path, plan.grid)  # made here, not racing
        wanted = [t for t in plan.tissue if not store.has(*t)]
        for i in range(0, len(wanted), TILES_PER_TASK):
            chunk = tuple(wanted[i : i + TILES_PER_TASK])
            parts = (plan.factor, plan.grid, chunk)
            calls.append((model, entry.name, str(entry.path), entry.mpp, parts, str(store.folder)))
            keys.append(_key("tiles", model, f"{entry.name}-{i // TILES_PER_TASK}"))
    outcomes = run_tasks(client, jobs.predict_tiles_of, calls, keys, progress, "tile chunks")
    seen = {p.name for p in problems}
    for o in outcomes:
        if o.problem and o.name not in seen:
            problems.append(Problem(o.name, o.problem))
            seen.add(o.name)
    return problems

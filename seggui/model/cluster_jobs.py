"""What a Dask worker runs: a few small slides, one large one, or a chunk of a whole slide's
tiles per task.

Tasks carry paths, never pixels: workers read the slides and the model from a filesystem
they share with the client, at the same paths. Each worker process loads a model's converted
copy once and keeps it for every later task with that model. Every result is written
atomically by the task that made it, so a worker killed mid-task leaves nothing half-written
and the scheduler simply runs its task again elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_pair, write_mask
from seggui.core.metrics import confusion
from seggui.core.slide_results import ScoreRecords, mask_is_current, mask_note_for
from seggui.model.evaluate import read_ahead
from seggui.model.predict import Predictor

#: One predictor per worker process: ``(model path, content hash) -> Predictor``.
_LOADED: dict[tuple[str, str], Predictor] = {}
#: How many times this process loaded a model (a test checks it is once per worker).
LOADS = {"count": 0}


@dataclass(frozen=True)
class ModelRef:
    """A model as workers find it: its path on the shared filesystem and its content hash."""

    path: str
    hash: str
    tta: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one task did: ``problem`` is empty when it succeeded."""

    name: str
    problem: str = ""
    confusion: np.ndarray | None = None


def predictor_for(model: ModelRef) -> Predictor:
    """This process's predictor for ``model``, loaded on first use."""
    key = (model.path, model.hash)
    predictor = _LOADED.get(key)
    if predictor is None:
        from seggui.core.registry import read_meta

        _LOADED.clear()  # one model at a time: a new one replaces the old
        predictor = Predictor.from_path(model.path, read_meta(model.path))
        _LOADED[key] = predictor
        LOADS["count"] += 1
    predictor.tta = model.tta
    return predictor


def model_loads() -> int:
    """How many models this worker process has loaded (run on each worker by a test)."""
    return LOADS["count"]


def visible(paths: list[str]) -> list[str]:
    """Which of ``paths`` this worker cannot see (run on every worker before submitting)."""
    return [p for p in paths if not os.path.exists(p)]


def predict_group(
    model: ModelRef, items: list[tuple[str, str, str]], classes: ClassSet
) -> list[Outcome]:
    """Predict a few slides ``(name, image, target)`` and write each mask atomically as soon
    as it is done; a bad image comes back as a problem. A mask already made by this model
    from this image (by an earlier try of this task, on a worker that died) is kept."""
    out = [
        Outcome(n) for n, image, target in items if mask_is_current(Path(target), model.hash, image)
    ]
    done = {o.name for o in out}
    todo = [item for item in items if item[0] not in done]
    # The next image is decoded on a thread while this one is predicted (as in one process).
    for (name, image, target), pixels in read_ahead(todo, lambda item: read_image(item[1]), 1):
        if isinstance(pixels, SlideFileError):
            out.append(Outcome(name, str(pixels)))
            continue
        labels = predictor_for(model).predict(pixels).labels
        write_mask(Path(target), labels, classes, mask_note_for(model.hash, image))
        out.append(Outcome(name))
    return out


def score_group(
    model: ModelRef, items: list[tuple[str, str, str]], classes: ClassSet, workspace: str
) -> list[Outcome]:
    """Predict a few slides ``(name, image, mask)``, compare each with its annotation and
    record its confusion matrix (a record already there is used)."""
    records = ScoreRecords(Path(workspace), model.hash, "tta" if model.tta else "")
    out, todo = [], []
    for name, image, mask in items:
        matrix = records.load(name, Path(image), Path(mask))
        if matrix is None:
            todo.append((name, image, mask))
        else:
            out.append(Outcome(name, confusion=matrix))

    def load(item):
        return read_pair(item[1], item[2], classes)

    for (name, image, mask), loaded in read_ahead(todo, load, 1):
        if isinstance(loaded, SlideFileError):
            out.append(Outcome(name, str(loaded)))
            continue
        pixels, truth = loaded
        matrix = confusion(truth, predictor_for(model).predict(pixels).labels, len(classes))
        records.save(name, Path(image), Path(mask), matrix)
        out.append(Outcome(name, confusion=matrix))
    return out


def predict_tiles_of(
    model: ModelRef, name: str, slide_path: str, mpp: float | None, plan_parts: tuple, store: str
) -> Outcome:
    """Predict a chunk of a whole slide's tissue tiles into its tile store (a file per tile,
    each atomic; tiles already there are skipped)."""
    from seggui.core.wsi import open_slide
    from seggui.model.slide_predict import SlidePlan, TileStore, predict_slide

    factor, grid, tiles = plan_parts
    try:
        slide = open_slide(Path(slide_path), mpp)
    except SlideFileError as exc:
        return Outcome(name, str(exc))
    try:
        plan = SlidePlan(slide, factor, grid, list(tiles))
        predict_slide(predictor_for(model), plan, TileStore(Path(store), grid))
    finally:
        slide.close()
    return Outcome(name)

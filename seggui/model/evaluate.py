"""Scoring a model on slides, and writing its predictions as masks."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_pair, write_mask
from seggui.core.metrics import ScoreAccumulator, Scores
from seggui.core.slide_results import mask_note_for
from seggui.core.slides import Problem, Slide
from seggui.model.predict import Predictor

T = TypeVar("T")  # a slide, or whatever names one (a cluster task's tuples)

#: Threads that read slides ahead of the model.
READERS = 2


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


@dataclass
class EvalReport:
    """Scores over a set of slides, per slide and per class, plus what could not be scored."""

    classes: ClassSet
    overall: Scores | None
    slides: dict[str, Scores] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def to_json(self, model: str) -> dict:
        o = self.overall
        return {
            "model": model,
            "n_slides": len(self.slides),
            "miou": _num(o.miou) if o else None,
            "mean_dice": _num(o.mean_dice) if o else None,
            "pixel_accuracy": _num(o.pixel_accuracy) if o else None,
            "per_class": [
                {
                    "name": c.name,
                    "iou": _num(o.iou[i]) if o else None,
                    "dice": _num(o.dice[i]) if o else None,
                }
                for i, c in enumerate(self.classes)
            ],
            "confusion": o.confusion.tolist() if o else None,
            "slides": [
                {"name": n, "miou": _num(s.miou), "mean_dice": _num(s.mean_dice)}
                for n, s in self.slides.items()
            ],
            "problems": [p.to_json() for p in self.problems],
        }

    def without(self, names) -> EvalReport:
        """The report over the same slides less ``names`` (no slide is predicted again)."""
        names = set(names)
        kept = {n: s for n, s in self.slides.items() if n not in names}
        total = sum((s.confusion for s in kept.values()), np.zeros((len(self.classes),) * 2, int))
        return EvalReport(self.classes, Scores.from_confusion(total) if kept else None, kept, [])

    def summary(self) -> dict:
        """The compact form saved in a model's metadata."""
        data = self.to_json("")
        return {
            k: data[k] for k in ("n_slides", "miou", "mean_dice", "pixel_accuracy", "per_class")
        }


def read_ahead(
    slides: list[T], load: Callable[[T], object], workers: int = READERS
) -> Iterator[tuple[T, object]]:
    """``(slide, load(slide))`` in order, the next few loaded by a small thread pool while
    the caller predicts (decoding PNGs releases the GIL); a failure comes back as the
    exception object. ``workers`` 0 loads in the caller's thread."""
    if workers <= 0:
        for slide in slides:
            try:
                yield slide, load(slide)
            except SlideFileError as exc:
                yield slide, exc
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="seggui-read") as pool:
        pending: deque = deque()
        it = iter(slides)
        for slide in it:
            pending.append((slide, pool.submit(load, slide)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            slide, future = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(load, nxt)))
            try:
                yield slide, future.result()
            except SlideFileError as exc:
                yield slide, exc


def evaluate_slides(
    predictor: Predictor,
    slides: list[Slide],
    classes: ClassSet,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    workers: int = READERS,
) -> EvalReport:
    """Predict each slide and compare with its annotation; bad slides become problems.

    Images and masks are read ahead by ``workers`` threads around the single model."""
    acc = ScoreAccumulator(len(classes))
    problems: list[Problem] = []
    total = len(slides)
    usable = []
    for slide in slides:
        if slide.scorable:
            usable.append(slide)
        else:
            reason = slide.problem_text() or ("no mask" if not slide.has_mask else "unusable")
            problems.append(Problem(slide.name, reason))

    def load(slide: Slide):
        return read_pair(slide.image_path, slide.mask_path, classes)

    for i, (slide, loaded) in enumerate(read_ahead(usable, load, workers)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if isinstance(loaded, SlideFileError):
            problems.append(Problem(slide.name, str(loaded)))
            continue
        image, truth = loaded
        acc.add(slide.name, truth, predictor.predict_labels(image, cancel))
        progress(i + 1, total, f"scored {slide.name}")
    overall = acc.result() if acc.per_slide else None
    return EvalReport(classes, overall, acc.per_slide, problems)


def predict_slides(
    predictor: Predictor,
    slides: list[Slide],
    out_dir: Path,
    classes: ClassSet,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    workers: int = READERS,
    model_hash: str = "",
) -> tuple[list[Path], list[Problem]]:
    """Write one mode ``P`` PNG per slide image into ``out_dir`` (same stem, same size);
    with ``model_hash``, each names the model and the image it came from (a cluster's rerun
    skips such masks).

    Reading (``workers`` threads) and writing (one thread) overlap the predictions."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    problems: list[Problem] = [
        Problem(s.name, s.problem_text() or "no image") for s in slides if not s.usable
    ]
    usable = [s for s in slides if s.usable]
    total = len(slides)
    writer = ThreadPoolExecutor(1, thread_name_prefix="seggui-write") if workers > 0 else None
    writes = []
    try:
        for i, (slide, image) in enumerate(
            read_ahead(usable, lambda s: read_image(s.image_path), workers)
        ):
            if cancel is not None:
                cancel.raise_if_cancelled()
            if isinstance(image, SlideFileError):
                problems.append(Problem(slide.name, str(image)))
                continue
            labels = predictor.predict_labels(image, cancel)
            target = out_dir / f"{slide.name}.png"
            note = mask_note_for(model_hash, slide.image_path) if model_hash else None
            if writer is None:
                write_mask(target, labels, classes, note)
            else:
                writes.append(writer.submit(write_mask, target, labels, classes, note))
            written.append(target)
            progress(i + 1, total, f"predicted {slide.name}")
        for future in writes:
            future.result()  # a failed write is an error, as it would be in sequence
    finally:
        if writer is not None:
            writer.shutdown(wait=True)
    return written, problems

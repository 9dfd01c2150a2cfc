"""Scoring a model on slides, and writing its predictions as masks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_image, read_mask, write_mask
from seggui.core.metrics import ScoreAccumulator, Scores
from seggui.core.slides import Problem, Slide
from seggui.model.predict import Predictor


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


def evaluate_slides(
    predictor: Predictor,
    slides: list[Slide],
    classes: ClassSet,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> EvalReport:
    """Predict each slide and compare with its annotation; bad slides become problems."""
    acc = ScoreAccumulator(len(classes))
    problems: list[Problem] = []
    total = len(slides)
    for i, slide in enumerate(slides):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if not slide.scorable:
            reason = slide.problem_text() or ("no mask" if not slide.has_mask else "unusable")
            problems.append(Problem(slide.name, reason))
            continue
        try:
            image = read_image(slide.image_path)
            truth = read_mask(slide.mask_path, classes)
            if truth.shape != image.shape[:2]:
                raise SlideFileError(slide.mask_path, "mask and image differ in size")
        except SlideFileError as exc:
            problems.append(Problem(slide.name, str(exc)))
            continue
        pred = predictor.predict(image, cancel)
        acc.add(slide.name, truth, pred.labels)
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
) -> tuple[list[Path], list[Problem]]:
    """Write one mode ``P`` PNG per slide image into ``out_dir`` (same stem, same size)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    problems: list[Problem] = []
    total = len(slides)
    for i, slide in enumerate(slides):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if not slide.usable:
            problems.append(Problem(slide.name, slide.problem_text() or "no image"))
            continue
        try:
            image = read_image(slide.image_path)
        except SlideFileError as exc:
            problems.append(Problem(slide.name, str(exc)))
            continue
        pred = predictor.predict(image, cancel)
        target = out_dir / f"{slide.name}.png"
        write_mask(target, pred.labels, classes)
        written.append(target)
        progress(i + 1, total, f"predicted {slide.name}")
    return written, problems

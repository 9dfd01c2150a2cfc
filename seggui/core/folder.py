"""An opened folder: its slides, workspace, classes and prepared split, found in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seggui.core import slide_mpp
from seggui.core import workspace as ws
from seggui.core.atomic import atomic_write_text
from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import (
    CLASSES_FILE,
    ClassesError,
    ClassSet,
    classes_from_observations,
    default_color,
    read_classes_file,
)
from seggui.core.imageio import SlideFileError, mask_values
from seggui.core.mask_store import MaskStore
from seggui.core.slides import FolderScan, Problem, Slide, scan_folder
from seggui.core.split import Split, load_or_create_split
from seggui.core.workspace import workspace_dir

#: How many masks are decoded to discover classes when there is no classes.json.
CLASS_SAMPLE = 16


@dataclass
class FolderContext:
    root: Path
    scan: FolderScan
    workspace: Path
    classes: ClassSet
    split: Split
    masks: MaskStore

    @property
    def slides(self) -> list[Slide]:
        return self.scan.slides

    def scorable(self, names: list[str] | None = None) -> list[Slide]:
        """Slides with a usable image and mask, optionally limited to ``names``."""
        wanted = None if names is None else set(names)
        return [s for s in self.scan.slides if s.scorable and (wanted is None or s.name in wanted)]

    def part(self, part: str) -> list[Slide]:
        """The scorable slides of the split's ``"train"`` or ``"test"`` part."""
        return self.scorable(self.split.train if part == "train" else self.split.test)

    def set_classes(self, classes: ClassSet) -> None:
        """New names, colours or background for the same values (the mask store writes with
        them from now on)."""
        self.classes = classes
        self.masks.classes = classes


def classes_files(root: Path, workspace: Path | None = None) -> list[Path]:
    """Where a folder's classes.json may be, in the order they are looked for."""
    out = [root / CLASSES_FILE, root / "masks" / CLASSES_FILE]
    return out + ([workspace / CLASSES_FILE] if workspace is not None else [])


def save_classes(root: Path, workspace: Path, classes: ClassSet) -> Path:
    """Write ``classes`` to the folder's classes.json (atomically): the file it came from,
    else beside the data, else (read-only folder) in the workspace. Mask values never change."""
    text = json.dumps(classes.to_json(), indent=1) + "\n"
    existing = [p for p in classes_files(root, workspace) if p.exists()]
    for target in existing[:1] + [root / CLASSES_FILE, workspace / CLASSES_FILE]:
        if target.parent == workspace or ws.is_writable(target.parent):
            atomic_write_text(target, text)
            return target
    raise OSError(f"{root}: classes.json cannot be written")


def resolve_classes(root: Path, scan: FolderScan, workspace: Path | None = None) -> ClassSet:
    """classes.json beside the data (or in the workspace of a read-only folder), else what
    a sample of masks shows, else defaults."""
    for candidate in classes_files(root, workspace):
        if candidate.exists():
            try:
                return read_classes_file(candidate)
            except ClassesError as exc:
                scan.problems.append(Problem(CLASSES_FILE, f"{exc}; classes taken from the masks"))
                break
    annotated = [
        w.annotation
        for w in scan.whole_slides
        if w.annotation is not None and w.annotation.suffix.lower() in (".geojson", ".json")
    ]
    if annotated and not any(s.mask_path for s in scan.slides):
        from seggui.core.annotations import class_names

        found = class_names(annotated)
        if found:  # whole slides only: the classes their GeoJSON names, in order of use
            names = [name for name, _ in found]
            colors = [c or default_color(i) for i, (_, c) in enumerate(found)]
            return ClassSet.default(len(names), names, colors, source="GeoJSON")
    binary, palette, colors = False, None, set()
    seen: dict[int, list[tuple[Slide, float]]] = {}  # value -> masks with it, and its share
    sampled = 0
    for slide in scan.slides:
        if sampled >= CLASS_SAMPLE:
            break
        if not (slide.mask_path and slide.mask_ok and slide.usable):
            continue
        try:
            mode, arr, pal = mask_values(slide.mask_path)
        except SlideFileError:
            continue
        sampled += 1
        if mode == "RGB":
            flat = arr.reshape(-1, 3)
            colors |= {tuple(int(v) for v in c) for c in np.unique(flat, axis=0)[:256]}
            continue
        values, counts = np.unique(arr, return_counts=True)
        if set(values.tolist()) <= {0, 255} and 255 in values:
            binary = True
            continue
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            seen.setdefault(int(v), []).append((slide, c / arr.size))
        if pal is not None and palette is None:
            palette = pal
    kept = class_values(seen, sampled)
    for value in sorted(set(seen) - kept):
        for slide, _ in seen[value]:
            slide.problems.append(
                f"mask {slide.mask_path.name} has value {value}, which the folder's other masks "
                f"do not have: left out of the classes, and this mask out of training and scores"
            )
            slide.mask_ok = False
    max_value = max(kept, default=0)
    if binary and max_value <= 1:
        return classes_from_observations(1, True, palette)
    if sampled == 0:
        return ClassSet.default(4)
    return classes_from_observations(max_value, False, palette, colors)


def class_values(seen: dict[int, list[tuple[object, float]]], masks: int) -> set[int]:
    """The mask values that are classes: those in several masks (or a quarter of them), and
    rarer ones next to those that cover a real part (0.5%) of a mask. A stray value in one
    mask (a stray 9 in a corner of one of a hundred masks) is not a class."""
    common = {v for v, hits in seen.items() if len(hits) >= 2 or len(hits) >= 0.25 * masks}
    kept = set(common)
    for v in sorted(set(seen) - common):
        if v <= max(kept, default=-1) + 1 and max(share for _, share in seen[v]) >= 0.005:
            kept.add(v)
    return kept


def open_folder(
    root: str | Path, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> FolderContext:
    """Scan ``root``, find its classes, workspace and corrected masks, and its split."""
    root = Path(root)
    scan = scan_folder(root, progress, cancel)
    workspace = workspace_dir(root)
    slide_mpp.apply(scan, workspace)
    classes = resolve_classes(root, scan, workspace)
    masks = MaskStore(scan, workspace, classes)
    masks.apply_overrides()  # corrected masks kept in the workspace are used everywhere
    split = load_or_create_split(workspace, [s.name for s in scan.slides if s.scorable])
    return FolderContext(root, scan, workspace, classes, split, masks)

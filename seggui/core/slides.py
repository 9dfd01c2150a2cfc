"""Finding slides in a folder: which image goes with which mask, and what is wrong with each.

Scanning reads file headers only, never pixels, so a folder of thousands of slides opens at
once. Problems are attached to the slide (or the folder) with the file and the reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.imageio import SlideFileError, read_header
from seggui.core.label_image import is_label_image, label_image_of
from seggui.core.wsi import SLIDE_SUFFIXES, is_whole_slide

IMAGE_EXTS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
ANNOTATION_DIRS = ("", "annotations", "geojson")  # where NAME.geojson of a whole slide may be
MASK_SUFFIX = "_mask"


class FolderError(Exception):
    """A folder that cannot be opened at all (missing, not a folder, unreadable)."""


@dataclass
class Slide:
    """One image and its annotation mask (if any), identified by the shared file stem."""

    name: str
    image_path: Path | None = None
    mask_path: Path | None = None
    size: tuple[int, int] | None = None
    problems: list[str] = field(default_factory=list)
    mask_ok: bool = True
    #: The folder's own mask when a corrected one in the workspace is used in its place.
    folder_mask_path: Path | None = None

    @property
    def usable(self) -> bool:
        """True when the image can be predicted (its header was read)."""
        return self.image_path is not None and self.size is not None

    @property
    def has_mask(self) -> bool:
        return self.mask_path is not None

    @property
    def scorable(self) -> bool:
        """True when both image and mask can be used for training or scoring."""
        return self.usable and self.has_mask and self.mask_ok

    def problem_text(self) -> str:
        return "; ".join(self.problems)


@dataclass
class Problem:
    """A problem with a name (slide or file) and a reason, for reports and ``--json``."""

    name: str
    reason: str

    def to_json(self) -> dict:
        return {"name": self.name, "reason": self.reason}


@dataclass
class WholeSlideFile:
    """A whole slide in the folder (a pyramid, read a region at a time) and its annotation,
    if one lies beside it (``NAME.geojson``, or in ``annotations/`` or ``geojson/``; else a
    label image ``NAME.labels.png|tif|tiff``)."""

    name: str
    path: Path
    annotation: Path | None = None
    mpp: float | None = None  # set by the user (slide_mpp.json), else the file's own


@dataclass
class FolderScan:
    """The slides found in a folder, in natural name order, plus folder-level problems.
    Tiles are ``slides``; whole slides are listed apart (``whole_slides``)."""

    root: Path
    layout: str
    slides: list[Slide]
    problems: list[Problem] = field(default_factory=list)
    whole_slides: list[WholeSlideFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name = {s.name: s for s in self.slides}
        self._whole = {w.name: w for w in self.whole_slides}

    def get(self, name: str) -> Slide | None:
        return self._by_name.get(name)

    def whole(self, name: str) -> WholeSlideFile | None:
        """The whole slide of that name, if ``name`` is one."""
        return self._whole.get(name)

    def names(self) -> list[str]:
        """Every slide's name: the tiles, then the whole slides."""
        return [s.name for s in self.slides] + [w.name for w in self.whole_slides]

    def all_problems(self) -> list[Problem]:
        """Folder problems and every slide's problems, one entry per slide."""
        out = list(self.problems)
        out += [Problem(s.name, s.problem_text()) for s in self.slides if s.problems]
        return out


def natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _list_files(directory: Path, problems: list[Problem]) -> list[Path]:
    """Image files directly in ``directory``; odd entries become problems, not exceptions."""
    out: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        raise FolderError(f"{directory}: cannot be listed ({exc.strerror or exc})") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue
        ext = os.path.splitext(entry.name)[1].lower()
        if ext not in IMAGE_EXTS and ext not in SLIDE_SUFFIXES:
            continue
        try:
            is_file = entry.is_file()
        except OSError:
            is_file = False
        if is_file:
            out.append(Path(entry.path))
        elif not _is_dir(entry):
            problems.append(Problem(entry.name, "not a regular file (broken link or link loop)"))
    return out


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


_EXT_PREFERENCE = {ext: i for i, ext in enumerate(IMAGE_EXTS)}


def _group(paths: list[Path]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for p in paths:
        groups.setdefault(p.stem, []).append(p)
    for paths_of_stem in groups.values():
        paths_of_stem.sort(key=lambda p: (_EXT_PREFERENCE.get(p.suffix.lower(), 99), p.name))
    return groups


def scan_folder(
    root: str | Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    read_headers: bool = True,
) -> FolderScan:
    """Find the slides in ``root`` in either layout and check their headers.

    Layouts: ``images/`` + ``masks/`` with the same stem, or a flat folder with ``name.ext``
    and ``name_mask.ext``. Raises :class:`FolderError` only when the folder itself is unusable.
    """
    root = Path(root)
    if not root.exists():
        raise FolderError(f"{root}: folder does not exist")
    if not root.is_dir():
        raise FolderError(f"{root}: not a folder")
    problems: list[Problem] = []
    if (root / "images").is_dir():
        layout = "images/masks"
        image_files = _list_files(root / "images", problems)
        mask_files = _list_files(root / "masks", problems) if (root / "masks").is_dir() else []
        mask_groups = _group(mask_files)
    else:
        layout = "flat"
        files = _list_files(root, problems)
        image_files = [p for p in files if not p.stem.endswith(MASK_SUFFIX)]
        mask_groups = _group([p for p in files if p.stem.endswith(MASK_SUFFIX)])
        mask_groups = {k[: -len(MASK_SUFFIX)]: v for k, v in mask_groups.items()}
    labels = [p for p in image_files if is_label_image(p)]  # whole slides' annotations
    image_files = [p for p in image_files if p not in labels]
    whole = [p for p in image_files if is_whole_slide(p)]
    image_files = [p for p in image_files if p not in whole]
    image_groups = _group(image_files)

    slides: list[Slide] = []
    for stem, paths in image_groups.items():
        slide = Slide(stem, image_path=paths[0])
        if len(paths) > 1:
            others = ", ".join(p.name for p in paths[1:])
            slide.problems.append(
                f"several images share this name; using {paths[0].name}, ignoring {others}"
            )
        masks = mask_groups.get(stem)
        if masks:
            slide.mask_path = masks[0]
            if len(masks) > 1:
                slide.problems.append(f"several masks share this name; using {masks[0].name}")
        slides.append(slide)
    for stem, masks in mask_groups.items():
        if stem not in image_groups:
            slides.append(
                Slide(
                    stem,
                    mask_path=masks[0],
                    mask_ok=False,
                    problems=[f"{masks[0].name}: mask has no image"],
                )
            )
    slides.sort(key=lambda s: natural_key(s.name))
    whole_slides = [
        WholeSlideFile(p.stem, p, _annotation_of(root, p))
        for p in sorted(whole, key=lambda p: natural_key(p.stem))
    ]
    if not slides and not whole_slides and not problems:
        problems.append(
            Problem(
                root.name or str(root),
                "no images found (expected images/ and masks/, or name.png with name_mask.png)",
            )
        )

    if read_headers:
        total = len(slides)
        for i, slide in enumerate(slides):
            if cancel is not None:
                cancel.raise_if_cancelled()
            check_slide_headers(slide)
            if i % 64 == 0 or i == total - 1:
                progress(i + 1, total, f"reading headers {i + 1}/{total}")
    return FolderScan(root, layout, slides, problems, whole_slides)


def _annotation_of(root: Path, slide: Path) -> Path | None:
    """The slide's QuPath GeoJSON, else its label image (``NAME.labels.png|tif|tiff``)."""
    places = (slide.parent, *(root / d for d in ANNOTATION_DIRS))
    for place in places:
        candidate = place / f"{slide.stem}.geojson"
        if candidate.is_file():
            return candidate
    for place in places:
        found = label_image_of(place, slide.stem)
        if found is not None:
            return found
    return None


def check_slide_headers(slide: Slide) -> None:
    """Read the image and mask headers; record unreadable files and size mismatches."""
    if slide.image_path is None:
        return
    try:
        header = read_header(slide.image_path)
        slide.size = header.size
    except SlideFileError as exc:
        slide.problems.append(str(exc))
        slide.mask_ok = False
        return
    check_mask_header(slide)


def check_mask_header(slide: Slide, what: str = "mask") -> None:
    """Read the mask's header; record an unreadable mask or one of another size."""
    if slide.mask_path is None or slide.size is None:
        return
    try:
        mh = read_header(slide.mask_path)
    except SlideFileError as exc:
        slide.problems.append(f"{what} {exc}")
        slide.mask_ok = False
        return
    if mh.size != slide.size:
        slide.problems.append(
            f"image is {slide.size[0]}x{slide.size[1]} but {what} "
            f"{slide.mask_path.name} is {mh.width}x{mh.height}"
        )
        slide.mask_ok = False

"""Saving corrected masks safely, and going back to the original.

A corrected mask is written atomically in the file's own form (a mode ``P`` mask keeps its
palette, an ``L`` mask its value coding, a colour mask its colours, the same extension). The
first time a mask is changed its original bytes are kept in the workspace, so "revert"
restores them byte for byte. A file that changed on disk since it was read is never
overwritten: the edit goes to the workspace beside it. Where the folder cannot be written,
corrected masks live in the workspace and :meth:`MaskStore.apply_overrides` makes every
reader (window, training, evaluation) use them in place of the folder's.

Layout in the workspace: ``masks/originals/<slide><ext>`` (or ``<slide>.none`` when the slide
had no mask), ``masks/corrected/<slide><ext>`` (read-only folders) and ``masks/conflicts/``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core import workspace as ws
from seggui.core.atomic import atomic_path, atomic_write_bytes
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, decode_mask
from seggui.core.slides import MASK_SUFFIX, FolderScan, Slide, check_mask_header

NO_MASK = ".none"
#: Formats a mask can be written back in without loss.
LOSSLESS = {"PNG": ".png", "TIFF": ".tif", "BMP": ".bmp"}

Stamp = tuple[int, int, int]


def file_stamp(path: str | Path | None) -> Stamp | None:
    """Size, modification time and inode: changes whenever the file is rewritten."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True)
class MaskFormat:
    """How a mask file stores classes, so it can be written back the same way."""

    mode: str = "P"
    format: str = "PNG"
    coding: str = "index"  # "index", "binary255" or "colour"
    palette: tuple[int, ...] | None = None
    transparency: object = None

    @classmethod
    def new(cls, classes: ClassSet) -> MaskFormat:
        """A new mask: mode ``P`` PNG with the class palette."""
        return cls("P", "PNG", "index", tuple(classes.palette()))

    @property
    def lossless(self) -> bool:
        return self.format in LOSSLESS


@dataclass
class EditBase:
    """A mask as read for editing: its labels, how it is stored, and the file's stamp."""

    labels: np.ndarray
    fmt: MaskFormat
    path: Path | None
    stamp: Stamp | None


def read_for_edit(path: str | Path, classes: ClassSet) -> EditBase:
    """Read a mask with what is needed to save it back and to notice a change on disk."""
    path = Path(path)
    stamp = file_stamp(path)  # before reading: a change while reading is then noticed
    labels, coding = decode_mask(path, classes)
    try:
        with Image.open(path) as im:  # the header only: the pixels were decoded above
            mode, form = im.mode, im.format or "PNG"
            palette = tuple(im.getpalette() or ()) if mode == "P" else None
            transparency = im.info.get("transparency") if mode == "P" else None
    except OSError as exc:
        raise SlideFileError(path, f"cannot read ({exc})") from exc
    fmt = MaskFormat(mode, form, coding, palette, transparency)
    return EditBase(labels, fmt, path, stamp)


def encode(labels: np.ndarray, fmt: MaskFormat, classes: ClassSet) -> Image.Image:
    """The labels as an image in ``fmt``'s mode and coding."""
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    if fmt.coding == "colour":
        rgb = classes.colors[labels]
        if fmt.mode in ("RGBA", "LA", "PA"):
            alpha = np.full(labels.shape + (1,), 255, np.uint8)
            return Image.fromarray(np.concatenate([rgb, alpha], axis=2), "RGBA")
        return Image.fromarray(rgb, "RGB")
    values = labels * np.uint8(255) if fmt.coding == "binary255" else labels
    if fmt.mode == "P":
        im = Image.fromarray(values, "P")
        im.putpalette(list(fmt.palette) if fmt.palette else classes.palette())
        return im
    if fmt.mode == "1":
        return Image.fromarray(values, "L").convert("1")
    if fmt.mode.startswith("I"):
        return Image.fromarray(values.astype(np.uint16)).convert(fmt.mode)
    return Image.fromarray(values, "L")


def _save_image(im: Image.Image, target: Path, fmt: MaskFormat) -> None:
    options = {}
    if fmt.mode == "P" and fmt.transparency is not None:
        options["transparency"] = fmt.transparency
    if fmt.format == "TIFF":
        options["compression"] = "tiff_adobe_deflate"
    with atomic_path(target) as tmp:
        im.save(tmp, format=fmt.format if fmt.lossless else "PNG", **options)


@dataclass
class SaveResult:
    """Where a save went: the mask's file now, or (on a conflict) the workspace copy."""

    name: str
    path: Path
    stamp: Stamp | None
    conflict: bool = False
    message: str = ""


class MaskStore:
    """Saves and reverts the masks of one folder, remembering what each edit was based on."""

    def __init__(self, scan: FolderScan, workspace: str | Path, classes: ClassSet):
        self.scan = scan
        self.classes = classes
        self.dir = Path(workspace) / "masks"
        self.originals = self.dir / "originals"
        self.corrected = self.dir / "corrected"
        self.conflicts = self.dir / "conflicts"
        self._lock = threading.Lock()
        self._base: dict[str, tuple[Path | None, Stamp | None, MaskFormat]] = {}
        self._kept = self._listing(self.originals)

    @staticmethod
    def _listing(directory: Path) -> dict[str, Path]:
        try:
            return {p.stem: p for p in directory.iterdir() if not p.name.startswith(".")}
        except OSError:
            return {}

    # -- what is known ---------------------------------------------------------------------------
    def is_corrected(self, name: str) -> bool:
        """True once a mask of ``name`` was saved by seggui (its original is kept)."""
        with self._lock:
            return name in self._kept

    def original_of(self, name: str) -> Path | None:
        with self._lock:
            return self._kept.get(name)

    def apply_overrides(self) -> None:
        """Point slides at their corrected masks in the workspace (read-only folders)."""
        for name, path in self._listing(self.corrected).items():
            slide = self.scan.get(name)
            if slide is None:
                continue
            slide.folder_mask_path = slide.mask_path
            slide.mask_path = path
            slide.mask_ok = slide.usable
            check_mask_header(slide, "corrected mask")

    # -- editing ---------------------------------------------------------------------------------
    def track(self, name: str, path: Path | None, stamp: Stamp | None, fmt: MaskFormat) -> None:
        """Remember the file an edit of ``name`` started from (its stamp when read)."""
        with self._lock:
            self._base.setdefault(name, (path, stamp, fmt))

    def new_mask_path(self, slide: Slide) -> Path:
        """Where a slide without a mask gets its first one, in the folder's layout."""
        if self.scan.layout == "images/masks":
            return self.scan.root / "masks" / f"{slide.name}.png"
        return slide.image_path.with_name(f"{slide.name}{MASK_SUFFIX}.png")

    def _override(self, name: str, fmt: MaskFormat, source: Path | None) -> Path:
        ext = source.suffix if source is not None and fmt.lossless else ".png"
        return self.corrected / f"{name}{ext}"

    def _in_workspace(self, path: Path | None) -> bool:
        return path is not None and self.dir in path.parents

    def save(self, slide: Slide, labels: np.ndarray) -> SaveResult:
        """Write ``labels`` as ``slide``'s mask (call :meth:`track` first); thread-safe."""
        name = slide.name
        with self._lock:
            if name not in self._base:
                raise ValueError(f"{name}: save without a tracked base")
            source, expected, fmt = self._base[name]
        if file_stamp(source) != expected:
            return self._keep_conflict(name, labels, fmt, source)
        if (
            self._in_workspace(source)
            or source is not None
            and fmt.lossless
            and ws.is_writable(source.parent)
        ):
            target = source
        elif source is None and ws.is_writable(self.new_mask_path(slide).parent):
            target = self.new_mask_path(slide)
        else:
            target = self._override(name, fmt, source)
        with self._lock:
            keep = name not in self._kept
        if keep:
            ext = source.suffix if source is not None else NO_MASK
            kept = self.originals / f"{name}{ext}"
            if source is not None:
                atomic_write_bytes(kept, source.read_bytes())
            else:
                kept.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(kept, b"")
            with self._lock:
                self._kept[name] = kept
        _save_image(encode(labels, fmt, self.classes), target, fmt)
        stamp = file_stamp(target)
        with self._lock:
            self._base[name] = (target, stamp, fmt)
        note = "" if target == source else f" (the folder is read-only: kept in {target.parent})"
        return SaveResult(name, target, stamp, message=f"saved {target.name}{note}")

    def _keep_conflict(
        self, name: str, labels: np.ndarray, fmt: MaskFormat, source: Path | None
    ) -> SaveResult:
        when = time.strftime("%Y%m%d-%H%M%S")
        target = self.conflicts / f"{name}-{when}.png"
        _save_image(encode(labels, fmt, self.classes), target, replace(fmt, format="PNG"))
        what = source.name if source is not None else "the mask"
        return SaveResult(
            name,
            target,
            None,
            conflict=True,
            message=f"{what} changed on disk since it was opened; not overwritten. "
            f"Your edit is kept in {target}",
        )

    def adopt(self, slide: Slide, result: SaveResult) -> None:
        """Let the slide use what a save wrote (call where the slide is read, e.g. UI thread)."""
        if result.conflict:
            return
        if slide.mask_path != result.path:
            if slide.folder_mask_path is None and self._in_workspace(result.path):
                slide.folder_mask_path = slide.mask_path
            slide.mask_path = result.path
        slide.mask_ok = True

    def revert(self, slide: Slide) -> Path | None:
        """Bring the original mask back (byte for byte); returns the mask path now in use."""
        name = slide.name
        kept = self.original_of(name)
        if kept is None:
            raise ValueError(f"{name}: no original is kept (the mask was never changed)")
        current = slide.mask_path
        if self._in_workspace(current):
            with contextlib.suppress(FileNotFoundError):
                current.unlink()
            slide.mask_path = slide.folder_mask_path
            slide.folder_mask_path = None
        elif kept.suffix == NO_MASK:
            if current is not None:
                with contextlib.suppress(FileNotFoundError):
                    current.unlink()
            slide.mask_path = None
        else:
            atomic_write_bytes(current, kept.read_bytes())
        kept.unlink()
        with self._lock:
            self._kept.pop(name, None)
            self._base.pop(name, None)
        slide.mask_ok = slide.usable
        return slide.mask_path

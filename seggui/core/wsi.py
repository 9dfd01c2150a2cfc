"""Whole-slide images: gigapixel pyramids read a region at a time, at the level that fits.

A whole slide (SVS, NDPI, OME-TIFF, generic tiled TIFF, and with the ``[openslide]`` extra
MRXS and the other vendor formats) is never decoded whole: :class:`WholeSlide` reads the
region asked for, at one pyramid level, as uint8 RGB. Level sizes, downsamples and the
microns per pixel come from the file; a slide without a resolution gets
:data:`DEFAULT_MPP` and says so (``mpp_known`` False), so the user can set it.

Readers: tiffslide (BSD, on tifffile, wheels only) is tried first; OpenSlide (LGPL, the
``openslide-bin`` wheel) where it is installed, for the formats tiffslide does not read.
On this machine both read the same pixels from a generic tiled TIFF, tiffslide at 2.6-2.9 ms
per 256-pixel JPEG tile and OpenSlide at 3.3 ms (BENCHMARKS.md).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core.imageio import SlideFileError

#: Suffixes that are whole slides whatever their size (a .tif/.tiff is one when it is tiled
#: and pyramidal or too big to be a tile; see :func:`is_whole_slide`).
SLIDE_SUFFIXES = (".svs", ".ndpi", ".mrxs", ".scn", ".svslide", ".bif", ".vms", ".vmu", ".qptiff")
TIFF_SUFFIXES = (".tif", ".tiff")
DEFAULT_MPP = 0.5  # microns per pixel assumed for a slide whose file does not say (20x)
TILE_PIXELS_LIMIT = 64 * 1024 * 1024  # a flat image larger than this is opened as a slide
BACKGROUND = 255  # outside the slide: white, as glass looks


@dataclass(frozen=True)
class Level:
    width: int
    height: int
    downsample: float


def is_whole_slide(path: str | Path) -> bool:
    """True for a file seggui opens as a whole slide rather than as a tile."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SLIDE_SUFFIXES:
        return True
    if suffix not in TIFF_SUFFIXES:
        return False
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            pyramid = len(tif.series[0].levels) > 1 if tif.series else False
            big = page.imagewidth * page.imagelength > TILE_PIXELS_LIMIT
            return bool(page.is_tiled and (pyramid or big)) or big
    except Exception:  # noqa: BLE001  (not a TIFF tifffile reads: opened as a tile, and reported there)
        return False


class WholeSlide:
    """One open whole slide; thread-safe (reads are serialised per slide)."""

    def __init__(self, path: Path, reader, backend: str):
        self.path = path
        self.backend = backend
        self._reader = reader
        self._lock = threading.Lock()
        self.levels = [
            Level(int(w), int(h), float(d))
            for (w, h), d in zip(reader.level_dimensions, reader.level_downsamples, strict=True)
        ]
        props = reader.properties
        mpp = None
        for key in (f"{backend}.mpp-x", "openslide.mpp-x", "tiffslide.mpp-x"):
            try:
                value = float(props.get(key) or "nan")
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) and value > 0:
                mpp = value
                break
        self.mpp_known = mpp is not None
        self.mpp = mpp if mpp is not None else DEFAULT_MPP

    @property
    def dimensions(self) -> tuple[int, int]:
        return self.levels[0].width, self.levels[0].height

    def best_level(self, downsample: float) -> int:
        """The most reduced level that still has at least the detail of ``downsample``."""
        best = 0
        for i, level in enumerate(self.levels):
            if level.downsample <= downsample * 1.001:
                best = i
        return best

    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """``(height, width, 3)`` uint8 RGB of the region at ``(x, y)`` in ``level``'s pixels;
        what lies outside the slide is white."""
        lv = self.levels[level]
        out = np.full((height, width, 3), BACKGROUND, np.uint8)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, lv.width), min(y + height, lv.height)
        if x1 <= x0 or y1 <= y0:
            return out
        location = (round(x0 * lv.downsample), round(y0 * lv.downsample))
        try:
            with self._lock:
                region = self._reader.read_region(location, level, (x1 - x0, y1 - y0))
        except Exception as exc:
            raise SlideFileError(self.path, f"cannot read a region ({exc})") from exc
        out[y0 - y : y1 - y, x0 - x : x1 - x] = _rgb(region)
        return out

    def thumbnail(self, size: int) -> np.ndarray:
        """The whole slide in at most ``size`` pixels a side, from the most reduced level."""
        level = len(self.levels) - 1
        lv = self.levels[level]
        image = Image.fromarray(self.read_region(level, 0, 0, lv.width, lv.height))
        image.thumbnail((size, size))
        return np.asarray(image)

    def close(self) -> None:
        with self._lock:
            self._reader.close()


def _rgb(region) -> np.ndarray:
    """A reader's region (PIL RGBA or RGB, or an array) as uint8 RGB, transparency as white."""
    if isinstance(region, Image.Image):
        if region.mode == "RGBA":
            background = Image.new("RGBA", region.size, (BACKGROUND,) * 4)
            region = Image.alpha_composite(background, region)
        region = np.asarray(region.convert("RGB"))
    return np.ascontiguousarray(region[..., :3], dtype=np.uint8)


def open_slide(path: str | Path, mpp: float | None = None) -> WholeSlide:
    """Open a whole slide with the first reader that can; ``SlideFileError`` with the reasons
    when none can (damaged, truncated or unsupported). ``mpp``, when given, is the
    resolution the user set, in place of the file's."""
    slide = _open(Path(path))
    if mpp is not None:
        slide.mpp, slide.mpp_known = float(mpp), True
    return slide


def _open(path: Path) -> WholeSlide:
    if not path.is_file():
        raise SlideFileError(path, "no such file")
    reasons = []
    try:
        import tiffslide

        return _checked(WholeSlide(path, tiffslide.TiffSlide(path), "tiffslide"))
    except ImportError:
        reasons.append("tiffslide is not installed")
    except Exception as exc:  # noqa: BLE001  (the reader's own errors vary by format)
        reasons.append(f"tiffslide: {getattr(exc, 'reason', exc)}")
    try:
        import openslide

        return _checked(WholeSlide(path, openslide.OpenSlide(str(path)), "openslide"))
    except ImportError:
        reasons.append("OpenSlide is not installed (pip install 'seggui[openslide]')")
    except Exception as exc:  # noqa: BLE001
        reasons.append(f"OpenSlide: {getattr(exc, 'reason', exc)}")
    raise SlideFileError(path, "not a readable whole slide: " + "; ".join(reasons))


def _checked(slide: WholeSlide) -> WholeSlide:
    """The slide, once its most reduced level (written last, so the first to go when a file
    is cut short) decodes; a damaged one is closed and refused."""
    try:
        slide.thumbnail(32)
    except SlideFileError as exc:
        slide.close()
        raise SlideFileError(slide.path, f"damaged or truncated ({exc.reason})") from exc
    return slide


def write_pyramid(
    path: str | Path,
    image: np.ndarray,
    downsamples: tuple[int, ...] = (1, 4, 16, 64),
    mpp: float | None = 0.5,
    tile: int = 256,
    quality: int = 90,
) -> Path:
    """Write ``image`` (uint8 RGB) as a pyramidal, tiled, JPEG-compressed TIFF that both
    readers open (levels as pages; Aperio-style description with the MPP when known).
    For test slides and the demo; levels smaller than a tile are left out."""
    import tifffile

    path = Path(path)
    h, w = image.shape[:2]
    description = f"Aperio Image Library seggui\n{w}x{h} ({tile}x{tile}) JPEG/RGB Q={quality}"
    if mpp is not None:
        description += f"|MPP = {mpp}"
    tmp = path.with_name(f".tmp-{path.name}")
    with tifffile.TiffWriter(tmp, bigtiff=True) as tw:
        for k, d in enumerate(downsamples):
            level = image if d == 1 else np.asarray(Image.fromarray(image).reduce(d))
            if k and min(level.shape[:2]) < tile:
                break
            extra = {}
            if k == 0:
                extra["description"] = description
                if mpp is not None:
                    extra.update(resolution=(1e4 / mpp, 1e4 / mpp), resolutionunit="CENTIMETER")
            else:
                extra["subfiletype"] = 1
            tw.write(
                level,
                tile=(tile, tile),
                compression="jpeg",
                compressionargs={"level": quality},
                photometric="rgb",
                **extra,
            )
    tmp.replace(path)
    return path

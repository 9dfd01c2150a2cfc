"""A whole slide's annotation as a label image: class indices at a stated downsample.

``NAME.labels.png`` (flat) or ``NAME.labels.tif[f]`` (flat or tiled, pyramidal or not) beside
the slide: one class index per pixel, values at or above the number of classes are
unknown (not annotated). The downsample (level-0 pixels per label pixel) is the one the
TIFF's description states (``downsample=4``, as ``seggui predict`` writes it), else the
slide's width over the image's. Like the GeoJSON annotation, it is sampled a region at a
time at pixel centres; a tiled TIFF is read only where the region lies (tifffile's zarr
view), a flat image once.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seggui.core.annotations import UNKNOWN
from seggui.core.imageio import SlideFileError

SUFFIXES = (".labels.png", ".labels.tif", ".labels.tiff")


def label_image_of(folder: Path, stem: str) -> Path | None:
    """``stem``'s label image in ``folder``, if it has one."""
    for suffix in SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def is_label_image(path: Path) -> bool:
    return any(path.name.lower().endswith(s) for s in SUFFIXES)


class LabelImageAnnotations:
    """The annotation interface of :class:`~seggui.core.annotations.SlideAnnotations`
    (``rasterise``, ``problems``, ``regions``) over a label image."""

    def __init__(self, path: Path, n_classes: int, slide_size: tuple[int, int]):
        self.path = Path(path)
        self.n_classes = n_classes
        self.problems: list[str] = []
        self.regions: list = []  # no polygons: a label image is pixels
        self._array = None
        try:
            if self.path.suffix.lower() == ".png":
                from PIL import Image

                with Image.open(self.path) as im:
                    if im.mode not in ("P", "L"):
                        raise SlideFileError(
                            self.path, f"a label image is mode P or L, not {im.mode}"
                        )
                    self._array = np.asarray(im)
                stated = None
            else:
                import tifffile
                import zarr

                with tifffile.TiffFile(self.path) as tif:
                    page = tif.pages.first
                    if page.samplesperpixel != 1 or page.dtype != np.uint8:
                        raise SlideFileError(self.path, "a label image has one 8-bit channel")
                    found = re.search(r"downsample=([0-9.]+)", page.description or "")
                    stated = float(found.group(1)) if found else None
                self._array = zarr.open(tifffile.imread(self.path, aszarr=True, level=0), mode="r")
        except SlideFileError:
            raise
        except Exception as exc:
            raise SlideFileError(self.path, f"not a readable label image ({exc})") from exc
        h, w = self._array.shape[:2]
        self.size = (w, h)
        self.downsample = stated or slide_size[0] / w
        expected = slide_size[1] / self.downsample
        if abs(expected - h) > max(2.0, 0.01 * h):
            self.problems.append(
                f"label image {w} x {h} does not match the slide's shape at downsample "
                f"{self.downsample:g} (expected about {slide_size[0] / self.downsample:.0f} x "
                f"{expected:.0f})"
            )

    def rasterise(self, x: int, y: int, width: int, height: int, downsample: float = 1.0):
        """``(height, width)`` class indices of the region at ``(x, y)`` in the pixels of a
        level ``downsample`` times smaller than level 0, at pixel centres; :data:`UNKNOWN`
        off the image and for values that are no class."""
        w, h = self.size
        ix = np.floor((x + np.arange(width) + 0.5) * downsample / self.downsample).astype(np.int64)
        iy = np.floor((y + np.arange(height) + 0.5) * downsample / self.downsample).astype(np.int64)
        out = np.full((height, width), UNKNOWN, np.uint8)
        okx, oky = (ix >= 0) & (ix < w), (iy >= 0) & (iy < h)
        if not okx.any() or not oky.any():
            return out
        x0, x1 = int(ix[okx].min()), int(ix[okx].max()) + 1
        y0, y1 = int(iy[oky].min()), int(iy[oky].max()) + 1
        window = np.asarray(self._array[y0:y1, x0:x1])
        values = window[np.ix_(iy[oky] - y0, ix[okx] - x0)]
        values = np.where(values < self.n_classes, values, UNKNOWN).astype(np.uint8)
        out[np.ix_(np.flatnonzero(oky), np.flatnonzero(okx))] = values
        return out


def write_label_pyramid(
    path: Path,
    tiles,
    width: int,
    height: int,
    downsample: float,
    reduced: list[tuple[int, np.ndarray]],
    colors: np.ndarray,
    tile: int = 512,
) -> Path:
    """Write a tiled label TIFF (palette colours, deflate): level 0 from ``tiles`` (an
    iterator of ``tile`` x ``tile`` uint8 arrays in row order), then each ``(factor, array)``
    of ``reduced`` as a smaller level; the description states the downsample."""
    import tifffile

    from seggui.core.atomic import atomic_path

    colormap = np.full((3, 256), 65535, np.uint16)
    colormap[:, : len(colors)] = np.asarray(colors, np.uint16).T * 257
    with atomic_path(path) as tmp, tifffile.TiffWriter(tmp, bigtiff=True) as tw:
        tw.write(
            tiles,
            shape=(height, width),
            dtype=np.uint8,
            tile=(tile, tile),
            compression="zlib",
            photometric="palette",
            colormap=colormap,
            description=f"seggui labels downsample={downsample:g}",
            metadata=None,
        )
        for _, array in reduced:
            if min(array.shape) < tile:
                break
            tw.write(
                array,
                tile=(tile, tile),
                compression="zlib",
                photometric="palette",
                colormap=colormap,
                subfiletype=1,
                metadata=None,
            )
    return path

"""Reading tissue images and annotation masks of any common form, and writing masks back.

Images become float32 RGB in [0, 1] (alpha dropped); masks become uint8 class indices.
8-bit RGB(A) PNGs and RGB JPEGs, nearly every tile, are decoded by imagecodecs (libpng and
libjpeg-turbo, already installed for tiffslide): the same pixels in about half Pillow's time
(BENCHMARKS.md section 41); anything else, or anything it refuses, goes through Pillow.
Every failure is a :class:`SlideFileError` whose message names the file and the reason, so
callers can show it on the slide and go on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import imagecodecs
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from seggui.core.atomic import atomic_path
from seggui.core.classes import ClassSet

#: Images with more pixels than this are refused before decoding (decompression bombs).
MAX_PIXELS = 64_000_000

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Our own limit is checked on the header; Pillow's warning would only duplicate it.
Image.MAX_IMAGE_PIXELS = None


class SlideFileError(Exception):
    """A file that cannot be used, with a reason fit to show to a user."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{Path(path).name}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Header:
    """What a file's header says, read without decoding pixels."""

    width: int
    height: int
    mode: str
    format: str

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def _open(path: Path) -> Image.Image:
    try:
        if path.stat().st_size == 0:
            raise SlideFileError(path, "empty file (0 bytes)")
        im = Image.open(path)
    except SlideFileError:
        raise
    except PermissionError as exc:
        raise SlideFileError(path, "permission denied") from exc
    except FileNotFoundError as exc:
        raise SlideFileError(path, "file not found") from exc
    except UnidentifiedImageError as exc:
        raise SlideFileError(path, "not an image Pillow can read") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise SlideFileError(path, f"cannot be opened ({exc})") from exc
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise SlideFileError(
            path,
            f"{w}x{h} exceeds the {MAX_PIXELS // 1_000_000} megapixel limit "
            "(refused without decoding)",
        )
    if w < 1 or h < 1:
        im.close()
        raise SlideFileError(path, f"invalid size {w}x{h}")
    return im


def read_header(path: str | Path) -> Header:
    """Size, mode and format of an image file, without decoding its pixels."""
    path = Path(path)
    with _open(path) as im:
        return Header(im.size[0], im.size[1], im.mode, im.format or "")


def _load(im: Image.Image, path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        text = str(exc)
        reason = (
            "truncated or damaged file"
            if "truncat" in text.lower() or isinstance(exc, EOFError)
            else f"cannot be decoded ({text})"
        )
        raise SlideFileError(path, reason) from exc


#: (format, Pillow mode) -> imagecodecs decoder, for the files decoded without Pillow.
_FAST_DECODERS = {
    ("PNG", "RGB"): imagecodecs.png_decode,
    ("PNG", "RGBA"): imagecodecs.png_decode,
    ("JPEG", "RGB"): imagecodecs.jpeg8_decode,
}


def _decode_fast(im: Image.Image, path: Path) -> np.ndarray | None:
    """8-bit RGB pixels of a common tile, or None where Pillow must decode it (another kind
    of file, a damaged one whose reason Pillow words, or output of an unexpected form)."""
    decode = _FAST_DECODERS.get((im.format, im.mode))
    if decode is None:
        return None
    try:
        data = path.read_bytes()
        # libjpeg-turbo fills a cut JPEG with grey where Pillow refuses it: whole files only
        if im.format == "JPEG" and not data.endswith(b"\xff\xd9"):
            return None
        arr = decode(data)
    except (OSError, RuntimeError, ValueError):
        return None
    w, h = im.size
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[:2] != (h, w) or arr.shape[2] < 3:
        return None
    return arr[..., :3]


def read_image(path: str | Path) -> np.ndarray:
    """An image as float32 ``(H, W, 3)`` RGB in [0, 1]; 16-bit data keeps its full range."""
    path = Path(path)
    with _open(path) as im:
        fast = _decode_fast(im, path)
        if fast is not None:
            return np.divide(fast, 255.0, dtype=np.float32)
        return pillow_pixels(im, path)


def pillow_pixels(im: Image.Image, path: Path) -> np.ndarray:
    """:func:`read_image`'s result decoded by Pillow, for every kind of file."""
    _load(im, path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float32)
        top = 65535.0 if arr.max(initial=0) <= 65535 else float(arr.max())
        arr = np.clip(arr / top, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    rgb = im.convert("RGB") if im.mode != "RGB" else im
    return np.asarray(rgb, dtype=np.float32) / 255.0


def check_same_size(image: np.ndarray, mask: np.ndarray, mask_path: str | Path) -> None:
    """A mask must cover its image pixel for pixel; ``SlideFileError`` says how they differ."""
    if image.shape[:2] != mask.shape[:2]:
        raise SlideFileError(
            mask_path,
            f"image is {image.shape[1]}x{image.shape[0]} but mask is "
            f"{mask.shape[1]}x{mask.shape[0]}; mask and image differ in size",
        )


def read_pair(
    image_path: str | Path, mask_path: str | Path, classes: ClassSet
) -> tuple[np.ndarray, np.ndarray]:
    """A slide's image (float RGB) and its mask (class indices), checked to fit each other."""
    image = read_image(image_path)
    mask = read_mask(mask_path, classes)
    check_same_size(image, mask, mask_path)
    return image, mask


def mask_values(path: str | Path) -> tuple[str, np.ndarray, list[int] | None]:
    """A mask's mode, raw pixel array and palette (for class discovery)."""
    path = Path(path)
    with _open(path) as im:
        _load(im, path)
        palette = im.getpalette() if im.mode == "P" else None
        if im.mode in ("RGBA", "LA", "PA"):
            arr = np.asarray(im.convert("RGB" if im.mode == "RGBA" else "L"))
            mode = "RGB" if im.mode == "RGBA" else "L"
        elif im.mode == "1":
            arr, mode = np.asarray(im, dtype=np.uint8), "L"
        elif im.mode in ("P", "L", "RGB"):
            arr, mode = np.asarray(im), im.mode
        elif im.mode.startswith("I"):
            arr, mode = np.asarray(im, dtype=np.int64), "L"
        else:
            arr, mode = np.asarray(im.convert("RGB")), "RGB"
    return mode, arr, palette


def read_mask(path: str | Path, classes: ClassSet) -> np.ndarray:
    """A mask as uint8 class indices ``(H, W)``.

    Mode ``P`` gives the index directly, ``L`` gives 0..N-1 (or 0/255 for two classes), and
    colour masks are mapped through the class colours. Values or colours outside the classes
    raise :class:`SlideFileError` naming them.
    """
    return decode_mask(path, classes)[0]


def decode_mask(path: str | Path, classes: ClassSet) -> tuple[np.ndarray, str]:
    """A mask's class indices and how the file codes them: ``index``, ``binary255`` or
    ``colour`` (what a corrected mask must be written back with)."""
    path = Path(path)
    mode, arr, _ = mask_values(path)
    n = len(classes)
    if mode == "RGB":
        return _map_colors(arr, classes, path), "colour"
    values = np.unique(arr)
    if values.size and values.max() >= n:
        if set(values.tolist()) <= {0, 255} and n >= 2:
            return (arr == 255).astype(np.uint8), "binary255"
        bad = [int(v) for v in values if v >= n or v < 0][:5]
        raise SlideFileError(path, f"mask values {bad} are outside the {n} classes (0..{n - 1})")
    if values.size and values.min() < 0:
        raise SlideFileError(path, "mask has negative values")
    return arr.astype(np.uint8, copy=False), "index"


def _map_colors(arr: np.ndarray, classes: ClassSet, path: Path) -> np.ndarray:
    packed = (
        (arr[..., 0].astype(np.uint32) << 16) | (arr[..., 1].astype(np.uint32) << 8) | arr[..., 2]
    )
    colors = classes.colors.astype(np.uint32)
    keys = (colors[:, 0] << 16) | (colors[:, 1] << 8) | colors[:, 2]
    uniq, inverse = np.unique(packed, return_inverse=True)
    lookup = {int(k): i for i, k in enumerate(keys)}
    out_of_palette = [int(u) for u in uniq if int(u) not in lookup]
    if out_of_palette:
        shown = [f"#{u:06x}" for u in out_of_palette[:5]]
        raise SlideFileError(path, f"mask colours {shown} are not among the class colours")
    table = np.array([lookup[int(u)] for u in uniq], dtype=np.uint8)
    return table[inverse].reshape(arr.shape[:2])


def write_mask(
    path: str | Path, mask: np.ndarray, classes: ClassSet, note: dict[str, str] | None = None
) -> None:
    """Write class indices as a mode ``P`` PNG carrying the class palette, atomically;
    ``note`` goes into the file as PNG text (a predicted mask names its model and source)."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    if mask.size and int(mask.max()) >= len(classes):
        raise ValueError(f"mask has value {int(mask.max())} but only {len(classes)} classes")
    im = Image.fromarray(mask.astype(np.uint8, copy=False), mode="P")
    im.putpalette(classes.palette())
    info = None
    if note:
        info = PngInfo()
        for key, value in note.items():
            info.add_text(key, value)
    with atomic_path(path, suffix=".png") as tmp:
        im.save(tmp, format="PNG", pnginfo=info)


def mask_note(path: str | Path) -> dict[str, str]:
    """The PNG text :func:`write_mask` put into a mask (empty for any other or a bad file);
    reads the header only."""
    try:
        with Image.open(path) as im:
            return {k: v for k, v in im.info.items() if isinstance(v, str)}
    except (OSError, ValueError, SyntaxError):
        return {}

"""Generate the bad-input corpus: every kind of broken or odd file a real folder holds.

``python tests/data/make_bad.py DIR`` writes it to DIR (default ``tests/data/bad``). Nothing
here is committed as binaries; tests call :func:`make_bad_corpus` into a temporary folder.
:data:`EXPECTED` says, per slide, what the engine must report (a fragment of the reason), or
None where the file is odd but valid and must simply work.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from seggui.core.demo import DEMO_CLASSES, make_tile
from seggui.core.imageio import write_mask

#: slide name -> fragment of the expected problem (None: must open and score without one)
EXPECTED: dict[str, str | None] = {
    "good": None,
    "zero_bytes": "empty",
    "truncated": "truncat",
    "text_as_png": "not an image",
    "mask_other_size": "but mask",
    "mask_values_beyond": "outside the 4 classes",
    "colour_mask_unknown": "not among the class colours",
    "gray16": None,
    "cmyk": None,
    "one_pixel": None,
    "bomb": "megapixel limit",
    "mask_without_image": "no image",
    "image_without_mask": None,
    "same_stem": "several images share this name",
    "ünïcödé name 漢字": None,
    "loop": "link",
    "no_read_permission": "permission denied",
}


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims ``width`` x ``height`` pixels but holds almost no data (a bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def make_bad_corpus(root: str | Path) -> Path:
    """Write the corpus (images/ + masks/ + classes.json) into ``root``."""
    root = Path(root)
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    (root / "classes.json").write_text(
        '{"classes": ['
        + ", ".join(f'{{"name": "{c.name}", "color": {list(c.color)}}}' for c in DEMO_CLASSES)
        + "]}"
    )

    def tile(i: int, size: int = 128):
        rgba, labels = make_tile(99, i, size)
        return rgba, labels

    def good_pair(name: str, i: int, ext: str = ".png", size: int = 128) -> None:
        rgba, labels = tile(i, size)
        Image.fromarray(rgba).save(images / f"{name}{ext}")
        write_mask(masks / f"{name}.png", labels, DEMO_CLASSES)

    good_pair("good", 0)
    good_pair("zero_bytes", 1)
    (images / "zero_bytes.png").write_bytes(b"")
    good_pair("truncated", 2)
    data = (images / "truncated.png").read_bytes()
    (images / "truncated.png").write_bytes(data[: len(data) // 2])
    good_pair("text_as_png", 3)
    (images / "text_as_png.png").write_text("this is not an image\n")
    good_pair("mask_other_size", 4)
    write_mask(masks / "mask_other_size.png", np.zeros((100, 90), np.uint8), DEMO_CLASSES)
    good_pair("mask_values_beyond", 5)
    Image.fromarray(np.full((128, 128), 7, np.uint8)).save(masks / "mask_values_beyond.png")
    good_pair("colour_mask_unknown", 6)
    colour = DEMO_CLASSES.colors[tile(6)[1]].copy()
    colour[:10, :10] = (12, 34, 56)
    Image.fromarray(colour).save(masks / "colour_mask_unknown.png")

    rgba, labels = tile(7)
    gray16 = rgba[..., 0].astype(np.uint16) * 257
    Image.fromarray(gray16).save(images / "gray16.png")
    write_mask(masks / "gray16.png", labels, DEMO_CLASSES)
    rgba, labels = tile(8)
    Image.fromarray(rgba[..., :3]).convert("CMYK").save(images / "cmyk.jpg")
    write_mask(masks / "cmyk.png", labels, DEMO_CLASSES)
    Image.fromarray(np.full((1, 1, 3), 200, np.uint8)).save(images / "one_pixel.png")
    write_mask(masks / "one_pixel.png", np.ones((1, 1), np.uint8), DEMO_CLASSES)

    _png_header_only(images / "bomb.png", 20000, 20000)
    write_mask(masks / "mask_without_image.png", np.zeros((8, 8), np.uint8), DEMO_CLASSES)
    Image.fromarray(tile(9)[0]).save(images / "image_without_mask.png")
    good_pair("same_stem", 10)
    Image.fromarray(tile(11)[0][..., :3]).save(images / "same_stem.jpg")
    good_pair("ünïcödé name 漢字", 12)
    os.symlink(images / "loop.png", images / "loop.png")
    good_pair("no_read_permission", 13)
    os.chmod(images / "no_read_permission.png", 0)
    return root


def can_deny_read() -> bool:
    """False when running as root, where file permissions do not stop reading."""
    return hasattr(os, "geteuid") and os.geteuid() != 0


if __name__ == "__main__":
    make_bad_corpus(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "bad")

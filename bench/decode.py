"""Reading a tile's pixels: seggui's ``read_image`` against Pillow's decoding of the same
file (its own fallback, and how it read every tile before), timed in the same run.

Run: ``python bench/decode.py [--runs 20]``. Files: a 512x512 RGBA demo tile, and the first
images of ``../shared/data/glas-test`` (PNG) and ``../shared/data/gleason`` (JPEG) when
present (``SEGGUI_SHARED_DATA`` moves that folder). Each row is the median of ``--runs``
reads (after a warm-up), rounds of both interleaved; the pixels are checked to be equal.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, repeat, save, table

SHARED = Path(os.environ.get("SEGGUI_SHARED_DATA", HERE.parent.parent / "shared" / "data"))


def files(tmp: Path) -> dict[str, Path]:
    """The files to read: a demo tile and, when the shared data is here, one of each set."""
    from seggui.core.demo import write_demo

    demo = write_demo(tmp / "demo", count=1, seed=3)
    out = {"demo tile, PNG RGBA": next((demo / "images").iterdir())}
    for name, label in (("glas-test", "GlaS, PNG RGB"), ("gleason", "Gleason, JPEG RGB")):
        images = sorted((SHARED / name / "images").glob("*"))
        if images:
            out[label] = images[0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from PIL import Image

    from seggui.core.imageio import pillow_pixels, read_image

    def with_pillow(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return pillow_pixels(im, path)

    rows = []
    tmp = tempfile.TemporaryDirectory(prefix="seggui-decode-")
    for label, path in files(Path(tmp.name)).items():
        if not np.array_equal(read_image(path), with_pillow(path)):
            raise SystemExit(f"{path}: read_image and Pillow differ")
        readers = {"pillow": partial(with_pillow, path), "seggui": partial(read_image, path)}
        best = dict.fromkeys(readers, float("inf"))
        for _ in range(args.rounds):
            for name, read in readers.items():
                best[name] = min(best[name], repeat(read, args.runs)["median_ms"])
        h, w = read_image(path).shape[:2]
        rows.append(
            {
                "file": f"{label} ({w}x{h})",
                "pillow_ms": best["pillow"],
                "read_image_ms": best["seggui"],
                "speedup": best["pillow"] / best["seggui"],
            }
        )
    tmp.cleanup()
    print(table(rows, ["file", "pillow_ms", "read_image_ms", "speedup"]))
    save("decode", {"benchmark": "decode", "machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

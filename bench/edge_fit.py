"""Do a folder's masks follow their images' edges? The check the audit makes before the edge
fit may rank in the Both column (issue 20).

For each folder: how many masks fit their image's edges better than themselves shifted by
``SHIFT`` pixels (the audit's check), better than shifted by 16 and 64, and better than the
next slide's mask (cut to size); the median edge fit; and whether the audit would use it.

    python bench/edge_fit.py ../shared/data/glas-test ../shared/data/gleason
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table


def check(folder: Path) -> dict:
    from seggui.core.edge_fit import SHIFT, edge_evidence, edge_fit, masks_follow_edges
    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_pair

    ctx = open_folder(folder)
    pairs = [read_pair(s.image_path, s.mask_path, ctx.classes) for s in ctx.slides if s.scorable]
    fits, following = [], 0
    beats = {16: 0, 64: 0, "another": 0}
    for i, (image, mask) in enumerate(pairs):
        fit, follows = edge_evidence(image, mask)
        fits.append(fit)
        following += follows
        for d in (16, 64):
            beats[d] += fit > edge_fit(image, np.roll(mask, (d, d), axis=(0, 1)))
        other = pairs[(i + 1) % len(pairs)][1]
        cut = np.zeros_like(mask)
        h, w = min(mask.shape[0], other.shape[0]), min(mask.shape[1], other.shape[1])
        cut[:h, :w] = other[:h, :w]
        beats["another"] += fit > edge_fit(image, cut)
    n = len(pairs)
    return {
        "folder": folder.name,
        "masks": n,
        f"beat shifted {SHIFT} (the check)": following,
        "beat shifted 16": beats[16],
        "beat shifted 64": beats[64],
        "beat another's mask": beats["another"],
        "median edge fit": round(float(np.median(fits)), 3),
        "edge fit ranks": masks_follow_edges(following, n),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    rows = [check(f) for f in args.folders]
    print(table(rows, list(rows[0])))
    print(f"saved {save('edge_fit', {'machine': machine(), 'rows': rows})}")


if __name__ == "__main__":
    main()

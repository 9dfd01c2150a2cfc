"""The audit's pixel forest alone: how well its out-of-fold mIoU ranks injected label errors,
for settings given on the command line, with no U-Net trained (section 44's choice).

Each ``--seeds`` value makes the corrupted copy ``bench/label_errors.py --seed`` makes (the
same slides, the same kinds of error), in memory; three folds; AUROC and precision among the
worst k of the forest's mIoU and of the masks' edge fit. The images are held in memory (the
timing leaves out reading them).

    python bench/pixel_forest.py ../shared/data/glas-test --seeds 8,9 \\
        --set DOWNSAMPLE=2 --set TREES=30 --set PIXELS_PER_SLIDE=2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table
from label_errors import KINDS, corrupt
from model_free import auroc_and_precision


def corrupted(folder: Path, seed: int, fraction: float = 0.15):
    """The folder's slides and masks, with ``bench/label_errors.py``'s errors for ``seed``."""
    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_mask

    ctx = open_folder(folder)
    n = len(ctx.classes)
    scorable = [s for s in ctx.slides if s.scorable]
    clean = {s.name: read_mask(s.mask_path, ctx.classes) for s in scorable}
    rng = np.random.default_rng(seed)
    k = max(4, round(fraction * len(scorable)))
    chosen = [scorable[i] for i in rng.choice(len(scorable), k, replace=False)]
    masks, bad = dict(clean), {}
    for i, slide in enumerate(chosen):
        others = [m for name, m in clean.items() if name != slide.name]
        masks[slide.name] = corrupt(clean[slide.name], i % 4, rng, others, n)
        bad[slide.name] = KINDS[i % 4]
    return {s.name: s for s in scorable}, masks, bad, n


def main() -> None:
    import seggui.core.pixel_forest as pf
    from seggui.core.audit import assign_folds
    from seggui.core.edge_fit import edge_fit
    from seggui.core.imageio import read_image

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seeds", default="8,9")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE of pixel_forest")
    args = parser.parse_args()
    for item in args.set:
        name, value = item.split("=")
        setattr(pf, name, type(getattr(pf, name))(float(value)))
    chosen = {
        k: getattr(pf, k)
        for k in ("DOWNSAMPLE", "SIGMA_MAX", "TREES", "DEPTH", "MIN_LEAF", "PIXELS_PER_SLIDE")
    }
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        slides, masks, bad, n = corrupted(args.folder, seed)
        names = sorted(slides)
        fold_of = assign_folds(names, 3, 0)
        folds = [
            ([m for m in names if fold_of[m] != k], [m for m in names if fold_of[m] == k])
            for k in range(3)
        ]
        images = {m: read_image(slides[m].image_path) for m in names}
        started = time.monotonic()
        forest = pf.out_of_fold_miou(folds, lambda m, i=images, k=masks: (i[m], k[m]), n)
        seconds = time.monotonic() - started
        edges = {m: edge_fit(images[m], masks[m]) for m in names}
        for label, scores in (("pixel forest's mIoU", forest.miou), ("edge fit", edges)):
            auroc, precision = auroc_and_precision(scores, set(bad))
            rows.append(
                {
                    "seed": seed,
                    "ranking": label,
                    "auroc": round(auroc, 3),
                    "precision_at_k": round(precision, 2),
                    "forest_s": round(seconds, 1),
                    "forest_skill": round(forest.skill, 3),
                }
            )
    print(f"settings: {chosen}")
    print(table(rows, list(rows[0])))
    print(f"saved {save('pixel_forest', {'machine': machine(), 'settings': chosen, 'rows': rows})}")


if __name__ == "__main__":
    main()

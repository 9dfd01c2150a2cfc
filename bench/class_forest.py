"""Can colour and texture alone tell a folder's classes apart? The audit's pixel forest (its
features and trees, more pixels) trained on the folder's training split and scored per class
on its test split, with and without class weights: a class a U-Net does not learn that the
forest does not separate either needs more than pixel statistics (context, or more slides).

    python bench/class_forest.py ../shared/data/gleason
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table

#: Annotated pixels drawn from each training slide (ten times the audit's: all the chance the
#: features have).
PER_SLIDE = 20_000


def class_iou(folder: Path, weights: str | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the forest's IoU on the test split and the test pixels annotated with it."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import confusion_matrix

    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_pair
    from seggui.core.pixel_forest import DEPTH, MIN_LEAF, TREES, pixel_features

    ctx = open_folder(folder)
    by_name = {s.name: s for s in ctx.slides}
    n = len(ctx.classes)

    def pixels(name: str) -> tuple[np.ndarray, np.ndarray]:
        slide = by_name[name]
        image, mask = read_pair(slide.image_path, slide.mask_path, ctx.classes)
        features, factor = pixel_features(image)
        labels = mask[::factor, ::factor][: features.shape[0], : features.shape[1]]
        return features.reshape(-1, features.shape[-1]), labels.ravel()

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for name in ctx.split.train:
        x, y = pixels(name)
        pick = rng.choice(np.flatnonzero(y < n), min(PER_SLIDE, int((y < n).sum())), False)
        xs.append(x[pick])
        ys.append(y[pick])
    forest = RandomForestClassifier(
        TREES,
        max_depth=DEPTH,
        min_samples_leaf=MIN_LEAF,
        class_weight=weights,
        n_jobs=-1,
        random_state=seed,
    ).fit(np.concatenate(xs), np.concatenate(ys))
    confusion = np.zeros((n, n), np.int64)
    for name in ctx.split.test:
        x, y = pixels(name)
        known = y < n
        confusion += confusion_matrix(y[known], forest.predict(x[known]), labels=range(n))
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    return np.diag(confusion) / np.maximum(1, union), confusion.sum(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:  # the split is written beside a copy, not the set
        folder = Path(shutil.copytree(args.folder, Path(tmp) / args.folder.name))
        for weights in (None, "balanced"):
            t = time.monotonic()
            iou, present = class_iou(folder, weights, args.seed)
            row = {"class weights": weights or "none", "seconds": round(time.monotonic() - t, 1)}
            for k, (value, count) in enumerate(zip(iou, present, strict=True)):
                row[f"IoU class {k}"] = round(float(value), 3) if count else "absent"
            rows.append(row)
    print(table(rows, list(rows[0])))
    save("class_forest", {"machine": machine(), "folder": str(args.folder), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much the quick audit's ranking depends on its fold partition, and whether forests of
several partitions together rank better (section 52): for saved ``bench/label_errors.py``
runs, the list's Both column after the product's quick audit on single partitions (seeds
42, 43, ...) and on bags of the first k partitions (each slide scored by the mean
probabilities of the forests that held it out).

Each run's corrupted copy is made again from its seed (the same slides, the same errors,
checked against the run's list) in a temporary folder; its in-sample mIoU per slide comes
from the run's JSON (``per_slide``). No U-Net is trained.

    python bench/forest_partitions.py RUN.json [RUN.json ...] --alone 2 --bags 2,3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table
from label_errors import corrupted_copy
from model_free import quick_audit_rows

BOTH = "quick audit: its Both column"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", type=Path, nargs="+", help="bench/label_errors.py JSON results")
    parser.add_argument("--folder", type=Path, help="the runs' folder, if not where they say")
    parser.add_argument("--alone", type=int, default=2, help="single partitions, seeds 42, ...")
    parser.add_argument("--bags", default="2", help="bags of the first k partitions")
    args = parser.parse_args()
    ways = [(f"partition {42 + r} alone", 42 + r, 1) for r in range(args.alone)]
    ways += [(f"bag of partitions 42-{41 + k}", 42, k) for k in map(int, args.bags.split(","))]
    rows = []
    for path in args.runs:
        run = json.loads(path.read_text())
        seed = run["settings"]["seed"]
        folder = args.folder or Path(run["folder"])
        work, bad, _ = corrupted_copy(folder, seed, len(run["corrupted"]) / run["slides"])
        try:
            if set(bad) != set(run["corrupted"]):
                raise SystemExit(f"{path}: seed {seed} breaks {sorted(bad)}, not the run's")
            in_sample = {name: v["miou"] for name, v in run["per_slide"]["in_sample"].items()}
            for label, audit_seed, partitions in ways:
                (both,) = [
                    r
                    for r in quick_audit_rows(work, in_sample, set(bad), 3, audit_seed, partitions)
                    if r["ranking"].startswith(BOTH)
                ]
                rows.append(
                    {
                        "run": seed,
                        "forests": label,
                        "both_auroc": round(both["auroc"], 3),
                        "precision_at_k": round(both["precision_at_k"], 2),
                        "seconds": both["seconds"],
                    }
                )
        finally:
            shutil.rmtree(work.parent)
    means = [
        {
            "run": "mean",
            "forests": label,
            **{
                key: round(float(np.mean([r[key] for r in rows if r["forests"] == label])), 3)
                for key in ("both_auroc", "precision_at_k", "seconds")
            },
        }
        for label, _, _ in ways
    ]
    print(table(rows + means, list(rows[0])))
    print(f"saved {save('forest_partitions', {'machine': machine(), 'rows': rows + means})}")


if __name__ == "__main__":
    main()

"""How a ranking finds label errors (AUROC, precision among the worst k), and the rankings
that need no U-Net (the masks' edge fit, the pixel forest), alone and in the list's Both
column; used by ``bench/label_errors.py``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def auroc_and_precision(scores: dict[str, float], bad: set[str]) -> tuple[float, float]:
    """Lower score = more suspicious. AUROC and precision among the worst k = len(bad)."""
    from sklearn.metrics import roc_auc_score

    names = [n for n in scores if not np.isnan(scores[n])]
    y = [n in bad for n in names]
    auroc = float(roc_auc_score(y, [-scores[n] for n in names]))
    worst = sorted(names, key=lambda n: scores[n])[: len(bad)]
    return auroc, sum(n in bad for n in worst) / len(bad)


def edge_rows(
    in_sample: dict,
    oos: dict,
    edges: dict[str, float],
    forest: dict[str, float],
    bad: set[str],
    regions: dict[str, float] | None = None,
) -> list:
    """The scores that need no U-Net: the masks' edge fit and the pixel forest's out-of-fold
    mIoU, each alone, and the list's Both column: the mean rank of the in-sample mIoU, the
    out-of-sample mIoU, the edge fit (where the audit kept it), the forest's mIoU (where the
    audit scored it) and, as after a quick audit, the forest's largest issue region
    (``regions``); beside it, Both with the fold models' own issue region instead."""
    from seggui.core.ranking import mean_rank

    scores = [{n: v["miou"] for n, v in in_sample.items()}, {n: v["miou"] for n, v in oos.items()}]
    if not all(np.isnan(v) for v in edges.values()):
        scores.append(edges)
    rankings = [
        ("edge fit of the annotation (no model)", edges),
        (
            "the Both of section 43: mean rank of mIoU in sample, out of sample, edge fit",
            mean_rank(*scores),
        ),
    ]
    if forest:
        rankings += [
            ("pixel forest's mIoU, out of fold", forest),
            (
                "the list's Both: section 43's and the pixel forest's mIoU",
                mean_rank(*scores, forest),
            ),
            (
                "Both without the fold models: mIoU in sample, edge fit, pixel forest",
                mean_rank(scores[0], *scores[2:], forest),
            ),
        ]
    if forest and regions:  # a U-Net audit keeps none: a rescored dump's forest has them
        rankings.append(
            (
                "the list's Both and the forest's largest issue region",
                mean_rank(*scores, forest, {n: -r for n, r in regions.items()}),
            )
        )
    if forest:
        unet_region = {n: v["issue_region"] for n, v in oos.items()}
        rankings.append(
            (
                "the list's Both and the fold models' largest issue region",
                mean_rank(*scores, forest, unet_region),
            )
        )
    rows = []
    for label, ranked in rankings:
        auroc, precision = auroc_and_precision(ranked, bad)
        rows.append({"ranking": label, "auroc": auroc, "precision_at_k": precision})
    return rows


def dumped_forest(
    dump: Path, images: Path, classes: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The pixel forest's out-of-fold mIoU and largest issue region on a dump's (corrupted)
    masks, three folds."""
    from seggui.core.audit import assign_folds
    from seggui.core.imageio import read_image
    from seggui.core.pixel_forest import out_of_fold_miou

    names = sorted(p.stem for p in (dump / "in_sample").glob("*.npz"))
    fold_of = assign_folds(names, 3, 0)
    folds = [
        ([n for n in names if fold_of[n] != k], [n for n in names if fold_of[n] == k])
        for k in range(3)
    ]

    def read(name: str):
        with np.load(dump / "in_sample" / f"{name}.npz") as d:
            return read_image(next(images.glob(f"{name}.*"))), d["truth"]

    t = time.monotonic()
    forest = out_of_fold_miou(folds, read, classes)
    took = time.monotonic() - t
    print(f"pixel forest: {len(forest.miou)} slides in {took:.1f} s, skill {forest.skill:.2f}")
    return forest.miou, {n: q.issue_region for n, q in forest.quality.items()}


def quick_audit_rows(
    folder: Path,
    in_sample_miou: dict[str, float],
    bad: set[str],
    folds: int = 3,
    seed: int | None = None,
    partitions: int | None = None,
) -> list:
    """The product's quick audit (``seggui audit FOLDER --quick``: pixel forests as the
    fold models; by default its seed and partitions) on ``folder``, and the list's rankings
    after it: its Audit column (the forests' mIoU) and its Both column (the mean rank of the
    in-sample mIoU, that mIoU, the edge fit where the masks follow edges and the forest's
    largest issue region), and Both as it was before the issue region."""
    from seggui.core.folder import open_folder
    from seggui.core.quick_audit import PARTITIONS, run_quick_audit
    from seggui.core.ranking import mean_rank
    from seggui.core.train_settings import TrainSettings

    seed = TrainSettings().seed if seed is None else seed
    partitions = PARTITIONS if partitions is None else partitions
    result = run_quick_audit(open_folder(folder), folds, seed, partitions=partitions)
    print(f"quick audit: {result.settings['pixel_forest']}, wall {result.seconds:.1f} s")
    forest = {n: q.miou for n, q in result.slides.items()}
    scores = [in_sample_miou, forest]
    edges = {n: q.edge_fit for n, q in result.slides.items()}
    if not all(np.isnan(v) for v in edges.values()):
        scores.append(edges)
    region = {n: -q.issue_region for n, q in result.slides.items()}
    rows = []
    for label, ranked in (
        ("quick audit: its Audit column (pixel forests' mIoU)", forest),
        ("quick audit: Both without the issue region (before section 48)", mean_rank(*scores)),
        (
            "quick audit: its Both column (mIoU in sample, forests, edge fit, issue region)",
            mean_rank(*scores, region),
        ),
    ):
        auroc, precision = auroc_and_precision(ranked, bad)
        rows.append(
            {
                "ranking": label,
                "auroc": auroc,
                "precision_at_k": precision,
                "seconds": result.seconds,
            }
        )
    return rows

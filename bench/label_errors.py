"""Finding wrong annotations: rankings against label errors injected into a known set of masks.

Run: ``python bench/label_errors.py ../shared/data/glas-test --fraction 0.15 --budget-s 240``

A copy of the folder gets label errors in a known 10-20% of its masks, of four kinds in turn:
a class swapped over a whole region, a region erased to background, the mask shifted by
some pixels, and the mask of another slide. Then the slides are ranked worst first, and each
ranking is scored by AUROC and by precision among the top k (k = number of corrupted
slides). The per-slide evidence comes from two sources: a model trained on the corrupted
folder (in sample), and the audit's fold models (out of sample). Each source's predictions
are pooled per slide several ways (:data:`POOLINGS`): mIoU against the annotation (the
list's mIoU sort), the label quality seggui ranks by (class-balanced mean probability of the
annotated class), Lad & Mueller's softmin, and others. ``--dump DIR`` keeps every prediction so that
other poolings can be tried without training again. Last, the model is trained again
with the corrupted slides marked rejected, and both models are scored on the test split
against the clean masks (``--no-retrain`` skips that). ``--folds`` and ``--audit-budget-s``
set how the audit spends its time (fewer, longer folds or more, shorter ones).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table
from model_free import auroc_and_precision, dumped_forest, edge_rows, quick_audit_rows

KINDS = ("class swapped over a region", "region erased", "shifted", "another slide's mask")


def corrupt(labels: np.ndarray, kind: int, rng, others: list[np.ndarray], n: int) -> np.ndarray:
    from scipy import ndimage

    out = labels.copy()
    h, w = labels.shape
    if kind == 0:  # the largest region of one class becomes another class
        present = [c for c in np.unique(labels) if (labels == c).sum() > 0.05 * labels.size]
        c = present[rng.integers(len(present))]
        comp, count = ndimage.label(labels == c)
        biggest = 1 + int(np.argmax(np.bincount(comp.ravel())[1:])) if count else 0
        out[comp == biggest] = (c + 1 + rng.integers(n - 1)) % n
    elif kind == 1:  # a large region erased to background (class 0)
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        out[y0 : y0 + h // 2, x0 : x0 + w // 2] = 0
    elif kind == 2:  # the whole mask shifted
        dy, dx = (int(v) for v in rng.integers(15, 40, 2))
        out = np.roll(np.roll(labels, dy, axis=0), dx, axis=1)
    else:  # the mask of another slide, cut or padded to this size
        other = others[rng.integers(len(others))]
        out = np.zeros_like(labels)
        oh, ow = min(h, other.shape[0]), min(w, other.shape[1])
        out[:oh, :ow] = other[:oh, :ow]
    return out


POOLINGS = {
    "miou": "mIoU vs annotation (today's sort)",
    "softmin": "softmin of p(annotated), T=0.1 (Lad & Mueller, cleanlab)",
    "label_quality": "label quality: class-balanced mean p(annotated)",
    "mean": "mean p(annotated)",
    "agreement": "share of pixels predicted as annotated",
    "clean": "1 - share of label-issue pixels",
    "block_softmin": "softmin over 32x32-pixel blocks of mean p(annotated)",
    "calibrated": "share predicted as annotated - mean confidence",
    "issue_region": "largest issue region (negated)",
}


def corrupted_copy(
    folder: Path, seed: int, fraction: float
) -> tuple[Path, dict[str, str], dict[str, np.ndarray]]:
    """A temporary copy of ``folder`` with ``fraction`` of its masks broken (seeded): the
    copy, the broken slides' kinds of error, and every scorable slide's clean labels."""
    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_mask
    from seggui.core.mask_store import encode, read_for_edit

    work = Path(tempfile.mkdtemp(prefix="seggui-labels-")) / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".seggui"))
    ctx = open_folder(work)
    n = len(ctx.classes)
    rng = np.random.default_rng(seed)
    scorable = [s for s in ctx.slides if s.scorable]
    k = max(4, round(fraction * len(scorable)))
    chosen = [scorable[i] for i in rng.choice(len(scorable), k, replace=False)]
    clean = {s.name: read_mask(s.mask_path, ctx.classes) for s in scorable}
    bad: dict[str, str] = {}
    for i, slide in enumerate(chosen):
        base = read_for_edit(slide.mask_path, ctx.classes)
        others = [m for name, m in clean.items() if name != slide.name]
        labels = corrupt(base.labels, i % 4, rng, others, n)
        encode(labels, base.fmt, ctx.classes).save(slide.mask_path)
        bad[slide.name] = KINDS[i % 4]
    return work, bad, clean


def poolings(pred, truth: np.ndarray, n: int) -> dict[str, float]:
    """Per-slide scores (lower: annotation more suspicious) from one prediction, each a
    different way to pool the per-pixel evidence."""
    from seggui.core.metrics import Scores
    from seggui.core.quality import (
        annotated_probability,
        issue_mask,
        issue_region,
        slide_quality,
        softmin,
    )

    q = slide_quality(pred.probs, pred.labels, pred.margin, truth)
    p8 = annotated_probability(pred.probs, truth)
    p = p8.astype(np.float32) / 255.0
    h, w = (d - d % 32 for d in p.shape)
    blocks = p[:h, :w].reshape(h // 32, 32, w // 32, 32).mean(axis=(1, 3))
    return {
        "miou": Scores.compare(truth, pred.labels, n).miou,
        "softmin": q.softmin,
        "label_quality": q.label_quality,
        "mean": float(p.mean()),
        "agreement": float(np.mean(pred.labels == truth)),
        "clean": 1.0 - float(issue_mask(p8, pred.labels, truth).mean()),
        "block_softmin": softmin(blocks),
        "calibrated": float(np.mean(pred.labels == truth) - np.mean(pred.confidence)),
        "issue_region": -issue_region(p8),
    }


def ranking_rows(per_slide: dict[str, dict[str, float]], bad: set[str], source: str) -> list:
    """One row per pooling: how well it ranks the corrupted slides first."""
    rows = []
    for pooling, label in POOLINGS.items():
        scores = {name: v[pooling] for name, v in per_slide.items()}
        auroc, precision = auroc_and_precision(scores, bad)
        rows.append({"ranking": f"{label}, {source}", "auroc": auroc, "precision_at_k": precision})
    return rows


SOURCES = {"in_sample": "in sample", "oos": "out of sample (audit)"}

#: Both sources at once: (in-sample pooling, out-of-sample pooling), each slide ranked by
#: the mean of its two rank percentiles (the in-sample model saw every slide, the fold
#: models none of theirs; their errors differ, so the mean may rank better than either).
COMBINED = [("miou", "label_quality"), ("miou", "miou"), ("label_quality", "label_quality")]


def combined_rows(in_sample: dict, oos: dict, bad: set[str]) -> list:
    """One row per pair in :data:`COMBINED`: both sources' rank percentiles averaged."""
    from seggui.core.ranking import mean_rank

    rows = []
    for a, b in COMBINED:
        scores = mean_rank(
            {n: v[a] for n, v in in_sample.items()}, {n: v[b] for n, v in oos.items()}
        )
        auroc, precision = auroc_and_precision(scores, bad)
        label = f"mean rank of {POOLINGS[a]}, in sample, and {POOLINGS[b]}, out of sample"
        rows.append({"ranking": label, "auroc": auroc, "precision_at_k": precision})
    return rows


def rescore(dump: Path, images: Path | None, copy: Path | None = None) -> int:
    """Rank again from the predictions a ``--dump`` run kept (confidence and margin come
    from the 8-bit probabilities, so "calibrated" can differ in the last digits); the edge
    fits need the slides' images (``--images``, or the folder the run recorded); the quick
    audit's rankings need the corrupted copy itself (``--copy``)."""
    from types import SimpleNamespace

    from seggui.core.edge_fit import edge_evidence, masks_follow_edges
    from seggui.core.imageio import read_image

    meta = json.loads((dump / "corrupted.json").read_text())
    images = images or (Path(meta["images"]) if "images" in meta else None)
    rows = []
    sources = {}
    for source, label in SOURCES.items():
        per_slide = sources[source] = {}
        for path in sorted((dump / source).glob("*.npz")):
            with np.load(path) as d:
                top2 = np.sort(d["probs"], axis=-1)[..., -2:].astype(np.float32) / 255.0
                pred = SimpleNamespace(
                    probs=d["probs"],
                    labels=d["labels"],
                    confidence=top2[..., 1],
                    margin=top2[..., 1] - top2[..., 0],
                )
                per_slide[path.stem] = poolings(pred, d["truth"], meta["classes"])
        rows += ranking_rows(per_slide, set(meta["corrupted"]), label)
    rows += combined_rows(sources["in_sample"], sources["oos"], set(meta["corrupted"]))
    if images is not None:
        edges, following = {}, 0
        for path in sorted((dump / "in_sample").glob("*.npz")):
            image = next(images.glob(f"{path.stem}.*"))
            with np.load(path) as d:
                edges[path.stem], follows = edge_evidence(read_image(image), d["truth"])
            following += follows
        print(f"masks following their images' edges: {following} of {len(edges)}")
        if not masks_follow_edges(following, len(edges)):
            edges = dict.fromkeys(edges, float("nan"))
        forest, regions = dumped_forest(dump, images, meta["classes"])
        rows += edge_rows(
            sources["in_sample"], sources["oos"], edges, forest, set(meta["corrupted"]), regions
        )
    if copy is not None:
        in_sample = {n: v["miou"] for n, v in sources["in_sample"].items()}
        rows += quick_audit_rows(copy, in_sample, set(meta["corrupted"]))
    print(f"{dump}: {len(meta['corrupted'])} corrupted of {len(per_slide)} slides")
    print(table(rows, ["ranking", "auroc", "precision_at_k"]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--fraction", type=float, default=0.15)
    parser.add_argument("--budget-s", type=float, default=240, help="seconds per model")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--audit-budget-s",
        type=float,
        help="the whole audit's budget (default: --budget-s x folds)",
    )
    parser.add_argument(
        "--no-retrain",
        action="store_true",
        help="rank only: no training with the broken masks rejected",
    )
    parser.add_argument(
        "--quick-only",
        action="store_true",
        help="no U-Net audit: rank by the in-sample scores and the quick audit only",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", type=Path, help="save every prediction here, for analysis")
    parser.add_argument("--rescore", type=Path, help="rank again from a --dump folder, no training")
    parser.add_argument("--images", type=Path, help="with --rescore: the slides' images")
    parser.add_argument(
        "--copy",
        type=Path,
        help="with --rescore: the run's corrupted copy (printed first), for the quick audit",
    )
    args = parser.parse_args()
    if args.rescore:
        return rescore(args.rescore, args.images, args.copy)
    if not args.folder:
        parser.error("a folder (or --rescore DIR) is needed")

    def observed(source: dict, name: str, pred, truth: np.ndarray) -> None:
        source[name] = poolings(pred, truth, n)
        if args.dump:
            where = args.dump / ("oos" if source is oos else "in_sample")
            where.mkdir(exist_ok=True)
            np.savez_compressed(
                where / f"{name}.npz", probs=pred.probs, labels=pred.labels, truth=truth
            )

    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_image, read_mask
    from seggui.core.metrics import ScoreAccumulator
    from seggui.core.review import ReviewStore
    from seggui.model.audit import run_audit
    from seggui.model.predict import Predictor
    from seggui.model.train import TrainSettings, train

    work, bad, clean = corrupted_copy(Path(args.folder), args.seed, args.fraction)
    ctx = open_folder(work)
    n = len(ctx.classes)
    scorable = [s for s in ctx.slides if s.scorable]
    print(f"{work}: {len(bad)} of {len(scorable)} masks corrupted", file=sys.stderr)
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        images = str(Path(args.folder, "images").resolve())
        meta = {"corrupted": bad, "classes": n, "images": images}
        (args.dump / "corrupted.json").write_text(json.dumps(meta))

    settings = {"epochs": args.epochs, "time_budget_s": args.budget_s}
    t = time.monotonic()
    ctx = open_folder(work)
    noisy = train(ctx, TrainSettings(**settings), make_active=False)
    train_s = time.monotonic() - t
    predictor = Predictor(noisy_model(noisy), noisy.meta.depth)
    in_sample: dict[str, dict[str, float]] = {}
    oos: dict[str, dict[str, float]] = {}
    for slide in ctx.slides:
        if not slide.scorable:
            continue
        truth = read_mask(slide.mask_path, ctx.classes)
        observed(in_sample, slide.name, predictor.predict(read_image(slide.image_path)), truth)

    rows = ranking_rows(in_sample, set(bad), SOURCES["in_sample"])
    audit, audit_s = None, 0.0
    if not args.quick_only:
        t = time.monotonic()
        audit = run_audit(
            ctx,
            TrainSettings(**settings),
            args.folds,
            args.audit_budget_s or args.budget_s * args.folds,
            observe=lambda name, pred, truth: observed(oos, name, pred, truth),
        )
        audit_s = time.monotonic() - t
        assert all(oos[n]["label_quality"] == q.label_quality for n, q in audit.slides.items())
        edges = {name: q.edge_fit for name, q in audit.slides.items() if name in in_sample}
        forest = {n: q.forest_miou for n, q in audit.slides.items() if not np.isnan(q.forest_miou)}
        print(f"masks following their images' edges: {audit.settings['masks_following_edges']}")
        print(f"pixel forest: {audit.settings['pixel_forest']}")
        rows += ranking_rows(oos, set(bad), SOURCES["oos"])
        rows += combined_rows(in_sample, oos, set(bad))
        rows += edge_rows(in_sample, oos, edges, forest, set(bad))
    miou = {n: v["miou"] for n, v in in_sample.items()}
    rows += quick_audit_rows(work, miou, set(bad), args.folds)  # the U-Net audit's folds

    def clean_test_miou(result) -> float:
        p = Predictor(noisy_model(result), result.meta.depth)
        acc = ScoreAccumulator(n)
        for slide in ctx.part("test"):
            acc.add(slide.name, clean[slide.name], p.predict(read_image(slide.image_path)).labels)
        return acc.result().miou

    training = [
        {
            "training": "corrupted slides used",
            "test_miou_clean_masks": clean_test_miou(noisy),
            "seconds": train_s,
        }
    ]
    if not args.no_retrain:
        store = ReviewStore(ctx.workspace)
        for name in bad:
            store.set(name, "rejected")
        store.close()
        t = time.monotonic()
        curated = train(open_folder(work), TrainSettings(**settings), make_active=False)
        training.append(
            {
                "training": "corrupted slides marked rejected",
                "test_miou_clean_masks": clean_test_miou(curated),
                "seconds": time.monotonic() - t,
            }
        )
    result = {
        "benchmark": "label_errors",
        "machine": machine(),
        "folder": args.folder,
        "slides": len(scorable),
        "corrupted": bad,
        "settings": {
            **settings,
            "folds": args.folds,
            "audit_budget_s": args.audit_budget_s or args.budget_s * args.folds,
            "seed": args.seed,
        },
        "audit_seconds": audit_s,
        "audit_skill": audit.skill if audit else None,
        "audit_folds": {
            k: audit.settings[k]
            for k in ("patch", "fold_val_iou", "fold_fit_seconds", "pixel_forest")
            if audit
        },
        "rankings": rows,
        "training": training,
        "worst_first_audit": [name for name, _ in audit.ranked()][: 2 * len(bad)] if audit else [],
        "per_slide": {"in_sample": in_sample, "out_of_sample": oos},
    }
    print(table(rows, ["ranking", "auroc", "precision_at_k"]))
    print(f"k = {len(bad)} corrupted slides")
    print(table(training, ["training", "test_miou_clean_masks", "seconds"]))
    if audit:
        print(f"audit: {audit_s:.0f} s for {args.folds} folds, fold skill {audit.skill:.3f}")
    print(json.dumps(result, indent=1))
    save(f"label_errors-{Path(args.folder).name}", result)
    return 0


def noisy_model(result):
    from seggui.model import store

    return store.load_model(result.model_path)[0]


if __name__ == "__main__":
    raise SystemExit(main())

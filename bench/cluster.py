"""Predict, evaluate and audit on a Dask cluster of this machine against one process.

Run: ``python bench/cluster.py ../shared/data/glas-test --tiles 200 --audit-budget 300``

1. Throughput: 200 real 256x256 tiles cut from the folder's images (with their masks),
   predicted and scored with no cluster (the single-process path with its read-ahead), with a
   local cluster of 1 worker (all cores), 1 worker of 1 core and 2 workers of 1 core each; the
   clusters are started before timing (their start is reported apart), and the scheduler's
   overhead per slide is the wall time not spent in tasks. Outputs are checked byte-identical.
2. A worker killed (SIGKILL) halfway through predicting: time to finish, and every mask
   there once, whole, equal to the single-process run.
3. The audit at one wall-time budget, serial against ``--workers 3``, on a copy of the folder
   with label errors injected as in bench/label_errors.py: the fold models' validation IoU,
   the wall time against the budget, and the ranking (AUROC, precision among the worst k) of
   the audit's label quality next to the in-sample mIoU sort of the list.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table


def cut_tiles(source: Path, out: Path, count: int, size: int = 256) -> Path:
    """``count`` tiles (image and mask) cut on a grid from the folder's slides."""
    from PIL import Image

    from seggui.core.folder import open_folder

    ctx = open_folder(source)
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    made = 0
    while made < count:
        for slide in ctx.slides:
            if not slide.scorable:
                continue
            with Image.open(slide.image_path) as im, Image.open(slide.mask_path) as mk:
                w, h = im.size
                for y in range(0, h - size + 1, size):
                    for x in range(0, w - size + 1, size):
                        if made >= count:
                            return out
                        box = (x, y, x + size, y + size)
                        name = f"t{made:04d}"
                        im.crop(box).save(out / "images" / f"{name}.png")
                        mk.crop(box).save(out / "masks" / f"{name}.png")
                        made += 1
        if made == 0:
            raise SystemExit(f"{source}: no slide with a mask is {size} pixels a side")
    return out


def model_for(folder: Path) -> Path:
    """A model of the folder's classes: trained here for a minute (its quality does not
    matter, only that every path predicts the same with it)."""
    from seggui.core.folder import open_folder
    from seggui.core.train_settings import TrainSettings
    from seggui.model.train import train

    result = train(open_folder(folder), TrainSettings(epochs=50, time_budget_s=60))
    return Path(result.model_path)


def local_cluster(workers: int, threads: int):
    from distributed import Client, LocalCluster

    from seggui.model.cluster import local_env, loopback_cluster_options

    env = local_env(workers)  # what --workers N gives: no limit for one worker
    if threads < (os.cpu_count() or 1):
        env = {**env, "SEGGUI_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    lc = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        env=env,
        **loopback_cluster_options(),
    )
    return lc, Client(lc)


def throughput(folder: Path, work: Path) -> tuple[list[dict], dict]:
    from distributed import get_task_stream

    from seggui.core.folder import open_folder
    from seggui.core.registry import read_meta
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster_jobs import ModelRef
    from seggui.model.cluster_runs import evaluate_on_cluster, predict_on_cluster
    from seggui.model.evaluate import evaluate_slides, predict_slides
    from seggui.model.predict import Predictor

    ctx = open_folder(folder)
    path = model_for(folder)
    meta = read_meta(path)
    ref = ModelRef(str(path), model_hash(path))
    predictor = Predictor.from_path(path, meta)
    predictor.predict(np.zeros((256, 256, 3), np.float32))  # compiled before timing
    n = len(ctx.slides)
    rows = []
    t = time.monotonic()
    predict_slides(predictor, ctx.slides, work / "one", ctx.classes, model_hash=ref.hash)
    predict_s = time.monotonic() - t
    t = time.monotonic()
    reference = evaluate_slides(predictor, ctx.slides, ctx.classes)
    evaluate_s = time.monotonic() - t
    rows.append(_row("no cluster (one process, all cores)", n, predict_s, evaluate_s, None))
    expected = {p.name: p.read_bytes() for p in (work / "one").glob("*.png")}
    for workers, threads in ((1, os.cpu_count() or 1), (1, 1), (2, 1)):
        started = time.monotonic()
        lc, client = local_cluster(workers, threads)
        start_s = time.monotonic() - started
        warm = ctx.slides[: 2 * workers]  # each worker loads the model before timing
        predict_on_cluster(client, ref, warm, work / "warm", ctx.classes)
        out = work / f"w{workers}t{threads}"
        with get_task_stream(client) as ts:
            t = time.monotonic()
            predict_on_cluster(client, ref, ctx.slides, out, ctx.classes)
            predict_s = time.monotonic() - t
        busy = sum(
            s["stop"] - s["start"]
            for task in ts.data
            for s in task["startstops"]
            if s["action"] == "compute"
        )
        t = time.monotonic()
        report, _ = evaluate_on_cluster(
            client, ref, ctx.slides, ctx.classes, work / f"ws{workers}{threads}"
        )
        evaluate_s = time.monotonic() - t
        client.close()
        lc.close()
        same = {p.name: p.read_bytes() for p in out.glob("*.png")} == expected
        equal = np.array_equal(report.overall.confusion, reference.overall.confusion)
        overhead_ms = 1000 * (predict_s * workers - busy) / n
        label = f"--workers {workers}, {threads} core(s) each"
        rows.append(_row(label, n, predict_s, evaluate_s, overhead_ms, start_s, same and equal))
    return rows, expected


def _row(label, n, predict_s, evaluate_s, overhead_ms, start_s=None, identical=None) -> dict:
    return {
        "run": label,
        "predict_slides_per_s": n / predict_s,
        "evaluate_slides_per_s": n / evaluate_s,
        "scheduler_overhead_ms_per_slide": overhead_ms,
        "cluster_start_s": start_s,
        "identical_to_one_process": identical,
    }


def killed_worker(folder: Path, work: Path, expected: dict[str, bytes]) -> dict:
    from seggui.core.folder import open_folder
    from seggui.core.registry import resolve_model
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster_jobs import ModelRef
    from seggui.model.cluster_runs import predict_on_cluster

    ctx = open_folder(folder)
    path = resolve_model(ctx.workspace, None)  # the model throughput() trained, now active
    ref = ModelRef(str(path), model_hash(path))
    lc, client = local_cluster(2, 1)
    predict_on_cluster(client, ref, ctx.slides[:4], work / "warm-k", ctx.classes)
    out = work / "killed"
    pids = client.run(os.getpid)
    done = {}
    t = time.monotonic()
    runner = threading.Thread(
        target=lambda: done.update(r=predict_on_cluster(client, ref, ctx.slides, out, ctx.classes))
    )
    runner.start()
    while len(list(out.glob("t*.png"))) < len(ctx.slides) // 2:
        time.sleep(0.01)
    killed_at = time.monotonic() - t
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    runner.join()
    total = time.monotonic() - t
    client.close()
    lc.close()
    got = {p.name: p.read_bytes() for p in out.glob("*.png")}
    return {
        "killed_after_s": killed_at,
        "finished_after_s": total,
        "masks": len(got),
        "every_mask_once_and_equal": got == expected,
        "partial_files": len([p for p in out.iterdir() if p.name.startswith(".tmp-")]),
    }


def audit_compare(folder: Path, budget: float, workers: int, epochs: int) -> list[dict]:
    """The serial audit and the parallel one at the same budget on a corrupted copy."""
    from label_errors import KINDS, auroc_and_precision, corrupt

    from seggui.core.cluster_address import ClusterSpec
    from seggui.core.folder import open_folder
    from seggui.core.imageio import read_image, read_mask
    from seggui.core.mask_store import encode, read_for_edit
    from seggui.core.metrics import Scores
    from seggui.core.train_settings import TrainSettings
    from seggui.model import store
    from seggui.model.audit import run_audit
    from seggui.model.cluster import open_client
    from seggui.model.predict import Predictor
    from seggui.model.train import train

    work = Path(tempfile.mkdtemp(prefix="seggui-cluster-audit-")) / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".seggui"))
    ctx = open_folder(work)
    n = len(ctx.classes)
    rng = np.random.default_rng(7)
    scorable = [s for s in ctx.slides if s.scorable]
    k = max(4, round(0.15 * len(scorable)))
    clean = {s.name: read_mask(s.mask_path, ctx.classes) for s in scorable}
    bad = set()
    for i, j in enumerate(rng.choice(len(scorable), k, replace=False)):
        slide = scorable[j]
        base = read_for_edit(slide.mask_path, ctx.classes)
        others = [m for name, m in clean.items() if name != slide.name]
        encode(corrupt(base.labels, i % 4, rng, others, n), base.fmt, ctx.classes).save(
            slide.mask_path
        )
        bad.add(slide.name)
    print(f"{len(bad)} of {len(scorable)} masks corrupted ({', '.join(KINDS)})", file=sys.stderr)
    rows = []
    # The list's simple sort: one model trained in sample for the same wall time.
    t = time.monotonic()
    fitted = train(
        open_folder(work),
        TrainSettings(epochs=epochs, time_budget_s=budget * 0.85),
        make_active=False,
    )
    model, meta = store.load_model(fitted.model_path)
    predictor = Predictor(model, meta.depth)
    miou = {}
    for s in open_folder(work).slides:
        if s.scorable:
            truth = read_mask(s.mask_path, ctx.classes)
            labels = predictor.predict(read_image(s.image_path)).labels
            miou[s.name] = Scores.compare(truth, labels, n).miou
    auroc, prec = auroc_and_precision(miou, bad)
    rows.append(
        {
            "audit": "in-sample mIoU sort (one model)",
            "wall_s": time.monotonic() - t,
            "budget_s": budget,
            "auroc": auroc,
            "precision_at_k": prec,
            "fold_val_iou": None,
        }
    )
    for parallel in (False, True):
        where = f"--workers {workers}" if parallel else "one process"
        t = time.monotonic()
        settings = TrainSettings(epochs=epochs)
        if parallel:
            with open_client(ClusterSpec(workers=workers)) as client:
                result = run_audit(open_folder(work), settings, 3, budget, started=t, client=client)
        else:
            result = run_audit(open_folder(work), settings, 3, budget, started=t)
        wall = time.monotonic() - t
        quality = {name: q.label_quality for name, q in result.slides.items()}
        auroc, prec = auroc_and_precision(quality, bad)
        rows.append(
            {
                "audit": f"audit, 3 folds, {where}",
                "wall_s": wall,
                "budget_s": budget,
                "auroc": auroc,
                "precision_at_k": prec,
                "fold_val_iou": result.settings["fold_val_iou"],
                "fold_fit_s": result.settings["fold_fit_seconds"],
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--audit-budget", type=float, default=300)
    parser.add_argument("--audit-workers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--skip-audit", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seggui-cluster-"))
    tiles = cut_tiles(args.folder, work / "tiles", args.tiles)
    rows, expected = throughput(tiles, work)
    print(table(rows, list(rows[0])))
    kill = killed_worker(tiles, work, expected)
    print(json.dumps(kill, indent=1))
    audit = (
        []
        if args.skip_audit
        else audit_compare(args.folder, args.audit_budget, args.audit_workers, args.epochs)
    )
    if audit:
        print(
            table(audit, ["audit", "wall_s", "budget_s", "auroc", "precision_at_k", "fold_val_iou"])
        )
    result = {
        "benchmark": "cluster",
        "machine": machine(),
        "folder": str(args.folder),
        "tiles": args.tiles,
        "throughput": rows,
        "killed_worker": kill,
        "audit": audit,
    }
    save("cluster", result)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

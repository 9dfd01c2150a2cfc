"""int8 (NNCF post-training quantisation) against the default precision: agreement and speed.

Run: ``python bench/int8.py [--real ../shared/data/glas-test] [--minutes 3] [--rounds 5]``.

Two models: the bundled one on a demo folder, and one trained for ``--minutes`` on a copy of
a real folder (the copy lives in a temporary directory). Each is quantised as ``seggui
quantize`` does (calibrated on training slides, checked on test slides); then the int8 copy,
the default precision (bf16 where the CPU has it) and fp32 are timed on a 512x512 tile in
alternating rounds, so a noisy machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, save, table

SHARED = Path(os.environ.get("SEGGUI_SHARED_DATA", HERE.parent.parent / "shared" / "data"))


def images_of(ctx, names, limit):
    from seggui.core.imageio import read_image

    out = []
    for name in names[:limit]:
        slide = ctx.scan.get(name)
        if slide is not None and slide.usable:
            out.append(read_image(slide.image_path))
    return out


def measure(label: str, folder: Path, model_path: Path, rounds: int) -> dict:
    import numpy as np

    from seggui.core.folder import open_folder
    from seggui.core.registry import read_meta
    from seggui.model.cpu import cpu_has_bf16
    from seggui.model.int8 import XmlRunner, calibration_tiles, int8_paths, quantize_and_check
    from seggui.model.ovcache import build_ir, ir_path

    ctx = open_folder(folder)
    meta = read_meta(model_path)
    xml = ir_path(model_path)
    if not xml.exists():
        build_ir(model_path, meta, xml)
    started = time.monotonic()
    check = quantize_and_check(
        xml,
        calibration_tiles(images_of(ctx, ctx.split.train, 32), 32),
        images_of(ctx, ctx.split.test, 16),
    )
    quantise_s = time.monotonic() - started
    default = "bf16" if cpu_has_bf16() else "f32"
    runners = {
        "int8": XmlRunner(int8_paths(xml)[0], default),
        default: XmlRunner(xml, default),
        "f32": XmlRunner(xml, "f32"),
    }
    tile = np.random.default_rng(0).random((1, 512, 512, 3), dtype=np.float32)
    times = {name: [] for name in runners}
    for runner in runners.values():
        runner(tile)
    for _ in range(rounds):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner(tile)
            times[name].append((time.perf_counter() - start) * 1000)
    ms = {name: statistics.median(t) for name, t in times.items()}
    return {
        "model": label,
        "changed_vs_fp32": check.changed,
        "check_slides": check.check_images,
        "ms_int8": ms["int8"],
        f"ms_{default}": ms[default],
        "ms_f32": ms["f32"],
        "int8_vs_default": ms["int8"] / ms[default],
        "agrees": check.agrees,
        "used": check.used,
        "quantise_s": quantise_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", default=str(SHARED / "glas-test"))
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from seggui.core.demo import write_demo
    from seggui.core.folder import open_folder
    from seggui.core.registry import bundled_model_path
    from seggui.model.train import TrainSettings, train

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SEGGUI_DATA_DIR"] = str(Path(tmp) / "user")
        demo = write_demo(Path(tmp) / "demo", count=24, seed=5)
        bundled = Path(tmp) / "bundled.keras"
        shutil.copy(bundled_model_path(), bundled)
        shutil.copy(bundled_model_path().with_suffix(".json"), bundled.with_suffix(".json"))
        rows.append(measure("bundled (demo)", demo, bundled, args.rounds))
        print(table(rows, list(rows[0])), flush=True)
        if Path(args.real).is_dir():
            real = Path(tmp) / Path(args.real).name
            shutil.copytree(args.real, real, ignore=shutil.ignore_patterns(".seggui"))
            settings = TrainSettings(epochs=1000, time_budget_s=60 * args.minutes)
            result = train(open_folder(real), settings, make_active=False)
            label = f"trained {args.minutes:g} min on {real.name} (mIoU {result.meta.test_metrics['miou']:.2f})"
            rows.append(measure(label, real, result.model_path, args.rounds))
    print(table(rows, list(rows[0])))
    save("int8", {"benchmark": "int8", "machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

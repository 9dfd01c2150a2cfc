"""What the softmax costs in seggui's OpenVINO graph: OpenVINO's Softmax kernel against the
same probabilities written as ``exp(x - logsumexp(x))`` (what the runners compile now).

Run: ``python bench/ov_softmax.py [--rounds 10]``. The bundled model's converted copy and its
int8 copy (made as the window makes it, ``seggui quantize --if-missing``) on one 512x512
tile, at the precision this CPU runs by default; both graphs compiled in one process and timed
in alternating rounds of 5 calls, so the machine's drift falls on both. Prints ms per tile
(median and min) and the ratio. ``ONEDNN_MAX_CPU_ISA=AVX2`` runs the kernels an AVX2-only CPU
would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import machine, save, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seggui-softmax-"))
    os.environ["SEGGUI_DATA_DIR"] = str(tmp / "user")
    from seggui.core.demo import write_demo
    from seggui.core.registry import bundled_model_path, read_meta
    from seggui.model.cpu import cpu_has_bf16
    from seggui.model.int8 import XmlRunner, int8_paths, read_check
    from seggui.model.ovcache import cached_runner, ir_path

    model = bundled_model_path()
    demo = write_demo(tmp / "demo", count=12, seed=11)
    cached_runner(model, read_meta(model))  # converts the model once
    cmd = [sys.executable, "-m", "seggui", "quantize", str(demo), "--model", str(model)]
    subprocess.run([*cmd, "--if-missing"], check=True, capture_output=True, env=os.environ)
    xml = ir_path(model)
    copies = [("converted copy", xml)]
    if int8_paths(xml)[0].exists():
        copies.append((f"int8 copy ({read_check(xml).reason()})", int8_paths(xml)[0]))
    precision = "bf16" if cpu_has_bf16() else "f32"
    tile = np.random.default_rng(0).random((1, 512, 512, 3), np.float32)
    rows = []
    for name, path in copies:
        runners = {}
        for fuse in (False, True):
            runners[fuse] = XmlRunner(path, precision)
            runners[fuse].fuse_softmax = fuse
            for _ in range(3):
                runners[fuse](tile)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for fuse, runner in runners.items():
                for _ in range(5):
                    start = time.perf_counter()
                    runner(tile)
                    times[fuse].append((time.perf_counter() - start) * 1000)
        kernel, lse = (statistics.median(times[f]) for f in (False, True))
        rows.append(
            {
                "copy": name,
                "precision hint": precision,
                "Softmax kernel ms": round(kernel, 1),
                "kernel min": round(min(times[False]), 1),
                "logsumexp ms": round(lse, 1),
                "logsumexp min": round(min(times[True]), 1),
                "kernel / logsumexp": f"{kernel / lse:.3f}",
            }
        )
    print(table(rows, list(rows[0])))
    print(f"saved {save('ov_softmax', {'machine': machine(), 'rows': rows})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

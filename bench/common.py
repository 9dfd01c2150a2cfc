"""Shared helpers for the benchmarks: the machine, repeated timing, table and JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


WATCHED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def machine() -> dict:
    """The CPU (name, cores and the vector flags the fast paths choose by), for each result,
    with oneDNN's instruction-set cap where one is set (``ONEDNN_MAX_CPU_ISA=AVX2`` runs the
    kernels an AVX2-only CPU would)."""
    from seggui.model.devices import cpu_info

    cpu, flags = cpu_info()
    return {
        "cpu": cpu or platform.processor() or "",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "flags": [f for f in WATCHED_FLAGS if f in flags],
        **({"isa cap": cap} if (cap := os.environ.get("ONEDNN_MAX_CPU_ISA")) else {}),
    }


def repeat(fn: Callable[[], object], runs: int, warmup: int = 1) -> dict:
    """Median and min wall time of ``fn`` in milliseconds over ``runs`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs}


def table(rows: list[dict], columns: list[str]) -> str:
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    line = " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    sep = "-|-".join("-" * w for w in widths)
    body = [
        " | ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True))
        for r in rows
    ]
    return "\n".join([line, sep, *body])


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:.1f}"
    return str(v)


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def to_side(a, resample, side: int = 512):
    """An image or mask resized to ``side`` x ``side``, as the notebook feeds its model."""
    import numpy as np
    from PIL import Image

    if a.shape[:2] == (side, side):
        return a
    if a.dtype == np.uint8:
        return np.asarray(Image.fromarray(a).resize((side, side), resample))
    u8 = Image.fromarray((a * 255).astype(np.uint8)).resize((side, side), resample)
    return np.asarray(u8, np.float32) / 255


def notebook_arrays(ctx):
    """The notebook's training data: every training image and mask of the folder resized to
    512x512 and stacked into one array each (``x``, ``y``)."""
    import numpy as np
    from PIL import Image

    from seggui.core.imageio import read_image, read_mask

    train = [s for s in ctx.part("train") if s.scorable]
    x = np.stack([to_side(read_image(s.image_path), Image.Resampling.BILINEAR) for s in train])
    y = np.stack(
        [to_side(read_mask(s.mask_path, ctx.classes), Image.Resampling.NEAREST) for s in train]
    )
    return x, y

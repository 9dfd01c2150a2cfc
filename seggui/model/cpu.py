"""What the CPU can do, read without importing TensorFlow."""

from __future__ import annotations

import functools
import os


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matrix units that oneDNN uses."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


#: Set by a local cluster in each of its worker processes: the cores each may use.
THREADS_ENV = "SEGGUI_THREADS"


def worker_threads() -> int:
    """This process's share of the cores when it is one of several workers on the machine
    (0: no limit, use them all)."""
    try:
        return max(0, int(os.environ.get(THREADS_ENV, "0")))
    except ValueError:
        return 0


def inference_streams() -> int:
    """How many images a batch job (``seggui predict``, a folder's masks) predicts at once:
    one OpenVINO stream per core on up to two cores (measured: two streams of one thread gave
    1.1-1.2x the tiles per second of one request on both), else one per two cores (not
    measured: OpenVINO's throughput mode chooses streams of a few threads on larger CPUs)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the cores this process may use
    cores = worker_threads() or (len(affinity(0)) if affinity else os.cpu_count() or 1)
    return cores if cores <= 2 else cores // 2

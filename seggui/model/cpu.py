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

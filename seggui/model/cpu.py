"""What the CPU can do, read without importing TensorFlow."""

from __future__ import annotations

import functools
import os

#: oneDNN's instruction-set caps (``ONEDNN_MAX_CPU_ISA``) below its bf16 kernels: a process
#: started with one (to run as an AVX2-only CPU would) has no bf16 units to use.
ISA_CAPS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matrix units that oneDNN uses (and may use)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISA_CAPS_WITHOUT_BF16:
        return False
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

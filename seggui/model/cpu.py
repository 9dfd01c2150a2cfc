"""What the CPU can do, read without importing TensorFlow."""

from __future__ import annotations

import functools


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matrix units that oneDNN uses."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags

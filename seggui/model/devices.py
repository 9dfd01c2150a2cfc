"""What a fit runs on: the GPUs TensorFlow sees (name and count), else the CPU (its name,
cores and the vector units the fast paths choose by). Shown in the retrain panel and the
command line when training starts, and saved in the model's metadata."""

from __future__ import annotations

import os


def cpu_info() -> tuple[str, set[str]]:
    """The CPU's name and its flags, as /proc/cpuinfo gives them (empty where it does not)."""
    name, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("model name") and not name:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return name, flags


def cpu_description() -> str:
    """``"AMD EPYC 7B13, 2 cores, avx2 fma"``: the CPU and the vector units that matter."""
    name, flags = cpu_info()
    units = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    parts = [name or "CPU", f"{os.cpu_count()} cores"] + ([" ".join(units)] if units else [])
    return ", ".join(parts)


def training_devices() -> dict:
    """``{"kind": "GPU" | "CPU", "count": n, "names": [...]}`` as TensorFlow sees them."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return {"kind": "CPU", "count": 1, "names": [cpu_description()]}
    names = []
    for gpu in gpus:
        try:
            names.append(
                tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            )
        except (ValueError, RuntimeError):
            names.append(gpu.name)
    return {"kind": "GPU", "count": len(gpus), "names": names}


def describe(devices: dict) -> str:
    """One line: ``"2 GPUs: NVIDIA H200, NVIDIA H200"`` or ``"CPU: ..."``."""
    if devices["kind"] == "GPU":
        many = "s" if devices["count"] > 1 else ""
        return f"{devices['count']} GPU{many}: {', '.join(devices['names'])}"
    return f"CPU: {devices['names'][0]}"

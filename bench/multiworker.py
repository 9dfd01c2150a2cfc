"""Does Keras 3 train under ``tf.distribute.MultiWorkerMirroredStrategy`` with the versions we
install? (tensorflow#72388 and keras#20585 report that it fails on TensorFlow >= 2.16.)

Run: ``python bench/multiworker.py``

Two worker processes on 127.0.0.1 (``TF_CONFIG`` with two free loopback ports) each build
seggui's U-Net inside the strategy's scope, compile it and fit three steps on real-sized random
batches; each prints whether it got through and, if not, the error's last line. The result
goes to ``bench/results/multiworker.json`` and BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, save

WORKER = r"""
import json, os, sys, traceback
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from seggui.model.unet import build_unet
try:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_unet(4, 4, 2)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.rand(8, 64, 64, 3).astype("float32")
    y = np.random.randint(0, 4, (8, 64, 64)).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    history = model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    print(json.dumps({"ok": True, "loss": float(history.history["loss"][-1]),
                      "tf": tf.__version__, "keras": keras.__version__}))
except Exception as exc:
    traceback.print_exc(file=sys.stderr)
    print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
                      "tf": tf.__version__, "keras": keras.__version__}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "CUDA_VISIBLE_DEVICES": ""}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    workers = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            workers.append({"ok": False, "error": "no result in 300 s (hung)"})
            continue
        last = out.strip().splitlines()[-1] if out.strip() else ""
        try:
            workers.append(json.loads(last))
        except ValueError:
            tail = err.strip().splitlines()[-1] if err.strip() else f"exit {p.returncode}"
            workers.append({"ok": False, "error": tail})
    result = {
        "benchmark": "multiworker",
        "machine": machine(),
        "works": all(w.get("ok") for w in workers),
        "workers": workers,
    }
    print(json.dumps(result, indent=1))
    save("multiworker", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

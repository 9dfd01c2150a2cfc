"""The window: start-up, first prediction, next-slide latency, and UI stalls.

Run: ``python bench/gui.py [FOLDER] [--steps 20]`` (offscreen; the demo folder by default).
Measures, in one child process started by this script: time from launch to the window shown
and to the first prediction shown; next-slide latency (p50, p95) with the prediction cache
cold and warm; and the longest stall of the UI event loop (a 10 ms QTimer heartbeat's worst
lateness) while predicting and while training in the retrain panel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table


def child(folder: str | None, steps: int, launched: float, train_s: float) -> dict:
    from PyQt6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from seggui.gui.main_window import MainWindow

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1600, 950)
    win.show()
    app.processEvents()
    shown = time.monotonic() - launched

    class Heartbeat:
        def __init__(self):
            self.timer = QTimer()
            self.timer.setInterval(10)
            self.clock = QElapsedTimer()
            self.worst = 0.0
            self.timer.timeout.connect(self.beat)

        def beat(self):
            late = self.clock.restart() - 10
            self.worst = max(self.worst, late)

        def start(self):
            self.worst = 0.0
            self.clock.start()
            self.timer.start()

        def stop(self) -> float:
            self.timer.stop()
            return self.worst

    beat = Heartbeat()

    def wait_until(cond, timeout=300.0):
        end = time.monotonic() + timeout
        loop = QEventLoop()
        while not cond():
            if time.monotonic() > end:
                n = win.current
                raise TimeoutError(
                    f"{n}: loaded {n in win.loaded}, predicted "
                    f"{n in win.predictions}, loader wants "
                    f"{win.loader._wanted}, done {sorted(win.loader._finished)}"
                    f" problems {win.slide_list.model.extra_problems}"
                )
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    def shown_with_prediction():
        name = win.current
        return name is not None and name in win.loaded and name in win.predictions

    beat.start()
    if folder:
        win.open_folder(folder)
    else:
        win.open_demo()
    wait_until(shown_with_prediction)
    first_prediction = time.monotonic() - launched
    stall_startup = beat.stop()  # includes importing TensorFlow in the worker thread
    beat.start()
    names = win.slide_list.ordered_names()
    start_row = 0

    def step_through(direction: int) -> list[float]:
        out = []
        for _ in range(steps):
            t = time.monotonic()
            win.slide_list.step(direction)
            wait_until(shown_with_prediction)
            out.append((time.monotonic() - t) * 1000)
        return out

    win.predictor.want([win.current], [])  # no background work: cold means cold
    cold = step_through(1)
    stall_predicting = beat.stop()
    beat.start()
    warm = step_through(-1)
    stall_warm = beat.stop()

    panel = win.retrain
    panel.epochs.setValue(100)
    panel.start()
    wait_until(lambda: panel.progress.value() > 0)
    beat.start()
    end = time.monotonic() + train_s
    scrolled = 0
    while time.monotonic() < end:
        win.slide_list.step(1 if scrolled % 20 < 10 else -1)  # scroll the list meanwhile
        scrolled += 1
        wait_until(lambda: True)
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    stall_training = beat.stop()
    panel.cancel()
    wait_until(lambda: not panel.running, 120)
    win.close()
    del start_row, names

    def pct(values, q):
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]

    return {
        "window_shown_s": shown,
        "first_prediction_s": first_prediction,
        "next_cold_p50_ms": pct(cold, 50),
        "next_cold_p95_ms": pct(cold, 95),
        "next_warm_p50_ms": pct(warm, 50),
        "next_warm_p95_ms": pct(warm, 95),
        "max_stall_startup_ms": stall_startup,
        "max_stall_predicting_ms": stall_predicting,
        "max_stall_warm_ms": stall_warm,
        "max_stall_training_ms": stall_training,
        "steps": steps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--train-s", type=float, default=30.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.folder, args.steps, args.launched, args.train_s)))
        return 0
    env = dict(os.environ)
    env.setdefault("SEGGUI_DATA_DIR", tempfile.mkdtemp(prefix="seggui-bench-"))
    launched = time.monotonic()
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--launched",
        str(launched),
        "--steps",
        str(args.steps),
        "--train-s",
        str(args.train_s),
    ]
    if args.folder:
        cmd.append(args.folder)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return 1
    row = json.loads(out.stdout.strip().splitlines()[-1])
    result = {
        "benchmark": "gui",
        "machine": machine(),
        "folder": args.folder or "demo",
        "rows": [row],
    }
    print(table([{"metric": k, "value": v} for k, v in row.items()], ["metric", "value"]))
    print(json.dumps(result, indent=1))
    save("gui", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

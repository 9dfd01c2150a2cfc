"""Soak: step through many slides in the window with prediction on; watch for leaks.

Run: ``python bench/soak.py [--slides 2000] [--size 128]`` (offscreen). Generates a demo
folder of ``--slides`` tiles, opens it, and steps to every slide, waiting for each to be
shown with its prediction. Reports resident memory, threads and open file descriptors at the
start and every 10% of the way, and the step time of the first and the last 10%, so growth
and slow-down show as numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import machine, save, table


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slides", type=int, default=2000)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()

    from PyQt6.QtCore import QEventLoop, QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from seggui.core.demo import write_demo
    from seggui.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="seggui-soak-"))
    os.environ["SEGGUI_DATA_DIR"] = str(tmp / "user")
    folder = write_demo(tmp / "demo", count=args.slides, seed=3, size=args.size)
    app = QApplication(sys.argv[:1])
    win = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    app.processEvents()

    def wait_until(cond, timeout=120.0):
        end = time.monotonic() + timeout
        loop = QEventLoop()
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(win.current)
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    def ready():
        n = win.current
        return n is not None and n in win.loaded and n in win.predictions

    win.open_folder(folder)
    wait_until(lambda: win.slide_list.model.rowCount() == args.slides)
    wait_until(ready)
    rows, steps = [], []
    checkpoint = max(1, args.slides // 10)
    for i in range(args.slides - 1):
        if i % checkpoint == 0:
            rows.append(
                {"step": i, "rss_mb": rss_mb(), "threads": threading.active_count(), "fds": fds()}
            )
        t = time.monotonic()
        win.slide_list.step(1)
        wait_until(ready)
        steps.append((time.monotonic() - t) * 1000)
    rows.append(
        {
            "step": args.slides - 1,
            "rss_mb": rss_mb(),
            "threads": threading.active_count(),
            "fds": fds(),
        }
    )
    win.close()
    tenth = max(1, len(steps) // 10)
    summary = {
        "slides": args.slides,
        "size": args.size,
        "rss_growth_mb": rows[-1]["rss_mb"] - rows[1]["rss_mb"] if len(rows) > 2 else 0.0,
        "threads_start_end": [rows[0]["threads"], rows[-1]["threads"]],
        "fds_start_end": [rows[0]["fds"], rows[-1]["fds"]],
        "first_10pct_step_ms_median": statistics.median(steps[:tenth]),
        "last_10pct_step_ms_median": statistics.median(steps[-tenth:]),
    }
    result = {"benchmark": "soak", "machine": machine(), "summary": summary, "rows": rows}
    print(table(rows, ["step", "rss_mb", "threads", "fds"]))
    print(table([{"metric": k, "value": str(v)} for k, v in summary.items()], ["metric", "value"]))
    print(json.dumps(result, indent=1))
    save("soak", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
import shutil
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
    parser.add_argument("--folder", help="an existing demo folder (skips generating one)")
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="no stepping: time the background scoring of the whole folder (slides/s)",
    )
    args = parser.parse_args()

    from PyQt6.QtCore import QEventLoop, QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from seggui.core.demo import write_demo
    from seggui.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="seggui-soak-"))
    os.environ["SEGGUI_DATA_DIR"] = str(tmp / "user")
    if args.folder:
        folder = Path(args.folder)
        shutil.rmtree(folder / ".seggui", ignore_errors=True)  # a fresh open: no split, no cache
    else:
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
                raise TimeoutError(win.session.current)
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    def ready():
        n = win.session.current
        return n is not None and n in win.session.loaded and n in win.session.predictions

    opened = time.monotonic()
    win.open_folder(folder)
    wait_until(
        lambda: win.session.current is not None and win.session.current in win.session.loaded
    )
    first_slide_s = time.monotonic() - opened
    wait_until(lambda: win.slide_list.model.rowCount() == args.slides)
    wait_until(ready)
    first_prediction_s = time.monotonic() - opened
    print(
        f"first slide shown {first_slide_s:.2f} s after open, its prediction {first_prediction_s:.2f} s"
    )
    if args.score_only:
        records = win.session.facts.records
        scope_total = records.count("folder")[1]
        started = time.monotonic()
        done0 = records.count("folder")[0]
        wait_until(lambda: records.count("folder")[0] >= scope_total, timeout=3600)
        seconds = time.monotonic() - started
        summary = {
            "slides": args.slides,
            "size": args.size,
            "first_slide_s": first_slide_s,
            "first_prediction_s": first_prediction_s,
            "scored": scope_total - done0,
            "scoring_s": seconds,
            "slides_per_s": (scope_total - done0) / seconds,
        }
        win.close()
        print(
            table([{"metric": k, "value": str(v)} for k, v in summary.items()], ["metric", "value"])
        )
        save(
            f"score-{args.slides}", {"benchmark": "score", "machine": machine(), "summary": summary}
        )
        return 0
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
        "first_slide_s": first_slide_s,
        "first_prediction_s": first_prediction_s,
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

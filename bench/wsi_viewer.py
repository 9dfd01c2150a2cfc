"""The whole-slide viewer in the real window (offscreen, 1600 x 1000), on the large demo
slide (`seggui demo --wsi`, 40,960 x 40,960): time from choosing the slide to its first
full view, UI-thread time per pan and zoom step (p95), the longest stall of the event loop,
and the process's RSS while panning across the whole slide at full resolution. The bundled
model predicts the tissue meanwhile, as it does for a user.

    QT_QPA_PLATFORM=offscreen python bench/wsi_viewer.py [--size 40960] [--slide-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, save, table

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=40960)
    parser.add_argument("--slide-dir", help="a folder made by `seggui demo --wsi` (else made)")
    args = parser.parse_args()

    from PyQt6.QtCore import QElapsedTimer, QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from seggui.core.demo_wsi import NAME, write_demo_wsi

    tmp = Path(tempfile.mkdtemp(prefix="seggui-wsi-viewer-"))
    folder = Path(args.slide_dir) if args.slide_dir else tmp / "slide"
    if not (folder / f"{NAME}.tiff").exists():
        t = time.perf_counter()
        write_demo_wsi(folder, args.size)
        print(f"made the demo slide in {time.perf_counter() - t:.0f} s")
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    app = QApplication([])
    from seggui.gui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()

    # The event loop's longest gap: a 2 ms heartbeat that notes when it ran late.
    beat = {"last": time.perf_counter(), "worst": 0.0, "on": False}

    def heartbeat():
        now = time.perf_counter()
        if beat["on"]:
            beat["worst"] = max(beat["worst"], now - beat["last"])
        beat["last"] = now

    timer = QTimer()
    timer.timeout.connect(heartbeat)
    timer.start(2)

    def pump(until, limit=120.0):
        end = time.perf_counter() + limit
        while not until() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.002)

    win.open_folder(folder)
    pump(lambda: win.whole.current is not None or win.session.current is not None)
    pump(lambda: win.whole.current is not None)
    pair, whole = win.wsi_views, win.whole
    left, right = pair.views()

    def drawn(overlays: bool = True) -> bool:
        keys = [
            k
            for v in (left, right)
            for part in v.visible_keys()[: 2 if overlays else 1]
            for k in part
        ]
        return all(k in whole.cache for k in keys)

    # First view: choose the slide again from the list, as a user going back to it.
    win.slide_list.select(NAME)
    pump(drawn)
    win.whole.leave()
    t = time.perf_counter()
    win.show_slide(NAME)
    pump(lambda: whole.current is not None)
    opened = time.perf_counter() - t
    pump(lambda: drawn(False))
    first_view = time.perf_counter() - t
    pump(drawn)
    overlays_view = time.perf_counter() - t

    steps = []
    clock = QElapsedTimer()

    def step(action) -> None:
        clock.start()
        action()
        for v in (left, right):
            v.viewport().repaint()  # the paint, synchronously, on this thread
        steps.append(clock.nsecsElapsed() / 1e6)
        pump(lambda: False, 0.03)  # tiles arrive between steps, as they would

    beat["on"] = True
    beat["last"] = time.perf_counter()
    for _ in range(16):  # overview to full resolution, about the centre
        step(lambda: pair.zoom(1.25))
    pump(drawn, 20)
    for _ in range(12):  # and back out
        step(lambda: pair.zoom(0.8))
    zoom_steps = list(steps)

    # Pan across the whole slide at full resolution: rows of steps of a third of the view.
    pair.actual_size()
    w0, h0 = whole.current.slide.dimensions
    rss = [rss_mb()]
    view_w = left.viewport().width()
    for y in np.linspace(view_w, h0 - view_w, 6):
        for x in np.linspace(view_w, w0 - view_w, 40):
            step(lambda x=x, y=y: left.centerOn(float(x), float(y)))
            rss.append(rss_mb())
    beat["on"] = False
    pan_steps = steps[len(zoom_steps) :]
    done, total, _ = whole.current.progress()

    def stats(values):
        a = np.asarray(values)
        return {
            "steps": len(a),
            "median ms": round(float(np.median(a)), 2),
            "p95 ms": round(float(np.percentile(a, 95)), 2),
            "max ms": round(float(a.max()), 2),
        }

    rows = [{"what": "zoom", **stats(zoom_steps)}, {"what": "pan", **stats(pan_steps)}]
    result = {
        "machine": machine(),
        "slide": f"{w0} x {h0}",
        "open s": round(opened, 3),
        "first view s (image tiles of the level)": round(first_view, 3),
        "overlays drawn s (annotation parsed, prediction overview)": round(overlays_view, 3),
        "steps": rows,
        "longest event-loop stall ms": round(1000 * beat["worst"], 1),
        "rss MB start / max / end of pan": [round(rss[0]), round(max(rss)), round(rss[-1])],
        "cache MB": round(whole.cache.bytes / 2**20),
        "tissue tiles predicted meanwhile": f"{done} of {total}",
    }
    print(table(rows, ["what", "steps", "median ms", "p95 ms", "max ms"]))
    for k, v in result.items():
        if k not in ("steps", "machine"):
            print(f"{k}: {v}")
    print(f"saved {save('wsi_viewer', result)}")
    win.close()


if __name__ == "__main__":
    main()

"""The window: start-up, first prediction, next-slide latency, and UI stalls.

Run: ``python bench/gui.py [FOLDER] [--steps 20]`` (offscreen; the demo folder by default).
``python bench/gui.py --editor`` measures the layered viewer and the mask editor instead, on a
2048x2048 slide: UI-thread time per opacity or class change, per mouse move while painting
(with the screen update of the changed region), a fill of half the slide, its undo, and
saving; each against the old way (re-blending the whole slide) measured in the same run.
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

import numpy as np
from common import machine, save, table

from seggui.core.overlay import boundaries


def blend(
    image: np.ndarray,
    labels: np.ndarray,
    colors: np.ndarray,
    opacity: float = 0.5,
    visible: np.ndarray | None = None,
    contour: bool = False,
) -> np.ndarray:
    """The old way, kept here as the baseline: ``image`` (uint8 RGB) with each visible class
    painted in its colour.

    ``visible`` is a boolean per class; with ``contour`` only class borders are painted (at
    full strength, so thin lines stay readable).
    """
    n = len(colors)
    if visible is None:
        visible = np.ones(n, dtype=bool)
    safe = np.minimum(labels, n - 1)
    paint = np.asarray(visible, dtype=bool)[safe]
    if contour:
        paint &= boundaries(labels)
        alpha = 1.0
    else:
        alpha = float(np.clip(opacity, 0.0, 1.0))
    out = image.copy()
    if alpha <= 0 or not paint.any():
        return out
    colored = colors[safe[paint]].astype(np.float32)
    base = image[paint].astype(np.float32)
    out[paint] = np.round(base * (1 - alpha) + colored * alpha).astype(np.uint8)
    return out


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
                n = win.session.current
                raise TimeoutError(
                    f"{n}: loaded {n in win.session.loaded}, predicted "
                    f"{n in win.session.predictions}, loader wants "
                    f"{win.session.loader._wanted}, done {sorted(win.session.loader._finished)}"
                    f" problem {win.session.facts.problem(win.session.current)}"
                )
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    def shown_with_prediction():
        name = win.session.current
        return name is not None and name in win.session.loaded and name in win.session.predictions

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

    win.session.predictor.want([win.session.current], [])  # no background work: cold means cold
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


def editor_child(size: int, moves: int) -> dict:
    import numpy as np
    from PyQt6.QtCore import QPointF, QSettings, Qt
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from seggui.core.demo import write_demo
    from seggui.gui.main_window import MainWindow
    from seggui.gui.viewer.canvas import to_pixmap

    folder = write_demo(Path(tempfile.mkdtemp()) / "big", count=2, seed=2, size=size)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1600, 950)
    win.show()
    win.open_folder(folder)

    def wait_until(cond, timeout=600.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError("slide or prediction never arrived")
            app.processEvents()
            time.sleep(0.005)

    wait_until(
        lambda: (
            win.session.current in win.session.loaded
            and win.session.current in win.session.predictions
        )
    )
    app.processEvents()
    name = win.session.current
    loaded = win.session.loaded[name]
    views = (win.views.left, win.views.right)
    colors = win.session.ctx.classes.colors

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1000

    def repaint_views():
        for v in views:
            v.viewport().repaint()

    def old_way():  # what the window did before the layers: blend both views, make pixmaps
        visible = win.overlay.visible()
        pred = win.session.predictions[name].labels
        for labels in (loaded.mask, pred):
            to_pixmap(blend(loaded.image, labels, colors, 0.45, visible))

    def pct(values, q):
        return float(np.percentile(values, q))

    rows = {}
    base = [timed(old_way) for _ in range(5)]
    rows["baseline: re-blend both views (old way)"] = base
    opacity = [
        timed(lambda v=v: (win.overlay.opacity.setValue(v), repaint_views()))
        for v in range(20, 80, 3)
    ]
    rows["opacity slider step + repaint of both views (fit)"] = opacity
    check = win.overlay.class_checks[1]
    toggles = [
        timed(lambda: (check.setChecked(not check.isChecked()), repaint_views())) for _ in range(20)
    ]
    rows["class show/hide + repaint of both views (fit)"] = toggles

    canvas = win.views.left
    win.editor.set_tool("brush")
    win.editor.set_size(16)

    def send(kind, xy, button, buttons):
        pos = QPointF(canvas.mapFromScene(QPointF(*xy)))
        ev = QMouseEvent(
            kind,
            pos,
            canvas.viewport().mapToGlobal(pos),
            button,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas.viewport(), ev)

    left = Qt.MouseButton.LeftButton
    none = Qt.MouseButton.NoButton

    def stroke(label: str) -> None:
        xs = np.linspace(size * 0.2, size * 0.8, moves)
        ys = size * 0.5 + size * 0.2 * np.sin(np.linspace(0, 6, moves))
        send(QMouseEvent.Type.MouseButtonPress, (xs[0], ys[0]), left, left)
        app.processEvents()
        per_move = []
        for x, y in zip(xs[1:], ys[1:], strict=True):
            per_move.append(
                timed(
                    lambda x=x, y=y: (
                        send(QMouseEvent.Type.MouseMove, (x, y), none, left),
                        app.processEvents(),
                    )
                )
            )
        send(QMouseEvent.Type.MouseButtonRelease, (xs[-1], ys[-1]), left, none)
        app.processEvents()
        rows[label] = per_move

    win.views.fit()
    app.processEvents()
    stroke("paint: per mouse move incl. screen update (fit)")
    win.views.actual_size()
    canvas.centerOn(size / 2, size / 2)
    app.processEvents()
    stroke("paint: per mouse move incl. screen update (1:1)")
    win.overlay.contour.setChecked(True)
    app.processEvents()
    stroke("paint: per mouse move, contour view (1:1)")
    win.overlay.fill.setChecked(True)

    edit = win.session.edits[name]
    edit.labels[:, : size // 2] = 0  # a region of exactly half the slide
    edit.labels[:, size // 2 :] = 1
    win.session.layers_changed(name, (0, size, 0, size))
    win.views.fit()
    app.processEvents()
    win.editor.set_tool("fill")
    win.editor.set_class(2)

    def fill():
        send(QMouseEvent.Type.MouseButtonPress, (size * 0.25, size * 0.5), left, left)
        send(QMouseEvent.Type.MouseButtonRelease, (size * 0.25, size * 0.5), left, none)
        app.processEvents()

    rows["fill half the slide"] = [timed(fill)]
    assert (edit.labels[:, : size // 2] == 2).all()
    rows["undo that fill"] = [timed(lambda: (win.editor.undo(), app.processEvents()))]
    assert (edit.labels[:, : size // 2] == 0).all()
    rows["save: UI thread (snapshot, queue)"] = [timed(lambda: win.session.save(name))]
    t = time.perf_counter()
    win.session.saver.flush()
    rows["save: in the saver thread (PNG write)"] = [(time.perf_counter() - t) * 1000]
    win.close()
    return {
        "size": size,
        "rows": [
            {
                "what": k,
                "n": len(v),
                "p50_ms": pct(v, 50),
                "p95_ms": pct(v, 95),
                "vs_old_way": pct(base, 50) / max(pct(v, 95), 1e-6),
            }
            for k, v in rows.items()
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--train-s", type=float, default=30.0)
    parser.add_argument("--editor", action="store_true", help="measure the viewer and editor")
    parser.add_argument("--size", type=int, default=2048, help="editor slide size")
    parser.add_argument("--moves", type=int, default=200, help="mouse moves per stroke")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.editor:
        print(json.dumps(editor_child(args.size, args.moves)))
        return 0
    if args.child:
        print(json.dumps(child(args.folder, args.steps, args.launched, args.train_s)))
        return 0
    if args.editor:
        return run_editor(args)
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


def run_editor(args) -> int:
    env = dict(os.environ)
    env.setdefault("SEGGUI_DATA_DIR", tempfile.mkdtemp(prefix="seggui-bench-"))
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--editor",
        "--size",
        str(args.size),
        "--moves",
        str(args.moves),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return 1
    data = json.loads(out.stdout.strip().splitlines()[-1])
    result = {"benchmark": "gui-editor", "machine": machine(), **data}
    print(table(data["rows"], ["what", "n", "p50_ms", "p95_ms", "vs_old_way"]))
    print(json.dumps(result, indent=1))
    save("gui-editor", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

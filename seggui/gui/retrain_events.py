"""What the training child says, line by line, turned into the retrain panel's progress,
curves, status and signals."""

from __future__ import annotations

import math
import time
from pathlib import Path

from seggui.core import registry as store


def _fmt(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d} left"


class ChildEvents:
    """Part of :class:`~seggui.gui.retrain.RetrainPanel` (which holds the widgets)."""

    def _handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "status":
            self.status.setText(event.get("message", ""))
        elif kind == "progress":
            epochs, batches = event["epochs"], max(1, event["batches"])
            if event.get("message"):
                self.status.setText(event["message"].capitalize() + "…")
                return
            done = (event["epoch"] - 1) * batches + event["batch"]
            left = event.get("eta")
            budget = self._budget_s
            elapsed = time.monotonic() - self._started_at
            if budget:
                by_budget = max(0.0, budget - elapsed)
                left = by_budget if left is None else min(left, by_budget)
                share = min(1.0, elapsed / budget)
                self.progress.setMaximum(1000)
                self.progress.setValue(
                    max(int(1000 * share), int(1000 * done / (epochs * batches)))
                )
            else:
                self.progress.setMaximum(epochs * batches)
                self.progress.setValue(done)
            self.time_left.setText(_duration(left))
            share = self.progress.value() / max(1, self.progress.maximum())
            self.progress_line.emit(f"{self._what} {share:.0%} · {_duration(left)}")
            if event.get("loss") is not None and not event.get("epoch_end"):
                self._losses.append((event["epoch"] - 1 + event["batch"] / batches, event["loss"]))
            if event.get("epoch_end"):
                if event.get("val_iou") is not None:
                    self._val.append((event["epoch"], event["val_iou"]))
                self.status.setText(
                    f"Epoch {event['epoch']}/{epochs}: loss "
                    f"{_fmt(event.get('loss'))}, validation IoU "
                    f"{_fmt(event.get('val_iou'))}"
                )
            now = time.monotonic()
            if event.get("epoch_end") or now - self._last_plot > 0.25:
                self._last_plot = now
                if self._losses:
                    xs, ys = zip(*self._losses)
                    self.loss_curve.setData(list(xs), list(ys))
                if self._val:
                    xs, ys = zip(*self._val)
                    self.iou_curve.setData(list(xs), list(ys))
        elif kind == "done":
            self.last_result = event
            new = event.get("test_metrics", {}).get("miou")
            old = None
            if self.active_path is not None:
                try:
                    old = store.read_meta(self.active_path).test_metrics.get("miou")
                except store.ModelError:
                    old = None
            self.compare.setText(
                f"New version {Path(event['model_path']).stem}: test mIoU "
                f"{_fmt(new)} (active model: {_fmt(old)}). Select it and make "
                "it active to use it."
            )
            self.status.setText("Finished: the new version is listed below.")
            self.time_left.setText("")
            for name, reason in (event.get("skipped") or {}).items():
                self.message.emit(f"Skipped {name} in training: {reason}")
        elif kind == "audit_done":
            self.last_result = event
            self.status.setText(
                f"Audit finished: {event['slides']} slides scored out of sample in "
                f"{event['seconds']:.0f} s. Sort the list by label quality: worst first."
            )
            self.time_left.setText("")
            self.audited.emit(event["audit_path"])
        elif kind == "cancelled":
            self.last_result = event
            self.status.setText(
                "Cancelled: no new version was saved; the active model is unchanged."
            )
            self.time_left.setText("")
        elif kind == "error":
            self.last_result = event
            self.status.setText(f"Training failed: {event.get('message')}")
            self.message.emit(f"Training failed: {event.get('message')}")

    def _finished(self, code: int, status) -> None:
        self._read()
        if self.last_result is None:
            err = bytes(self.process.readAllStandardError()).decode(errors="replace").strip()
            tail = err.splitlines()[-1] if err else f"exit code {code}"
            self.last_result = {"type": "error", "message": tail}
            self.status.setText(f"Training stopped unexpectedly: {tail}")
            self.message.emit(f"Training stopped unexpectedly: {tail}")
        self.process.deleteLater()
        self.process = None
        self.start_button.setEnabled(self.ctx is not None)
        self.audit_button.setEnabled(self.ctx is not None)
        self.cancel_button.setEnabled(False)
        self.progress_line.emit("")
        self.refresh_versions()
        if self.last_result.get("type") == "done":
            paths = [str(p) for p in self._version_paths]
            if self.last_result["model_path"] in paths:
                self.versions.selectRow(paths.index(self.last_result["model_path"]))
        self.stopped.emit()

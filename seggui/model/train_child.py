"""Training in a child process, spoken to over pipes (used by the window's retrain panel).

Run as ``python -m seggui.model.train_child SPEC_JSON``. It prints one JSON object per line
(``progress``, then ``done``, ``cancelled`` or ``error``) and cancels when it reads ``cancel``
on stdin or stdin closes (the window went away). A crash here cannot take the window with it,
and the engine's atomic saving means it cannot leave a half-written model either.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback

from seggui.core import train_events as events
from seggui.core.cancel import CancelToken
from seggui.core.train_settings import TrainSettings


def _emit(event: events.Event) -> None:
    sys.stdout.write(events.to_line(event) + "\n")
    sys.stdout.flush()


def _watch_stdin(token: CancelToken) -> None:
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    token.cancel()


def _yield_to_the_window() -> None:
    """Run below the window's priority, so that training never makes the UI wait."""
    try:
        os.nice(10)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    _yield_to_the_window()
    token = CancelToken()
    threading.Thread(target=_watch_stdin, args=(token,), daemon=True).start()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from seggui.core.folder import open_folder

        ctx = open_folder(spec["folder"])
        settings = TrainSettings(**spec.get("settings", {}))
        if spec.get("mode") == "audit" and spec.get("quick"):
            return _quick_audit(ctx, settings, spec, token)
        _emit(events.Status("loading TensorFlow"))
        from seggui.model.train import train

        if spec.get("mode") == "audit":
            return _audit(ctx, settings, spec, token)
        from seggui.model.devices import describe, training_devices

        where = describe(training_devices())
        _emit(events.Status(f"training on {len(ctx.part('train'))} slides ({where})"))
        result = train(
            ctx,
            settings,
            progress=_emit,
            cancel=token,
            make_active=bool(spec.get("make_active", False)),
        )
    except Exception as exc:  # noqa: BLE001  (reported to the window, which shows it)
        traceback.print_exc()  # stderr: the panel shows its last line if no event came
        _emit(events.Failed(f"{type(exc).__name__}: {exc}"))
        return 1
    if result.cancelled:
        _emit(events.RunCancelled())
        return 0
    _make_int8(ctx, result, token)
    _emit(events.Done(str(result.model_path), result.meta.test_metrics, result.skipped))
    return 0


def _make_int8(ctx, result, token: CancelToken) -> None:
    """The new version's int8 copy and its check, so that prediction is fast from the first
    use (used only where it agrees with fp32 and is faster); a failure here never fails the
    training, whose model is already saved."""
    if token.cancelled or os.environ.get("SEGGUI_INT8_BACKGROUND", "1") == "0":
        return
    try:
        from seggui.model.int8 import ensure_int8
    except ImportError:
        return  # no OpenVINO: prediction runs on TensorFlow
    _emit(events.Status("checking an int8 copy of the new model"))
    try:
        check = ensure_int8(ctx, result.model_path, result.meta)
    except Exception:  # noqa: BLE001  (the model is saved; only the int8 copy failed)
        traceback.print_exc()
        return
    if check is not None:
        _emit(events.Status(f"int8 copy: {check.reason()}"))


def _audit(ctx, settings, spec: dict, token: CancelToken) -> int:
    from contextlib import nullcontext

    from seggui.core.cluster_address import ClusterSpec
    from seggui.model.audit import run_audit
    from seggui.model.cluster import check_shared, open_client

    folds = int(spec.get("folds", 3))
    where = ClusterSpec.from_json(spec.get("cluster"))
    _emit(events.Status(f"auditing labels with {folds} fold models on {where.describe()}"))
    with open_client(where) if where.used else nullcontext() as client:
        if client is not None:
            check_shared(client, [str(ctx.root), str(ctx.workspace)])
        result = run_audit(
            ctx,
            settings,
            folds,
            float(spec.get("time_budget_s", 0.0)),
            progress=_emit,
            cancel=token,
            started=float(spec.get("started", 0.0)) or None,
            client=client,
        )
    return _audit_done(ctx, result)


def _quick_audit(ctx, settings, spec: dict, token: CancelToken) -> int:
    """Pixel forests as the fold models: no TensorFlow, seconds."""
    from seggui.core.quick_audit import run_quick_audit

    folds = int(spec.get("folds", 3))
    _emit(events.Status(f"quick audit: a pixel forest for each of {folds} folds"))

    shown = [-1]

    def report(done: int, total: int) -> None:
        if done * 100 // total != shown[0]:  # a folder of thousands: one line a percent
            shown[0] = done * 100 // total
            _emit(events.Status(f"quick audit: {done} of {total} slides read"))

    return _audit_done(ctx, run_quick_audit(ctx, folds, settings.seed, report, token))


def _audit_done(ctx, result) -> int:
    """Save a finished audit and tell the window, or tell it the audit was cancelled."""
    from seggui.core.audit import save_audit

    if result is None:
        _emit(events.RunCancelled())
        return 0
    path = save_audit(ctx.workspace, result)
    _emit(
        events.AuditDone(
            str(path), len(result.slides), result.seconds, result.caution(), result.advice()
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The audit's folds as Dask tasks: each fold model trains in a worker process of its own.

A task gets the folder's path and its fold's slide names (never pixels), an end time on the
wall clock (workers may be other machines; their clocks are assumed in step, as NTP keeps
them), and the name of a Dask ``Event`` that the client sets to cancel: the fit then stops
within a batch, as it does in one process. Each task publishes its latest progress in a Dask
``Variable`` that the client reads while it waits.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict

from seggui.core.audit import FoldPlan
from seggui.core.cancel import CancelToken
from seggui.core.folder import FolderContext
from seggui.core.train_settings import TrainSettings
from seggui.model.audit import FoldResult, run_fold
from seggui.model.progress import TrainProgress

POLL_S = 1.0


def fold_task(
    root: str,
    plan: FoldPlan,
    settings: TrainSettings,
    ends_at: float | None,
    tta: bool,
    run_id: str,
) -> FoldResult:
    """Run one fold in this worker (``ends_at``: ``time.time()``)."""
    from distributed import Event, Variable, get_client, get_worker

    from seggui.core.folder import open_folder

    token = CancelToken()
    client = get_client()  # the worker's own, usable from the watching thread too
    cancelled = Event(f"{run_id}-cancel", client=client)
    stop_watching = threading.Event()

    def watch() -> None:
        while not stop_watching.is_set():
            try:
                if cancelled.wait(timeout=POLL_S):
                    token.cancel()
                    return
            except Exception:  # noqa: BLE001  (the cluster is closing: nothing left to cancel)
                return

    threading.Thread(target=watch, daemon=True).start()
    progress = Variable(f"{run_id}-fold{plan.k}", client=client)
    last = [0.0]

    def report(p: TrainProgress) -> None:
        now = time.monotonic()
        if now - last[0] >= POLL_S or p.epoch_end:
            last[0] = now
            progress.set(asdict(p))

    try:
        ends_by = None if ends_at is None else time.monotonic() + (ends_at - time.time())
        ctx = open_folder(root)
        result = run_fold(ctx, plan, settings, ends_by, report, token, tta)
        result.where = get_worker().address
        return result
    finally:
        stop_watching.set()


def run_folds_on_cluster(
    client,
    ctx: FolderContext,
    plans: list[FoldPlan],
    settings: TrainSettings,
    ends_by: float | None,
    tta: bool,
    report: Callable[[TrainProgress], None],
    cancel: CancelToken,
) -> list[FoldResult] | None:
    """Every fold as a task, side by side; None when cancelled (the tasks are stopped)."""
    from distributed import Event, Variable, wait

    run_id = f"seggui-audit-{uuid.uuid4().hex[:12]}"
    ends_at = _fold_ends(client, len(plans), ends_by)
    variables = [Variable(f"{run_id}-fold{plan.k}", client=client) for plan in plans]
    for plan, v in zip(plans, variables, strict=True):  # set first: reading never waits
        v.set(asdict(TrainProgress(1, settings.epochs, 0, 1, float("nan"), message="starting")))
    futures = [
        client.submit(
            fold_task,
            str(ctx.root),
            plan,
            settings,
            ends_at[plan.k],
            tta,
            run_id,
            key=f"{run_id}-fold{plan.k}",
            pure=False,
            priority=len(plans) - plan.k,  # in order: the first wave's folds start first
        )
        for plan in plans
    ]
    try:
        while True:
            try:
                wait(futures, timeout=POLL_S)
                break
            except TimeoutError:
                pass
            if cancel.cancelled:
                raise KeyboardInterrupt
            _report_slowest(variables, len(plans), report)
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        Event(f"{run_id}-cancel", client=client).set()
        client.cancel(futures)
        if cancel.cancelled:
            return None
        raise
    finally:
        for v in variables:
            v.delete()


def _fold_ends(client, folds: int, ends_by: float | None) -> list[float | None]:
    """Each fold's end on the wall clock: with fewer task slots than folds, the folds run in
    waves, and each wave ends at its share of the time left."""
    if ends_by is None:
        return [None] * folds
    slots = max(1, sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
    waves = -(-folds // slots)
    now_wall, left = time.time(), ends_by - time.monotonic()
    return [now_wall + left * (k // slots + 1) / waves for k in range(folds)]


def _report_slowest(variables, folds: int, report: Callable[[TrainProgress], None]) -> None:
    """The progress of the fold furthest behind (the audit ends when it does)."""
    from distributed import TimeoutError as DaskTimeout

    seen = []
    for k, v in enumerate(variables):
        try:
            seen.append((k, TrainProgress(**v.get(timeout=0.05))))
        except (DaskTimeout, TimeoutError, TypeError):
            continue
    if not seen:
        return
    k, p = min(seen, key=lambda kp: (kp[1].epoch, kp[1].batch))
    report(TrainProgress(**{**asdict(p), "message": f"{folds} folds in parallel; fold {k + 1}"}))

"""Sending a batch command's slides to Dask distributed, and taking the results back.

seggui runs no scheduler of its own: ``--workers N`` starts Dask's ``LocalCluster`` of N
processes on this machine (loopback only, each with its share of the cores), ``--cluster
ADDRESS`` uses a scheduler the lab already runs. Workers must see the folder, the model and
the output folder at the same paths as this machine (a shared filesystem): that is checked on
every worker before anything is submitted, so a missing mount is one clear message, not a
failure per slide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.cluster_address import ClusterSpec, check_spec
from seggui.model.cluster_jobs import visible
from seggui.model.cpu import THREADS_ENV

#: How often a wait for results looks at the cancel token (seconds).
POLL_S = 0.5


class ClusterError(RuntimeError):
    """The cluster could not be used (not reachable, paths not shared): what and why."""


def local_env(workers: int) -> dict[str, str]:
    """Each local worker's share of this machine's cores, for OpenVINO and TensorFlow. A
    single worker gets no limit: it runs as one process would, with the same kernels (given
    an explicit count of all the cores, OpenVINO chose other kernels here, whose masks
    differed from one process's in a few pixels)."""
    if workers <= 1:
        return {"TF_CPP_MIN_LOG_LEVEL": "3"}
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {
        THREADS_ENV: threads,
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def loopback_cluster_options() -> dict:
    """Options that keep a ``LocalCluster`` on 127.0.0.1 with no dashboard. Dask's scheduler
    serves its health and metrics pages even without a dashboard, by default on port 8787:
    on a port the system picks instead, two clusters (or a lab's own Dask) never contend for
    it."""
    return {
        "host": "127.0.0.1",
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
    }


@contextmanager
def open_client(spec: ClusterSpec) -> Iterator:
    """A Dask client for ``spec`` (checked first: a refused address is never connected to);
    a local cluster is shut down on leaving."""
    from distributed import Client, LocalCluster
    from distributed.security import Security

    spec = check_spec(spec)
    if spec.workers:
        with (
            LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                env=local_env(spec.workers),
                **loopback_cluster_options(),
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    security = None
    if spec.tls:
        security = Security(
            tls_ca_file=spec.tls_ca,
            tls_client_cert=spec.tls_cert,
            tls_client_key=spec.tls_key,
            require_encryption=True,
        )
    try:
        client = Client(spec.address, security=security, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {spec.address}: {exc}") from exc
    with client:
        yield client


def check_shared(client, paths: Sequence[str]) -> None:
    """Raise :class:`ClusterError` unless every worker sees every path in ``paths``."""
    client.wait_for_workers(1, timeout=60)
    missing = {w: m for w, m in client.run(visible, [str(p) for p in paths]).items() if m}
    if missing:
        worker, paths_missing = next(iter(missing.items()))
        raise ClusterError(
            f"{len(missing)} worker(s) cannot see {paths_missing[0]} (e.g. {worker}): the "
            "workers need the folder, the model and the output folder on a shared filesystem, "
            "at the same paths as on this machine"
        )


def run_tasks(
    client,
    fn: Callable,
    calls: Sequence[tuple],
    keys: Sequence[str],
    progress: ProgressFn = no_progress,
    label: str = "",
    cancel: CancelToken | None = None,
) -> list:
    """``fn(*call)`` for every call as a task on the cluster; the results in the calls' order.

    Ctrl+C, ``cancel`` (raising :class:`Cancelled`) or any error here cancels what has not
    finished: finished tasks have already written their results, which stay. A task on a
    worker that dies is run again by the scheduler on another."""
    from distributed import wait

    run = uuid.uuid4().hex[:8]  # keys of this run only: never another run's cached result
    futures = [
        client.submit(fn, *call, key=f"{key}-{run}") for call, key in zip(calls, keys, strict=True)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(futures)
    pending, done = list(futures), 0
    try:
        while pending:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                finished, rest = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in finished:
                results[index[future.key]] = future.result()
                done += 1
            pending = list(rest)
            progress(done, len(futures), label)
    except BaseException:
        client.cancel(futures)
        raise
    return results

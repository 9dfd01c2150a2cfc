"""What the ``seggui`` subcommands share: one-line errors, the progress bar, opening a folder
and its model."""

from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager


class CliError(Exception):
    """A failure to report in one line."""


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        final = total and done >= total
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else 0
        bar = "#" * filled + "-" * (width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {message}"
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
            if final:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def open_context(folder: str):
    from seggui.core.folder import open_folder
    from seggui.core.slides import FolderError
    from seggui.core.split import SplitError

    try:
        return open_folder(folder, ProgressBar("scan"))
    except (FolderError, SplitError) as exc:
        raise CliError(str(exc)) from exc


def load_predictor(ctx, explicit: str | None):
    """``(path, predictor, meta)``; with OpenVINO and a converted copy, without TensorFlow."""
    from seggui.core.registry import ModelError, read_meta, resolve_model
    from seggui.model.predict import Predictor

    path = resolve_model(ctx.workspace, explicit)
    try:
        if not path.exists():
            raise ModelError(f"{path}: model file not found")
        meta = read_meta(path)
        return path, Predictor.from_path(path, meta), meta
    except ModelError as exc:
        raise CliError(str(exc)) from exc


def check_classes(ctx, meta) -> None:
    if not meta.classes.same_as(ctx.classes):
        raise CliError(
            f"the model's classes ({', '.join(meta.classes.names)}) are not this folder's "
            f"({', '.join(ctx.classes.names)}), so its predictions cannot be scored against "
            f"these masks; train a model for this folder: `seggui train {ctx.root} --minutes 10`"
        )


def progress_text(p) -> str:
    """A training progress report as one line; numbers that are not known yet are left out
    (no epoch before the first: an audit's pixel forest runs before any fold model)."""
    parts = [f"epoch {p.epoch}/{p.epochs}"] if p.epoch > 0 else []
    if p.loss is not None and math.isfinite(p.loss):
        parts.append(f"loss {p.loss:.4f}")
    if p.val_iou is not None and math.isfinite(p.val_iou):
        parts.append(f"val_iou {p.val_iou:.3f}")
    if p.eta is not None:
        parts.append(f"eta {p.eta:.0f}s")
    if p.message:
        parts.append(p.message)
    return " ".join(parts)


def rate(slides: int, seconds: float) -> None:
    """How fast a batch command went, on stderr (stdout may be JSON)."""
    if slides:
        print(
            f"{slides} slides in {seconds:.1f} s: {slides / max(seconds, 1e-9):.2f} slides/s",
            file=sys.stderr,
        )


def add_cluster_arguments(p) -> None:
    """``--cluster``/``--workers`` and the TLS files: where a batch command's slides go."""
    g = p.add_argument_group("cluster (Dask distributed; workers share the filesystem)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDRESS", help="a running Dask scheduler")
    where.add_argument(
        "--workers", type=int, metavar="N", help="start a local cluster of N processes"
    )
    g.add_argument("--tls-ca", metavar="FILE", default="", help="CA certificate (TLS)")
    g.add_argument("--tls-cert", metavar="FILE", default="", help="this client's certificate")
    g.add_argument("--tls-key", metavar="FILE", default="", help="this client's private key")
    g.add_argument(
        "--insecure",
        action="store_true",
        help="allow a scheduler on another machine without TLS (trusted networks only)",
    )


def cluster_spec(args):
    """The checked :class:`~seggui.core.cluster_address.ClusterSpec` of the command line, or
    None without ``--cluster``/``--workers``; a refused address fails here, unconnected."""
    from seggui.core.cluster_address import (
        ClusterRefused,
        ClusterSpec,
        check_spec,
        insecure_warning,
    )

    if getattr(args, "workers", None) is not None and args.workers < 1:
        raise CliError("--workers must be at least 1")
    if not (getattr(args, "cluster", None) or getattr(args, "workers", None)):
        return None
    spec = ClusterSpec(
        args.cluster or "",
        args.workers or 0,
        args.tls_ca,
        args.tls_cert,
        args.tls_key,
        args.insecure,
    )
    try:
        spec = check_spec(spec)
    except ClusterRefused as exc:
        raise CliError(str(exc)) from exc
    warning = insecure_warning(spec)
    if warning:
        print(warning, file=sys.stderr)
    return spec


def model_ref(path, tta: bool = False):
    """The model as cluster workers find it (path and content hash)."""
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster_jobs import ModelRef

    return ModelRef(str(path.resolve()), model_hash(path), tta)


@contextmanager
def cluster_client(spec, paths: list[str], kept: str):
    """A client of ``spec``'s cluster whose workers see ``paths``; a cluster failure is one
    line, and Ctrl+C says that the ``kept`` results finished so far stay."""
    from seggui.model.cluster import ClusterError, check_shared, open_client

    print(f"sending the work to {spec.describe()}", file=sys.stderr)
    try:
        with open_client(spec) as client:
            check_shared(client, [str(p) for p in paths])
            yield client
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    except KeyboardInterrupt:
        print(
            f"cancelled: the {kept} finished so far are kept; run again to go on", file=sys.stderr
        )
        raise


def predict_with_cluster(spec, ctx, ref, meta, out):
    """``(masks, skipped, problems)``: the tiles' masks written into ``out`` and the whole
    slides' tissue tiles into their stores, by the cluster."""
    from seggui.model.cluster_runs import predict_on_cluster

    out.mkdir(parents=True, exist_ok=True)
    with cluster_client(spec, [ctx.root, ref.path, out, ctx.workspace], "masks") as client:
        written, skipped, problems = predict_on_cluster(
            client, ref, ctx.slides, out, meta.classes, ProgressBar("predict")
        )
        problems += whole_slide_tiles(client, ctx, ref, meta)
    return written, skipped, problems


def whole_slide_tiles(client, ctx, ref, meta) -> list:
    """The folder's whole slides' tissue tiles predicted by the cluster into their stores
    (then stitched or scored here as after a run in one process); the problems."""
    from pathlib import Path

    from seggui.core.predcache import model_key
    from seggui.model.cluster_runs import predict_whole_slides_on_cluster

    if not ctx.scan.whole_slides:
        return []
    return predict_whole_slides_on_cluster(
        client,
        ref,
        model_key(Path(ref.path)),
        ctx.scan.whole_slides,
        ctx.workspace,
        meta.depth,
        ProgressBar("whole-slide tiles"),
    )

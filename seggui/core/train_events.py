"""What a training or audit run reports, as typed events sent over a pipe as JSON lines.

The training child writes one event per line; the retrain panel reads them back into the
same classes, so the two sides share one definition instead of matching dict keys by
convention. An unknown or malformed line is refused with ``ValueError``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields


@dataclass
class TrainProgress:
    """One report from a running fit: where it is, how it goes and how long is left."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    val_iou: float | None = None
    val_loss: float | None = None
    elapsed: float = 0.0
    eta: float | None = None
    epoch_end: bool = False
    message: str = ""


@dataclass
class Status:
    """What the run is doing before the fit reports progress (loading, preparing)."""

    message: str


@dataclass
class Done:
    """A new model version was saved and scored on the test split."""

    model_path: str
    test_metrics: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)


@dataclass
class AuditDone:
    """An audit finished; its results are saved at ``audit_path``."""

    audit_path: str
    slides: int
    seconds: float
    caution: str = ""  # the audit's models learned too little to rank: what to tell the user
    advice: str = ""  # otherwise, which sort to use


@dataclass
class RunCancelled:
    """The run was cancelled: nothing was saved."""


@dataclass
class Failed:
    """The run failed with ``message``; nothing was saved."""

    message: str


KINDS: dict[str, type] = {
    "progress": TrainProgress,
    "status": Status,
    "done": Done,
    "audit_done": AuditDone,
    "cancelled": RunCancelled,
    "error": Failed,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}
Event = TrainProgress | Status | Done | AuditDone | RunCancelled | Failed
FINAL = (Done, AuditDone, RunCancelled, Failed)


def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_line(event: Event) -> str:
    """The event as one JSON line (NaN and infinities become null)."""
    data = {k: _clean(v) for k, v in asdict(event).items()}
    return json.dumps({"type": _KIND_OF[type(event)], **data})


def from_line(line: str | bytes) -> Event:
    """The event a line holds; ``ValueError`` for anything else."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("type") not in KINDS:
        raise ValueError(f"not a training event: {line!r}")
    cls = KINDS[data.pop("type")]
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise ValueError(f"malformed {cls.__name__} event: {exc}") from exc

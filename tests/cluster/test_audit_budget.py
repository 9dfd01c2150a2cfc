"""The audit's time budget bounds its whole wall time, in one process and with its folds
side by side on a cluster (loopback)."""

from __future__ import annotations

import time

import pytest

from seggui.core.folder import open_folder
from seggui.core.train_settings import TrainSettings
from seggui.model.audit import run_audit
from tests.conftest import TINY

BUDGET_S = 30.0
#: The stated margin: 10% of the budget and 5 s (on a budget this small, the last batch, the
#: best weights loaded and a worker's first TensorFlow import are a large share).
MARGIN_S = 0.1 * BUDGET_S + 5.0


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "cluster"])
def test_the_audit_ends_within_its_budget(parallel, small_demo, request):
    started = time.monotonic()
    client = request.getfixturevalue("cluster") if parallel else None
    ctx = open_folder(small_demo)
    settings = TrainSettings(epochs=100_000, **TINY)  # epochs never end it: the budget does
    result = run_audit(ctx, settings, 3, BUDGET_S, started=started, client=client)
    wall = time.monotonic() - started
    assert wall <= BUDGET_S + MARGIN_S, f"{wall:.1f} s for a {BUDGET_S:.0f}-s budget"
    assert wall >= 0.6 * BUDGET_S  # the budget was used, not skipped
    assert set(result.slides) == set(ctx.split.train) | set(ctx.split.test)
    assert result.settings["parallel"] is parallel
    assert all(s > 0 for s in result.settings["fold_fit_seconds"])
    assert not list(ctx.workspace.glob(".tmp-*"))

"""Review decisions decide the training slides; the test split never changes."""

from __future__ import annotations

import numpy as np

from seggui.core.curation import curate
from seggui.core.folder import open_folder
from seggui.core.mask_store import read_for_edit


def test_rejected_and_needs_fix_are_left_out_and_corrected_masks_counted(small_demo):
    ctx = open_folder(small_demo)
    train = ctx.split.train
    slide = ctx.scan.get(train[2])
    base = read_for_edit(slide.mask_path, ctx.classes)
    ctx.masks.track(slide.name, base.path, base.stamp, base.fmt)
    ctx.masks.adopt(slide, ctx.masks.save(slide, np.zeros_like(base.labels)))
    ctx = open_folder(small_demo)  # as the training child sees the folder
    states = {train[0]: "rejected", train[1]: "needs fix", ctx.split.test[0]: "rejected"}
    c = curate(ctx, states)
    names = [s.name for s in c.train]
    assert train[0] not in names and train[1] not in names and train[2] in names
    assert c.corrected == [train[2]]
    assert [s.name for s in c.test] == ctx.split.test  # the test split is fixed
    assert c.rejected_test == [ctx.split.test[0]]
    n = len(train) - 2
    assert c.summary() == (
        f"{n} training slides: 1 corrected, 1 rejected left out, 1 needing a fix left out"
    )
    assert c.to_json()["left_out"] == {train[0]: "rejected", train[1]: "needs fix"}
    everything = curate(ctx, states, include_needs_fix=True, include_rejected=True)
    assert len(everything.train) == len(train) and not everything.left_out

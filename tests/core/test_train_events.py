"""The training child's events: typed on both sides of the pipe."""

from __future__ import annotations

import math

import pytest

from seggui.core import train_events as ev


def test_every_event_round_trips_through_one_line():
    events = [
        ev.Status("loading TensorFlow"),
        ev.TrainProgress(2, 10, 3, 7, 0.5, val_iou=0.4, eta=12.0, epoch_end=True),
        ev.Done("/m/v1.keras", {"miou": 0.8}, {"bad": "truncated"}),
        ev.AuditDone("/w/audit.json", 12, 30.5),
        ev.RunCancelled(),
        ev.Failed("ValueError: no slides"),
    ]
    for event in events:
        line = ev.to_line(event)
        assert "\n" not in line
        assert ev.from_line(line) == event


def test_nan_becomes_null_and_unknown_lines_are_refused():
    line = ev.to_line(ev.TrainProgress(1, 1, 1, 1, math.nan))
    assert '"loss": null' in line and ev.from_line(line).loss is None
    for bad in ('{"type": "nonsense"}', "[1, 2]", '{"type": "done"}', "not json"):
        with pytest.raises(ValueError):
            ev.from_line(bad)

"""Settings > Compute and Model > Predict all: the choice is checked without connecting,
remembered, handed to Audit labels, and Predict all writes the same masks here and on a
local cluster (loopback)."""

from __future__ import annotations

import socket

from seggui.core.cluster_address import ClusterSpec
from seggui.gui.compute import ComputeDialog
from tests.gui.conftest import open_and_wait


def test_the_dialog_refuses_a_plain_remote_scheduler_without_connecting(qtbot, monkeypatch):
    def no_connect(*args, **kwargs):
        raise AssertionError("the dialog must not connect")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    dialog = ComputeDialog(ClusterSpec())
    qtbot.addWidget(dialog)
    assert dialog.here.isChecked()
    dialog.remote.setChecked(True)
    dialog.address.setText("10.20.30.40:8786")
    dialog.accept()
    assert dialog.result_spec is None and "without TLS" in dialog.message.text()
    dialog.insecure.setChecked(True)
    dialog.accept()
    assert dialog.result_spec == ClusterSpec("tcp://10.20.30.40:8786", insecure=True)
    local = ComputeDialog(ClusterSpec(workers=3))
    qtbot.addWidget(local)
    assert local.local.isChecked() and local.workers.value() == 3
    local.accept()
    assert local.result_spec == ClusterSpec(workers=3)


def test_the_choice_is_remembered_and_reaches_the_audit(window, demo_folder, tmp_path):
    window.compute.set_spec(ClusterSpec(workers=2))
    assert window.compute.spec() == ClusterSpec(workers=2)
    assert window.retrain.compute() == ClusterSpec(workers=2).to_json()
    assert "2 worker processes" in window.statusBar().currentMessage()
    window.compute.settings.setValue("compute/spec", "not json")
    assert window.compute.spec() == ClusterSpec()  # a damaged setting falls back to here


def test_predict_all_here_and_on_a_local_cluster_write_the_same_masks(
    qtbot, window, demo_folder, tmp_path
):
    open_and_wait(qtbot, window, demo_folder, 6)
    results = []
    for i, (where, spec) in enumerate((("here", ClusterSpec()), ("there", ClusterSpec(workers=2)))):
        window.compute.set_spec(spec)
        job = window.compute.write_predictions(tmp_path / where, results.append)
        qtbot.waitUntil(lambda i=i: len(results) > i, timeout=120000)
        job.wait(5000)
    here = {p.name: p.read_bytes() for p in (tmp_path / "here").glob("*.png")}
    there = {p.name: p.read_bytes() for p in (tmp_path / "there").glob("*.png")}
    assert len(here) == 6 and here == there
    assert "Wrote 6 masks" in window.statusBar().currentMessage()

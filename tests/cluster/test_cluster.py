"""Predict and evaluate on a Dask cluster of this machine (loopback only): the same bytes and
numbers as one process, nothing done twice, nothing lost when a worker dies, and a refused
address never connected to."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from seggui.cli import main
from tests.cluster.conftest import make_certificates


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def folder(tmp_path) -> Path:
    from seggui.core.demo import write_demo

    return write_demo(tmp_path / "tiles", count=8, seed=11, size=128)


def address(client) -> str:
    return client.scheduler.address


def masks(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}


def test_predict_on_the_cluster_writes_the_same_bytes_once(cluster, folder, tmp_path):
    code, _, err = run_cli("predict", str(folder), "--out", str(tmp_path / "here"))
    assert code == 0, err
    code, _, err = run_cli(
        "predict", str(folder), "--out", str(tmp_path / "there"), "--cluster", address(cluster)
    )
    assert code == 0, err
    here, there = masks(tmp_path / "here"), masks(tmp_path / "there")
    assert len(here) == 8 and here == there  # byte for byte, provenance included
    # Each worker loaded the model once, not once per slide.
    from seggui.model.cluster_jobs import model_loads

    assert set(cluster.run(model_loads).values()) <= {0, 1}
    assert sum(cluster.run(model_loads).values()) >= 1

    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "there").glob("*.png")}
    code, said, _ = run_cli(
        "predict", str(folder), "--out", str(tmp_path / "there"), "--cluster", address(cluster)
    )
    assert code == 0 and "8 already made by this model" in said
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "there").glob("*.png")} == before


def test_a_changed_image_is_predicted_again(cluster, folder, tmp_path):
    from seggui.core.folder import open_folder
    from seggui.core.registry import resolve_model
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster_jobs import ModelRef
    from seggui.model.cluster_runs import predict_on_cluster

    ctx = open_folder(folder)
    path = resolve_model(ctx.workspace, None)
    ref = ModelRef(str(path), model_hash(path))
    out = tmp_path / "out"
    predict_on_cluster(cluster, ref, ctx.slides, out, ctx.classes)
    first = ctx.slides[0]
    os.utime(first.image_path, ns=(time.time_ns(), time.time_ns() + 10**9))
    written, skipped, problems = predict_on_cluster(cluster, ref, ctx.slides, out, ctx.classes)
    assert (len(written), skipped, problems) == (8, 7, [])
    # The same slides into another folder on the same client: computed, not a cached result.
    written, skipped, _ = predict_on_cluster(cluster, ref, ctx.slides, tmp_path / "b", ctx.classes)
    assert (len(written), skipped) == (8, 0) and len(list((tmp_path / "b").glob("*.png"))) == 8


def test_evaluate_on_the_cluster_gives_the_same_json(cluster, folder):
    code, here, err = run_cli("evaluate", str(folder), "--all", "--json")
    assert code == 0, err
    code, there, err = run_cli(
        "evaluate", str(folder), "--all", "--json", "--cluster", address(cluster)
    )
    assert code == 0, err
    assert json.loads(here) == json.loads(there)
    assert json.loads(there)["n_slides"] == 8
    code, again, err = run_cli(
        "evaluate", str(folder), "--all", "--json", "--cluster", address(cluster)
    )
    assert "8 slides' scores taken from an earlier run" in err
    assert json.loads(again) == json.loads(here)


def test_a_bad_slide_is_a_problem_and_the_rest_are_done(cluster, folder, tmp_path):
    bad = next((folder / "images").glob("*.png"))
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = run_cli(
        "predict", str(folder), "--out", str(tmp_path / "out"), "--cluster", address(cluster)
    )
    assert code == 0
    assert f"problem: {bad.stem}" in err
    assert len(list((tmp_path / "out").glob("*.png"))) == 7


def test_workers_that_cannot_see_the_folder_are_one_clear_error(cluster):
    from seggui.model.cluster import ClusterError, check_shared

    with pytest.raises(ClusterError, match="shared filesystem"):
        check_shared(cluster, ["/nonexistent/seggui-folder"])


@pytest.mark.parametrize(
    "where", ["10.1.2.3", "tcp://192.168.7.7:8786", "scheduler.example.org:8786", "[2001:db8::1]"]
)
def test_a_plain_remote_address_is_refused_before_any_connection(
    where, folder, tmp_path, monkeypatch
):
    attempts = []

    def no_connect(self, *args, **kwargs):
        attempts.append(args)
        raise AssertionError("a refused address must not be connected to")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_connect)
    code, _, err = run_cli("predict", str(folder), "--out", str(tmp_path / "o"), "--cluster", where)
    assert code == 1 and "without TLS" in err and "--insecure" in err
    assert attempts == [] and not (tmp_path / "o").exists()


def test_address_checks():
    from seggui.core.cluster_address import ClusterRefused, ClusterSpec, check_spec

    assert check_spec(ClusterSpec("127.0.0.1")).address == "tcp://127.0.0.1:8786"
    assert check_spec(ClusterSpec("localhost:9000")).address == "tcp://localhost:9000"
    assert check_spec(ClusterSpec("[::1]:1")).address == "tcp://[::1]:1"
    assert check_spec(ClusterSpec("10.0.0.1", insecure=True)).address == "tcp://10.0.0.1:8786"
    for bad in ("http://127.0.0.1", "tls://127.0.0.1", "tcp://:8786", "127.0.0.1:port"):
        with pytest.raises(ClusterRefused):
            check_spec(ClusterSpec(bad))
    with pytest.raises(ClusterRefused, match="three files"):
        check_spec(ClusterSpec("10.0.0.1", tls_ca="ca.pem"))


def test_a_local_cluster_serves_nothing_on_the_dashboard_port():
    """A lab's own Dask (or another seggui run) holding port 8787 is left alone: the local
    cluster's scheduler answers health checks on a port of its own, on loopback."""
    import warnings

    from seggui.core.cluster_address import ClusterSpec
    from seggui.model.cluster import open_client

    with socket.socket() as taken, warnings.catch_warnings():
        warnings.simplefilter("error")  # Dask warns when it falls back from a taken port
        with contextlib.suppress(OSError):
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        with open_client(ClusterSpec(workers=1)) as client:
            http = client.cluster.scheduler.http_server
            assert http.address == "127.0.0.1"
            assert http.port not in (0, 8787)


def test_a_tls_cluster_on_loopback_works(folder, tmp_path):
    from distributed import LocalCluster
    from distributed.security import Security

    from seggui.model.cluster import local_env, loopback_cluster_options

    pem = make_certificates(tmp_path)
    files = {k: str(v) for k, v in pem.items()}
    security = Security(
        tls_ca_file=files["ca"],
        tls_scheduler_cert=files["cert"],
        tls_scheduler_key=files["key"],
        tls_worker_cert=files["cert"],
        tls_worker_key=files["key"],
        tls_client_cert=files["cert"],
        tls_client_key=files["key"],
        require_encryption=True,
    )
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        protocol="tls://",
        security=security,
        env=local_env(1),
        **loopback_cluster_options(),
    ) as lc:
        where = lc.scheduler_address
        assert where.startswith("tls://127.0.0.1:")
        tls = ["--tls-ca", files["ca"], "--tls-cert", files["cert"], "--tls-key", files["key"]]
        code, _, err = run_cli(
            "predict", str(folder), "--out", str(tmp_path / "o"), "--cluster", where, *tls
        )
        assert code == 0, err
        assert len(list((tmp_path / "o").glob("*.png"))) == 8
        code, _, err = run_cli(  # a tls:// address without certificates is refused
            "predict", str(folder), "--out", str(tmp_path / "p"), "--cluster", where
        )
        assert code == 1 and "needs certificates" in err


def test_a_worker_killed_mid_run_loses_nothing(tmp_path):
    """SIGKILL one of two workers while slides are being predicted: the run completes, every
    mask exists once, whole, equal to a run in one process; no partial file is left."""
    from seggui.core.cluster_address import ClusterSpec
    from seggui.core.demo import write_demo
    from seggui.core.folder import open_folder
    from seggui.core.registry import resolve_model
    from seggui.core.slide_results import model_hash
    from seggui.model.cluster import open_client
    from seggui.model.cluster_jobs import ModelRef
    from seggui.model.cluster_runs import predict_on_cluster

    folder = write_demo(tmp_path / "tiles", count=24, seed=4, size=256)
    code, _, err = run_cli("predict", str(folder), "--out", str(tmp_path / "here"))
    assert code == 0, err
    ctx = open_folder(folder)
    path = resolve_model(ctx.workspace, None)
    ref = ModelRef(str(path), model_hash(path))
    out = tmp_path / "there"
    with open_client(ClusterSpec(workers=2)) as client:  # what --workers 2 starts
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        pids = client.run(os.getpid)
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(
                r=predict_on_cluster(client, ref, ctx.slides, out, ctx.classes)
            )
        )
        runner.start()
        deadline = time.monotonic() + 120
        while len(list(out.glob("tile_*.png"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        runner.join(300)
        assert not runner.is_alive()
        assert set(client.run(os.getpid).values()) != set(pids.values())  # one was replaced
    written, _skipped, problems = result["r"]
    assert (len(written), problems) == (24, [])
    assert masks(out) == masks(tmp_path / "here")
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_export_of_predictions_on_the_cluster_equals_one_process(cluster, folder, tmp_path):
    code, _, err = run_cli("export", str(folder), "--masks", str(tmp_path / "here"), "--prediction")
    assert code == 0, err
    code, _, err = run_cli(
        "export",
        str(folder),
        "--masks",
        str(tmp_path / "there"),
        "--geojson",
        str(tmp_path / "geo"),
        "--prediction",
        "--cluster",
        address(cluster),
    )
    assert code == 0, err
    assert masks(tmp_path / "here") == masks(tmp_path / "there")
    assert len(list((tmp_path / "geo").glob("*.geojson"))) == 8
    code, _, err = run_cli("export", str(folder), "--masks", str(tmp_path / "x"), "--workers", "2")
    assert code == 2 and "add --prediction" in err


def test_whole_slides_on_the_cluster_equal_one_process(cluster, tmp_path):
    """A whole slide's tissue tiles go out in chunks; the label TIFF and the scores equal a
    run in one process; the broken slide is a problem, once."""
    from PIL import Image

    from tests.wsi.conftest import demo_slide_folder

    here_folder = demo_slide_folder(tmp_path / "a")
    there_folder = demo_slide_folder(tmp_path / "b")
    code, _, err = run_cli("predict", str(here_folder), "--out", str(tmp_path / "here"))
    assert code == 0, err
    code, _, err = run_cli(
        "predict",
        str(there_folder),
        "--out",
        str(tmp_path / "there"),
        "--cluster",
        address(cluster),
    )
    assert code == 0, err
    assert err.count("problem: broken") == 1
    with (
        Image.open(tmp_path / "here" / "case1.labels.tiff") as a,
        Image.open(tmp_path / "there" / "case1.labels.tiff") as b,
    ):
        assert a.size == b.size and a.tobytes() == b.tobytes()
    code, here, _ = run_cli("evaluate", str(here_folder), "--json")
    code, there, err = run_cli(
        "evaluate", str(there_folder), "--json", "--cluster", address(cluster)
    )
    assert code == 0, err
    a, b = json.loads(here), json.loads(there)
    assert a["slides"] == b["slides"] and a["confusion"] == b["confusion"]

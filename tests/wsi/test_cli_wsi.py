"""`seggui evaluate` on a folder of whole slides with QuPath GeoJSON beside them."""

from __future__ import annotations

import json

from tests.cli.test_cli import seggui
from tests.wsi.conftest import demo_slide_folder as _slide_folder


def test_evaluate_scores_whole_slides_tile_by_tile_and_caches(tmp_path):
    folder = _slide_folder(tmp_path)
    result = seggui("evaluate", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    slides = {s["name"]: s for s in data["slides"]}
    assert set(slides) == {"case1"} and slides["case1"]["miou"] > 0.8
    assert data["n_slides"] == 1 and [c["name"] for c in data["per_class"]][2] == "gland"
    problems = {p["name"]: p["reason"] for p in data["problems"]}
    assert "broken" in problems and "whole slide" in problems["broken"]
    stores = list((folder / ".seggui" / "wsi").glob("*/case1-*"))
    assert len(stores) == 1
    tiles = {p: p.stat().st_mtime_ns for p in stores[0].glob("*.npz")}
    assert tiles  # the tissue tiles, kept for next time
    again = json.loads(seggui("evaluate", str(folder), "--json").stdout)
    assert again["slides"] == data["slides"]
    assert {p: p.stat().st_mtime_ns for p in stores[0].glob("*.npz")} == tiles  # reused


def test_audit_scores_whole_slides_with_their_worst_regions(tmp_path):
    folder = _slide_folder(tmp_path)
    result = seggui("audit", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (row,) = data["slides"]
    assert row["name"] == "case1" and row["out_of_sample"]
    assert 0.5 < row["label_quality"] <= 1.0
    qualities = [r["label_quality"] for r in row["worst_regions"]]
    assert qualities == sorted(qualities) and len(qualities) == 5
    assert all(len(r["box"]) == 4 for r in row["worst_regions"])
    assert any(p["name"] == "broken" for p in data["problems"])

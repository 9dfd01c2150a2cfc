"""Every case of the bad-input corpus through the engine and the CLI: reported, rest scored."""

from __future__ import annotations

import json

import pytest

from seggui.core.folder import open_folder
from seggui.model import store
from seggui.model.evaluate import evaluate_slides, predict_slides
from seggui.model.predict import Predictor
from tests.cli.test_cli import seggui
from tests.data.make_bad import EXPECTED, can_deny_read, make_bad_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_bad_corpus(tmp_path_factory.mktemp("bad") / "bad")


def _expected():
    for name, fragment in EXPECTED.items():
        if name == "no_read_permission" and not can_deny_read():
            fragment = None  # root reads any file: it must simply work
        yield name, fragment


def _check(problems: dict[str, str], scored: set[str]) -> None:
    for name, fragment in _expected():
        reported = problems.get(name) or problems.get(f"{name}.png")
        if fragment is None:
            assert reported is None or name == "image_without_mask", (name, reported)
        else:
            assert reported is not None, f"{name}: no problem reported"
            assert fragment.lower() in reported.lower(), (name, reported)
    for name in ("good", "gray16", "cmyk", "one_pixel", "ünïcödé name 漢字", "same_stem"):
        assert name in scored, name


def test_engine_reports_every_case_and_scores_the_rest(corpus):
    ctx = open_folder(corpus)
    model, meta = store.load_model(store.bundled_model_path())
    report = evaluate_slides(Predictor(model, meta.depth), ctx.slides, ctx.classes)
    problems = {p.name: p.reason for p in report.problems}
    problems.update({p.name: p.reason for p in ctx.scan.problems})
    for slide in ctx.slides:  # warnings on slides that were still scored
        if slide.problems and slide.name not in problems:
            problems[slide.name] = slide.problem_text()
    _check(problems, set(report.slides))
    assert report.overall is not None


def test_predict_writes_a_mask_per_readable_image(corpus, tmp_path):
    ctx = open_folder(corpus)
    model, meta = store.load_model(store.bundled_model_path())
    written, problems = predict_slides(
        Predictor(model, meta.depth), ctx.slides, tmp_path, ctx.classes
    )
    names = {p.stem for p in written}
    assert {"good", "gray16", "cmyk", "one_pixel", "image_without_mask"} <= names
    assert {"zero_bytes", "text_as_png", "bomb", "truncated"} <= {p.name for p in problems}


def test_cli_lists_every_case_under_problems(corpus):
    result = seggui("evaluate", str(corpus), "--all", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    problems = {p["name"]: p["reason"] for p in data["problems"]}
    _check(problems, {s["name"] for s in data["slides"]})


def test_empty_and_missing_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = seggui("evaluate", str(empty), "--json")
    assert result.returncode == 1 and "no images" in result.stdout
    missing = seggui("evaluate", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr

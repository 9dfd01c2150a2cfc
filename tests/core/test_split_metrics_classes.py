from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from seggui.core.classes import ClassSet
from seggui.core.folder import open_folder, resolve_classes
from seggui.core.metrics import ScoreAccumulator, Scores
from seggui.core.slides import scan_folder
from seggui.core.split import SplitError, load_or_create_split


def test_split_is_80_20_saved_and_reused(tmp_path):
    names = [f"s{i:03d}" for i in range(50)]
    split = load_or_create_split(tmp_path, names)
    assert len(split.test) == 10 and len(split.train) == 40
    assert set(split.test).isdisjoint(split.train)
    data = json.loads((tmp_path / "split.json").read_text())
    assert data["seed"] == 42 and data["test_fraction"] == 0.2
    assert sorted(data["train"] + data["test"]) == names
    again = load_or_create_split(tmp_path, list(reversed(names)))
    assert again.test == split.test and again.train == split.train


def test_new_slides_are_placed_by_hash_and_nothing_moves(tmp_path):
    names = [f"s{i:03d}" for i in range(20)]
    first = load_or_create_split(tmp_path, names)
    more = names + [f"new{i}" for i in range(200)]
    second = load_or_create_split(tmp_path, more)
    assert set(first.test) <= set(second.test) and set(first.train) <= set(second.train)
    new_test = [n for n in second.test if n.startswith("new")]
    assert 20 < len(new_test) < 70  # about 20% of 200
    other = tmp_path / "other"
    other.mkdir()
    load_or_create_split(other, names)
    assert load_or_create_split(other, more).test[-len(new_test) :] == new_test


def test_damaged_split_is_not_replaced(tmp_path):
    (tmp_path / "split.json").write_text("{broken")
    with pytest.raises(SplitError, match="delete it"):
        load_or_create_split(tmp_path, ["a", "b"])
    assert (tmp_path / "split.json").read_text() == "{broken"


def test_scores_known_values():
    truth = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    s = Scores.compare(truth, pred, 3)
    assert s.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert s.iou[0] == pytest.approx(0.5) and s.iou[1] == pytest.approx(2 / 3)
    assert s.dice[0] == pytest.approx(2 / 3) and s.dice[1] == pytest.approx(0.8)
    assert np.isnan(s.iou[2]) and not s.present[2]
    assert s.miou == pytest.approx((0.5 + 2 / 3) / 2)


def test_accumulator_sums_confusions():
    acc = ScoreAccumulator(2)
    acc.add("a", np.array([[0, 1]]), np.array([[0, 1]]))
    acc.add("b", np.array([[1, 1]]), np.array([[0, 0]]))
    assert acc.per_slide["a"].miou == 1.0
    assert acc.result().confusion.tolist() == [[1, 0], [2, 1]]


def test_classes_from_json_palette_and_binary(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images/a.png")
    m = Image.fromarray(np.array([[0, 1], [2, 4]], np.uint8)).convert("L").convert("P")
    pal = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0] + [0] * (768 - 15)
    m = Image.fromarray(
        np.kron(np.array([[0, 1], [2, 4]], np.uint8), np.ones((2, 2), np.uint8)), mode="P"
    )
    m.putpalette(pal)
    m.save(tmp_path / "masks/a.png")
    classes = resolve_classes(tmp_path, scan_folder(tmp_path))
    assert (
        len(classes) == 5 and classes[1].color == (255, 0, 0) and classes.source == "mask palette"
    )

    (tmp_path / "classes.json").write_text(
        json.dumps(
            {"classes": [{"name": "bg", "color": [0, 0, 0]}, {"name": "fg", "color": [9, 9, 9]}]}
        )
    )
    assert resolve_classes(tmp_path, scan_folder(tmp_path)).names == ["bg", "fg"]

    b = tmp_path / "bin"
    (b / "images").mkdir(parents=True)
    (b / "masks").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(b / "images/a.png")
    Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8).repeat(2, 0).repeat(2, 1)).save(
        b / "masks/a.png"
    )
    assert resolve_classes(b, scan_folder(b)).names == ["background", "foreground"]


def test_open_folder_on_demo(demo_folder):
    ctx = open_folder(demo_folder)
    assert ctx.classes.names == ["background", "stroma", "gland", "nucleus"]
    assert ctx.workspace == demo_folder / ".seggui"
    assert len(ctx.part("train")) + len(ctx.part("test")) == 6 and ctx.part("test")


def test_default_classes_are_four():
    assert len(ClassSet.default()) == 4


def test_confusion_matches_scikit_learn():
    from sklearn.metrics import confusion_matrix

    from seggui.core.metrics import confusion

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, (300, 200)).astype(np.uint8)
    pred = rng.integers(0, 5, (300, 200)).astype(np.uint8)
    expected = confusion_matrix(truth.ravel(), pred.ravel(), labels=np.arange(5))
    assert np.array_equal(confusion(truth, pred, 5), expected)


def test_running_totals_equal_a_full_recount():
    from seggui.core.metrics import Scores, confusion
    from seggui.core.records import ScoreRecords

    rng = np.random.default_rng(7)
    names = [f"s{i}" for i in range(30)]
    records = ScoreRecords(3, test=names[:8], eligible=names)
    for _ in range(300):
        name = names[rng.integers(len(names))]
        action = rng.integers(3)
        truth = rng.integers(0, 3, (8, 8))
        pred = rng.integers(0, 3, (8, 8))
        if action == 0:
            records.set(name, Scores.compare(truth, pred, 3))
        elif action == 1:
            records.set(name, None)
        else:
            delta = confusion(truth, pred, 3) - confusion(truth, truth, 3)
            if name in records:
                records.add_delta(name, delta)
        if rng.integers(20) == 0:
            records.clear()  # a model switch
    fresh = records.recount()
    for scope, total in records.totals().items():
        assert np.array_equal(total, fresh[scope])
    assert records.count("test")[1] == 8 and records.count("folder")[1] == 30


def test_palette_masks_without_classes_json_get_class_names_and_visible_colours(tmp_path):
    from seggui.core.classes import display_colors, vanishes
    from seggui.core.folder import open_folder

    folder = tmp_path / "lung"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255] + [0] * 756  # class 3: white
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
            folder / "images" / f"t{i}.png"
        )
        mask = Image.fromarray(rng.integers(0, 4, (32, 32)).astype(np.uint8), "P")
        mask.putpalette(palette)
        mask.save(folder / "masks" / f"t{i}.png")
    stray = np.asarray(Image.open(folder / "masks" / "t5.png")).copy()
    stray[:10, :10] = 9  # one mask with a stray value in a corner
    m = Image.fromarray(stray, "P")
    m.putpalette(palette)
    m.save(folder / "masks" / "t5.png")
    ctx = open_folder(folder)
    assert ctx.classes.names == ["class 0", "class 1", "class 2", "class 3"]
    assert ctx.classes[3].color == (255, 255, 255) and vanishes((255, 255, 255))
    shown = display_colors(ctx.classes)
    assert tuple(shown[3]) != (255, 255, 255) and tuple(shown[0]) == (255, 0, 0)
    t5 = ctx.scan.get("t5")
    assert not t5.scorable and "value 9" in t5.problem_text() and "t5.png" in t5.problem_text()
    assert sum(s.scorable for s in ctx.slides) == 11


def test_a_rare_real_class_next_to_the_others_is_kept():
    from seggui.core.folder import class_values

    seen = {0: [(1, 0.5)] * 10, 1: [(1, 0.4)] * 10, 2: [(1, 0.1)] * 6, 3: [(1, 0.03)]}
    assert class_values(seen, 10) == {0, 1, 2, 3}
    seen[9] = [(1, 0.0004)]
    assert class_values(seen, 10) == {0, 1, 2, 3}

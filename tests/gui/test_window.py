"""The review window, offscreen, on real generated folders with real prediction."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6.QtCore import Qt

from seggui.core import registry
from seggui.core.audit import load_audit
from seggui.core.review import ReviewStore
from seggui.core.train_events import AuditDone, Done, RunCancelled
from tests.gui.conftest import assert_view_in_screenshot, open_and_wait

TIMEOUT = 120000


def _pixels(view) -> np.ndarray:
    """What the view shows at 1:1: the image with its visible layers."""
    return view.composite()


def test_open_select_predict_overlay(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    assert window.slide_list.count_label.text() == "6 slides"
    assert window.session.facts.part(window.session.current) in ("train", "test")
    qtbot.waitUntil(
        lambda: window.session.predictions.get(window.session.current) is not None, timeout=TIMEOUT
    )
    qtbot.waitUntil(
        lambda: window.session.scores(window.session.current) is not None, timeout=TIMEOUT
    )
    assert not window.views.left.item.pixmap().isNull()
    assert not window.views.right.item.pixmap().isNull()
    assert "Prediction" in window.views.right_title.text()
    pred = window.session.predictions.get(window.session.current)
    assert pred.labels.shape == (512, 512) and pred.scores is not None
    assert window.session.facts.miou(window.session.current) == pred.scores.miou

    with_overlay = _pixels(window.views.left)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert not window.overlay.enabled.isChecked()
    without = _pixels(window.views.left)
    assert np.array_equal(without, window.session.loaded[window.session.current].image)
    assert not np.array_equal(with_overlay, without)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.overlay.enabled.isChecked()

    qtbot.keyClick(window, Qt.Key.Key_D)
    assert "Difference" in window.views.right_title.text()

    first = window.session.current
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.session.current != first
    qtbot.waitUntil(lambda: window.session.current in window.session.loaded, timeout=TIMEOUT)

    window.hover_label.setText(window.display.hover(10, 20))
    assert "x 10, y 20" in window.hover_label.text() and "annotation:" in window.hover_label.text()


def test_review_mark_is_saved_and_reloaded(qtbot, window, demo_folder, tmp_path):
    open_and_wait(qtbot, window, demo_folder, 6)
    name = window.session.current
    qtbot.keyClick(window, Qt.Key.Key_2)
    window.review.note.setText("gland border too loose")
    window.review.note.editingFinished.emit()
    store = ReviewStore(demo_folder / ".seggui")
    assert store.get(name).state == "needs fix" and store.get(name).note == "gland border too loose"
    store.close()
    assert window.session.facts.state(name) == "needs fix"
    qtbot.keyClick(window, Qt.Key.Key_2)  # again: clears
    assert ReviewStore(demo_folder / ".seggui").get(name).state is None
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.close()

    from tests.gui.conftest import MainWindow, QSettings

    again = MainWindow(QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    open_and_wait(qtbot, again, demo_folder, 6)
    assert again.session.facts.state(name) == "accepted"
    again.scores_control.write_csv(tmp_path / "scores.csv")
    text = (tmp_path / "scores.csv").read_text()
    assert name in text and "accepted" in text and "iou_gland" in text
    again.close()


def _replayed_child(panel, delay_s: float = 0.3) -> None:
    """The panel runs a child that replays a real run's recorded events (see
    tests/data/fake_train_child.py): the panel's handling, without a real training."""
    data = Path(__file__).resolve().parents[1] / "data"
    panel.child.command = [
        sys.executable,
        str(data / "fake_train_child.py"),
        str(data / "train_child_events.jsonl"),
        str(delay_s),
    ]


def _tiny_settings(panel, epochs: int) -> None:
    panel.epochs.setValue(epochs)
    panel.base.setCurrentText("4")
    panel.patch.setCurrentText("64")
    panel.batch.setValue(4)


def test_retrain_one_epoch_then_make_active(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    window.models.show_retrain()
    panel = window.retrain
    assert "train" in panel.split_label.text() and panel.split_list.count() == 6
    _tiny_settings(panel, 1)
    assert panel.settings()["block"] == "standard"  # the seed's blocks unless chosen
    panel.block.setCurrentIndex(panel.block.findData("separable"))
    assert panel.settings()["precision"] == "float32"  # bfloat16 only when chosen
    panel.precision.setCurrentIndex(panel.precision.findData("bfloat16"))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.running
    qtbot.waitUntil(lambda: not panel.running, timeout=300000)
    assert isinstance(panel.last_result, Done), panel.last_result
    versions = registry.list_versions(demo_folder / ".seggui")
    assert len(versions) == 1 and str(versions[0][0]) == panel.last_result.model_path
    training = registry.read_meta(versions[0][0]).training
    assert training["block"] == "separable"
    assert training["precision"] == training["precision_used"] == "bfloat16"
    assert panel.run.progress.value() == panel.run.progress.maximum()
    assert len(panel.run.loss_curve.getData()[0]) >= 1
    assert "New version" in panel.versions.compare.text()
    panel.versions.make_selected_active()
    assert registry.active_model_path(demo_folder / ".seggui") == versions[0][0]
    assert window.session.model_path == versions[0][0]
    qtbot.waitUntil(
        lambda: window.session.predictions.get(window.session.current) is not None, timeout=TIMEOUT
    )
    assert (
        window.session.predictions.get(window.session.current).model_key
        == window.session.active_key
    )


def test_cancel_reaches_the_child_and_the_panel_says_so(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    panel = window.retrain
    _replayed_child(panel)
    panel.start()
    qtbot.waitUntil(lambda: panel.run.progress.value() > 0, timeout=TIMEOUT)
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=60000)
    assert isinstance(panel.last_result, RunCancelled)
    assert "Cancelled" in panel.run.status.text() and panel.start_button.isEnabled()
    assert len(panel.run.loss_curve.getData()[0]) >= 1  # the replayed losses were drawn


def test_broken_files_are_reported_and_the_window_goes_on(qtbot, window, demo_folder):
    (demo_folder / "images/zero.png").write_bytes(b"")
    data = (demo_folder / "images/tile_0000.png").read_bytes()
    (demo_folder / "images/trunc.png").write_bytes(data[: len(data) // 3])
    shutil.copy(demo_folder / "masks/tile_0001.png", demo_folder / "masks/trunc.png")
    Image.fromarray(np.zeros((100, 80, 3), np.uint8)).save(demo_folder / "images/odd.png")
    shutil.copy(demo_folder / "masks/tile_0001.png", demo_folder / "masks/odd.png")
    open_and_wait(qtbot, window, demo_folder, 9)
    facts = window.session.facts
    assert "empty" in facts.problem("zero")
    assert "mask" in facts.problem("odd")
    window.slide_list.select("trunc")
    qtbot.waitUntil(lambda: facts.late_problem("trunc") is not None, timeout=TIMEOUT)
    window.slide_list.select("odd")
    qtbot.waitUntil(
        lambda: window.session.current == "odd" and "odd" in window.session.loaded, timeout=TIMEOUT
    )
    assert "differ" in window.views.left_title.text() or "mask" in window.views.left_title.text()
    window.slide_list.problem_filter.setCurrentIndex(1)
    assert window.slide_list.proxy.rowCount() == 3


def test_screenshot_of_the_demo(qtbot, window):
    window.resize(1600, 950)
    window.open_demo()
    qtbot.waitUntil(lambda: window.slide_list.model.rowCount() == 40, timeout=TIMEOUT)
    qtbot.waitUntil(
        lambda: (
            window.session.current is not None
            and window.session.predictions.get(window.session.current) is not None
            and window.session.current in window.session.loaded
        ),
        timeout=TIMEOUT,
    )
    qtbot.waitUntil(lambda: len(window.slide_list.model.thumbs) >= 10, timeout=TIMEOUT)
    qtbot.wait(200)
    out = Path(os.environ.get("SEGGUI_SCREENSHOT_DIR", window.session.ctx.workspace))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "window-demo.png"
    assert window.grab().save(str(path))
    shot = np.asarray(Image.open(path).convert("RGB"))
    assert shot.shape[0] >= 900
    for view in (window.views.left, window.views.right):
        assert_view_in_screenshot(window, shot, view)
    pred = window.session.predictions.get(window.session.current)
    assert pred.scores is not None and pred.scores.miou > 0.8  # the bundled model on the demo


def test_closing_the_window_while_training_stops_the_child(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    panel = window.retrain
    _replayed_child(panel)
    panel.start()
    qtbot.waitUntil(lambda: panel.run.progress.value() > 0, timeout=TIMEOUT)
    process = panel.child.process
    window.close()
    assert process.state() == process.ProcessState.NotRunning


def test_current_prediction_survives_background_scoring_of_a_big_folder(qtbot, window, tmp_path):
    from seggui.core.demo import write_demo

    folder = write_demo(tmp_path / "many", count=40, seed=4, size=64)
    open_and_wait(qtbot, window, folder, 40)
    # Background scoring predicts every slide: more than the service keeps in memory.
    qtbot.waitUntil(lambda: len(window.session.facts.records) == 40, timeout=TIMEOUT)
    assert window.session.current in window.session.predictions
    window.display.render()
    assert "Predicting" not in window.views.right_title.text()


def test_a_model_with_other_classes_is_shown_unscored(qtbot, window, demo_folder):
    (demo_folder / "classes.json").unlink()
    open_and_wait(qtbot, window, demo_folder, 6)
    assert window.session.ctx.classes.names == ["class 0", "class 1", "class 2", "class 3"]
    assert all(c.isChecked() for c in window.overlay.class_checks)
    qtbot.waitUntil(lambda: window.session.current in window.session.predictions, timeout=TIMEOUT)
    assert window.notice.isVisible() and "not scored" in window.notice.text.text()
    assert window.session.facts.records.get(window.session.current) is None
    assert "mIoU" not in window.views.right_title.text()
    window.display.hover(5, 5)
    assert "prediction: " in window.display.hover(5, 5)
    qtbot.mouseClick(window.notice.button, Qt.MouseButton.LeftButton)
    assert window.retrain_dock.isVisible() and window.retrain.budget.value() == 10


def test_class_editor_renames_without_touching_masks_and_the_model_then_scores(
    qtbot, window, demo_folder, tmp_path
):
    from seggui.gui.scores.class_editor import ClassEditor

    (demo_folder / "classes.json").unlink()
    masks = {p.name: p.read_bytes() for p in (demo_folder / "masks").iterdir()}
    open_and_wait(qtbot, window, demo_folder, 6)
    qtbot.waitUntil(lambda: window.session.current in window.session.predictions, timeout=TIMEOUT)
    assert (
        window.session.facts.records.get(window.session.current) is None
    )  # other names: not scored
    dialog = ClassEditor(window.session.ctx.classes, parent=window)
    for field, name in zip(dialog.names, ["background", "stroma", "gland", "nucleus"], strict=True):
        field.setText(name)
    dialog.set_color(1, (200, 120, 40))
    dialog.background.button(0).setChecked(True)
    dialog._accept()
    window.scores_control.apply_classes(dialog.result_classes)
    saved = (demo_folder / "classes.json").read_text()
    assert '"stroma"' in saved and '"background": 0' in saved
    assert not list(demo_folder.glob(".tmp-*"))
    assert {p.name: p.read_bytes() for p in (demo_folder / "masks").iterdir()} == masks
    assert [c.text() for c in window.overlay.class_checks][1] == "stroma"
    assert window.session.ctx.classes[1].color == (200, 120, 40)
    # The bundled model knows these names: its predictions are scored now.
    qtbot.waitUntil(
        lambda: window.session.scores(window.session.current) is not None, timeout=TIMEOUT
    )
    qtbot.waitUntil(
        lambda: window.session.facts.records.get(window.session.current) is not None,
        timeout=TIMEOUT,
    )
    assert not window.notice.isVisible()
    job = window.scores_control.write_exports(tmp_path / "out")
    qtbot.waitUntil(job.isFinished, timeout=TIMEOUT)
    assert len(list((tmp_path / "out" / "geojson").glob("*.geojson"))) == 6
    assert len(list((tmp_path / "out" / "masks").glob("*.png"))) == 6


def test_retrain_panel_counts_follow_the_review(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    train = window.session.ctx.split.train
    window.slide_list.select(train[0])
    qtbot.keyClick(window, Qt.Key.Key_3)  # rejected
    window.slide_list.select(train[1])
    qtbot.keyClick(window, Qt.Key.Key_2)  # needs fix
    text = window.retrain.curation_label.text()
    assert f"{len(train) - 2} training slides" in text
    assert "1 rejected left out" in text and "1 needing a fix left out" in text
    window.retrain.include_needs_fix.setChecked(True)
    assert "needing a fix" not in window.retrain.curation_label.text()
    assert window.retrain.settings()["include_needs_fix"] is True
    assert window.retrain.settings()["colour_jitter"] is True
    assert window.retrain.settings()["class_share"] == 0.5
    window.retrain.colour.setChecked(False)
    window.retrain.rare.setChecked(False)
    chosen = window.retrain.settings()
    assert chosen["colour_jitter"] is False and chosen["class_share"] == 0.0


def test_label_quality_uncertainty_views_and_the_clickable_matrix(qtbot, window, demo_folder):
    from seggui.gui.slides.table_model import COL_PAIR, COL_QUALITY, COL_UNCERTAINTY

    mask_file = demo_folder / "masks" / "tile_0003.png"
    with Image.open(mask_file) as im:
        labels = np.asarray(im).copy()
        palette = im.getpalette()
    labels[labels == 2] = 1  # every gland annotated as stroma in one slide
    swapped = Image.fromarray(labels, "P")
    swapped.putpalette(palette)
    swapped.save(mask_file)
    open_and_wait(qtbot, window, demo_folder, 6)
    model, facts = window.slide_list.model, window.session.facts
    names = list(model.names)
    qtbot.waitUntil(lambda: all(facts.quality(n) for n in names), timeout=TIMEOUT)
    worst = min(names, key=lambda n: facts.quality(n).label_quality)
    assert worst == "tile_0003" and facts.quality(worst).issue_pixels > 0
    row = model.row_of(worst)
    assert model.data(model.index(row, COL_QUALITY)) != ""
    assert 0 <= float(model.data(model.index(row, COL_UNCERTAINTY))) <= 1
    window.slide_list.select(worst)
    qtbot.waitUntil(
        lambda: worst in window.session.predictions and worst in window.session.loaded,
        timeout=TIMEOUT,
    )
    for key, word in (
        (Qt.Key.Key_I, "Label issues"),
        (Qt.Key.Key_U, "Uncertainty"),
        (Qt.Key.Key_D, "Difference"),
    ):
        qtbot.keyClick(window, key)
        assert window.views.right_title.text().startswith(word)
        assert window.views.right.diff.isVisible() and window.views.right.diff.array is not None
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert window.views.right_title.text().startswith("Prediction")
    # A click on the folder matrix's cell (gland annotated, stroma predicted) ...
    qtbot.waitUntil(lambda: len(window.session.facts.records) == 6, timeout=TIMEOUT)
    classes = window.session.ctx.classes.names
    window.scores_control.show_confusion_pair(classes.index("stroma"), classes.index("gland"))
    proxy = window.slide_list.proxy
    shown = [window.slide_list.ordered_names()[i] for i in range(proxy.rowCount())]
    assert shown and shown[0] == "tile_0003"  # most stroma-predicted-as-gland pixels first
    assert not window.slide_list.table.isColumnHidden(COL_PAIR)
    window.slide_list.clear_pair()
    assert proxy.rowCount() == 6
    window.scores_control.write_csv(demo_folder / "s.csv")
    header = (demo_folder / "s.csv").read_text().splitlines()[0]
    assert "label_quality" in header and "audit_miou" in header and "audit_label_quality" in header


def test_audit_labels_from_the_panel(qtbot, window, small_demo):
    from seggui.gui.slides.table_model import COL_AUDIT, COL_BOTH, COL_QUALITY, SORT_ROLE

    open_and_wait(qtbot, window, small_demo, 10)
    assert window.slide_list.table.isColumnHidden(COL_BOTH)  # nothing to show before an audit
    window.models.show_audit()
    panel = window.retrain
    _tiny_settings(panel, 1)
    panel.patch.setCurrentText("32")
    panel.audit_folds.setValue(2)
    qtbot.mouseClick(panel.audit_button, Qt.MouseButton.LeftButton)
    assert panel.running
    qtbot.waitUntil(lambda: not panel.running, timeout=300000)
    assert isinstance(panel.last_result, AuditDone), panel.last_result
    model = window.slide_list.model
    qtbot.waitUntil(lambda: len(window.session.facts._audit) == 10, timeout=TIMEOUT)
    name = window.session.ctx.split.train[0]
    row = model.row_of(name)
    audit = window.session.facts.audit(name)
    assert audit.out_of_sample and model.data(model.index(row, COL_AUDIT)) == f"{audit.miou:.3f}"
    # The audit is a column of its own: the in-sample label quality is not replaced by it.
    in_sample = window.session.facts.quality(name)
    shown = model.data(model.index(row, COL_QUALITY))
    assert shown == ("" if in_sample is None else f"{in_sample.label_quality:.3f}")
    assert model.data(model.index(row, COL_AUDIT), SORT_ROLE) == audit.miou
    # Both: the mean of the slide's ranks in the mIoU and the Audit columns, shown now.
    assert not window.slide_list.table.isColumnHidden(COL_BOTH)
    both = window.session.facts.both(name)
    assert 0 < both <= 1 and model.data(model.index(row, COL_BOTH)) == f"{both:.3f}"
    assert model.data(model.index(row, COL_BOTH), SORT_ROLE) == both
    assert registry.list_versions(small_demo / ".seggui") == []  # the audit saves no version
    # The status line says when the fold models learned too little to rank.
    saved = load_audit(window.session.ctx)
    status = panel.run.status.text()
    assert saved.pixels[2] > 0 and panel.last_result.caution == saved.caution()
    assert ("learned little" in status) == saved.weak, status
    assert ("Sort the list by its Both column" in status) == (not saved.weak), status


def test_a_folder_with_an_audit_shows_both_when_the_audit_column_was_kept(
    qtbot, tmp_path, small_demo
):
    """Reopened with the Audit column remembered as shown, a folder whose audit is saved
    shows Both too (it waits, hidden, while no folder is open; an older version saved it
    then as hidden), and closing while it waits does not save it as the user's choice; a
    Both the user hid stays hidden."""
    from PyQt6.QtCore import QSettings

    from seggui.core.audit import save_audit
    from seggui.core.folder import open_folder
    from seggui.core.train_settings import TrainSettings
    from seggui.gui.main_window import MainWindow
    from seggui.gui.slides.table_model import COL_AUDIT, COL_BOTH, COL_PAIR, COL_PROBLEM
    from seggui.model.audit import run_audit
    from tests.conftest import TINY

    save_audit(
        open_folder(small_demo).workspace,
        run_audit(open_folder(small_demo), TrainSettings(epochs=1, **TINY), folds=2),
    )
    path = str(tmp_path / "settings.ini")
    settings = QSettings(path, QSettings.Format.IniFormat)
    # Saved by a version that saved Both as hidden while it waited for an audit: Audit shown.
    settings.setValue("slides/hidden", [str(COL_PAIR), str(COL_PROBLEM), str(COL_BOTH)])
    settings.sync()
    win = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    table = win.slide_list.table
    assert table.isColumnHidden(COL_BOTH) and not table.isColumnHidden(COL_AUDIT)
    assert COL_BOTH not in win.slide_list.hidden_columns()  # waiting, not the user's choice
    open_and_wait(qtbot, win, small_demo, 10)
    qtbot.waitUntil(lambda: win.session.facts.has_audit(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not table.isColumnHidden(COL_BOTH), timeout=TIMEOUT)
    win.close()
    saved = QSettings(path, QSettings.Format.IniFormat)
    assert sorted(int(c) for c in saved.value("slides/hidden")) == sorted([COL_PAIR, COL_PROBLEM])
    # A Both hidden by the user (saved by this version) stays hidden beside its audit.
    saved.setValue("slides/hidden", [str(COL_PAIR), str(COL_PROBLEM), str(COL_BOTH)])
    saved.sync()
    again = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    open_and_wait(qtbot, again, small_demo, 10)
    qtbot.waitUntil(lambda: again.session.facts.has_audit(), timeout=TIMEOUT)
    qtbot.wait(200)
    assert again.slide_list.table.isColumnHidden(COL_BOTH)
    assert not again.slide_list.table.isColumnHidden(COL_AUDIT)
    again.close()

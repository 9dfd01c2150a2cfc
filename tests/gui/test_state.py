"""One owner per fact: changed through the session alone, shown by the list, the panels and
the CSV without anyone else being told."""

from __future__ import annotations

import csv
import io

from seggui.core.report import scores_csv
from seggui.gui.slides.table_model import COL_MASK, COL_REVIEW, COL_SCORE
from tests.gui.conftest import open_and_wait

TIMEOUT = 120000


def _csv_row(window, name: str) -> dict:
    rows = csv.DictReader(io.StringIO(scores_csv(window.session.facts)))
    return next(r for r in rows if r["slide"] == name)


def test_a_mark_a_score_and_a_correction_reach_every_reader(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    session, model = window.session, window.slide_list.model
    name = session.ctx.split.train[0]
    window.slide_list.select(name)
    qtbot.waitUntil(
        lambda: session.scores(name) is not None and name in session.loaded, timeout=TIMEOUT
    )
    row = model.row_of(name)

    def cell(col: int) -> str:
        return model.data(model.index(row, col))

    # A review mark, set on the session's facts only.
    session.facts.mark(name, "rejected", "smeared")
    assert cell(COL_REVIEW) == "rej."  # short; the tooltip has the word
    assert window.review.state_label.text() == "Annotation: rejected"
    assert window.review.note.text() == "smeared"
    assert "1 rejected left out" in window.retrain.curation_label.text()
    assert _csv_row(window, name)["review"] == "rejected"

    # A score: an edit through the session's mask edits.
    before = session.scores(name).miou
    edit = session.edits.edit_for(name)
    edit.polygon([(0, 0), (300, 0), (300, 300), (0, 300)], 3)
    session.edits.rescore(name, *edit.last_change)
    after = session.scores(name).miou
    assert after < before
    assert cell(COL_SCORE) == f"{after:.3f}"
    assert f"mIoU {after:.3f}" in window.scores.slide.summary.text()
    assert float(_csv_row(window, name)["miou"]) == round(after, 6)
    # A correction: saved by the session, then shown as corrected everywhere.
    with qtbot.waitSignal(session.saved, timeout=TIMEOUT):
        assert session.edits.save(name)
    assert cell(COL_MASK) == "fixed"
    assert _csv_row(window, name)["corrected"] == "1"
    assert "corrected" in window.views.left_title.text()
    assert "1 corrected" not in window.retrain.curation_label.text()  # rejected: left out
    session.facts.mark(name, None)
    assert "1 corrected" in window.retrain.curation_label.text()
    assert window.review.state_label.text() == "Annotation: not reviewed"

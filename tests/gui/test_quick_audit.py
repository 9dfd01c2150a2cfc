"""Quick audit from the retrain panel: pixel forests fill the Audit and Both columns."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from seggui.core.audit import load_audit
from seggui.core.train_events import AuditDone
from seggui.gui.slides.table_model import COL_AUDIT, COL_BOTH, SORT_ROLE
from tests.gui.conftest import open_and_wait

TIMEOUT = 120000


def test_quick_audit_from_the_panel_fills_audit_and_both(qtbot, window, demo_folder):
    open_and_wait(qtbot, window, demo_folder, 6)
    facts = window.session.facts
    qtbot.waitUntil(lambda: len(facts.records) == 6, timeout=TIMEOUT)  # in-sample mIoU
    assert window.slide_list.table.isColumnHidden(COL_BOTH)
    window.models.show_audit()
    panel = window.retrain
    panel.audit_folds.setValue(2)
    qtbot.mouseClick(panel.quick_audit_button, Qt.MouseButton.LeftButton)
    assert panel.running and not panel.audit_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert isinstance(panel.last_result, AuditDone), panel.last_result
    assert panel.quick_audit_button.isEnabled()
    assert panel.run.progress.value() == panel.run.progress.maximum()  # not left at 0%
    saved = load_audit(window.session.ctx)
    assert saved.quick and saved.folds == 2
    qtbot.waitUntil(lambda: facts.has_audit(), timeout=TIMEOUT)
    model = window.slide_list.model
    name = window.session.ctx.split.train[0]
    row = model.row_of(name)
    forest = facts.audit(name).miou  # the pixel forest's out-of-sample mIoU
    assert 0 <= forest <= 1 and model.data(model.index(row, COL_AUDIT)) == f"{forest:.3f}"
    assert model.data(model.index(row, COL_AUDIT), SORT_ROLE) == forest
    assert not window.slide_list.table.isColumnHidden(COL_BOTH)
    both = facts.both(name)
    assert 0 < both <= 1 and model.data(model.index(row, COL_BOTH)) == f"{both:.3f}"
    status = panel.run.status.text()
    assert ("Sort the list by its Both column" in status) == (not saved.weak), status
    assert "pixel forests" in status or saved.weak

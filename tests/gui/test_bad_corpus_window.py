"""The bad-input corpus in the window: each problem shows on its slide; the window goes on."""

from __future__ import annotations

from seggui.core.slides import natural_key
from tests.data.make_bad import EXPECTED, can_deny_read, make_bad_corpus
from tests.gui.conftest import _shown, open_and_wait

TIMEOUT = 120000


def test_window_shows_every_problem_and_keeps_working(qtbot, window, tmp_path):
    corpus = make_bad_corpus(tmp_path / "bad")
    names = sorted((n for n in EXPECTED if n != "loop"), key=natural_key)
    open_and_wait(qtbot, window, corpus, len(names), timeout=TIMEOUT)
    facts = window.session.facts
    for name in names:  # visit every slide: loading and prediction run for each
        window.slide_list.select(name)
        qtbot.waitUntil(
            lambda name=name: window.session.current == name and _shown(window), timeout=TIMEOUT
        )
    qtbot.waitUntil(lambda: facts.late_problem("truncated") is not None, timeout=TIMEOUT)
    window.slide_list.select("truncated")
    title = window.display.views.left_title
    qtbot.waitUntil(lambda: "truncated:" in title.text(), timeout=TIMEOUT)
    assert "Loading" not in title.text()  # the reason is shown where the slide would be
    for name, fragment in EXPECTED.items():
        if name == "loop" or (name == "no_read_permission" and not can_deny_read()):
            continue
        text = facts.problem(name).lower()
        if fragment is None:
            assert text == "", (name, text)
        else:
            assert fragment.lower() in text, (name, text)
    # The window still works: a good slide shows with its prediction.
    window.slide_list.select("good")
    qtbot.waitUntil(
        lambda: (
            window.session.predictions.get("good") is not None and "good" in window.session.loaded
        ),
        timeout=TIMEOUT,
    )
    assert not window.views.right.item.pixmap().isNull()

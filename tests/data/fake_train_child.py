"""A stand-in for ``python -m seggui.model.train_child`` in the panel's tests: it replays the
events a real run printed (tests/data/train_child_events.jsonl, recorded from a tiny real
run), line by line, and stops with "cancelled" when the panel sends ``cancel`` or closes its
stdin, as the real child does. The real child itself is tested in tests/model/test_faults.py,
and one window test runs it for real.

Usage: python fake_train_child.py RECORDING DELAY_S SPEC_JSON
"""

from __future__ import annotations

import sys
import threading

cancelled = threading.Event()


def watch_stdin() -> None:
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    cancelled.set()


def main(recording: str, delay: float) -> int:
    threading.Thread(target=watch_stdin, daemon=True).start()
    with open(recording, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        if cancelled.wait(delay):
            print('{"type": "cancelled"}', flush=True)
            return 0
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], float(sys.argv[2])))

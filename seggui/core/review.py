"""Review state of each slide's annotation, kept in ``review.sqlite`` in the workspace.

Every mark is its own committed transaction, so it survives a crash; SQLite's locking lets
two windows on the same folder write without losing each other's marks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REVIEW_FILE = "review.sqlite"
STATES = ("accepted", "needs fix", "rejected", "corrected")


@dataclass
class Review:
    name: str
    state: str | None
    note: str
    updated: float


@dataclass(frozen=True)
class RegionReview:
    """A mark on a region of a whole slide: a rectangle in level-0 pixels that the reviewer
    drew (``source`` "drawn") or the ranking proposed ("ranked")."""

    slide: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    source: str
    state: str | None
    updated: float


class ReviewStore:
    """Per-slide review marks for one workspace."""

    def __init__(self, workspace: str | Path):
        self.path = Path(workspace) / REVIEW_FILE
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=10.0, check_same_thread=False, isolation_level=None
        )
        self._setup()
        self._cache = self._read_all()  # reads are served from here; writes go to SQLite

    def _setup(self) -> None:
        # Switching to WAL and creating the table need a moment of exclusive access; when
        # another window opens the same database at that instant SQLite answers "locked"
        # without waiting, so try again for a while.
        for attempt in range(100):
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS review (name TEXT PRIMARY KEY, state TEXT, "
                    "note TEXT NOT NULL DEFAULT '', updated REAL NOT NULL)"
                )
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS region (slide TEXT, x0 REAL, y0 REAL, x1 REAL, "
                    "y1 REAL, source TEXT NOT NULL, state TEXT, updated REAL NOT NULL, "
                    "PRIMARY KEY(slide, x0, y0, x1, y1))"
                )
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05)

    def set(self, name: str, state: str | None, note: str | None = None) -> Review:
        """Mark ``name``; ``state`` None clears the mark, ``note`` None keeps the old note."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {STATES} or None, not {state!r}")
        now = time.time()
        with self._lock:
            if note is None:
                self._conn.execute(
                    "INSERT INTO review(name, state, updated) VALUES(?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET state=excluded.state, "
                    "updated=excluded.updated",
                    (name, state, now),
                )
            else:
                self._conn.execute(
                    "INSERT INTO review(name, state, note, updated) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET state=excluded.state, note=excluded.note, "
                    "updated=excluded.updated",
                    (name, state, note, now),
                )
            row = self._conn.execute(
                "SELECT name, state, note, updated FROM review WHERE name=?", (name,)
            ).fetchone()
            self._cache[name] = Review(*row)
            return self._cache[name]

    def get(self, name: str) -> Review:
        with self._lock:
            return self._cache.get(name) or Review(name, None, "", 0.0)

    def all(self) -> dict[str, Review]:
        with self._lock:
            return dict(self._cache)

    def _read_all(self) -> dict[str, Review]:
        with self._lock:
            rows = self._conn.execute("SELECT name, state, note, updated FROM review").fetchall()
        return {r[0]: Review(*r) for r in rows}

    def set_region(
        self, slide: str, box: tuple[float, float, float, float], state: str | None, source: str
    ) -> RegionReview:
        """Mark a region of ``slide`` (a drawn region is kept even without a mark)."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {STATES} or None, not {state!r}")
        box = tuple(float(v) for v in box)
        with self._lock:
            self._conn.execute(
                "INSERT INTO region(slide, x0, y0, x1, y1, source, state, updated) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(slide, x0, y0, x1, y1) DO UPDATE "
                "SET state=excluded.state, updated=excluded.updated",
                (slide, *box, source, state, time.time()),
            )
        return next(r for r in self.regions(slide) if r.box == box)

    def remove_region(self, slide: str, box: tuple[float, float, float, float]) -> None:
        with self._lock:
            self._conn.execute(
                "DELETE FROM region WHERE slide=? AND x0=? AND y0=? AND x1=? AND y1=?",
                (slide, *(float(v) for v in box)),
            )

    def regions(self, slide: str) -> list[RegionReview]:
        """The slide's marked or drawn regions, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT x0, y0, x1, y1, source, state, updated FROM region WHERE slide=? "
                "ORDER BY updated",
                (slide,),
            ).fetchall()
        return [RegionReview(slide, tuple(r[:4]), r[4], r[5], r[6]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def corrected_after_save(reviews: ReviewStore, name: str) -> Review | None:
    """The review rule for a saved correction: a slide marked "needs fix" becomes
    "corrected" (its note kept). Returns the new review, or None when nothing changed."""
    if reviews.get(name).state != "needs fix":
        return None
    return reviews.set(name, "corrected")

"""The prepared train/test split: made once with scikit-learn, saved, and reused.

Every model version is scored on the same test slides. Slides added later are placed by a
stable hash of their name; a slide already placed never moves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from seggui.core.atomic import atomic_write_text

SPLIT_FILE = "split.json"
DEFAULT_SEED = 42
DEFAULT_TEST_FRACTION = 0.2


class SplitError(Exception):
    """A saved split that cannot be read; it is never silently replaced."""


@dataclass
class Split:
    seed: int = DEFAULT_SEED
    test_fraction: float = DEFAULT_TEST_FRACTION
    train: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "train": self.train,
            "test": self.test,
        }


def hash_fraction(name: str) -> float:
    """A stable number in [0, 1) for a slide name, the same on every machine and run."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def make_split(
    names: list[str], seed: int = DEFAULT_SEED, test_fraction: float = DEFAULT_TEST_FRACTION
) -> Split:
    """A fresh 80:20 split of ``names`` with scikit-learn's ``train_test_split``."""
    names = sorted(names)
    if len(names) < 2:
        return Split(seed, test_fraction, names, [])
    # Imported here: opening a folder whose split is saved (every command, the window) does
    # not need scikit-learn, which takes about 0.7 s to import.
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(names, test_size=test_fraction, random_state=seed, shuffle=True)
    return Split(seed, test_fraction, sorted(train), sorted(test))


def load_split(path: Path) -> Split:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Split(
            int(data["seed"]),
            float(data["test_fraction"]),
            [str(n) for n in data["train"]],
            [str(n) for n in data["test"]],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SplitError(
            f"{path} cannot be read ({exc}); fix it or delete it to make a new split"
        ) from exc


def save_split(path: Path, split: Split) -> None:
    atomic_write_text(path, json.dumps(split.to_json(), indent=1))


def load_or_create_split(
    workspace: Path,
    names: list[str],
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
) -> Split:
    """The saved split for this workspace, extended with any new ``names``; made if absent."""
    path = Path(workspace) / SPLIT_FILE
    if not path.exists():
        split = make_split(names, seed, test_fraction)
        save_split(path, split)
        return split
    split = load_split(path)
    placed = set(split.train) | set(split.test)
    new = [n for n in names if n not in placed]
    if new:
        for name in new:
            (split.test if hash_fraction(name) < split.test_fraction else split.train).append(name)
        save_split(path, split)
    return split

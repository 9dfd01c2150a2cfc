"""Finished per-slide results of a batch run, each written atomically when it is done.

A run spread over many processes or machines (``--cluster``, ``--workers``) must lose nothing
and do nothing twice: every slide's result is a file of its own, named for the model that made
it and stamped with the files it was made from, so a rerun (after a crash, a killed worker or
Ctrl+C) skips what is finished and redoes only what is missing or stale.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from seggui.core.atomic import atomic_write_bytes
from seggui.core.imageio import mask_note
from seggui.core.predcache import source_stamp

#: PNG text keys of a predicted mask: the model's content hash and the image's stamp.
MODEL_KEY = "seggui-model"
SOURCE_KEY = "seggui-source"


def model_hash(model_path: str | Path) -> str:
    """A model file's content hash: the same model on any machine, whatever its path."""
    h = hashlib.sha256()
    with open(model_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def stamp(path: str | Path | None) -> str:
    """A file's size and modification time ('' for none), the test for 'changed since'."""
    return source_stamp(Path(path)) if path is not None else ""


def mask_note_for(model_hash: str, image_path: str | Path) -> dict[str, str]:
    """What a predicted mask records about how it was made."""
    return {MODEL_KEY: model_hash, SOURCE_KEY: stamp(image_path)}


def mask_is_current(target: Path, model_hash: str, image_path: str | Path) -> bool:
    """True when ``target`` is a whole mask made by this model from this image as it is."""
    return target.exists() and mask_note(target) == mask_note_for(model_hash, image_path)


class ScoreRecords:
    """Per-slide confusion matrices of one model (and prediction mode) in a workspace."""

    def __init__(self, workspace: Path, model_hash: str, mode: str = ""):
        self.folder = Path(workspace) / "scores" / (model_hash + (f"-{mode}" if mode else ""))

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str, image: Path, mask: Path) -> np.ndarray | None:
        """The slide's stored confusion, if it was made from these very files."""
        try:
            data = json.loads(self._path(name).read_text())
            if data["image"] != stamp(image) or data["mask"] != stamp(mask):
                return None
            return np.asarray(data["confusion"], dtype=np.int64)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, stale or unreadable: score it again

    def save(self, name: str, image: Path, mask: Path, confusion: np.ndarray) -> None:
        record = {"image": stamp(image), "mask": stamp(mask), "confusion": confusion.tolist()}
        atomic_write_bytes(self._path(name), json.dumps(record).encode())

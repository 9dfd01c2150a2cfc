"""A disk cache of predictions per model, so revisiting a slide shows it at once.

Entries live in ``<workspace>/cache/<model key>/<slide>.npz``; the key changes when the
model file changes, so a retrained model never shows stale predictions.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from seggui.core.atomic import atomic_write_bytes


def model_key(model_path: str | Path) -> str:
    """A short key for a model file: its resolved path, size and modification time."""
    path = Path(model_path).resolve()
    st = path.stat()
    text = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def source_stamp(image_path: Path) -> str:
    st = Path(image_path).stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


class PredictionCache:
    """Predicted labels, confidences and margins (quantised to 1/255) and every class's
    probability (8-bit) for one model in one workspace."""

    def __init__(self, workspace: str | Path, key: str):
        self.dir = Path(workspace) / "cache" / key

    def _path(self, name: str) -> Path:
        safe = hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
        return self.dir / f"{safe}.npz"

    def get(self, name: str, image_path: Path) -> tuple[np.ndarray, ...] | None:
        """``(labels, confidence, margin, probs)`` if cached for this image file, else None."""
        path = self._path(name)
        try:
            with np.load(path) as data:
                if str(data["stamp"]) != source_stamp(image_path) or "probs" not in data:
                    return None  # another image, or made before margins and probabilities
                return (
                    data["labels"],
                    data["confidence"].astype(np.float32) / 255.0,
                    data["margin"].astype(np.float32) / 255.0,
                    data["probs"],
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
            return None

    def put(
        self,
        name: str,
        image_path: Path,
        labels: np.ndarray,
        confidence: np.ndarray,
        margin: np.ndarray,
        probs: np.ndarray,
    ) -> None:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            labels=labels.astype(np.uint8),
            confidence=np.round(np.clip(confidence, 0, 1) * 255).astype(np.uint8),
            margin=np.round(np.clip(margin, 0, 1) * 255).astype(np.uint8),
            probs=probs.astype(np.uint8),
            stamp=np.array(source_stamp(image_path)),
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self._path(name), buf.getvalue())

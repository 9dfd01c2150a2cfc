"""The folder's workspace: where the split, models, prediction cache and review state live.

It is ``<folder>/.seggui``; where the folder cannot be written, a per-user data directory
keyed by the folder's absolute path takes its place, so nothing is ever written into a
read-only dataset.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

WORKSPACE_NAME = ".seggui"


def user_data_dir() -> Path:
    """seggui's per-user data directory (``$SEGGUI_DATA_DIR`` overrides it)."""
    if os.environ.get("SEGGUI_DATA_DIR"):
        return Path(os.environ["SEGGUI_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "seggui"


def is_writable(directory: Path) -> bool:
    """True when a file can be created in ``directory`` (made if missing)."""
    try:
        directory.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def workspace_dir(folder: str | Path) -> Path:
    """The workspace directory for ``folder``, created if needed."""
    folder = Path(folder).resolve()
    local = folder / WORKSPACE_NAME
    if is_writable(local):
        return local
    key = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:16]
    fallback = user_data_dir() / "workspaces" / f"{folder.name or 'root'}-{key}"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback

"""Resolutions the user set for whole slides whose file says none (or says it wrong).

Kept in the folder's workspace (``slide_mpp.json``, written atomically) and applied to the
folder's whole slides when it is opened, so the window, ``evaluate`` and ``export`` all
measure the slide at the same microns per pixel.
"""

from __future__ import annotations

import json
from pathlib import Path

from seggui.core.atomic import atomic_write_text
from seggui.core.slides import FolderScan

FILE = "slide_mpp.json"


def load(workspace: Path) -> dict[str, float]:
    path = Path(workspace) / FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > 0}


def apply(scan: FolderScan, workspace: Path) -> None:
    """Give each whole slide of ``scan`` the resolution set for it, if any."""
    overrides = load(workspace)
    for entry in scan.whole_slides:
        entry.mpp = overrides.get(entry.name)


def set_mpp(workspace: Path, name: str, mpp: float | None) -> None:
    """Remember (or with None, forget) the microns per pixel of whole slide ``name``."""
    if mpp is not None and not mpp > 0:
        raise ValueError("microns per pixel must be positive")
    overrides = load(workspace)
    if mpp is None:
        overrides.pop(name, None)
    else:
        overrides[name] = float(mpp)
    atomic_write_text(Path(workspace) / FILE, json.dumps(overrides, indent=1, sort_keys=True))

"""Model metadata and the folder's model versions, readable without TensorFlow.

A model is ``NAME.keras`` with ``NAME.json`` beside it (see :mod:`seggui.model.store` for
saving and loading the weights). The window lists versions and the active model from here
without importing TensorFlow.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from seggui.core.atomic import atomic_write_text
from seggui.core.classes import ClassesError, ClassSet

FORMAT = "seggui-unet/1"
MODELS_DIR = "models"
ACTIVE_FILE = "active_model.json"
BUNDLED_NAME = "default_model.keras"


class ModelError(Exception):
    """A model that cannot be used, with the reason."""


@dataclass
class ModelMeta:
    """What a saved model carries beside its weights."""

    classes: ClassSet
    base_filters: int = 16
    depth: int = 4
    normalization: str = "rgb/255, alpha dropped, range [0, 1]"
    input_mean: list[float] | None = None  # then (x - mean) / std per channel, in the model
    input_std: list[float] | None = None
    split: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    test_metrics: dict = field(default_factory=dict)
    created: str = ""
    source_folder: str = ""
    parent: str = ""
    name: str = ""

    @property
    def downsample(self) -> int:
        """The working resolution the model was trained at (1: full; older models)."""
        try:
            return max(1, int(self.training.get("downsample", 1)))
        except (TypeError, ValueError):
            return 1

    @property
    def block(self) -> str:
        """The U-Net's convolution blocks ("standard" for older models)."""
        block = self.training.get("block", "standard")
        return block if block in ("standard", "separable") else "standard"

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "name": self.name,
            "classes": self.classes.to_json()["classes"],
            "base_filters": self.base_filters,
            "depth": self.depth,
            "normalization": self.normalization,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "split": self.split,
            "training": self.training,
            "test_metrics": self.test_metrics,
            "created": self.created,
            "source_folder": self.source_folder,
            "parent": self.parent,
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelMeta:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError("not a seggui model (its metadata has no seggui format tag)")
        try:
            classes = ClassSet.from_json({"classes": data["classes"]}, source="model")
        except (KeyError, ClassesError) as exc:
            raise ModelError(f"model metadata has no usable classes ({exc})") from exc
        return cls(
            classes=classes,
            base_filters=int(data.get("base_filters", 16)),
            depth=int(data.get("depth", 4)),
            normalization=str(data.get("normalization", "")),
            input_mean=data.get("input_mean"),
            input_std=data.get("input_std"),
            split=data.get("split") or {},
            training=data.get("training") or {},
            test_metrics=data.get("test_metrics") or {},
            created=data.get("created", ""),
            source_folder=data.get("source_folder", ""),
            parent=data.get("parent", ""),
            name=data.get("name", ""),
        )


def meta_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def read_meta(model_path: str | Path) -> ModelMeta:
    """The metadata of a saved model, without loading TensorFlow."""
    path = meta_path(Path(model_path))
    if not path.exists():
        raise ModelError(f"{Path(model_path).name}: not a seggui model (no {path.name} beside it)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path.name}: metadata cannot be read ({exc})") from exc
    meta = ModelMeta.from_json(data)
    meta.name = meta.name or Path(model_path).stem
    return meta


def resources_dir() -> Path:
    """The bundled resources: inside the installed package, or the checkout's ``resources/``."""
    try:
        return Path(str(resources.files("seggui.resources")))
    except ModuleNotFoundError:  # running from a source checkout that was not installed
        return Path(__file__).resolve().parents[2] / "resources"


def bundled_model_path() -> Path:
    """The default model shipped inside the package."""
    return resources_dir() / BUNDLED_NAME


def models_dir(workspace: Path) -> Path:
    return Path(workspace) / MODELS_DIR


def list_versions(workspace: Path) -> list[tuple[Path, ModelMeta]]:
    """The workspace's model versions with readable metadata, oldest first."""
    out = []
    directory = models_dir(workspace)
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.keras")):
        if path.name.startswith(".tmp-"):
            continue
        try:
            out.append((path, read_meta(path)))
        except ModelError:
            continue
    out.sort(key=lambda item: (item[1].created, item[0].name))
    return out


def new_version_path(workspace: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    n = len(list_versions(workspace)) + 1
    path = models_dir(workspace) / f"v{n:03d}-{stamp}.keras"
    while path.exists():
        n += 1
        path = models_dir(workspace) / f"v{n:03d}-{stamp}.keras"
    return path


def active_model_path(workspace: Path) -> Path | None:
    """The folder's active model, or None when it has none (or it was removed)."""
    pointer = Path(workspace) / ACTIVE_FILE
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
        path = Path(data["path"])
        if not path.is_absolute():
            path = Path(workspace) / path
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path.exists() and meta_path(path).exists() else None


def set_active(workspace: Path, model_path: Path) -> None:
    model_path = Path(model_path).resolve()
    try:
        stored = str(model_path.relative_to(Path(workspace).resolve()))
    except ValueError:
        stored = str(model_path)
    atomic_write_text(Path(workspace) / ACTIVE_FILE, json.dumps({"path": stored}))


def resolve_model(workspace: Path | None, explicit: str | Path | None = None) -> Path:
    """``explicit`` if given, else the folder's active model, else the bundled default."""
    if explicit:
        return Path(explicit)
    if workspace is not None:
        active = active_model_path(workspace)
        if active is not None:
            return active
    return bundled_model_path()

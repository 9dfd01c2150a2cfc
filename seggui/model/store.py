"""Saving and loading models with their metadata (the rest lives in :mod:`seggui.core.registry`).

Both files are written atomically, the JSON first, so a model file never exists without its
metadata; temporary files start with ``.tmp-`` and are never listed as versions. Models are
loaded with Keras' safe mode on, always.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from seggui.core.atomic import atomic_path, atomic_write_text
from seggui.core.registry import (  # noqa: F401  (re-exported for callers of the model layer)
    FORMAT,
    ModelError,
    ModelMeta,
    active_model_path,
    bundled_model_path,
    list_versions,
    meta_path,
    models_dir,
    new_version_path,
    now_iso,
    read_meta,
    resolve_model,
    set_active,
)


def save_model(model, path: str | Path, meta: ModelMeta) -> Path:
    """Save ``model`` and ``meta`` atomically to ``path`` (``.keras``) and its JSON.

    Only the architecture and weights are kept: the optimizer state would triple the file
    and is of no use, since retraining compiles afresh. The metadata's input normalisation
    is read from the model's own first layer, so the two never disagree.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model path must end in .keras: {path}")
    from seggui.model.unet import input_normalisation

    meta.name = meta.name or path.stem
    stats = input_normalisation(model)
    meta.input_mean, meta.input_std = stats if stats else (None, None)
    meta.normalization = (
        "rgb/255, alpha dropped, range [0, 1], then (x - input_mean) / input_std per channel "
        "by the model's first layer"
        if stats
        else "rgb/255, alpha dropped, range [0, 1]"
    )
    meta.created = meta.created or now_iso()
    atomic_write_text(meta_path(path), json.dumps(meta.to_json(), indent=1))
    if getattr(model, "optimizer", None) is not None:
        bare = keras.models.clone_model(model)
        bare.set_weights(model.get_weights())
        model = bare
    with atomic_path(path, suffix=".partial.keras") as tmp:
        model.save(tmp)
    return path


def load_model(path: str | Path):
    """Load a seggui model with Keras' safe mode on; returns ``(model, meta)``.

    Refuses, with the reason: a file without seggui metadata, a damaged archive, a model with
    code in it (Lambda layers), and a model whose output does not match its classes.
    """
    import keras

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    meta = read_meta(path)
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path.name}: damaged or truncated model file (not a .keras archive)")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text.lower():
            raise ModelError(
                f"{path.name}: contains code (e.g. a Lambda layer); refused "
                "because models are only loaded in safe mode"
            ) from exc
        raise ModelError(f"{path.name}: cannot be loaded ({text.splitlines()[0]})") from exc
    except Exception as exc:  # Keras raises many kinds for a damaged archive
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{path.name}: cannot be loaded ({first})") from exc
    out_channels = model.output_shape[-1]
    in_channels = model.input_shape[-1]
    if in_channels != 3:
        raise ModelError(f"{path.name}: expects {in_channels} input channels, not RGB")
    if out_channels != len(meta.classes):
        raise ModelError(
            f"{path.name}: predicts {out_channels} classes but its metadata "
            f"names {len(meta.classes)}"
        )
    return model, meta

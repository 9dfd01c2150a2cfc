"""Synthetic, H&E-like demo tiles in the original layout, reproducible from a seed.

Each tile has white background, pink fibrous stroma, glands (a lavender epithelium around a
pale lumen) and dark purple nuclei, with stain variation and texture rather than flat colours.
Images are 512x512 RGBA PNGs; masks are mode ``P`` PNGs with four classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from seggui.core.atomic import atomic_path, atomic_write_text
from seggui.core.cancel import CancelToken, ProgressFn, no_progress
from seggui.core.classes import CLASSES_FILE, ClassSet
from seggui.core.imageio import write_mask

DEMO_CLASSES = ClassSet.default(
    4,
    names=["background", "stroma", "gland", "nucleus"],
    colors=[(0, 0, 0), (255, 190, 0), (0, 150, 255), (0, 220, 90)],
    source="demo",
)
TILE = 512


def _smooth_noise(
    rng: np.random.Generator, h: int, w: int, scale: int, aspect: float = 1.0
) -> np.ndarray:
    """Low-frequency noise in [0, 1] with features about ``scale`` pixels across."""
    sh = max(2, int(h / scale * aspect))
    sw = max(2, int(w / scale))
    small = rng.random((sh, sw)).astype(np.float32)
    img = Image.fromarray(small, mode="F").resize((w, h), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.float32)
    lo, hi = arr.min(), arr.max()
    return (arr - lo) / (hi - lo + 1e-6)


def _ellipse(
    h: int,
    w: int,
    cy: float,
    cx: float,
    ry: float,
    rx: float,
    angle: float,
    wobble: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of a rotated ellipse, its edge optionally perturbed by ``wobble``."""
    y0, y1 = max(0, int(cy - max(rx, ry) - 3)), min(h, int(cy + max(rx, ry) + 4))
    x0, x1 = max(0, int(cx - max(rx, ry) - 3)), min(w, int(cx + max(rx, ry) + 4))
    out = np.zeros((h, w), dtype=bool)
    if y0 >= y1 or x0 >= x1:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    r = u * u + v * v
    if wobble is not None:
        r = r + (wobble[y0:y1, x0:x1] - 0.5) * 0.5
    out[y0:y1, x0:x1] = r <= 1.0
    return out


def make_tile(seed: int, index: int, size: int = TILE) -> tuple[np.ndarray, np.ndarray]:
    """One demo tile: ``(RGBA uint8 image, uint8 class mask)``."""
    rng = np.random.default_rng([seed, index])
    h = w = size
    labels = np.zeros((h, w), dtype=np.uint8)

    tissue = _smooth_noise(rng, h, w, 160) < rng.uniform(0.65, 0.9)
    labels[tissue] = 1

    wobble = _smooth_noise(rng, h, w, 24)
    epithelium = np.zeros((h, w), dtype=bool)
    lumen = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(2, 7))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        if not tissue[int(cy), int(cx)]:
            continue
        ry, rx = rng.uniform(25, 70), rng.uniform(25, 70)
        angle = rng.uniform(0, np.pi)
        gland = _ellipse(h, w, cy, cx, ry, rx, angle, wobble)
        inner = _ellipse(h, w, cy, cx, ry * 0.6, rx * 0.6, angle, wobble)
        epithelium |= gland & ~inner
        lumen |= inner
        labels[gland] = 2
    epithelium &= ~lumen

    nuclei = np.zeros((h, w), dtype=bool)
    stroma_pts = np.argwhere(labels == 1)
    epi_pts = np.argwhere(epithelium)
    for pts, count in (
        (stroma_pts, int(rng.integers(60, 160))),
        (epi_pts, int(rng.integers(40, 120))),
    ):
        if len(pts) == 0:
            continue
        for cy, cx in pts[rng.integers(0, len(pts), count)]:
            r = rng.uniform(3.5, 7.0)
            nuclei |= _ellipse(h, w, cy, cx, r * rng.uniform(0.6, 1.0), r, rng.uniform(0, np.pi))
    labels[nuclei] = 3

    fine = rng.normal(0, 1, (h, w)).astype(np.float32)
    # Fibres: streaky noise drawn larger than the tile, rotated, and cropped back.
    big = int(size * 1.5)
    fibres = Image.fromarray(_smooth_noise(rng, big, big, 10, aspect=0.15), mode="F")
    fibres = fibres.rotate(rng.uniform(0, 180), resample=Image.Resampling.BILINEAR)
    off = (big - size) // 2
    fibres = np.asarray(fibres, dtype=np.float32)[off : off + h, off : off + w]
    blotch = _smooth_noise(rng, h, w, 60)

    img = np.empty((h, w, 3), dtype=np.float32)
    img[:] = (244, 241, 244)
    stroma_col = np.array([232, 150, 185], np.float32)
    tex = (fibres[..., None] - 0.5) * 60 + (blotch[..., None] - 0.5) * 30
    sel = labels == 1
    img[sel] = stroma_col + tex[sel] * np.array([0.5, 1.0, 0.7], np.float32)
    img[epithelium & ~nuclei] = (
        np.array([196, 128, 196], np.float32) + tex[epithelium & ~nuclei] * 0.4
    )
    img[lumen & ~nuclei] = np.array([246, 228, 238], np.float32) + tex[lumen & ~nuclei] * 0.15
    nuc_col = np.array([88, 48, 128], np.float32)
    img[nuclei] = nuc_col + (blotch[nuclei, None] - 0.5) * 40
    img += fine[..., None] * np.array([6, 7, 6], np.float32)
    img *= rng.uniform(0.93, 1.05, 3).astype(np.float32)

    rgb = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), mode="RGB")
    rgb = rgb.filter(ImageFilter.GaussianBlur(0.8))
    rgba = np.dstack([np.asarray(rgb), np.full((h, w), 255, np.uint8)])
    return rgba, labels


def write_demo(
    out: str | Path,
    count: int = 60,
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    size: int = TILE,
) -> Path:
    """Write ``count`` demo tiles to ``out/images`` and ``out/masks`` plus ``classes.json``."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / CLASSES_FILE, json.dumps(DEMO_CLASSES.to_json(), indent=1))
    for i in range(count):
        if cancel is not None:
            cancel.raise_if_cancelled()
        rgba, labels = make_tile(seed, i, size)
        name = f"tile_{i:04d}.png"
        with atomic_path(out / "images" / name) as tmp:
            # zlib level 1: a fifth of level 6's time for files a fifth larger; the demo is
            # written while a new user waits for the window.
            Image.fromarray(rgba, mode="RGBA").save(tmp, format="PNG", compress_level=1)
        write_mask(out / "masks" / name, labels, DEMO_CLASSES)
        progress(i + 1, count, f"demo tile {i + 1}/{count}")
    return out

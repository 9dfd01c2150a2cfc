"""Segmentation classes: names and colours, from classes.json, a mask palette, or defaults."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES_FILE = "classes.json"

#: Distinct colours for classes that come with none (index 0 is background, drawn black).
DEFAULT_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (255, 250, 200),
    (128, 0, 0),
)


class ClassesError(ValueError):
    """A classes.json that cannot be used, with the reason."""


@dataclass(frozen=True)
class ClassInfo:
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class ClassSet:
    """The ordered classes of a folder or model; index in the tuple = value in a mask."""

    classes: tuple[ClassInfo, ...]
    source: str = "default"
    #: The class marked as background in classes.json (eraser, exports), if any.
    marked_background: int | None = None

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self):
        return iter(self.classes)

    def __getitem__(self, index: int) -> ClassInfo:
        return self.classes[index]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def colors(self) -> np.ndarray:
        """``(N, 3)`` uint8 array of class colours."""
        return np.array([c.color for c in self.classes], dtype=np.uint8).reshape(-1, 3)

    def palette(self) -> list[int]:
        """A flat 768-entry palette for Pillow's ``putpalette``; unused entries are black."""
        flat = [v for c in self.classes for v in c.color]
        return flat + [0] * (768 - len(flat))

    def to_json(self) -> dict:
        data: dict = {"classes": [{"name": c.name, "color": list(c.color)} for c in self.classes]}
        if self.marked_background is not None:
            data["background"] = self.marked_background
        return data

    @property
    def background(self) -> int | None:
        """The background class: the one marked in classes.json, else one named
        "background"; None when nothing says which (then no class is treated as one)."""
        if self.marked_background is not None:
            return self.marked_background
        names = [n.lower() for n in self.names]
        return names.index("background") if "background" in names else None

    @classmethod
    def from_json(cls, data: dict, source: str = CLASSES_FILE) -> ClassSet:
        try:
            items = data["classes"]
            classes = tuple(
                ClassInfo(str(item["name"]), _color(item.get("color"), i))
                for i, item in enumerate(items)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ClassesError(
                f"expected {{'classes': [{{'name', 'color'}}, ...]}}: {exc}"
            ) from exc
        if len(classes) < 2:
            raise ClassesError("at least two classes are needed")
        if len(classes) > 255:
            raise ClassesError("at most 255 classes are supported")
        background = data.get("background")
        if background is not None and (
            not isinstance(background, int) or not 0 <= background < len(classes)
        ):
            raise ClassesError(f"background must be a class index, not {background!r}")
        return cls(classes, source, background)

    def edited(
        self, names: list[str], colors: list[tuple[int, int, int]], background: int | None
    ) -> ClassSet:
        """The same classes (same values in the masks) with new names, colours, background."""
        if len(names) != len(self) or len(colors) != len(self):
            raise ClassesError("renaming keeps the number of classes")
        if any(not n.strip() for n in names) or len({n.strip() for n in names}) != len(names):
            raise ClassesError("class names must be non-empty and different")
        infos = tuple(
            ClassInfo(n.strip(), tuple(int(v) for v in c))
            for n, c in zip(names, colors, strict=True)
        )
        return ClassSet(infos, CLASSES_FILE, background)

    @classmethod
    def default(
        cls,
        n: int = 4,
        names: Sequence[str] | None = None,
        colors: Sequence[tuple[int, int, int]] | None = None,
        source: str = "default",
    ) -> ClassSet:
        if names is None:
            names = (
                ["background", "foreground"]
                if n == 2
                else ["background"] + [f"class {i}" for i in range(1, n)]
            )
        if colors is None:
            colors = [default_color(i) for i in range(n)]
        return cls(
            tuple(ClassInfo(nm, tuple(int(v) for v in col)) for nm, col in zip(names, colors)),
            source,
        )

    def same_as(self, other: ClassSet) -> bool:
        """True when both have the same number of classes with the same names."""
        return self.names == other.names


def default_color(index: int) -> tuple[int, int, int]:
    if index < len(DEFAULT_COLORS):
        return DEFAULT_COLORS[index]
    rng = np.random.default_rng(index)
    return tuple(int(v) for v in rng.integers(40, 256, 3))


def _color(value, index: int) -> tuple[int, int, int]:
    if value is None:
        return default_color(index)
    rgb = tuple(int(v) for v in value)
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"colour {value!r} is not [r, g, b] in 0..255")
    return rgb


def read_classes_file(path: str | Path) -> ClassSet:
    """Read a ``classes.json``; raises :class:`ClassesError` with the reason."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClassesError(f"{path}: {exc}") from exc
    try:
        return ClassSet.from_json(data, source=str(path))
    except ClassesError as exc:
        raise ClassesError(f"{path}: {exc}") from exc


def classes_from_observations(
    max_value: int,
    binary_255: bool,
    palette: Sequence[int] | None,
    colors_seen: Iterable[tuple[int, int, int]] = (),
) -> ClassSet:
    """Build classes from what sampled masks showed when no classes.json exists.

    ``colors_seen`` (from colour masks) defines the classes by itself; else the count is the
    largest value seen plus one (two for 0/255 masks), coloured by the palette where it gives
    distinct colours for them.
    """
    seen = sorted(set(colors_seen))
    if seen:
        return ClassSet(
            tuple(ClassInfo(f"class {i}", c) for i, c in enumerate(seen)),
            "mask colours",
        )
    n = 2 if binary_255 else max(max_value + 1, 2)
    # Without classes.json nothing says what a value means: "class 0", "class 1", ...
    names = None if binary_255 else [f"class {i}" for i in range(n)]
    if palette is not None and len(palette) >= 3 * n:
        cols = [tuple(int(v) for v in palette[3 * i : 3 * i + 3]) for i in range(n)]
        if len(set(cols)) == n and not all(c[0] == c[1] == c[2] for c in cols[1:]):
            return ClassSet.default(n, names=names, colors=cols, source="mask palette")
    return ClassSet.default(n, names=names, source="mask values")


#: Colours that stand out on H&E, for classes whose own colour would vanish on the slide.
STAND_INS: tuple[tuple[int, int, int], ...] = (
    (0, 200, 200),
    (255, 140, 0),
    (120, 220, 60),
    (150, 80, 220),
    (0, 110, 255),
)


def vanishes(color: tuple[int, int, int]) -> bool:
    """True for white-ish or black-ish colours, which disappear on a slide's background or
    on dark nuclei."""
    r, g, b = color
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (luma > 225 and max(color) - min(color) < 40) or luma < 30


def display_colors(classes: ClassSet) -> np.ndarray:
    """The colours to draw the classes with: their own, except that a colour that would
    vanish on the slide gets a stand-in that differs from every other class's colour."""
    colors = [tuple(int(v) for v in c.color) for c in classes]
    out = list(colors)
    for i, color in enumerate(colors):
        if not vanishes(color):
            continue
        taken = [c for j, c in enumerate(out) if j != i]
        for candidate in STAND_INS:
            if all(sum(abs(a - b) for a, b in zip(candidate, t, strict=True)) > 90 for t in taken):
                out[i] = candidate
                break
    return np.array(out, dtype=np.uint8).reshape(-1, 3)

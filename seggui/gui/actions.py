"""The window's actions: one table makes the menus, the shortcuts and Help > Shortcuts.

Keeping them in one table means the help can never list a key the window does not have,
and a test can check that no two actions share a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PyQt6.QtGui import QAction, QActionGroup, QKeySequence

MENUS = (
    ("file", "&File"),
    ("edit", "&Edit"),
    ("view", "&View"),
    ("model", "&Model"),
    ("settings", "&Settings"),
    ("help", "&Help"),
)


@dataclass(frozen=True)
class ActionSpec:
    key: str
    menu: str
    text: str
    keys: tuple[str, ...] = ()
    help: str = ""  # the line in Help > Shortcuts (the menu text when empty)
    checkable: bool = False
    group: str = ""  # actions of one group are exclusive (the tools)
    separator: bool = False  # a separator before this action in its menu
    short: str = ""  # the text on a tool bar button


def _classes() -> list[ActionSpec]:
    return [
        ActionSpec(
            f"class_{i}",
            "edit",
            f"Active class {i}",
            (f"Ctrl+{i}",),
            help="" if i > 1 else "Active class: the 1st … 9th in the legend",
        )
        for i in range(1, 10)
    ]


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "file", "&Open Folder…", ("Ctrl+O",), "Open a folder of slides"),
    ActionSpec("open_demo", "file", "Open &Demo"),
    ActionSpec(
        "export_csv",
        "file",
        "&Export scores as CSV…",
        ("Ctrl+E",),
        "Export scores as CSV",
        separator=True,
    ),
    ActionSpec("export_annotations", "file", "Export &annotations (GeoJSON, masks)…"),
    ActionSpec("quit", "file", "&Quit", ("Ctrl+Q",), separator=True),
    ActionSpec("edit_classes", "edit", "&Classes… (names, colours, background)"),
    ActionSpec("undo", "edit", "&Undo", ("Ctrl+Z",), "Undo the last stroke, fill or lasso"),
    ActionSpec("redo", "edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    ActionSpec(
        "save_mask",
        "edit",
        "&Save mask",
        ("Ctrl+S",),
        "Save the corrected mask (also saved when leaving the slide or closing)",
        short="Save",
    ),
    ActionSpec("revert_mask", "edit", "Re&vert mask to original"),
    ActionSpec("new_mask", "edit", "&New mask from prediction"),
    ActionSpec(
        "tool_pan",
        "edit",
        "&Pan and zoom",
        ("Esc",),
        "Cancel the lasso, else back to pan and zoom",
        checkable=True,
        group="tool",
        separator=True,
        short="Pan",
    ),
    ActionSpec(
        "tool_brush",
        "edit",
        "&Brush",
        ("B",),
        "Brush: paint the active class",
        checkable=True,
        group="tool",
        short="Brush",
    ),
    ActionSpec(
        "tool_eraser",
        "edit",
        "&Eraser",
        ("E",),
        "Eraser: paint the background class",
        checkable=True,
        group="tool",
        short="Eraser",
    ),
    ActionSpec(
        "tool_fill",
        "edit",
        "&Fill",
        ("G",),
        "Fill the clicked region with the active class",
        checkable=True,
        group="tool",
        short="Fill",
    ),
    ActionSpec(
        "tool_lasso",
        "edit",
        "&Lasso / polygon",
        ("L",),
        "Lasso: drag freehand, or click corners and press Enter",
        checkable=True,
        group="tool",
        short="Lasso",
    ),
    ActionSpec(
        "tool_take",
        "edit",
        "&Take prediction",
        ("T",),
        "Take prediction: a brush that copies the predicted classes",
        checkable=True,
        group="tool",
        short="Take pred.",
    ),
    ActionSpec("close_lasso", "edit", "Close lasso", ("Return", "Enter"), "Close the lasso"),
    ActionSpec("smaller", "edit", "Smaller brush", ("[",), "Brush smaller", separator=True),
    ActionSpec("larger", "edit", "Larger brush", ("]",), "Brush larger"),
    ActionSpec("eraser_class", "edit", "Eraser paints the active class"),
    *_classes(),
    ActionSpec("overlay", "view", "&Overlay", ("O",), "Overlay on/off", checkable=True),
    ActionSpec(
        "contour", "view", "&Contour instead of fill", ("C",), "Fill or contour", checkable=True
    ),
    ActionSpec(
        "difference",
        "view",
        "&Difference view",
        ("D",),
        "Difference view (where prediction and annotation disagree)",
        checkable=True,
    ),
    ActionSpec(
        "issues",
        "view",
        "&Label issues",
        ("I",),
        "Label issues (where the model confidently disagrees with the annotation)",
        checkable=True,
    ),
    ActionSpec(
        "uncertainty",
        "view",
        "&Uncertainty",
        ("U",),
        "Uncertainty heat map (1 - margin between the two likeliest classes)",
        checkable=True,
    ),
    ActionSpec("zoom_in", "view", "Zoom &in", ("+", "="), "Zoom both views in", separator=True),
    ActionSpec("zoom_out", "view", "Zoom o&ut", ("-",), "Zoom both views out"),
    ActionSpec("fit", "view", "Zoom to &fit", ("F",)),
    ActionSpec("actual", "view", "&Actual size", ("Ctrl+0",)),
    ActionSpec("next", "view", "&Next slide", ("Right", "PgDown"), separator=True),
    ActionSpec("previous", "view", "&Previous slide", ("Left", "PgUp")),
    ActionSpec(
        "next_region",
        "view",
        "Next &region of the whole slide",
        ("N",),
        "Whole slide: jump to the next-worst region (most disagreement with the annotation)",
    ),
    ActionSpec("previous_region", "view", "Previous re&gion", ("Shift+N",)),
    ActionSpec("slide_mpp", "view", "Whole slide's resolution (µm per pixel)…"),
    ActionSpec("mark_1", "view", "Mark accepted", ("1",), separator=True),
    ActionSpec("mark_2", "view", "Mark needs fix", ("2",)),
    ActionSpec("mark_3", "view", "Mark rejected", ("3",)),
    ActionSpec(
        "mark_4",
        "view",
        "Mark corrected",
        ("4",),
        "Mark corrected (set by itself when a needs-fix slide's edit is saved)",
    ),
    ActionSpec("load_model", "model", "&Load model…"),
    ActionSpec("retrain", "model", "&Retrain…", ("Ctrl+R",), "Retrain panel"),
    ActionSpec("evaluate", "model", "&Evaluate test split"),
    ActionSpec("audit", "model", "&Audit labels…"),
    ActionSpec("predict_all", "model", "&Predict all slides to a folder…"),
    ActionSpec("compute", "settings", "&Compute (this machine or a Dask cluster)…"),
    ActionSpec("shortcuts", "help", "&Shortcuts", ("F1",), "This list"),
    ActionSpec("about", "help", "&About seggui"),
)


def build(window, slots: dict[str, Callable], menus: dict) -> dict[str, QAction]:
    """Make every action of the table with its slot, in its menu and on ``window``."""
    groups: dict[str, QActionGroup] = {}
    out: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setCheckable(spec.checkable)
        if spec.short:
            action.setIconText(spec.short)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(action)
        slot = slots.get(spec.key)
        if slot is None:
            raise KeyError(f"no slot for action {spec.key!r}")
        action.triggered.connect(slot)
        if spec.separator:
            menus[spec.menu].addSeparator()
        menus[spec.menu].addAction(action)
        window.addAction(action)
        out[spec.key] = action
    return out


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for Help > Shortcuts, from the same table as the actions."""
    rows = []
    for spec in ACTIONS:
        if not spec.keys or (spec.key.startswith("class_") and spec.key != "class_1"):
            continue
        keys = " / ".join(spec.keys)
        if spec.key == "class_1":
            keys = "Ctrl+1 … Ctrl+9"
        rows.append((keys, spec.help or spec.text.replace("&", "").rstrip("…")))
    rows += [
        ("Alt+click", "Pick the active class from the annotation under the pointer"),
        ("Middle drag / mouse wheel", "Pan / zoom both views together"),
    ]
    return rows


def shortcuts_html() -> str:
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in shortcut_rows())
    return f"<table cellspacing=6>{body}</table>"

"""``seggui [FOLDER]`` (or ``seggui gui``): the review window."""

from __future__ import annotations

from seggui.cli.common import CliError

NAME = "gui"
HELP = "open the review window"
SYNOPSIS = "seggui [FOLDER | SLIDE]"
SUMMARY = "the window (the demo when no folder)"


def add_arguments(p) -> None:
    p.add_argument(
        "folder",
        nargs="?",
        help="folder of slides, or a whole slide's file (its folder opens on it); default: the demo",
    )


def run(args) -> int:
    try:
        from seggui.gui.app import run
    except ImportError as exc:
        raise CliError(f"the window cannot start: {exc}") from exc
    return run(args.folder)

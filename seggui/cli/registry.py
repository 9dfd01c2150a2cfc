"""The subcommands, listed once: the parser, ``seggui --help`` and the README's command table
are all made from this tuple (a test checks the README against :func:`synopsis`)."""

from __future__ import annotations

import argparse
from types import ModuleType

from seggui import __version__
from seggui.cli import audit, demo, evaluate, export, gui, predict, quantize, train

#: Each module has NAME, HELP, SYNOPSIS, SUMMARY, add_arguments(parser) and run(args).
COMMANDS: tuple[ModuleType, ...] = (gui, demo, train, predict, evaluate, audit, export, quantize)
BY_NAME = {m.NAME: m for m in COMMANDS}
WIDTH = 50  # the column where a synopsis line's summary starts


def synopsis() -> str:
    """The README's command block: each command's synopsis with its one-line summary."""
    lines = []
    for m in COMMANDS:
        first, *rest = m.SYNOPSIS.split("\n")
        lines.append(f"{first:<{WIDTH}}{m.SUMMARY}" if len(first) < WIDTH else first)
        lines.extend(rest)
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seggui",
        description="Review semantic segmentation of tissue images. `seggui [FOLDER]` opens the "
        "window (the demo when no folder is given); the subcommands work headless.",
        epilog="subcommands: "
        + ", ".join(m.NAME for m in COMMANDS if m is not gui)
        + " (`seggui SUBCOMMAND --help`)",
    )
    p.add_argument("--version", action="version", version=f"seggui {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    sub = p.add_subparsers(dest="command")
    for m in COMMANDS:
        m.add_arguments(sub.add_parser(m.NAME, help=m.HELP))
    return p

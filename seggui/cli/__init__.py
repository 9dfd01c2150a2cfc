"""The ``seggui`` command: one module per subcommand (its flags and its run), one registry
that the parser, ``--help`` and the README's table come from, and the shared helpers
(progress bar, one-line errors, opening a folder and its model) in ``common``."""

import time

#: When the command started: an audit's time budget counts its start-up too.
STARTED = time.monotonic()

from seggui.cli.main import main

__all__ = ["STARTED", "main"]

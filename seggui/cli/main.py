"""Running the ``seggui`` command: choosing the subcommand and turning failures into one line.

Exit status: 0 on success, 2 on a usage error, 1 on a failure (one line on stderr; the
traceback only with ``--debug``).
"""

from __future__ import annotations

import sys

from seggui.cli import registry


def _with_command(argv: list[str]) -> list[str]:
    """``seggui [FOLDER]`` opens the window; any other first word is a subcommand."""
    positional = [a for a in argv if not a.startswith("-")]
    wants_help = any(a in ("-h", "--help", "--version") for a in argv)
    if (not positional or positional[0] not in registry.BY_NAME) and (positional or not wants_help):
        if argv and argv[0] == "--debug":
            return ["--debug", "gui", *argv[1:]]
        return ["gui", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    args = registry.parser().parse_args(argv)
    try:
        return registry.BY_NAME[args.command].run(args)
    except KeyboardInterrupt:
        print("seggui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"seggui: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

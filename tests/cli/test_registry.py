"""The subcommands are listed once: parser, --help and README come from the registry."""

from __future__ import annotations

import argparse
import re

from seggui.cli import registry
from seggui.cli.train import settings_from
from seggui.core.train_settings import DEFAULTS, TrainSettings
from tests.conftest import ROOT


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_readme_command_block_is_the_registrys_synopsis():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```text\n(seggui \[FOLDER.*?)\n```", readme, re.DOTALL)
    assert block is not None, "the README's command block is missing"
    assert block.group(1) == registry.synopsis()


def test_every_flag_of_every_subcommand_is_in_its_synopsis_and_help():
    subs = _subparsers(registry.parser())
    assert list(subs) == [m.NAME for m in registry.COMMANDS]
    for name, sub in subs.items():
        synopsis = registry.BY_NAME[name].SYNOPSIS
        flags = [o for a in sub._actions for o in a.option_strings if o.startswith("--")]
        for flag in flags:
            if flag == "--help":
                continue
            assert re.search(rf"\[?{re.escape(flag)}\b", synopsis), (name, flag)
    epilog = registry.parser().epilog
    for m in registry.COMMANDS:
        assert m is registry.BY_NAME["gui"] or m.NAME in epilog


def test_train_flags_default_to_the_training_settings():
    args = registry.parser().parse_args(["train", "somewhere"])
    assert settings_from(args) == TrainSettings()
    assert args.epochs == DEFAULTS.epochs and args.lr == DEFAULTS.learning_rate


def test_main_runs_in_process_and_reports_usage_errors(capsys, tmp_path):
    from seggui.cli import main

    assert main(["demo", "--out", str(tmp_path / "d"), "--count", "2"]) == 0
    assert "wrote 2 demo slides" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    try:
        main(["train"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a missing folder must be a usage error")

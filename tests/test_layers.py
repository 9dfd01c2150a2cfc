"""The layer rules of DESIGN.md: core needs neither Qt nor TensorFlow; model needs no Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import seggui.core
import seggui.model

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {blocked!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in BLOCKED:
                raise ImportError(f'blocked import of {{name}}')
    sys.meta_path.insert(0, Block())
""")


def _modules(package) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


def _run(blocked: list[str], code: str) -> subprocess.CompletedProcess:
    script = BLOCKER.format(blocked=blocked) + code
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300
    )


def test_core_imports_neither_qt_nor_tensorflow(tmp_path):
    mods = _modules(seggui.core)
    code = textwrap.dedent(f"""
        import importlib
        for m in {mods!r}:
            importlib.import_module(m)
        from seggui.core.demo import write_demo
        from seggui.core.folder import open_folder
        ctx = open_folder(write_demo({str(tmp_path / "d")!r}, count=3, size=64))
        assert len(ctx.slides) == 3
        assert not any(k.split('.')[0] in ('PyQt6', 'tensorflow', 'keras') for k in sys.modules)
        print('ok')
    """)
    result = _run(["PyQt6", "PySide6", "tensorflow", "keras"], code)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_model_imports_no_qt():
    mods = _modules(seggui.model)
    code = f"import importlib\nfor m in {mods!r}:\n    importlib.import_module(m)\nprint('ok')"
    result = _run(["PyQt6", "PySide6"], code)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_blocker_really_blocks():
    result = _run(["json"], "import json")
    assert result.returncode != 0 and "blocked import of json" in result.stderr


def test_cli_imports_no_qt_until_the_window_opens():
    import seggui.cli

    mods = _modules(seggui.cli)
    code = textwrap.dedent(f"""
        import importlib
        for m in {mods!r}:
            importlib.import_module(m)
        from seggui.cli.registry import parser
        parser().parse_args(["evaluate", "somewhere"])
        print('ok')
    """)
    result = _run(["PyQt6", "PySide6", "tensorflow", "keras"], code)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_only_the_gui_package_names_qt():
    root = Path(seggui.core.__file__).parents[1]
    for path in root.rglob("*.py"):
        if "gui" in path.relative_to(root).parts:
            continue
        text = path.read_text()
        assert "PyQt6" not in text and "PySide6" not in text, path

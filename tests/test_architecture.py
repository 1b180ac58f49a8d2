"""The app's import structure: modules stand in layers, and no import circle can come back.

The contracts live in pyproject.toml ([tool.importlinter]); import-linter checks them
over the module graph that grimp reads from the source, imports inside functions
included. The second and third tests prove that the check can fail: on a copy of
the app with a hidden import that closes a circle, and with a module that no layer
names.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
)


def lint(root):
    """Run the contracts of ``root``/pyproject.toml on the ``protokolle`` package in ``root``."""
    return subprocess.run(
        [sys.executable, "-c", LINT],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_app(tmp_path):
    shutil.copytree(
        ROOT / "protokolle",
        tmp_path / "protokolle",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_app_keeps_its_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_hidden_in_a_function_that_closes_a_circle_is_caught(tmp_path):
    root = copy_of_the_app(tmp_path)
    exchange = root / "protokolle" / "exchange.py"
    exchange.write_text(
        exchange.read_text(encoding="utf-8")
        + "\n\ndef _confirm_later(meeting):\n"
        + "    from . import workflow\n\n"
        + "    return workflow\n",
        encoding="utf-8",
    )
    result = lint(root)
    assert result.returncode == 1, result.stdout
    assert "protokolle.exchange -> protokolle.workflow" in result.stdout


def test_a_module_that_no_layer_names_is_caught(tmp_path):
    root = copy_of_the_app(tmp_path)
    (root / "protokolle" / "helpers.py").write_text('"""Anything."""\n', encoding="utf-8")
    result = lint(root)
    assert result.returncode == 1, result.stdout
    assert "protokolle.helpers" in result.stdout

"""The numbering rule: one table of examples for Python and for the editor's JavaScript."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from protokolle.models import AgendaItem, build_agenda, flatten_agenda
from protokolle.wording import outline_numbers

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = json.loads((ROOT / "tests/data/numbering.json").read_text())


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_python_numbers_the_examples(example):
    entries = [tuple(entry) for entry in example["entries"]]
    assert outline_numbers(entries) == example["numbers"]


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_javascript_numbers_the_same_examples():
    """static/js/numbering.js gives the same numbers as protokolle/numbering.py."""
    script = (
        "require(process.argv[1]);"
        "const examples = require(process.argv[2]);"
        "console.log(JSON.stringify(examples.map("
        "(e) => globalThis.WerkstattNumbering.outlineNumbers(e.entries))));"
    )
    output = subprocess.run(
        [
            "node",
            "-e",
            script,
            str(ROOT / "static/js/numbering.js"),
            str(ROOT / "tests/data/numbering.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(output) == [example["numbers"] for example in EXAMPLES]


def test_build_agenda_continues_after_typed_numbers():
    """The reference minutes: typed 3.1 and 3.2 at the top level, then 4, 5, 6."""
    items = [
        AgendaItem(pk=index + 1, position=index, number=number, title=f"TOP {index}")
        for index, number in enumerate([None, None, "3.1", "3.2", None, None, None])
    ]
    numbers = [item.printed_number for item in flatten_agenda(build_agenda(items))]
    assert numbers == ["1", "2", "3.1", "3.2", "4", "5", "6"]

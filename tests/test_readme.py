"""The README's commands work when pasted: its CLI tour runs as written on the demo."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from oms.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A tour of the engineer's CLI") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("oms ")]


def _setup_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text[: text.index("## What you see")], re.S)
    return [block.strip() for block in blocks]


def test_the_readme_gives_two_setup_commands() -> None:
    assert _setup_commands() == [
        "pip install . && oms demo",
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -e ".[test]" && python -m pytest' in ci.splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("line", _tour())
def test_tour_line_works_as_written(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = shlex.split(line, comments=True)[1:]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, f"{line}\n{result.output}"
    assert "Traceback" not in result.output

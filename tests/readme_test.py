"""The README's set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text[text.index("## Set up") : text.index("## A short tour")]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_the_readme_has_exactly_two_setup_commands() -> None:
    demo, tests = commands()
    assert demo.endswith("convergio-gate demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = commands()
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in lines

"""The project's own static checks run with its tests: mypy --strict and ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_mypy_strict_is_clean_on_the_package() -> None:
    result = run("mypy", "--strict", "--no-incremental", "convergio_gate")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "convergio_gate", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run("ruff", "format", "--check", "convergio_gate", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr

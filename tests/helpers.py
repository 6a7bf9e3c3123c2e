"""Helpers shared by the tests: real git, the CLI in-process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from convergio_gate import cli, console


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_repo(path: Path, *, commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    if commit:
        (path / "app.py").write_text("def add(a, b):\n    return a + b\n")
        (path / ".gitignore").write_text("__pycache__/\n*.pyc\n.pytest_cache/\n")
        git(path, "add", "-A")
        git(path, "commit", "--quiet", "-m", "initial")
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str


class CLI:
    """Runs ``convergio-gate`` in-process (fast) with its output captured."""

    def __init__(self, cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.cwd = cwd
        self.capsys = capsys

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        console.reset()
        here = os.getcwd()
        try:
            code = cli.main(["-C", str(self.cwd), *argv])
        finally:
            os.chdir(here)
            console.reset()
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


def run_cli(
    cwd: Path, *argv: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m convergio_gate`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "convergio_gate", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )

"""The hooks as users run them: the real pre-commit framework (`pre-commit try-repo` of
this repository, which installs it the way pre-commit does) and a real `git commit`
through hooks/pre-commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import git, make_repo

from convergio_gate.audit.chain import Chain
from convergio_gate.gitio import Git

ROOT = Path(__file__).resolve().parents[1]
DIRTY = "def add(a, b):\n    # TODO: handle overflow\n    return a + b\n"
CLEAN = "def add(a, b):\n    return b + a\n"
CALLER = "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: Path, home: Path, *hook: str) -> subprocess.CompletedProcess[str]:
    # pre-commit, virtualenv and pip keep caches under $HOME: give them a home of their own
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "PRE_COMMIT_COLOR": "never",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), *hook, "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_pre_commit_try_repo_refuses_a_dirty_commit_and_passes_a_clean_one(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    repo = make_repo(tmp_path / "user")
    (repo / "app.py").write_text(DIRTY)
    (repo / "test_app.py").write_text(CALLER)
    git(repo, "add", "app.py", "test_app.py")
    dirty = try_repo(repo, pre_commit_home, "convergio-gate")
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "debt/todo" in dirty.stdout and "app.py" in dirty.stdout
    (repo / "app.py").write_text(CLEAN)
    git(repo, "add", "app.py")
    clean = try_repo(repo, pre_commit_home, "convergio-gate")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    one_gate = try_repo(repo, pre_commit_home, "convergio-gate-secret")
    assert one_gate.returncode == 0, one_gate.stdout + one_gate.stderr


def test_hooks_file_is_well_formed() -> None:
    from yaml_loader import load

    hooks = load(ROOT / ".pre-commit-hooks.yaml")
    ids = {h["id"] for h in hooks}
    assert ids == {
        "convergio-gate",
        "convergio-gate-debt",
        "convergio-gate-stub",
        "convergio-gate-secret",
        "convergio-gate-wire",
        "convergio-gate-evidence",
    }
    for hook in hooks:
        assert hook["language"] == "python" and hook["minimum_pre_commit_version"]
        assert hook["entry"].startswith("convergio-gate check")
    serial = {h["id"] for h in hooks if h.get("require_serial")}
    assert serial == {"convergio-gate", "convergio-gate-wire", "convergio-gate-evidence"}


def test_a_real_git_commit_through_the_plain_hook(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "plain")
    hook = repo / ".git" / "hooks" / "pre-commit"
    shutil.copy(ROOT / "hooks" / "pre-commit", hook)
    hook.chmod(0o755)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (repo / "app.py").write_text(DIRTY)
    (repo / "test_app.py").write_text(CALLER)
    git(repo, "add", "app.py", "test_app.py")
    before = git(repo, "rev-parse", "HEAD").strip()
    refused = subprocess.run(
        ["git", "commit", "-m", "dirty"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "debt/todo" in refused.stdout + refused.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == before  # nothing committed
    (repo / "app.py").write_text(CLEAN)
    git(repo, "add", "app.py")
    passed = subprocess.run(
        ["git", "commit", "-m", "clean"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    decisions = [(e.kind, e.decision) for e in Chain(Git.discover(repo)).entries()]
    assert decisions == [("check", "refused"), ("check", "accepted")]

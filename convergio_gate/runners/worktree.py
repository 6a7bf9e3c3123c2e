"""One git worktree and branch per dispatched task, so parallel agents never touch each
other's files: ``convergio/<plan>/<task>``, checked out under the git dir."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from convergio_gate.errors import GitError
from convergio_gate.gitio import Git


def branch_name(plan: str, task: str) -> str:
    return f"convergio/{plan}/{task}"


def create(git: Git, plan: str, task: str, base: str, merge: list[str] | None = None) -> Path:
    """A worktree on the task's branch: the existing branch (a resumed task), or a new one
    at ``base`` with the ``merge`` branches (converged dependencies) merged in."""
    path = git.private_dir("worktrees", plan) / task
    branch = branch_name(plan, task)
    if path.exists():
        git.run(["worktree", "remove", "--force", str(path)], check=False)
        shutil.rmtree(path, ignore_errors=True)
    git.run(["worktree", "prune"], check=False)
    exists = (
        git.run(
            ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], check=False
        ).returncode
        == 0
    )
    if exists:
        git.run(["worktree", "add", "--quiet", str(path), branch])
        return path
    git.run(["worktree", "add", "--quiet", "-b", branch, str(path), base])
    for other in merge or []:
        proc = run_git(path, "merge", "--no-edit", "--quiet", other)
        if proc.returncode != 0:
            run_git(path, "merge", "--abort")
            raise GitError(
                f"merging {other} into {branch} conflicts",
                fix=f"merge it by hand in {path}, then dispatch again",
            )
    return path


def run_git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=False)


def changed(path: Path) -> list[str]:
    """Paths the working tree of ``path`` changed (staged, unstaged, untracked)."""
    out = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=path,
        capture_output=True,
        check=True,
    ).stdout
    entries = [e for e in out.decode("utf-8", "surrogateescape").split("\0") if e]
    return [e[3:] for e in entries if len(e) > 3]


def revert(path: Path) -> None:
    """Throw away every change in the working tree of ``path`` (a read-only run's edits)."""
    subprocess.run(["git", "reset", "--quiet", "--hard"], cwd=path, check=True, capture_output=True)
    subprocess.run(["git", "clean", "-fdq"], cwd=path, check=True, capture_output=True)


def commit_all(path: Path, message: str) -> bool:
    """Commit everything in the worktree; False when there was nothing to commit."""
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, capture_output=True)
    proc = subprocess.run(
        ["git", "commit", "--quiet", "--no-verify", "-m", message],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def head(path: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()

"""Bad input and faults: one clear message, exit 2, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import CLI, git, make_repo, run_cli

PY = sys.executable


def no_identity_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    return env


def test_not_a_git_repository(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "status")
    assert result.returncode == 2
    assert "not a git repository" in result.stderr and "git init" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_git_identity(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    home = tmp_path / "home"
    home.mkdir()
    env = no_identity_env(home)
    assert run_cli(repo, "init", env=env).returncode == 0
    assert run_cli(repo, "plan", "create", "p", "--title", "P", env=env).returncode == 0
    assert run_cli(repo, "task", "add", "p", "t", "--title", "T", env=env).returncode == 0
    before = (repo / ".convergio/plans/p/tasks/t.yaml").read_text()
    result = run_cli(repo, "task", "transition", "p/t", "in_progress", env=env)
    assert result.returncode == 2
    assert "no git identity" in result.stderr and "git config --global user.email" in result.stderr
    assert (repo / ".convergio/plans/p/tasks/t.yaml").read_text() == before
    assert git(repo, "for-each-ref", "refs/notes").strip() == ""


def test_a_repository_with_no_commits_yet_still_works(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "empty", commit=False)
    (repo / "code.py").write_text("x = 1\n")
    cg = CLI(repo, capsys)
    assert cg("init").code == 0
    assert cg("plan", "create", "p", "--title", "P").code == 0
    assert cg("task", "add", "p", "t", "--title", "T", "--requires", "test").code == 0
    assert cg("task", "transition", "p/t", "in_progress").code == 0
    assert cg("evidence", "run", "p/t", "--kind", "test", "--", PY, "-c", "0").code == 0
    assert cg("task", "transition", "p/t", "submitted").code == 0
    assert cg("validate").code == 0
    assert cg("verify").code == 0


def test_a_bare_repository(tmp_path: Path) -> None:
    bare = tmp_path / "b.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    result = run_cli(bare, "status")
    assert result.returncode == 2 and "bare repository" in result.stderr


HOSTILE = {
    "alias bomb": "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "binary": b"version: 1\n\x00\x01\x02",
    "invalid utf-8": b"version: 1\nid: t\ntitle: caf\xe9\n",
    "broken syntax": "version: 1\nid: t\ntitle: [unclosed\n",
    "python tag": "version: 1\nid: !!python/object/apply:os.system ['echo pwned']\n",
    "huge": "version: 1\ntitle: " + "x" * (2 << 20) + "\n",
    "wrong type": "version: 1\nid: t\ntitle: T\nrequires: test\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_task_files(initialized: Path, cg: CLI, name: str) -> None:
    assert cg("plan", "create", "p", "--title", "P").code == 0
    path = initialized / ".convergio/plans/p/tasks/t.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = HOSTILE[name]
    path.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    for argv in (("task", "list"), ("status",), ("task", "transition", "p/t", "in_progress")):
        result = cg(*argv)
        assert result.code == 2, (name, argv, result.out)
        assert ".convergio/plans/p/tasks/t.yaml" in result.err, result.err
        assert "Traceback" not in result.err
    assert git(initialized, "for-each-ref", "refs/notes").strip() == ""


def test_a_broken_config_is_named(initialized: Path, cg: CLI) -> None:
    (initialized / ".convergio/config.yaml").write_text("version: 1\nevidence:\n  timout_s: 5\n")
    result = cg("status")
    assert result.code == 2
    assert ".convergio/config.yaml:3: evidence.timout_s: unknown key" in result.err
    assert "did you mean 'timeout_s'?" in result.err


def test_not_initialized(repo: Path, cg: CLI) -> None:
    result = cg("plan", "list")
    assert result.code == 2 and "convergio-gate init" in result.err


def test_an_internal_error_is_a_short_report_with_versions(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    (repo / "sitecustomize.py").write_text(
        "import convergio_gate.commands.status as s\n"
        "def boom(args):\n    raise ZeroDivisionError('planted')\n"
        "s.run = boom\n"
    )
    result = run_cli(repo, "status", env=env)
    assert result.returncode == 3
    assert "internal error" in result.stderr and "ZeroDivisionError: planted" in result.stderr
    assert "pygit2" in result.stderr and "libgit2" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_exits_130_and_kills_the_evidence_command(
    initialized: Path, cg: CLI, tmp_path: Path
) -> None:
    assert cg("plan", "create", "p", "--title", "P").code == 0
    assert cg("task", "add", "p", "t", "--title", "T").code == 0
    marker = tmp_path / "started"
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "convergio_gate",
            "evidence",
            "run",
            "p/t",
            "--kind",
            "test",
            "--",
            PY,
            "-c",
            f"import time; open({str(marker)!r}, 'w').close(); time.sleep(60)",
        ],
        cwd=initialized,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not list((initialized / ".convergio/plans/p").rglob("evidence/*/*.yaml"))

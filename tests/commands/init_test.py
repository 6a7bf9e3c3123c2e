from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from helpers import CLI, git, make_repo

from convergio_gate.audit.chain import NOTES_REF, Chain
from convergio_gate.audit.entry import Draft
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

ROOT = Path(__file__).resolve().parents[2]
ME = Identity("Tess Tester", "tess@example.com")


def with_remote(tmp_path: Path) -> tuple[Path, Path]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    work = make_repo(tmp_path / "work")
    git(work, "remote", "add", "origin", str(remote))
    return work, remote


def test_init_writes_a_commented_config_and_is_idempotent(repo: Path, cg: CLI) -> None:
    assert cg("init").code == 0
    config = (repo / ".convergio/config.yaml").read_text()
    assert config.startswith("# convergio-gate configuration.") and "version: 1" in config
    second = cg("init")
    assert second.code == 0 and "kept" in second.out


def test_init_makes_notes_travel_with_plain_fetch_and_push(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    work, remote = with_remote(tmp_path)
    assert CLI(work, capsys)("init").code == 0
    assert CLI(work, capsys)("init").code == 0  # no duplicated refspecs
    assert git(work, "config", "--get-all", "remote.origin.push").split() == [
        "HEAD",
        f"{NOTES_REF}*:{NOTES_REF}*",
    ]
    git(work, "fetch", "--quiet")  # a remote without a chain yet is fine
    Chain(Git.discover(work)).append(Draft("check", "s", "accepted", str(ME)), ME)
    git(work, "push", "--quiet")  # plain push: branch and chain
    assert NOTES_REF in git(remote, "for-each-ref")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    assert CLI(clone, capsys)("init").code == 0
    git(clone, "fetch", "--quiet")  # plain fetch brings the chain
    result = CLI(clone, capsys)("verify", "--json")
    assert result.code == 0 and '"entries": 1' in result.out


def test_init_with_an_unknown_remote(repo: Path, cg: CLI) -> None:
    result = cg("init", "--remote", "nowhere")
    assert result.code == 2 and "no such remote: nowhere" in result.err


def test_the_pre_push_hook_pushes_the_chain_with_the_branch(tmp_path: Path) -> None:
    work, remote = with_remote(tmp_path)
    hook = work / ".git" / "hooks" / "pre-push"
    shutil.copy(ROOT / "hooks" / "pre-push", hook)
    hook.chmod(0o755)
    Chain(Git.discover(work)).append(Draft("check", "s", "accepted", str(ME)), ME)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    import subprocess

    proc = subprocess.run(
        ["git", "push", "--quiet", "origin", "main"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert NOTES_REF in git(remote, "for-each-ref")
    # a second clone appends and pushes through the hook: the chains merge, nothing lost
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(remote), str(other))
    shutil.copy(ROOT / "hooks" / "pre-push", other / ".git/hooks/pre-push")
    Chain(Git.discover(other)).append(Draft("check", "other", "accepted", str(ME)), ME)
    Chain(Git.discover(work)).append(Draft("check", "work", "accepted", str(ME)), ME)
    (work / "f.txt").write_text("x")
    git(work, "add", "f.txt")
    git(work, "commit", "--quiet", "-m", "f")
    for where in (work, other):
        proc = subprocess.run(
            ["git", "push", "--quiet", "origin", "HEAD:refs/heads/b-" + where.name],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
    final = tmp_path / "final"
    git(tmp_path, "clone", "--quiet", str(remote), str(final))
    git(final, "fetch", "--quiet", "origin", f"{NOTES_REF}:{NOTES_REF}")
    read = Chain(Git.discover(final)).read([NOTES_REF])
    assert verify(read).ok
    assert sorted(e.subject for e in read.entries) == ["other", "s", "work"]

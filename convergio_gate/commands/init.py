"""``convergio-gate init``: write ``.convergio/`` and make the notes travel with git."""

from __future__ import annotations

import argparse

from convergio_gate.audit.chain import NOTES_REF, tracking_ref
from convergio_gate.console import out
from convergio_gate.errors import OK, UsageError
from convergio_gate.gitio import Git
from convergio_gate.model import yamlio
from convergio_gate.model.config import CONFIG_PATH, DEFAULT_CONFIG, load_config


def run(args: argparse.Namespace) -> int:
    git = Git.discover()
    root = git.workdir
    console = out()
    config = root / CONFIG_PATH
    if config.exists():
        load_config(root)  # a broken config is reported now, not on the next command
        console.print(f"kept      {CONFIG_PATH} (already there)")
    else:
        yamlio.write_atomic(config, DEFAULT_CONFIG)
        console.print(f"wrote     {CONFIG_PATH}")
    (root / ".convergio" / "plans").mkdir(parents=True, exist_ok=True)
    remotes = args.remote or git.remotes()
    unknown = sorted(set(remotes) - set(git.remotes()))
    if unknown:
        raise UsageError(
            f"no such remote: {', '.join(unknown)}",
            fix="list remotes with `git remote -v`, or add one with `git remote add NAME URL`",
        )
    for remote in remotes:
        for line in configure_remote(git, remote):
            console.print(line)
    if not remotes:
        console.print("no remote yet: run `convergio-gate init` again after `git remote add`")
    console.print("\nnext: convergio-gate plan create PLAN --title '...'")
    console.print("then: convergio-gate task add PLAN TASK --title '...' --requires test")
    return OK


def configure_remote(git: Git, remote: str) -> list[str]:
    """Add the refspecs that carry the chain with ``git fetch`` and ``git push``.

    Fetch lands in a remote-tracking notes ref (never clobbering local entries); the tool
    merges it into ``refs/notes/convergio`` before each append. Setting any push refspec
    replaces git's default push, so ``HEAD`` is added first to keep ``git push`` pushing
    the current branch.
    """
    lines = []
    # A one-star pattern, so a remote that has no chain yet does not make fetch fail.
    fetch_spec = f"+{NOTES_REF}*:{tracking_ref(remote)}*"
    fetch_key = f"remote.{remote}.fetch"
    if fetch_spec not in git.config_get_all(fetch_key):
        git.config_add(fetch_key, fetch_spec)
        lines.append(f"{remote}: git fetch now brings the chain into {tracking_ref(remote)}")
    push_key = f"remote.{remote}.push"
    pushes = git.config_get_all(push_key)
    push_spec = f"{NOTES_REF}*:{NOTES_REF}*"
    if push_spec not in pushes:
        if not pushes:
            git.config_add(push_key, "HEAD")
        git.config_add(push_key, push_spec)
        lines.append(f"{remote}: git push now pushes the chain with the current branch")
    if not lines:
        lines.append(f"{remote}: refspecs already set")
    return lines

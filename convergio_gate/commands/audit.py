"""``convergio-gate audit log|sync|push``: read the chain and share it."""

from __future__ import annotations

import argparse
import random
import time

from convergio_gate.audit.chain import NOTES_REF, Chain, tracking_ref
from convergio_gate.commands._show import short
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, BusyError, GitError, UsageError
from convergio_gate.gitio import Git

PUSH_ATTEMPTS = 10


def run(args: argparse.Namespace) -> int:
    git = Git.discover()
    action = {"log": log, "sync": sync_command, "push": push}[args.action]
    return action(git, args)


def log(git: Git, args: argparse.Namespace) -> int:
    entries = Chain(git).entries()
    if args.kind:
        entries = [e for e in entries if e.kind == args.kind]
    if args.limit is not None:
        if args.limit < 0:
            raise UsageError("-n must not be negative")
        entries = entries[-args.limit :] if args.limit else []
    if args.json:
        print_json([e.to_json() for e in entries])
        return OK
    if not entries:
        out().print("the audit chain is empty")
        return OK
    from rich.table import Table
    from rich.text import Text

    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    grid.add_column("seq", justify="right", no_wrap=True)
    grid.add_column("time (UTC)", no_wrap=True)
    grid.add_column("kind", no_wrap=True)
    grid.add_column("subject", no_wrap=True)
    grid.add_column("decision", no_wrap=True)
    grid.add_column("why", overflow="fold", ratio=1)
    grid.add_column("hash", no_wrap=True)
    for entry in entries:
        why = Text("; ".join(entry.reasons), style="dim")
        grid.add_row(
            str(entry.seq),
            entry.time[:19].replace("T", " "),
            entry.kind,
            Text(entry.subject),
            Text(entry.decision),
            why,
            short(entry.hash),
        )
    out().print(grid)
    return OK


def fetch(git: Git, remote: str) -> None:
    if remote not in git.remotes():
        raise UsageError(f"no such remote: {remote}", fix="list remotes with `git remote -v`")
    spec = f"+{NOTES_REF}*:{tracking_ref(remote)}*"
    git.run(["fetch", "--quiet", "--no-tags", remote, spec])


def sync_command(git: Git, args: argparse.Namespace) -> int:
    fetch(git, args.remote)
    chain = Chain(git)
    chain.integrate(git.identity())
    entries = chain.entries()
    out().print(f"merged {args.remote}'s chain: {len(entries)} entries")
    return OK


def push(git: Git, args: argparse.Namespace) -> int:
    """Fetch the remote's chain, merge ours onto it, push; again if someone pushed first."""
    chain = Chain(git)
    for attempt in range(PUSH_ATTEMPTS):
        fetch(git, args.remote)
        chain.integrate(git.identity())
        if git.read_ref(NOTES_REF) is None:
            out().print("nothing to push: the audit chain is empty")
            return OK
        proc = git.run(
            ["push", "--quiet", "--no-verify", args.remote, f"{NOTES_REF}:{NOTES_REF}"], check=False
        )
        if proc.returncode == 0:
            entries = chain.entries()
            head = entries[-1] if entries else None
            tail = f", head {head.seq} {short(head.hash)}" if head else ""
            out().print(f"pushed the audit chain to {args.remote}{tail}")
            return OK
        text = proc.stderr
        if not any(w in text for w in ("non-fast-forward", "fetch first", "rejected", "stale")):
            raise GitError(f"pushing {NOTES_REF} to {args.remote} failed: {text.strip()}")
        time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
    raise BusyError(
        f"{args.remote}'s chain kept moving: {PUSH_ATTEMPTS} pushes lost the race",
        fix=f"run `convergio-gate audit push {args.remote}` again",
    )

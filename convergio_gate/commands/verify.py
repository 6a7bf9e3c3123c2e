"""``convergio-gate verify``: re-read the chain from git and name the first bad entry."""

from __future__ import annotations

import argparse
import re

from rich.markup import escape

from convergio_gate.audit.chain import Chain
from convergio_gate.audit.verify import verify
from convergio_gate.commands._show import short
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, REFUSED, UsageError
from convergio_gate.gitio import Git

_HASH = re.compile(r"^[0-9a-f]{64}$")


def run(args: argparse.Namespace) -> int:
    if args.expect_head and not _HASH.match(args.expect_head):
        raise UsageError(
            f"--expect-head {args.expect_head!r}: expected a 64-hex entry hash",
            fix="copy the chain head from the PR comment or job summary",
        )
    git = Git.discover()
    report = verify(Chain(git).read(args.ref), args.expect_head)
    forged: list[str] = []
    if git.repo.workdir is not None and (git.state_dir / "config.yaml").is_file():
        from convergio_gate.workspace import Workspace  # only a repo with tasks needs it

        ws = Workspace(git)
        forged = [t.ref for t in ws.store.all_tasks() if ws.forged(t)]
    ok = report.ok and not forged
    if args.json:
        print_json({**report.to_json(), "forged": forged, "ok": ok})
        return OK if ok else REFUSED
    console = out()
    if report.ok:
        anchored = " and matches the anchor" if args.expect_head else ""
        console.print(
            f"[bold green]chain OK[/]: {report.entries} entries, head "
            f"{report.head_seq} {short(report.head_hash)}{anchored}"
        )
        if not args.expect_head and report.entries:
            console.print(f"[dim]anchor: convergio-gate verify --expect-head {report.head_hash}[/]")
    else:
        problem = report.problem
        assert problem is not None
        console.print(f"[bold red]chain BAD[/] ({problem.kind}): {escape(problem.message)}")
    for ref in forged:
        console.print(
            f"[bold red]forged:[/] {escape(ref)} says done without an acceptance in the chain"
        )
    return OK if ok else REFUSED

"""``convergio-gate verify``: re-read the chain from git and name the first bad entry.

Besides the chain's own integrity it reports the signatures entries carry (which are
valid, by whom, which fail), refuses acceptances that are not signed by a trusted key
where the configuration requires it, and names task files that claim done without an
acceptance (forged).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

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
    read = Chain(git).read(args.ref)
    report = verify(read, args.expect_head)
    forged: list[str] = []
    signatures: dict[str, Any] = {"signed": 0, "valid": {}, "failing": []}
    unsigned_acceptances: list[str] = []
    if git.repo.workdir is not None and (git.state_dir / "config.yaml").is_file():
        from convergio_gate.workspace import Workspace  # only a repo with tasks needs it

        ws = Workspace(git)
        forged = [t.ref for t in ws.store.all_tasks() if ws.forged(t)]
        config = ws.store.config()
        signatures, unsigned_acceptances = _signatures(read.ordered(), config)
    elif any("sig" in e.extra for e in read.entries):
        from convergio_gate.model.config import Config

        signatures, _ = _signatures(read.ordered(), Config())
    ok = report.ok and not forged and not unsigned_acceptances
    if args.json:
        print_json(
            {
                **report.to_json(),
                "forged": forged,
                "signatures": signatures,
                "untrusted_acceptances": unsigned_acceptances,
                "ok": ok,
            }
        )
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
    if signatures["signed"]:
        by = ", ".join(f"{n} by {escape(who)}" for who, n in sorted(signatures["valid"].items()))
        console.print(
            f"signatures: {signatures['signed']} entries signed" + (f"; valid: {by}" if by else "")
        )
        for failing in signatures["failing"]:
            console.print(
                f"  [red]x[/] entry {failing['seq']} ({failing['hash'][:12]}): "
                f"{escape(failing['reason'])}"
            )
    for subject in unsigned_acceptances:
        console.print(
            f"[bold red]untrusted acceptance:[/] {escape(subject)} is accepted by an "
            "entry no trusted key signed (audit.require_signed_acceptance is on)"
        )
    for ref in forged:
        console.print(
            f"[bold red]forged:[/] {escape(ref)} says done without an acceptance in the chain"
        )
    return OK if ok else REFUSED


def _signatures(entries: list[Any], config: Any) -> tuple[dict[str, Any], list[str]]:
    """Signature verdicts, and the acceptances that do not count for want of one."""
    signed = [e for e in entries if "sig" in e.extra]
    summary: dict[str, Any] = {"signed": len(signed), "valid": {}, "failing": []}
    untrusted: list[str] = []
    if not signed and not config.require_signed_acceptance:
        return summary, untrusted
    from convergio_gate.audit import signing

    checks = (
        signing.check_entries(entries, config.trusted_signers)
        if (config.trusted_signers.strip())
        else {}
    )
    for entry in signed:
        check = checks.get(entry.hash)
        if check is not None and check.ok:
            who = check.signer or "?"
            summary["valid"][who] = summary["valid"].get(who, 0) + 1
        else:
            reason = check.reason if check is not None else "no trusted signers configured"
            summary["failing"].append({"seq": entry.seq, "hash": entry.hash, "reason": reason})
    if config.require_signed_acceptance:
        for entry in entries:
            if entry.kind == "accept" and entry.decision == "accepted":
                check = checks.get(entry.hash)
                if check is None or not check.ok:
                    untrusted.append(f"{entry.subject} (entry {entry.seq})")
    return summary, untrusted

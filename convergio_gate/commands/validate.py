"""``convergio-gate validate``: the gate. Accepts submitted tasks or refuses them."""

from __future__ import annotations

import argparse

from rich.markup import escape

from convergio_gate.commands._show import refusal, short
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, REFUSED
from convergio_gate.workspace import Verdict, Workspace


def run(args: argparse.Namespace) -> int:
    ws = Workspace.open()
    ws.store.require_init()
    if args.tasks:
        tasks = [ws.store.resolve(ref) for ref in args.tasks]
    else:
        tasks = [t for t in ws.store.all_tasks() if t.status == "submitted" or ws.forged(t)]
    verdicts = [ws.validate(task) for task in tasks]
    if args.json:
        print_json([_json(v) for v in verdicts])
    else:
        _print(verdicts)
    return OK if all(v.accepted for v in verdicts) else REFUSED


def _json(verdict: Verdict) -> dict[str, object]:
    return {
        "task": verdict.task.ref,
        "accepted": verdict.accepted,
        "reasons": verdict.reasons,
        "fixes": verdict.fixes,
        "entry": verdict.entry.hash if verdict.entry else None,
        "seq": verdict.entry.seq if verdict.entry else None,
    }


def _print(verdicts: list[Verdict]) -> None:
    console = out()
    if not verdicts:
        console.print("nothing to validate: no task is submitted")
        return
    for verdict in verdicts:
        if verdict.accepted:
            entry = verdict.entry
            where = f"audit entry {entry.seq} {short(entry.hash)}" if entry else ""
            console.print(
                f"[bold green]accepted[/] {escape(verdict.task.ref)} -> done  [dim]({where})[/]"
            )
            for reason in verdict.reasons:
                console.print(f"  [green]+[/] {escape(reason)}")
        else:
            refusal(verdict.task.ref, verdict.reasons, verdict.fixes)

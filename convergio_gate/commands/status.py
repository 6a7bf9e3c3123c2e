"""``convergio-gate status``: every task, its effective status and its evidence."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape

from convergio_gate.commands._show import short, status_word, table
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, REFUSED
from convergio_gate.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    ws = Workspace.open()
    ws.store.require_init()
    plans = [args.plan] if args.plan else ws.store.plan_ids()
    rows: list[dict[str, Any]] = []
    for plan in plans:
        for task in ws.store.tasks(plan):
            verdicts = ws.judge(task) if task.requires else []
            rows.append(
                {
                    "task": task.ref,
                    "title": task.title,
                    "status": task.status,
                    "effective_status": ws.effective_status(task),
                    "forged": ws.forged(task),
                    "evidence": {v.kind: ("ok" if v.ok else v.reason) for v in verdicts},
                }
            )
    entries = ws.chain.entries()
    head = entries[-1] if entries else None
    forged = [r["task"] for r in rows if r["forged"]]
    if args.json:
        print_json(
            {
                "tasks": rows,
                "chain": {"entries": len(entries), "head": head.hash if head else None},
                "forged": forged,
            }
        )
        return REFUSED if forged else OK
    console = out()
    if not rows:
        console.print("no tasks yet: convergio-gate task add PLAN TASK --title '...'")
    else:
        grid = table("task", "status", "evidence", "title")
        for row in rows:
            evidence = "  ".join(
                f"[green]{k}[/]" if v == "ok" else f"[red]{k}[/]"
                for k, v in row["evidence"].items()
            )
            grid.add_row(
                escape(row["task"]),
                status_word(row["effective_status"], row["forged"]),
                evidence or "[dim]-[/]",
                escape(row["title"]),
            )
        console.print(grid)
    if head:
        console.print(
            f"[dim]audit chain: {len(entries)} entries, head {head.seq} {short(head.hash)}[/]"
        )
    for ref in forged:
        console.print(
            f"[bold red]forged:[/] {escape(ref)} says done, but the chain holds no "
            "acceptance for it; only the gate can mark a task done"
        )
    return REFUSED if forged else OK

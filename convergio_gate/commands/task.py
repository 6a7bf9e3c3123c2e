"""``convergio-gate task add|list|show|transition``."""

from __future__ import annotations

import argparse

from rich.markup import escape

from convergio_gate.commands._show import refusal, short, status_word, table
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, REFUSED, UsageError
from convergio_gate.model import yamlio
from convergio_gate.model.plan import KIND_DOC, KIND_PATTERN, RUNNER_PATTERN, Task, new_task_doc
from convergio_gate.model.store import check_graph, check_id
from convergio_gate.workspace import Refused, Workspace


def run(args: argparse.Namespace) -> int:
    ws = Workspace.open()
    ws.store.require_init()
    action = {"add": add, "list": list_tasks, "show": show, "transition": transition}[args.action]
    return action(ws, args)


def add(ws: Workspace, args: argparse.Namespace) -> int:
    ws.store.load_plan(args.plan)
    check_id(args.task, "task")
    for kind in args.requires:
        if not KIND_PATTERN.match(kind):
            raise UsageError(f"--requires {kind!r}: expected {KIND_DOC}")
    if args.runner_kind and not RUNNER_PATTERN.match(args.runner_kind):
        raise UsageError(
            f"--runner-kind {args.runner_kind!r}: expected vendor:model, e.g. claude:sonnet"
        )
    if not args.title.strip():
        raise UsageError("--title must not be empty")
    path = ws.store.task_path(args.plan, args.task)
    if path.exists():
        raise UsageError(
            f"task '{args.plan}/{args.task}' already exists ({ws.store.rel(path)})",
            fix="pick another id; a done task is reopened as a new task",
        )
    doc = new_task_doc(
        args.task,
        args.title,
        description=args.description,
        requires=list(dict.fromkeys(args.requires)),
        verify=args.verify,
        depends_on=list(dict.fromkeys(args.depends_on)),
        files=list(dict.fromkeys(args.files)),
        acceptance=args.acceptance,
        runner_kind=args.runner_kind,
        profile=args.profile,
        max_budget_usd=args.max_budget_usd,
    )
    label = ws.store.rel(path)
    task = Task.from_doc(yamlio.parse(yamlio.dump(doc), label), args.plan, label, args.task)
    check_graph([*ws.store.tasks(args.plan), task])
    if not yamlio.create_atomic(path, yamlio.dump(doc)):
        raise UsageError(f"task '{args.plan}/{args.task}' was created meanwhile by someone else")
    out().print(f"added task [bold]{escape(task.ref)}[/] in {label}")
    return OK


def list_tasks(ws: Workspace, args: argparse.Namespace) -> int:
    plans = [args.plan] if args.plan else ws.store.plan_ids()
    tasks = [t for p in plans for t in ws.store.tasks(p)]
    if args.json:
        print_json(
            [
                {**t.to_json(), "effective_status": ws.effective_status(t), "forged": ws.forged(t)}
                for t in tasks
            ]
        )
        return OK
    if not tasks:
        out().print("no tasks yet: convergio-gate task add PLAN TASK --title '...'")
        return OK
    grid = table("task", "status", "title", "requires")
    for task in tasks:
        grid.add_row(
            escape(task.ref),
            status_word(ws.effective_status(task), ws.forged(task)),
            escape(task.title),
            ", ".join(task.requires),
        )
    out().print(grid)
    return OK


def show(ws: Workspace, args: argparse.Namespace) -> int:
    task = ws.store.resolve(args.task)
    records = ws.store.evidence(task)
    if args.json:
        print_json(
            {
                **task.to_json(),
                "effective_status": ws.effective_status(task),
                "forged": ws.forged(task),
                "evidence": [r.to_data() | {"file": r.label} for r in records],
            }
        )
        return OK
    console = out()
    console.print(f"[bold]{escape(task.ref)}[/]  {escape(task.title)}")
    console.print(
        f"status:   {status_word(ws.effective_status(task), ws.forged(task))}"
        + (f" (file says {task.status})" if task.status != ws.effective_status(task) else "")
    )
    for label, value in (
        ("requires", task.requires),
        ("verify", task.verify),
        ("depends", task.depends_on),
        ("files", task.files),
    ):
        if value:
            console.print(f"{label + ':':<9} {escape(', '.join(value))}")
    if task.description:
        console.print(escape(task.description.rstrip()))
    if task.history:
        grid = table("at", "from", "to", "by", "entry", title="history")
        for item in task.history:
            grid.add_row(
                item["at"],
                item["from"],
                item["to"],
                escape(item["by"]),
                short(item.get("entry") or ""),
            )
        console.print(grid)
    if records:
        grid = table("kind", "exit", "counts", "tree", "file", title="evidence")
        for record in records:
            counts = " ".join(f"{k}={v}" for k, v in record.counts.items() if v)
            grid.add_row(
                record.kind + (" (manual)" if record.manual else ""),
                str(record.exit_code),
                counts,
                record.tree[:10],
                record.label,
            )
        console.print(grid)
    return OK


def transition(ws: Workspace, args: argparse.Namespace) -> int:
    task = ws.store.resolve(args.task)
    before = ws.effective_status(task)
    try:
        entry = ws.transition(task, args.state, args.note)
    except Refused as refused:
        refusal(f"{task.ref}: {before} -> {args.state}", refused.reasons, refused.fixes)
        return REFUSED
    out().print(
        f"{escape(task.ref)}: {status_word(before)} -> {status_word(args.state)}  "
        f"[dim](audit entry {entry.seq} {short(entry.hash)})[/]"
    )
    return OK

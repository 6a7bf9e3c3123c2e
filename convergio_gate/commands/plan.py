"""``convergio-gate plan create|list|show``."""

from __future__ import annotations

import argparse

from rich.markup import escape

from convergio_gate.audit.entry import utc_now
from convergio_gate.commands._show import status_word, table
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, UsageError
from convergio_gate.model import yamlio
from convergio_gate.model.plan import new_plan_doc
from convergio_gate.model.store import check_id
from convergio_gate.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    ws = Workspace.open()
    ws.store.require_init()
    action = {"create": create, "list": list_plans, "show": show}[args.action]
    return action(ws, args)


def create(ws: Workspace, args: argparse.Namespace) -> int:
    check_id(args.plan, "plan")
    path = ws.store.plan_dir(args.plan) / "plan.yaml"
    if path.exists():
        raise UsageError(
            f"plan '{args.plan}' already exists ({ws.store.rel(path)})",
            fix="pick another id, or add tasks to it with `convergio-gate task add`",
        )
    if not args.title.strip():
        raise UsageError("--title must not be empty")
    doc = new_plan_doc(args.plan, args.title, args.goal, utc_now())
    if not yamlio.create_atomic(path, yamlio.dump(doc)):
        raise UsageError(f"plan '{args.plan}' was created meanwhile by someone else")
    out().print(f"created plan [bold]{escape(args.plan)}[/] in {ws.store.rel(path)}")
    return OK


def list_plans(ws: Workspace, args: argparse.Namespace) -> int:
    rows = []
    for plan in ws.store.plans():
        tasks = ws.store.tasks(plan.id)
        done = sum(1 for t in tasks if ws.effective_status(t) == "done")
        rows.append((plan, len(tasks), done))
    if args.json:
        print_json([{**p.to_json(), "tasks": n, "done": d} for p, n, d in rows])
        return OK
    if not rows:
        out().print("no plans yet: convergio-gate plan create PLAN --title '...'")
        return OK
    grid = table("plan", "title", "tasks", "done")
    for plan, n, d in rows:
        grid.add_row(escape(plan.id), escape(plan.title), str(n), str(d))
    out().print(grid)
    return OK


def show(ws: Workspace, args: argparse.Namespace) -> int:
    plan = ws.store.load_plan(args.plan)
    tasks = ws.store.tasks(plan.id)
    if args.json:
        print_json(
            {
                **plan.to_json(),
                "tasks": [
                    {
                        **t.to_json(),
                        "effective_status": ws.effective_status(t),
                        "forged": ws.forged(t),
                    }
                    for t in tasks
                ],
            }
        )
        return OK
    console = out()
    console.print(f"[bold]{escape(plan.id)}[/]  {escape(plan.title)}")
    if plan.goal:
        console.print(f"goal: {escape(plan.goal)}")
    grid = table("task", "status", "title", "requires", "depends on")
    for task in tasks:
        grid.add_row(
            escape(task.id),
            status_word(ws.effective_status(task), ws.forged(task)),
            escape(task.title),
            ", ".join(task.requires),
            ", ".join(task.depends_on),
        )
    console.print(grid)
    return OK

"""``convergio-gate plan create|list|show``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape

from convergio_gate.audit.entry import utc_now
from convergio_gate.commands._show import status_word, table
from convergio_gate.console import err, out, print_json
from convergio_gate.errors import OK, UsageError
from convergio_gate.model import yamlio
from convergio_gate.model.plan import new_plan_doc, new_task_doc
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
    drafts: list[Any] = []
    title = args.title
    goal = args.goal
    if args.source:
        drafts, title, goal = _from_source(ws, args, title, goal)
    if not title or not title.strip():
        raise UsageError("a plan needs a title: --title, or a `# Title` line in --from FILE")
    doc = new_plan_doc(args.plan, title, goal or "", utc_now())
    if not yamlio.create_atomic(path, yamlio.dump(doc)):
        raise UsageError(f"plan '{args.plan}' was created meanwhile by someone else")
    for draft in drafts:
        task_doc = new_task_doc(
            draft.id,
            draft.title,
            description=draft.description,
            requires=draft.requires,
            verify=draft.verify,
            depends_on=draft.depends_on,
            files=draft.files,
            runner_kind=draft.runner_kind or args.runner_kind,
            profile=draft.profile,
            max_budget_usd=draft.max_budget_usd,
        )
        yamlio.create_atomic(ws.store.task_path(args.plan, draft.id), yamlio.dump(task_doc))
    if drafts:
        ws.store.tasks(args.plan)  # the whole plan checks out: ids, dependencies, no cycle
    out().print(
        f"created plan [bold]{escape(args.plan)}[/] in {ws.store.rel(path)}"
        + (f" with {len(drafts)} tasks" if drafts else "")
    )
    for draft in drafts:
        after = f"  [dim](after {', '.join(draft.depends_on)})[/]" if draft.depends_on else ""
        out().print(f"  {escape(draft.id)}: {escape(draft.title)}{after}")
    return OK


def _from_source(
    ws: Workspace, args: argparse.Namespace, title: str | None, goal: str | None
) -> tuple[list[Any], str | None, str | None]:
    from pathlib import Path

    from convergio_gate.runners import planner

    source = Path(args.source)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--from {args.source}: cannot read it ({exc})") from None
    title = title or planner.title_of(text)
    goal = goal or text
    if args.planner:
        from convergio_gate.runners.registry import load_registry

        try:
            drafts = planner.ask_planner(
                args.planner, text, load_registry(ws.git.workdir), ws.git.workdir
            )
            out().print(f"[dim]plan from {escape(args.planner)}: {len(drafts)} tasks[/]")
            return drafts, title, goal
        except ValueError as exc:
            err().print(
                f"[yellow]the planner's answer was not usable[/] ({escape(str(exc))}); "
                f"splitting {escape(args.source)} deterministically instead"
            )
    return planner.from_markdown(text, args.source), title, goal


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

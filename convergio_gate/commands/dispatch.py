"""``convergio-gate dispatch PLAN``: run a plan's ready tasks through vendor CLIs."""

from __future__ import annotations

import argparse
import json
import os
import sys

from rich.markup import escape

from convergio_gate.console import out
from convergio_gate.errors import OK, REFUSED, UsageError
from convergio_gate.runners import progress
from convergio_gate.runners.dispatch import Dispatcher, Outcome
from convergio_gate.workspace import Workspace

RUNNABLE = ("pending", "in_progress", "blocked", "failed")


def run(args: argparse.Namespace) -> int:
    from convergio_gate.runners.registry import load_registry

    ws = Workspace.open()
    ws.store.require_init()
    if args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    plan = ws.store.load_plan(args.plan)
    dirty = ws.git.run(["status", "--porcelain", "--", f".convergio/plans/{plan.id}"]).stdout
    if dirty.strip():
        raise UsageError(
            f"plan {plan.id} has changes that are not committed; each task's worktree starts "
            "from the last commit",
            fix="git add .convergio && git commit -m 'plan'",
        )
    tasks = ws.store.tasks(plan.id)
    settled = {t.id for t in tasks if ws.effective_status(t) == "done"}
    chosen = [t for t in tasks if ws.effective_status(t) in RUNNABLE]
    if args.task:
        wanted = set(args.task)
        unknown = wanted - {t.id for t in tasks}
        if unknown:
            raise UsageError(f"unknown task(s) in {plan.id}: {', '.join(sorted(unknown))}")
        chosen = [t for t in chosen if t.id in wanted]
    if not chosen:
        out().print(f"nothing to dispatch in {plan.id}: every task is submitted, done or cancelled")
        return OK
    ws.git.identity()  # no identity, no dispatch: every round is recorded
    view = progress.choose(args.json)
    dispatcher = Dispatcher(
        ws.git,
        plan.id,
        load_registry(ws.git.workdir),
        ws.store.config(),
        view,
        parallel=args.parallel,
        base="HEAD",
    )
    try:
        outcomes = dispatcher.run(chosen, settled)
    finally:
        view.close()
    if args.open_pull_requests:
        _open_pull_requests(ws, outcomes, args.remote)
    if args.json:  # one event per line, the summary included
        sys.stdout.write(
            json.dumps({"event": "done", "outcomes": [o.__dict__ for o in outcomes]}) + "\n"
        )
    else:
        _summary(outcomes)
    return OK if outcomes and all(o.converged for o in outcomes) else REFUSED


def _summary(outcomes: list[Outcome]) -> None:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold", title="dispatch")
    for column in ("task", "stop", "rounds", "cost", "time", "branch"):
        table.add_column(column)
    for o in outcomes:
        colour = "green" if o.converged else "red"
        table.add_row(
            escape(o.task),
            f"[{colour}]{o.stop}[/]",
            str(o.rounds),
            f"${o.cost_usd:.2f}",
            f"{o.seconds:.1f}s",
            escape(o.branch),
        )
    out().print(table)
    for o in outcomes:
        if o.detail:
            out().print(f"[dim]{escape(o.task)}: {escape(o.detail)}[/]")


def _open_pull_requests(ws: Workspace, outcomes: list[Outcome], remote: str) -> None:
    from convergio_gate.github.api import GitHub

    repo = os.environ.get("GITHUB_REPOSITORY")
    token = os.environ.get("GITHUB_TOKEN")
    if not repo or not token:
        raise UsageError(
            "--open-pull-requests needs GITHUB_REPOSITORY and GITHUB_TOKEN",
            fix="run it from the action (mode: dispatch), or set both",
        )
    base = os.environ.get("CONVERGIO_BASE_BRANCH") or _default_branch(ws, remote)
    with GitHub(repo, token, backoff=float(os.environ.get("CONVERGIO_GITHUB_BACKOFF", "1"))) as gh:
        for o in outcomes:
            if not o.converged:
                continue
            ws.git.run(["push", "--quiet", "--no-verify", remote, f"{o.branch}:{o.branch}"])
            number = gh.create_pull(
                head=o.branch,
                base=base,
                title=f"{o.task}: converged under dispatch",
                body=(
                    f"Dispatched by convergio-gate: converged in {o.rounds} rounds "
                    f"(${o.cost_usd:.2f}, {o.seconds:.0f}s). The task is `submitted` with "
                    "its evidence; the convergio-gate check judges this pull request like "
                    "any other."
                ),
            )
            out().print(f"{escape(o.task)}: pull request #{number}")


def _default_branch(ws: Workspace, remote: str) -> str:
    proc = ws.git.run(["symbolic-ref", "--short", f"refs/remotes/{remote}/HEAD"], check=False)
    name = proc.stdout.strip()
    return name.split("/", 1)[1] if "/" in name else "main"

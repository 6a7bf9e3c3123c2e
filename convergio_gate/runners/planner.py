"""Plans from a Markdown checklist, deterministically, or from a vendor CLI.

The deterministic split reads a checklist::

    # Login that works
    ## Build
    - [ ] Add the login endpoint (requires: test; files: src/auth/**)
      It takes a user and a password and returns a session.
    - [ ] Store sessions (requires: test, lint; runner: codex:gpt-5-codex)
    ## Document
    - [ ] Document login (after: add-the-login-endpoint)

Each unchecked item is a task (checked ones are done already and skipped); its id is a
slug of its title; indented lines below it are its description; `(key: value; ...)` at
the end of the line sets `requires`, `files`, `verify`, `runner`, `profile`, `budget` or
`after`. Every task of a `##` section depends on every task of the section before.

A planner (``--planner vendor:model``) is asked, in its read-only mode, for the same
tasks as JSON; its answer is validated against the task schema, and when it is not valid
the deterministic split is used instead, with a message saying why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from convergio_gate.errors import InputError, UsageError

ITEM = re.compile(r"^(?P<indent>\s*)[-*]\s+\[(?P<mark>[ xX])\]\s+(?P<text>.+?)\s*$")
ATTRS = re.compile(r"\((?P<body>(?:[a-z_]+\s*:[^;()]*;?\s*)+)\)\s*$")
PLANNER_KEYS = frozenset(
    {"id", "title", "description", "requires", "files", "depends_on", "verify"}
)
KEYS = ("requires", "files", "verify", "runner", "profile", "budget", "after")


@dataclass
class DraftTask:
    id: str
    title: str
    description: str = ""
    requires: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    runner_kind: str | None = None
    profile: str = "standard"
    max_budget_usd: float | None = None


def slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "task"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def title_of(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None


def from_markdown(text: str, label: str) -> list[DraftTask]:
    tasks: list[DraftTask] = []
    taken: set[str] = set()
    sections: list[list[DraftTask]] = [[]]
    current: DraftTask | None = None
    item_indent = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            sections.append([])
            current = None
            continue
        match = ITEM.match(line)
        if match:
            current = None
            if match["mark"] != " ":
                continue
            current = _item(match["text"], taken, label, number)
            item_indent = len(match["indent"])
            tasks.append(current)
            sections[-1].append(current)
            continue
        if current is not None and line.strip() and len(line) - len(line.lstrip()) > item_indent:
            current.description += line.strip() + "\n"
        elif not line.strip():
            continue
        else:
            current = None
    if not tasks:
        raise InputError(
            "no unchecked `- [ ] ...` items: nothing to plan",
            path=label,
            fix="write one checklist item per task",
        )
    ids = {t.id for t in tasks}
    previous: list[DraftTask] = []
    for section in sections:
        for task in section:
            for dep in previous:
                if dep.id not in task.depends_on:
                    task.depends_on.append(dep.id)
            unknown = [d for d in task.depends_on if d not in ids]
            if unknown:
                raise InputError(
                    f"task '{task.id}' is after unknown task(s) {unknown}",
                    path=label,
                    fix="name tasks by the slug of their title",
                )
        if section:
            previous = section
    return tasks


def _item(text: str, taken: set[str], label: str, line: int) -> DraftTask:
    attrs: dict[str, str] = {}
    found = ATTRS.search(text)
    if found:
        text = text[: found.start()].rstrip()
        for part in found["body"].split(";"):
            if not part.strip():
                continue
            key, _, value = part.partition(":")
            key = key.strip()
            if key not in KEYS:
                raise InputError(
                    f"unknown attribute '{key}'",
                    path=label,
                    line=line,
                    fix="use one of: " + ", ".join(KEYS),
                )
            attrs[key] = value.strip()
    task = DraftTask(id=slug(text, taken), title=text)

    def listed(key: str) -> list[str]:
        return [v.strip() for v in attrs.get(key, "").split(",") if v.strip()]

    task.requires = listed("requires")
    task.files = listed("files")
    task.verify = listed("verify")
    task.depends_on = listed("after")
    task.runner_kind = attrs.get("runner") or None
    task.profile = attrs.get("profile", "standard")
    if "budget" in attrs:
        try:
            task.max_budget_usd = float(attrs["budget"].lstrip("$"))
        except ValueError:
            raise InputError(
                f"budget '{attrs['budget']}' is not a number", path=label, line=line
            ) from None
    return task


PLANNER_PROMPT = """\
Split the goal below into small, independently checkable coding tasks. Answer with JSON
only, no prose: {{"tasks": [{{"id": "short-slug", "title": "...", "description": "...",
"requires": ["test"], "files": ["glob/**"], "depends_on": ["other-id"],
"verify": ["command"]}}]}}. Ids: lower-case letters, digits and '-'.

Goal:
{goal}
"""


def parse_planner_answer(message: str) -> list[DraftTask]:
    """The planner's JSON answer as tasks; ValueError saying what is wrong."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", message, re.S)
    raw = fenced.group(1) if fenced else message[message.find("{") : message.rfind("}") + 1]
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from None
    items = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError("the answer has no `tasks` list")
    from convergio_gate.model import yamlio
    from convergio_gate.model.plan import TASK
    from convergio_gate.model.schema import validate_document

    tasks: list[DraftTask] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"tasks[{index}] is not an object")
        extra = sorted(set(item) - PLANNER_KEYS)
        if extra:
            raise ValueError(f"tasks[{index}] has keys a plan may not set: {', '.join(extra)}")
        doc = {"version": 1, **item}
        try:
            data_ok = validate_document(
                yamlio.parse(yamlio.dump(doc), "planner"), TASK, f"planner tasks[{index}]"
            )
        except InputError as exc:
            raise ValueError(str(exc)) from None
        tasks.append(
            DraftTask(
                id=data_ok["id"],
                title=data_ok["title"],
                description=data_ok["description"],
                requires=data_ok["requires"],
                files=data_ok["files"],
                verify=data_ok["verify"],
                depends_on=data_ok["depends_on"],
            )
        )
    ids = {t.id for t in tasks}
    if len(ids) != len(tasks):
        raise ValueError("two tasks share an id")
    for task in tasks:
        missing = [d for d in task.depends_on if d not in ids]
        if missing:
            raise ValueError(f"task {task.id} depends on unknown {missing}")
    from convergio_gate.model.store import find_cycle

    if find_cycle({t.id: t.depends_on for t in tasks}):
        raise ValueError("the tasks' dependencies form a cycle")
    return tasks


def ask_planner(
    runner_kind: str, goal: str, registry: Any, workdir: Any, timeout: float = 600
) -> list[DraftTask]:
    """Ask a vendor CLI, in its read-only profile, for a plan. ValueError when unusable."""
    import os

    from convergio_gate.runners.dispatch import SCRUBBED_ENV, run_agent
    from convergio_gate.runners.invoke import build, parse_output

    try:
        spec, model = registry.resolve(runner_kind)
    except UsageError as exc:
        raise ValueError(exc.message) from None
    invocation = build(
        spec,
        model=model,
        profile="read_only",
        prompt=PLANNER_PROMPT.format(goal=goal),
        workdir=workdir,
    )
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(invocation.env)
    code, out, err, timed_out = run_agent(invocation.argv, invocation.stdin, env, workdir, timeout)
    if timed_out:
        raise ValueError(f"the planner did not answer within {timeout:g}s")
    parsed = parse_output(spec, out, err, code)
    if parsed.error or code != 0:
        raise ValueError(f"the planner failed: {parsed.error or err.strip() or code}")
    return parse_planner_answer(parsed.message)

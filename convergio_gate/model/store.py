"""The state under ``.convergio/`` in a working tree: find, load and check it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from convergio_gate.errors import InputError, UsageError
from convergio_gate.gitio import STATE_DIR
from convergio_gate.model import yamlio
from convergio_gate.model.config import CONFIG_PATH, Config, load_config
from convergio_gate.model.evidence import Evidence, dump_evidence, load_evidence
from convergio_gate.model.plan import Plan, Task
from convergio_gate.model.schema import ID_DOC, ID_PATTERN, root_loc

PLANS = f"{STATE_DIR}/plans"
MAX_TASKS_PER_PLAN = 10_000


@dataclass
class Store:
    root: Path  # the working tree
    _config: Config | None = field(default=None, repr=False)

    # -- places -------------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def plan_dir(self, plan: str) -> Path:
        return self.root / PLANS / plan

    def task_path(self, plan: str, task: str) -> Path:
        return self.plan_dir(plan) / "tasks" / f"{task}.yaml"

    def evidence_dir(self, plan: str, task: str) -> Path:
        return self.plan_dir(plan) / "evidence" / task

    @property
    def initialized(self) -> bool:
        return (self.root / CONFIG_PATH).is_file()

    def require_init(self) -> None:
        if not self.initialized:
            raise UsageError(
                f"no {CONFIG_PATH} in {self.root}: convergio-gate is not set up in this repository",
                fix="run `convergio-gate init`",
            )
        self.config()  # a broken config is reported by every command, not only some

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.root)
        return self._config

    # -- plans --------------------------------------------------------------------------

    def plan_ids(self) -> list[str]:
        base = self.root / PLANS
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and (p / "plan.yaml").exists())

    def load_plan(self, plan: str) -> Plan:
        check_id(plan, "plan")
        path = self.plan_dir(plan) / "plan.yaml"
        if not path.exists():
            known = ", ".join(self.plan_ids()) or "none yet"
            raise UsageError(
                f"unknown plan '{plan}' (plans here: {known})",
                fix=f"create it with `convergio-gate plan create {plan} --title ...`",
            )
        return Plan.from_doc(yamlio.load(path, self.rel(path)), self.rel(path), plan)

    def plans(self) -> list[Plan]:
        return [self.load_plan(p) for p in self.plan_ids()]

    # -- tasks --------------------------------------------------------------------------

    def task_ids(self, plan: str) -> list[str]:
        base = self.plan_dir(plan) / "tasks"
        if not base.is_dir():
            return []
        names = sorted(p.stem for p in base.glob("*.yaml") if not p.name.startswith("."))
        if len(names) > MAX_TASKS_PER_PLAN:
            raise InputError(f"more than {MAX_TASKS_PER_PLAN} tasks", path=self.rel(base))
        return names

    def load_task(self, plan: str, task: str) -> Task:
        check_id(task, "task")
        path = self.task_path(plan, task)
        if not path.exists():
            raise UsageError(
                f"unknown task '{plan}/{task}'",
                fix="list the tasks with `convergio-gate task list`",
            )
        label = self.rel(path)
        return Task.from_doc(yamlio.load(path, label), plan, label, task)

    def tasks(self, plan: str) -> list[Task]:
        """Every task of ``plan``, checked together: dangling depends_on, cycles, waves."""
        self.load_plan(plan)
        tasks = [self.load_task(plan, t) for t in self.task_ids(plan)]
        check_graph(tasks)
        return tasks

    def all_tasks(self) -> list[Task]:
        return [t for p in self.plan_ids() for t in self.tasks(p)]

    def resolve(self, ref: str) -> Task:
        """``plan/task``, or a bare ``task`` id that is unique across plans."""
        if "/" in ref:
            plan, _, task = ref.partition("/")
            self.load_plan(plan)
            return self.load_task(plan, task)
        check_id(ref, "task")
        owners = [p for p in self.plan_ids() if self.task_path(p, ref).exists()]
        if not owners:
            raise UsageError(
                f"unknown task '{ref}'",
                fix="list the tasks with `convergio-gate task list`",
            )
        if len(owners) > 1:
            raise UsageError(
                f"task id '{ref}' exists in several plans: {', '.join(owners)}",
                fix=f"name it with its plan, e.g. {owners[0]}/{ref}",
            )
        return self.load_task(owners[0], ref)

    def save_task(self, task: Task) -> None:
        yamlio.write_atomic(self.task_path(task.plan, task.id), yamlio.dump(task.doc))

    # -- evidence -----------------------------------------------------------------------

    def evidence(self, task: Task) -> list[Evidence]:
        base = self.evidence_dir(task.plan, task.id)
        if not base.is_dir():
            return []
        records = []
        for path in sorted(base.glob("*.yaml")):
            if path.name.startswith("."):
                continue
            record = load_evidence(path, self.rel(path))
            if record.task != task.ref:
                raise InputError(
                    f"record names task '{record.task}' but sits under {task.ref}",
                    path=record.label,
                    key="task",
                    fix="move the file under the task it names, or delete it",
                )
            records.append(record)
        return records

    def add_evidence(self, task: Task, record: Evidence) -> Path:
        """Write a new record under a fresh, unique name. Never overwrites."""
        base = self.evidence_dir(task.plan, task.id)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        text = dump_evidence(record)
        for n in range(1000):
            suffix = f"-{n}" if n else ""
            path = base / f"{stamp}{suffix}-{record.kind}.yaml"
            if yamlio.create_atomic(path, text):
                record.label = self.rel(path)
                return path
        raise InputError("could not find a free evidence file name", path=self.rel(base))


def check_id(value: str, what: str) -> None:
    if not ID_PATTERN.match(value) or value in (".", ".."):
        raise UsageError(f"'{value}' is not a valid {what} id: expected {ID_DOC}")


def check_graph(tasks: list[Task]) -> None:
    """Every depends_on names a task of the same plan, and there is no cycle."""
    ids = {t.id: t for t in tasks}
    for task in tasks:
        for index, dep in enumerate(task.depends_on):
            if dep not in ids:
                loc = root_loc(task.doc, task.label).at_key(task.doc, "depends_on")
                loc = loc.at_item(task.doc["depends_on"], index)
                raise loc.error(
                    f"depends on '{dep}', which is not a task of plan {task.plan}",
                    fix=f"add task {dep}, or remove it from depends_on "
                    f"(tasks in {task.plan}: {', '.join(sorted(ids)) or 'none'})",
                )
    cycle = find_cycle({t.id: list(t.depends_on) for t in tasks})
    if cycle:
        first = ids[cycle[0]]
        loc = root_loc(first.doc, first.label).at_key(first.doc, "depends_on")
        raise loc.error(
            "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
            fix="remove one of these depends_on links",
        )


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` (node -> dependencies) as a list of nodes, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for start in sorted(graph):
        if colour[start] != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                colour[node] = grey
                path.append(node)
            deps = graph.get(node, [])
            if i < len(deps):
                stack.append((node, i + 1))
                nxt = deps[i]
                if colour.get(nxt, black) == grey:
                    return path[path.index(nxt) :]
                if colour.get(nxt) == white:
                    stack.append((nxt, 0))
            else:
                colour[node] = black
                path.pop()
    return None

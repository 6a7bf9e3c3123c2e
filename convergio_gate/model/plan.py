"""Plans (``plans/<id>/plan.yaml``) and tasks (``plans/<id>/tasks/<id>.yaml``).

One file per task, so agents working in parallel touch disjoint files and their branches
merge without conflicts. Files are loaded in round-trip mode and the loaded document is
kept, so an edit by the tool preserves every comment and key order a person wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from convergio_gate.errors import InputError
from convergio_gate.model import yamlio
from convergio_gate.model.lifecycle import STATES
from convergio_gate.model.schema import (
    ID_DOC,
    ID_PATTERN,
    Enum,
    Field,
    Int,
    ListOf,
    Number,
    Opt,
    Str,
    Struct,
    Timestamp,
    Version,
    root_loc,
    validate_document,
)

PROFILES = ("standard", "read_only", "sandbox")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
KIND_DOC = "an evidence kind: lower-case letters, digits, '_' or '-', such as test, lint, build"
DEFAULT_ROUNDS = 3
DEFAULT_TIMEOUT_S = 1800
RUNNER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*:[A-Za-z0-9][A-Za-z0-9._/@+-]*$")

TaskId = Str(ID_PATTERN, expected=ID_DOC, max_len=64)

HISTORY_ITEM = Struct(
    fields=(
        Field("at", Timestamp(), doc="when"),
        Field("from", Enum(STATES), doc="the state before"),
        Field("to", Enum(STATES), doc="the state after"),
        Field("by", Str(), doc="who made the transition"),
        Field("note", Opt(Str(allow_empty=True)), required=False),
        Field(
            "entry",
            Opt(Str(re.compile(r"^[0-9a-f]{64}$"), expected="an audit entry hash")),
            required=False,
        ),
    ),
    expected="a history item (at, from, to, by, note, entry)",
)

TASK = Struct(
    fields=(
        Field("version", Version(1, "task file")),
        Field("id", TaskId, doc="the task id, the same as the file name"),
        Field("title", Str(max_len=300), doc="one line saying what the task is"),
        Field("description", Str(allow_empty=True), required=False, default=""),
        Field("status", Enum(STATES), required=False, default="pending"),
        Field(
            "runner_kind",
            Opt(Str(RUNNER_PATTERN, expected="vendor:model, e.g. claude:sonnet")),
            required=False,
        ),
        Field("profile", Enum(PROFILES), required=False, default="standard"),
        Field("max_budget_usd", Opt(Number(0)), required=False),
        Field(
            "max_rounds",
            Int(1, 100),
            required=False,
            default=DEFAULT_ROUNDS,
            doc="agent rounds dispatch may spend before it stops",
        ),
        Field(
            "timeout_s",
            Int(1, 7 * 86_400),
            required=False,
            default=DEFAULT_TIMEOUT_S,
            doc="wall-clock seconds dispatch may spend on the task",
        ),
        Field("depends_on", ListOf(TaskId, unique=True), required=False, default=list),
        Field(
            "files",
            ListOf(Str(), unique=True),
            required=False,
            default=list,
            doc="globs of the files the task leases",
        ),
        Field(
            "requires",
            ListOf(Str(KIND_PATTERN, expected=KIND_DOC), unique=True),
            required=False,
            default=list,
        ),
        Field("verify", ListOf(Str()), required=False, default=list),
        Field("acceptance", ListOf(Str()), required=False, default=list),
        Field("agent", Opt(Str()), required=False),
        Field("history", ListOf(HISTORY_ITEM), required=False, default=list),
    ),
    expected="a task",
)

PLAN = Struct(
    fields=(
        Field("version", Version(1, "plan file")),
        Field("id", TaskId, doc="the plan id, the same as its directory name"),
        Field("title", Str(max_len=300)),
        Field("goal", Str(allow_empty=True), required=False, default=""),
        Field("created", Timestamp(), required=False),
        Field("waves", ListOf(ListOf(TaskId, unique=True)), required=False, default=list),
    ),
    expected="a plan",
)


@dataclass
class Task:
    plan: str
    id: str
    title: str
    status: str
    description: str = ""
    runner_kind: str | None = None
    profile: str = "standard"
    max_budget_usd: float | None = None
    max_rounds: int = 3
    timeout_s: int = 1800
    depends_on: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)
    acceptance: list[str] = field(default_factory=list)
    agent: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""
    doc: Any = None

    @property
    def ref(self) -> str:
        return f"{self.plan}/{self.id}"

    @classmethod
    def from_doc(cls, doc: Any, plan: str, label: str, expect_id: str | None) -> Task:
        data = validate_document(doc, TASK, label)
        if expect_id is not None and data["id"] != expect_id:
            line = root_loc(doc, label).at_key(doc, "id").line
            raise InputError(
                f"id '{data['id']}' does not match the file name '{expect_id}.yaml'",
                path=label,
                line=line,
                key="id",
                fix=f"set `id: {expect_id}` or rename the file to {data['id']}.yaml",
            )
        return cls(
            plan=plan,
            id=data["id"],
            title=data["title"],
            status=data["status"],
            description=data["description"],
            runner_kind=data["runner_kind"],
            profile=data["profile"],
            max_budget_usd=data["max_budget_usd"],
            max_rounds=data["max_rounds"],
            timeout_s=data["timeout_s"],
            depends_on=data["depends_on"],
            files=data["files"],
            requires=data["requires"],
            verify=data["verify"],
            acceptance=data["acceptance"],
            agent=data["agent"],
            history=data["history"],
            label=label,
            doc=doc,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "description": self.description,
            "runner_kind": self.runner_kind,
            "profile": self.profile,
            "max_budget_usd": self.max_budget_usd,
            "max_rounds": self.max_rounds,
            "timeout_s": self.timeout_s,
            "depends_on": list(self.depends_on),
            "files": list(self.files),
            "requires": list(self.requires),
            "verify": list(self.verify),
            "acceptance": list(self.acceptance),
            "agent": self.agent,
            "history": list(self.history),
        }


@dataclass
class Plan:
    id: str
    title: str
    goal: str = ""
    created: str | None = None
    waves: list[list[str]] = field(default_factory=list)
    label: str = ""
    doc: Any = None

    @classmethod
    def from_doc(cls, doc: Any, label: str, expect_id: str) -> Plan:
        data = validate_document(doc, PLAN, label)
        if data["id"] != expect_id:
            line = root_loc(doc, label).at_key(doc, "id").line
            raise InputError(
                f"id '{data['id']}' does not match the plan directory '{expect_id}'",
                path=label,
                line=line,
                key="id",
                fix=f"set `id: {expect_id}` or rename the directory",
            )
        return cls(
            id=data["id"],
            title=data["title"],
            goal=data["goal"],
            created=data["created"],
            waves=data["waves"],
            label=label,
            doc=doc,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "goal": self.goal,
            "created": self.created,
            "waves": [list(w) for w in self.waves],
        }


def new_task_doc(
    task_id: str,
    title: str,
    *,
    description: str = "",
    requires: list[str] | None = None,
    verify: list[str] | None = None,
    depends_on: list[str] | None = None,
    files: list[str] | None = None,
    acceptance: list[str] | None = None,
    runner_kind: str | None = None,
    profile: str = "standard",
    max_budget_usd: float | None = None,
) -> CommentedMap:
    doc = yamlio.new_map(
        {
            "version": 1,
            "id": task_id,
            "title": title,
            "description": description,
            "status": "pending",
            "runner_kind": runner_kind,
            "profile": profile,
            "max_budget_usd": max_budget_usd,
            "depends_on": CommentedSeq(depends_on or []),
            "files": CommentedSeq(files or []),
            "requires": CommentedSeq(requires or []),
            "verify": CommentedSeq(verify or []),
            "acceptance": CommentedSeq(acceptance or []),
            "agent": None,
            "history": CommentedSeq(),
        }
    )
    doc.yaml_set_start_comment(
        "A convergio-gate task. Edit freely; `status` and `history` are the tool's:\n"
        "it appends to history and never rewrites it."
    )
    return doc


def new_plan_doc(plan_id: str, title: str, goal: str, created: str) -> CommentedMap:
    doc = yamlio.new_map(
        {
            "version": 1,
            "id": plan_id,
            "title": title,
            "goal": goal,
            "created": created,
            "waves": CommentedSeq(),
        }
    )
    doc.yaml_set_start_comment("A convergio-gate plan. Its tasks live in tasks/, one file each.")
    return doc


def save(path: Path, doc: Any) -> None:
    yamlio.write_atomic(path, yamlio.dump(doc))

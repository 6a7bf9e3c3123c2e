"""Evidence records (``plans/<plan>/evidence/<task>/<utc-stamp>-<kind>.yaml``).

A record is what running a command measured: exit code, duration, sha256 of the whole
output, its last lines, counts parsed from it, and the code tree it ran on. Records are
never edited; a newer record of the same kind on the same code supersedes an older one.
Evidence is fresh only while its ``tree`` equals the code tree being judged.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convergio_gate.model import yamlio
from convergio_gate.model.plan import KIND_DOC, KIND_PATTERN, Task
from convergio_gate.model.schema import (
    Bool,
    Field,
    Int,
    ListOf,
    Number,
    Opt,
    Str,
    Struct,
    Timestamp,
    Version,
    validate_document,
)

OID = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
COUNT_KEYS = ("passed", "failed", "errors", "warnings", "skipped")

COUNTS = Struct(
    fields=tuple(Field(k, Int(0), required=False, default=0) for k in COUNT_KEYS),
    expected="counts (passed, failed, errors, warnings, skipped)",
)

EVIDENCE = Struct(
    fields=(
        Field("version", Version(1, "evidence record")),
        Field("task", Str(), doc="plan/task the record is for"),
        Field("kind", Str(KIND_PATTERN, expected=KIND_DOC)),
        Field("command", ListOf(Str(allow_empty=True)), doc="the argv that ran"),
        Field("shell", Bool(), required=False, default=False),
        Field("exit_code", Int()),
        Field("started", Timestamp()),
        Field("duration_s", Number(0)),
        Field("tree", Str(OID, expected="a 40-hex git tree id")),
        Field("output_sha256", Str(SHA256, expected="a sha256 hex digest")),
        Field("output_tail", Str(allow_empty=True), required=False, default=""),
        Field("counts", COUNTS, required=False, default=dict),
        Field("parser", Str(), required=False, default="generic"),
        Field("runner", Opt(Str()), required=False),
        Field("manual", Bool(), required=False, default=False),
        Field("note", Opt(Str(allow_empty=True)), required=False),
    ),
    expected="an evidence record",
)


@dataclass
class Evidence:
    task: str
    kind: str
    command: list[str]
    exit_code: int
    started: str
    duration_s: float
    tree: str
    output_sha256: str
    output_tail: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    parser: str = "generic"
    runner: str | None = None
    manual: bool = False
    shell: bool = False
    note: str | None = None
    label: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any], label: str) -> Evidence:
        counts = {k: int(data["counts"].get(k, 0)) for k in COUNT_KEYS}
        return cls(
            task=data["task"],
            kind=data["kind"],
            command=data["command"],
            exit_code=data["exit_code"],
            started=data["started"],
            duration_s=data["duration_s"],
            tree=data["tree"],
            output_sha256=data["output_sha256"],
            output_tail=data["output_tail"],
            counts=counts,
            parser=data["parser"],
            runner=data["runner"],
            manual=data["manual"],
            shell=data["shell"],
            note=data["note"],
            label=label,
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "version": 1,
            "task": self.task,
            "kind": self.kind,
            "command": list(self.command),
            "shell": self.shell,
            "exit_code": self.exit_code,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "tree": self.tree,
            "output_sha256": self.output_sha256,
            "output_tail": self.output_tail,
            "counts": {k: self.counts.get(k, 0) for k in COUNT_KEYS},
            "parser": self.parser,
            "runner": self.runner,
            "manual": self.manual,
            "note": self.note,
        }

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not any(
            self.counts.get(k, 0) for k in ("failed", "errors", "warnings")
        )

    def dirt(self) -> str:
        """What makes this record dirty, in words ('' when clean)."""
        parts = []
        if self.exit_code != 0:
            parts.append(f"exit code {self.exit_code}")
        for key in ("failed", "errors", "warnings"):
            if self.counts.get(key, 0):
                parts.append(f"{self.counts[key]} {key}")
        return ", ".join(parts)


def load_evidence(path: Path, label: str) -> Evidence:
    doc = yamlio.load(path, label)
    return Evidence.from_data(validate_document(doc, EVIDENCE, label), label)


def dump_evidence(record: Evidence) -> str:
    data = record.to_data()
    tail = data.pop("output_tail")
    doc = yamlio.new_map(data)
    if tail:
        from ruamel.yaml.scalarstring import LiteralScalarString

        doc["output_tail"] = LiteralScalarString(_literal_safe(tail))
    else:
        doc["output_tail"] = ""
    return yamlio.dump(doc)


def _literal_safe(text: str) -> str:
    """Text that a YAML literal block can hold: printable, no trailing spaces per line."""
    cleaned = "".join(ch if ch == "\n" or ch == "\t" or ch.isprintable() else "?" for ch in text)
    lines = [line.rstrip() for line in cleaned.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


@dataclass(frozen=True)
class KindVerdict:
    kind: str
    ok: bool
    reason: str
    fix: str = ""
    record: Evidence | None = None
    problem: str = ""  # missing, manual, stale or dirty; empty when ok


def judge(
    task: Task, records: list[Evidence], tree: str, *, accept_manual: bool
) -> list[KindVerdict]:
    """For each kind the task requires: is there fresh, clean evidence on ``tree``?

    The newest record of a kind on the judged tree counts; records on other trees are
    stale. A manual record counts only where the config accepts manual evidence.
    """
    verdicts = []
    for kind in task.requires:
        previous = next((r.command for r in reversed(records) if r.kind == kind and r.command), [])
        command = shlex.join(previous) if previous else "<command>"
        of_kind = sorted((r for r in records if r.kind == kind), key=lambda r: (r.started, r.label))
        usable = [r for r in of_kind if accept_manual or not r.manual]
        fresh = [r for r in usable if r.tree == tree]
        run = f"convergio-gate evidence run {task.ref} --kind {kind} -- {command}"
        if not of_kind:
            verdicts.append(
                KindVerdict(
                    kind, False, f"no {kind} evidence", f"record it: {run}", None, "missing"
                )
            )
        elif not usable:
            verdicts.append(
                KindVerdict(
                    kind,
                    False,
                    f"the only {kind} evidence was typed in (evidence add), not measured",
                    f"measure it: {run}",
                    None,
                    "manual",
                )
            )
        elif not fresh:
            newest = usable[-1]
            verdicts.append(
                KindVerdict(
                    kind,
                    False,
                    f"{kind} evidence is stale: it ran on tree {newest.tree[:10]}, "
                    f"the code is now tree {tree[:10]}",
                    f"re-run it on the current code: {run}",
                    newest,
                    "stale",
                )
            )
        elif not fresh[-1].clean:
            newest = fresh[-1]
            verdicts.append(
                KindVerdict(
                    kind,
                    False,
                    f"{kind} evidence is not clean: {newest.dirt()}",
                    f"fix the failures, then: {run}",
                    newest,
                    "dirty",
                )
            )
        else:
            verdicts.append(KindVerdict(kind, True, f"{kind}: fresh and clean", record=fresh[-1]))
    return verdicts

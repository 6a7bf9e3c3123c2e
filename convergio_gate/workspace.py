"""One command's view of a repository: git, the ``.convergio/`` state and the chain,
and the operations that must touch more than one of them together (a transition writes
the chain and the task file; an acceptance is a chain entry before it is a status).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from convergio_gate.audit.chain import Chain
from convergio_gate.audit.entry import Draft, Entry, utc_now
from convergio_gate.errors import UsageError
from convergio_gate.gitio import Git, Identity
from convergio_gate.model import lifecycle
from convergio_gate.model.evidence import KindVerdict, judge
from convergio_gate.model.plan import Task
from convergio_gate.model.store import Store


class Refused(Exception):
    """A claim the gate said no to. Carries the reasons; the command exits 1."""

    def __init__(self, subject: str, reasons: list[str], fixes: list[str]) -> None:
        self.subject = subject
        self.reasons = reasons
        self.fixes = fixes
        super().__init__(f"{subject}: " + "; ".join(reasons))


@dataclass
class Verdict:
    task: Task
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    entry: Entry | None = None
    kinds: list[KindVerdict] = field(default_factory=list)


class Workspace:
    def __init__(self, git: Git) -> None:
        self.git = git
        self.store = Store(git.workdir)
        self.chain = Chain(git)

    @classmethod
    def open(cls, start: Path | str = ".") -> Workspace:
        return cls(Git.discover(start))

    @cached_property
    def identity(self) -> Identity:
        return self.git.identity()

    @property
    def actor(self) -> str:
        return self.store.config().actor or str(self.identity)

    @cached_property
    def code_tree(self) -> str:
        return self.git.code_tree_of_worktree()

    def record(
        self,
        draft_kind: str,
        subject: str,
        decision: str,
        *,
        reasons: list[str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Entry:
        draft = Draft(draft_kind, subject, decision, self.actor, tuple(reasons or ()), data or {})
        return self.chain.append(draft, self.identity)

    # -- the chain's view of tasks ---------------------------------------------------------

    @cached_property
    def acceptances(self) -> dict[str, Entry]:
        """Task ref -> the acceptance entry the chain holds for it."""
        from convergio_gate.audit.trust import acceptances

        return acceptances(self.chain.entries(), self.store.config())

    def effective_status(self, task: Task) -> str:
        return "done" if task.ref in self.acceptances else task.status

    def forged(self, task: Task) -> bool:
        """A task file that says done without the gate's acceptance in the chain."""
        return task.status == "done" and task.ref not in self.acceptances

    # -- lifecycle -------------------------------------------------------------------------

    def transition(self, task: Task, target: str, note: str | None = None) -> Entry:
        """Move ``task`` to ``target`` by hand (never to done). Raises Refused or UsageError."""
        current = self.effective_status(task)
        if target not in lifecycle.STATES:
            raise UsageError(
                f"unknown state '{target}'", fix="use one of " + ", ".join(lifecycle.STATES)
            )
        if self.forged(task):
            raise self._refuse(
                task,
                [f"{task.label} says done but the chain holds no acceptance"],
                ["restore the task file from git; only the gate marks done"],
            )
        if (current, target) in lifecycle.GATE_ONLY or not lifecycle.is_legal(current, target):
            raise self._refuse(task, [lifecycle.explain_illegal(current, target)], [])
        data: dict[str, Any] = {"from": current, "to": target, "tree": self.code_tree}
        if target == "submitted":
            verdicts = self.judge(task)
            bad = [v for v in verdicts if not v.ok]
            if bad:
                raise self._refuse(task, [v.reason for v in bad], [v.fix for v in bad if v.fix])
            data["evidence"] = self._evidence_refs(verdicts)
        entry = self.record(
            "transition", task.ref, "recorded", reasons=[note] if note else [], data=data
        )
        self._append_history(task, current, target, note, entry)
        return entry

    def judge(self, task: Task) -> list[KindVerdict]:
        records = self.store.evidence(task)
        return judge(task, records, self.code_tree, accept_manual=self.store.config().accept_manual)

    def validate(self, task: Task) -> Verdict:
        """The gate: accept a submitted task (chain entry, then done) or refuse it."""
        status = self.effective_status(task)
        if self.forged(task):
            reasons = [f"forged: {task.label} says done but the chain holds no acceptance"]
            entry = self.record(
                "refuse", task.ref, "forged", reasons=reasons, data={"tree": self.code_tree}
            )
            return Verdict(
                task,
                False,
                reasons,
                ["restore the task file (`git checkout -- " + task.label + "`)"],
                entry,
            )
        if status == "done":
            return Verdict(task, True, ["already accepted"], entry=self.acceptances[task.ref])
        if status != "submitted":
            return Verdict(
                task,
                False,
                [f"not submitted (status: {status})"],
                [f"convergio-gate task transition {task.ref} submitted"],
            )
        verdicts = self.judge(task)
        bad = [v for v in verdicts if not v.ok]
        if bad:
            reasons = [v.reason for v in bad]
            entry = self.record(
                "refuse",
                task.ref,
                "refused",
                reasons=reasons,
                data={"tree": self.code_tree, "evidence": self._evidence_refs(verdicts)},
            )
            return Verdict(task, False, reasons, [v.fix for v in bad if v.fix], entry, verdicts)
        entry = self.record(
            "accept",
            task.ref,
            "accepted",
            reasons=[v.reason for v in verdicts] or ["no evidence required"],
            data={"tree": self.code_tree, "evidence": self._evidence_refs(verdicts)},
        )
        self.acceptances[task.ref] = entry
        self._append_history(task, "submitted", "done", "accepted by the gate", entry)
        return Verdict(task, True, [v.reason for v in verdicts], entry=entry, kinds=verdicts)

    def _refuse(self, task: Task, reasons: list[str], fixes: list[str]) -> Refused:
        self.record("refuse", task.ref, "refused", reasons=reasons, data={"tree": self.code_tree})
        return Refused(task.ref, reasons, fixes)

    def _evidence_refs(self, verdicts: list[KindVerdict]) -> list[dict[str, Any]]:
        refs = []
        for verdict in verdicts:
            if verdict.record is None:
                continue
            path = self.store.root / verdict.record.label
            refs.append(
                {
                    "kind": verdict.kind,
                    "file": verdict.record.label,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "tree": verdict.record.tree,
                }
            )
        return refs

    def _append_history(
        self, task: Task, src: str, dst: str, note: str | None, entry: Entry
    ) -> None:
        doc = task.doc
        item = CommentedMap()
        item["at"] = utc_now()
        item["from"] = src
        item["to"] = dst
        item["by"] = self.actor
        if note:
            item["note"] = note
        item["entry"] = entry.hash
        history = doc.get("history")
        if not isinstance(history, CommentedSeq):
            history = CommentedSeq(list(history or []))
            doc["history"] = history
        history.append(item)
        doc["status"] = dst
        task.status = dst
        self.store.save_task(task)

"""The evidence gate: every task claim in what is checked must hold.

For each task file (``.convergio/plans/<plan>/tasks/<task>.yaml``) in the change it
compares the file with its base version (the last commit; the base of a diff):

- the file must still read as a task;
- its history must only have grown (append-only);
- the status must have moved along the lifecycle: one legal step, or the legal steps
  the appended history records;
- a task newly claimed ``submitted`` needs fresh evidence (on the code being checked) of
  every kind it requires, with exit 0 and no failures, errors or warnings;
- a task that says ``done`` needs the gate's acceptance in the audit chain.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from convergio_gate.errors import InputError
from convergio_gate.gates._base import Context, Finding, SourceFile, normalise
from convergio_gate.gates.rules import rules

if TYPE_CHECKING:
    from convergio_gate.gitio import Git
    from convergio_gate.model.plan import Task

TASK_FILE = re.compile(r"^\.convergio/plans/([^/]+)/tasks/([^/]+)\.yaml$")


class EvidenceGate:
    id = "evidence"
    description = "task claims in the change are legal and backed by fresh, clean evidence"
    scope = "repo"
    version = "1"

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        tasks = [f for f in files if TASK_FILE.match(f.path)]
        if not tasks:
            return []
        judge = _Judge(ctx)
        found: list[Finding] = []
        for source in tasks:
            found.extend(judge.task(source))
        return found


class _Judge:
    def __init__(self, ctx: Context) -> None:
        from convergio_gate.gitio import Git

        self.ctx = ctx
        self.git: Git = Git.discover(ctx.root)
        self.fixes = {r["id"]: r["fix"] for r in rules("evidence")}

    def finding(self, rule: str, source: SourceFile, line: int, message: str, key: str) -> Finding:
        return Finding(
            gate="evidence",
            rule=rule,
            path=source.path,
            line=line,
            column=1,
            message=message,
            fix=self.fixes[rule],
            key=normalise(key),
        )

    # -- what the check is about -----------------------------------------------------

    @cached_property
    def base_commit(self) -> Any:
        base = self.ctx.extra.get("base")
        if base:
            return self.git.resolve_commit(base)
        return self.git.head_commit()

    @cached_property
    def code_tree(self) -> str:
        mode = self.ctx.mode
        commit = self.ctx.extra.get("commit")
        if mode in ("diff", "history") and commit:
            return self.git.code_tree_of_commit(self.git.resolve_commit(commit))
        if mode == "staged":
            tree_id = self.git.run(["write-tree"]).stdout.strip()
            import pygit2

            return self.git.code_tree_of_tree(
                self.git.repo[pygit2.Oid(hex=tree_id)].peel(pygit2.Tree)
            )
        return self.git.code_tree_of_worktree()

    @cached_property
    def config(self) -> Any:
        """The config that judges: the base branch's in CI, else the working tree's."""
        from convergio_gate.model.config import load_config

        return self.ctx.extra.get("config") or load_config(self.ctx.root)

    @cached_property
    def acceptances(self) -> set[str]:
        from convergio_gate.audit.chain import Chain
        from convergio_gate.audit.trust import acceptances

        return set(acceptances(Chain(self.git).entries(), self.config))

    def base_text(self, path: str) -> bytes | None:
        commit = self.base_commit
        if commit is None:
            return None
        try:
            obj = commit.tree[path]
        except KeyError:
            return None
        import pygit2

        return bytes(self.git.repo[obj.id].peel(pygit2.Blob).data)

    # -- judging one task file ---------------------------------------------------------

    def task(self, source: SourceFile) -> list[Finding]:
        from convergio_gate.model import yamlio
        from convergio_gate.model.plan import Task
        from convergio_gate.model.schema import root_loc

        match = TASK_FILE.match(source.path)
        assert match is not None
        plan, task_id = match.groups()
        try:
            doc = yamlio.parse(yamlio.decode(source.data, source.path), source.path)
            task = Task.from_doc(doc, plan, source.path, task_id)
        except InputError as exc:
            return [
                self.finding("invalid-task-file", source, exc.line or 1, exc.message, exc.message)
            ]
        status_line = root_loc(doc, source.path).at_key(doc, "status").line or 1
        before = self._before(source.path, plan, task_id)
        found = self._history(source, task, before, status_line)
        old_status = before.status if before is not None else "pending"
        if task.status != old_status:
            found.extend(self._transition(source, task, before, old_status, status_line))
            if task.status == "submitted":
                found.extend(self._evidence(source, task, status_line))
        if task.status == "done" and task.ref not in self.acceptances:
            found.append(
                self.finding(
                    "forged-done",
                    source,
                    status_line,
                    f"{task.ref} says done, but the audit chain holds no acceptance for it",
                    f"{task.ref} done",
                )
            )
        return found

    def _before(self, path: str, plan: str, task_id: str) -> Task | None:
        from convergio_gate.model import yamlio
        from convergio_gate.model.plan import Task

        data = self.base_text(path)
        if data is None:
            return None
        try:
            return Task.from_doc(yamlio.parse(yamlio.decode(data, path), path), plan, path, task_id)
        except InputError:
            return None

    def _history(
        self, source: SourceFile, task: Task, before: Task | None, line: int
    ) -> list[Finding]:
        if before is None:
            return []
        old, new = before.history, task.history
        if new[: len(old)] == old:
            return []
        return [
            self.finding(
                "history-rewritten",
                source,
                line,
                f"{task.ref}: the history had {len(old)} entries; they were changed or removed",
                f"{task.ref} history",
            )
        ]

    def _transition(
        self, source: SourceFile, task: Task, before: Task | None, old: str, line: int
    ) -> list[Finding]:
        from convergio_gate.model.lifecycle import explain_illegal, is_legal

        appended = task.history[len(before.history) if before else 0 :]
        steps = [(h["from"], h["to"]) for h in appended]
        chained = (
            bool(steps)
            and steps[0][0] == old
            and steps[-1][1] == task.status
            and all(a[1] == b[0] for a, b in itertools.pairwise(steps))
        )
        if chained and all(is_legal(a, b) for a, b in steps):
            return []
        if not steps and is_legal(old, task.status):
            return []
        bad = next(((a, b) for a, b in steps if not is_legal(a, b)), (old, task.status))
        return [
            self.finding(
                "illegal-transition",
                source,
                line,
                f"{task.ref}: {bad[0]} -> {bad[1]}: {explain_illegal(*bad)}",
                f"{task.ref} {bad[0]}->{bad[1]}",
            )
        ]

    def _evidence(self, source: SourceFile, task: Task, line: int) -> list[Finding]:
        from convergio_gate.model.evidence import judge

        records = self._records(task)
        accept_manual = self.config.accept_manual
        rule_of = {
            "missing": "missing-evidence",
            "manual": "missing-evidence",
            "stale": "stale-evidence",
            "dirty": "dirty-evidence",
        }
        out = []
        for verdict in judge(task, records, self.code_tree, accept_manual=accept_manual):
            if verdict.ok:
                continue
            out.append(
                self.finding(
                    rule_of[verdict.problem],
                    source,
                    line,
                    f"{task.ref} claims submitted: {verdict.reason}",
                    f"{task.ref} {verdict.kind} {verdict.problem}",
                )
            )
        return out

    def _records(self, task: Task) -> list[Any]:
        from convergio_gate.model import yamlio
        from convergio_gate.model.evidence import EVIDENCE, Evidence
        from convergio_gate.model.schema import validate_document

        prefix = f".convergio/plans/{task.plan}/evidence/{task.id}/"
        records = []
        for path in self.ctx.repo_files():
            if not (path.startswith(prefix) and path.endswith(".yaml")):
                continue
            data = self.ctx.read(path)
            if data is None:
                continue
            try:
                doc = yamlio.parse(yamlio.decode(data, path), path)
                record = Evidence.from_data(validate_document(doc, EVIDENCE, path), path)
            except InputError:
                continue
            if record.task == task.ref:
                records.append(record)
        return records

"""The executor: a plan's tasks through vendor coding CLIs, until the gates accept them.

Ready tasks (their dependencies done, or converged earlier in this run) run in
topological waves, at most ``parallel`` at once, and two tasks whose file leases overlap
never share a wave. Each task works in its own worktree and branch. A round is: the
agent's CLI with the task's permission profile (the whole process group killed at the
task's deadline), then the task's verify commands as evidence, then every gate on what
the task branch adds. Anything refused becomes the next round's prompt (rule, file:line,
why, how to fix). A task converges when nothing is refused: it moves to ``submitted``
with its evidence committed on its branch. Otherwise it stops for a reason: its rounds,
its time or its money spent, a human needed (no progress, a merge conflict), the runner
failing, or Ctrl-C. Every round and every stop is an audit entry.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convergio_gate.audit.entry import Draft
from convergio_gate.errors import FatalError, UsageError
from convergio_gate.gates._base import Finding
from convergio_gate.gitio import Git
from convergio_gate.measure import kill_group
from convergio_gate.model.plan import Task
from convergio_gate.runners import worktree

STOPS = (
    "converged",
    "rounds",
    "time",
    "money",
    "needs_human",
    "runner_failed",
    "cancelled",
    "blocked",
)
SCRUBBED_ENV = ("CONVERGIO_SIGNING_KEY",)


@dataclass
class Outcome:
    task: str
    stop: str
    rounds: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    branch: str = ""
    detail: str = ""

    @property
    def converged(self) -> bool:
        return self.stop == "converged"


Emit = Callable[[str, dict[str, Any]], None]


# -- scheduling ------------------------------------------------------------------------


def _static(glob: str) -> str:
    for i, ch in enumerate(glob):
        if ch in "*?[":
            return glob[:i]
    return glob


def globs_overlap(a: str, b: str) -> bool:
    """Could a file match both globs? Conservative: when in doubt, they overlap."""
    if fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    sa, sb = _static(a), _static(b)
    if sa == a and sb == b:
        return a == b
    return sa.startswith(sb) or sb.startswith(sa)


def leases_overlap(x: Task, y: Task) -> bool:
    return any(globs_overlap(a, b) for a in x.files for b in y.files)


def waves(tasks: Sequence[Task], settled: set[str]) -> list[list[Task]]:
    """Topological waves of ``tasks`` (dependencies in ``settled`` count as met); tasks
    with overlapping leases are pushed to separate waves."""
    pending = {t.id: t for t in tasks}
    done = set(settled)
    out: list[list[Task]] = []
    while pending:
        ready = [t for t in pending.values() if all(d in done for d in t.depends_on)]
        if not ready:
            raise UsageError(
                "the plan's dependencies cannot be ordered (a cycle?)",
                fix="convergio-gate task list shows them; break the cycle",
            )
        while ready:
            wave: list[Task] = []
            rest: list[Task] = []
            for task in sorted(ready, key=lambda t: t.id):
                (rest if any(leases_overlap(task, w) for w in wave) else wave).append(task)
            out.append(wave)
            ready = rest
        for task in [t for w in out for t in w if t.id in pending]:
            pending.pop(task.id, None)
            done.add(task.id)
    return out


# -- one agent round -------------------------------------------------------------------


def run_agent(
    argv: list[str], stdin: str | None, env: dict[str, str], cwd: Path, timeout: float
) -> tuple[int, str, str, bool]:
    """Run a CLI in its own process group; kill the whole group at the deadline."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            text=True,
            start_new_session=True,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        return 127, "", f"runner executable not found: {argv[0]}", False
    except PermissionError:
        return 126, "", f"runner executable not executable: {argv[0]}", False
    try:
        out, err = proc.communicate(stdin, timeout=max(timeout, 0.1))
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return proc.returncode if proc.returncode is not None else -9, out, err, True
    except KeyboardInterrupt:
        kill_group(proc)
        raise


# -- prompts ---------------------------------------------------------------------------


def first_prompt(task: Task) -> str:
    lines = [f"You are working on task {task.ref}: {task.title}.", ""]
    if task.description.strip():
        lines += [task.description.strip(), ""]
    if task.acceptance:
        lines += ["It is accepted when:", *[f"- {a}" for a in task.acceptance], ""]
    if task.files:
        lines += ["Only change files matching: " + ", ".join(task.files), ""]
    if task.verify:
        lines += ["These commands must pass:", *[f"- {v}" for v in task.verify], ""]
    lines += [
        "Work in the current directory (a git worktree of its own). Do not leave TODO/FIXME",
        "markers, stub bodies, secrets or code nothing calls: a gate refuses them.",
    ]
    return "\n".join(lines)


def feedback_prompt(
    task: Task, round_no: int, findings: Sequence[Finding], evidence: Sequence[str]
) -> str:
    lines = [f"Round {round_no} of task {task.ref} was refused. Fix each of these, then stop:", ""]
    for f in findings[:60]:
        lines.append(f"- {f.gate}/{f.rule} at {f.path}:{f.line}: {f.message}. Fix: {f.fix}")
    if len(findings) > 60:
        lines.append(f"- ... and {len(findings) - 60} more")
    for item in evidence:
        lines.append(f"- evidence: {item}")
    return "\n".join(lines)


# -- a task ----------------------------------------------------------------------------


@dataclass
class Dispatcher:
    git: Git
    plan: str
    registry: Any
    config: Any
    emit: Emit
    parallel: int = 1
    base: str = "HEAD"
    cancelled: threading.Event = field(default_factory=threading.Event)
    record_lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, tasks: Sequence[Task], settled: set[str]) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {}
        converged_branches: dict[str, str] = {}
        plan_waves = waves(tasks, settled)
        for number, wave in enumerate(plan_waves, start=1):
            self.emit("wave", {"wave": number, "tasks": [t.ref for t in wave]})
            runnable = []
            for task in wave:
                failed = [d for d in task.depends_on if d in outcomes and not outcomes[d].converged]
                if failed:
                    reason = ", ".join(f"{d} ({outcomes[d].stop})" for d in failed)
                    outcome = Outcome(task.ref, "blocked", detail=f"dependency failed: {reason}")
                    outcomes[task.id] = outcome
                    self._record_stop(task, outcome)
                    self.emit("stop", _event(outcome))
                else:
                    runnable.append(task)
            with ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
                merges = {
                    t.id: [converged_branches[d] for d in t.depends_on if d in converged_branches]
                    for t in runnable
                }
                results = list(pool.map(self.task, runnable, [merges[t.id] for t in runnable]))
            for task, outcome in zip(runnable, results, strict=True):
                outcomes[task.id] = outcome
                if outcome.converged:
                    converged_branches[task.id] = outcome.branch
        return [outcomes[t.id] for t in tasks if t.id in outcomes]

    def task(self, task: Task, merge: list[str]) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(
            task.ref, "runner_failed", branch=worktree.branch_name(task.plan, task.id)
        )
        try:
            self._task(task, merge, outcome, started)
        except KeyboardInterrupt:
            self.cancelled.set()
            outcome.stop = "cancelled"
        except FatalError as exc:
            outcome.stop = "needs_human" if "conflict" in exc.message else "runner_failed"
            outcome.detail = exc.message
        outcome.seconds = time.monotonic() - started
        self._record_stop(task, outcome)
        self.emit("stop", _event(outcome))
        return outcome

    def _task(self, task: Task, merge: list[str], outcome: Outcome, started: float) -> None:
        from convergio_gate.runners.invoke import build, parse_output

        if not task.runner_kind:
            raise UsageError(
                f"{task.ref} names no runner_kind (vendor:model)",
                fix=f"set `runner_kind: claude:sonnet` (or another) in {task.label}",
            )
        spec, model = self.registry.resolve(task.runner_kind)
        path = worktree.create(self.git, task.plan, task.id, self.base, merge)
        base = worktree.head(path)
        self._start(task, path)
        prompt = first_prompt(task)
        last_refusals: tuple[str, ...] | None = None
        deadline = started + task.timeout_s
        for round_no in range(1, task.max_rounds + 1):
            if self.cancelled.is_set():
                outcome.stop = "cancelled"
                return
            remaining_time = deadline - time.monotonic()
            if remaining_time <= 0:
                outcome.stop = "time"
                return
            remaining_money = (
                None if task.max_budget_usd is None else task.max_budget_usd - outcome.cost_usd
            )
            if remaining_money is not None and remaining_money <= 0:
                outcome.stop = "money"
                return
            self.emit("round", {"task": task.ref, "round": round_no, "runner": task.runner_kind})
            invocation = build(
                spec,
                model=model,
                profile=task.profile,
                prompt=prompt,
                workdir=path,
                budget_usd=remaining_money,
            )
            env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
            env.update(invocation.env)
            t0 = time.monotonic()
            code, out, err, timed_out = run_agent(
                invocation.argv, invocation.stdin, env, path, remaining_time
            )
            parsed = parse_output(spec, out, err, code)
            outcome.rounds = round_no
            if parsed.cost_usd:
                outcome.cost_usd += parsed.cost_usd
            round_data: dict[str, Any] = {
                "round": round_no,
                "runner": task.runner_kind,
                "argv": invocation.display,
                "exit": code,
                "cost_usd": parsed.cost_usd,
                "seconds": round(time.monotonic() - t0, 3),
                "timed_out": timed_out,
            }
            if timed_out:
                self._record_round(task, "refused", ["killed at the task's time limit"], round_data)
                outcome.stop = "time"
                return
            if code != 0 and not parsed.message:
                detail = (parsed.error or err.strip() or f"exit {code}")[:500]
                self._record_round(task, "failed", [detail], round_data)
                outcome.stop, outcome.detail = "runner_failed", detail
                return
            if task.profile == "read_only":
                edited = worktree.changed(path)
                if edited:
                    worktree.revert(path)
                    reasons = [
                        f"a read_only run edited {len(edited)} files "
                        f"({', '.join(edited[:5])}); the edits were reverted"
                    ]
                    self._record_round(task, "refused", reasons, round_data)
                    prompt = (
                        "You ran read-only and must not edit files; your edits were "
                        "reverted. " + reasons[0]
                    )
                    continue
            progressed = bool(worktree.changed(path))
            findings, evidence_problems = self._judge(task, path, base, round_no)
            round_data.update(findings=len(findings), evidence=evidence_problems)
            if (
                outcome.cost_usd
                and task.max_budget_usd is not None
                and (outcome.cost_usd > task.max_budget_usd)
            ):
                self._record_round(task, "refused", ["cost budget exceeded"], round_data)
                outcome.stop = "money"
                return
            if not findings and not evidence_problems:
                self._record_round(task, "converged", [], round_data)
                self._submit(task, path)
                outcome.stop = "converged"
                self.emit("converged", {"task": task.ref, "round": round_no})
                return
            reasons = [f"{f.gate}/{f.rule} {f.path}:{f.line}" for f in findings] + list(
                evidence_problems
            )
            self._record_round(task, "refused", reasons[:20], round_data)
            fingerprint = tuple(sorted(reasons))
            if fingerprint == last_refusals and not progressed:
                outcome.stop, outcome.detail = "needs_human", "no progress between rounds"
                return
            last_refusals = fingerprint
            prompt = feedback_prompt(task, round_no, findings, evidence_problems)
        outcome.stop = "rounds"

    # -- steps -------------------------------------------------------------------------

    def _start(self, task: Task, path: Path) -> None:
        from convergio_gate.workspace import Workspace

        ws = Workspace(Git.discover(path))
        local = ws.store.load_task(task.plan, task.id)
        if ws.effective_status(local) in ("pending", "blocked", "failed"):
            with self.record_lock:
                ws.transition(local, "in_progress", "dispatched")
            worktree.commit_all(path, f"convergio: {task.ref} in progress")

    def _judge(
        self, task: Task, path: Path, base: str, round_no: int
    ) -> tuple[list[Finding], list[str]]:
        """Commit the round, measure the verify commands, run the gates on the branch."""
        from convergio_gate.commands.check import chosen_gates
        from convergio_gate.gates import engine, select
        from convergio_gate.measure import measure
        from convergio_gate.model import counts as counting
        from convergio_gate.model.evidence import Evidence
        from convergio_gate.workspace import Workspace

        worktree.commit_all(path, f"convergio: {task.ref} round {round_no}")
        ws = Workspace(Git.discover(path))
        local = ws.store.load_task(task.plan, task.id)
        tree = ws.git.code_tree_of_worktree()
        for index, command in enumerate(task.verify):
            kind = task.requires[index] if index < len(task.requires) else "verify"
            argv = shlex.split(command)
            started = _now()
            result = measure(
                argv,
                cwd=path,
                timeout_s=float(self.config.timeout_s),
                tail_lines=self.config.tail_lines,
            )
            parser, found = counting.count(argv, result.output, result.exit_code)
            record = Evidence(
                task=task.ref,
                kind=kind,
                command=argv,
                exit_code=result.exit_code,
                started=started,
                duration_s=result.duration_s,
                tree=tree,
                output_sha256=result.output_sha256,
                output_tail=_scrub(result.tail),
                counts=found.to_dict(),
                parser=parser,
                runner=f"dispatch:{task.runner_kind}",
            )
            ws.store.add_evidence(local, record)
        problems = [v.reason for v in ws.judge(local) if not v.ok]
        worktree.commit_all(path, f"convergio: {task.ref} round {round_no} evidence")
        selection = select.select_diff(path, f"{base}..HEAD")
        outcome = engine.run(path, selection, chosen_gates(None, self.config), self.config)
        return [f for f in outcome.findings if f.severity == "error"], problems

    def _submit(self, task: Task, path: Path) -> None:
        from convergio_gate.workspace import Workspace

        ws = Workspace(Git.discover(path))
        local = ws.store.load_task(task.plan, task.id)
        with self.record_lock:
            ws.transition(local, "submitted", "converged under dispatch")
        worktree.commit_all(path, f"convergio: {task.ref} submitted")

    def _record_round(
        self, task: Task, decision: str, reasons: list[str], data: dict[str, Any]
    ) -> None:
        self._append(Draft("dispatch", task.ref, decision, self._actor(), tuple(reasons), data))
        self.emit("round_end", {"task": task.ref, "decision": decision, **data})

    def _record_stop(self, task: Task, outcome: Outcome) -> None:
        self._append(
            Draft(
                "dispatch",
                task.ref,
                f"stopped: {outcome.stop}",
                self._actor(),
                (outcome.detail,) if outcome.detail else (),
                {
                    "stop": outcome.stop,
                    "rounds": outcome.rounds,
                    "cost_usd": round(outcome.cost_usd, 6),
                    "seconds": round(outcome.seconds, 3),
                    "branch": outcome.branch,
                },
            )
        )

    def _append(self, draft: Draft) -> None:
        from convergio_gate.audit.chain import Chain

        with self.record_lock:
            Chain(self.git).append(draft, self.git.identity())

    def _actor(self) -> str:
        return self.config.actor or f"convergio-gate dispatch ({self.git.identity()})"


def _event(outcome: Outcome) -> dict[str, Any]:
    return {
        "task": outcome.task,
        "stop": outcome.stop,
        "rounds": outcome.rounds,
        "cost_usd": round(outcome.cost_usd, 6),
        "seconds": round(outcome.seconds, 3),
        "branch": outcome.branch,
        "detail": outcome.detail,
    }


def _now() -> str:
    from convergio_gate.audit.entry import utc_now

    return utc_now()


def _scrub(text: str) -> str:
    from convergio_gate.gates.secret import scrub

    return scrub(text)[0]

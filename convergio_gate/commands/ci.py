"""``convergio-gate ci``: the required check on a pull request, and the chain on a merge.

On a pull request it judges what the pull request brings with the rules of the BASE
branch (a pull request cannot weaken what judges it): every gate on the lines it adds,
every task claim it makes, and any change to the files that configure the gate, which
needs a maintainer's approving review. It then records the decision in the audit chain,
explains it in one sticky comment, the job summary, annotations and a SARIF file, sets
the `convergio-gate` commit status, and exits non-zero on refusal.

On a push to the default branch (a merge) it accepts the task claims that landed with
fresh, clean evidence: one acceptance entry each, signed when a key is configured, and
pushes the chain with fetch-merge-retry so concurrent jobs lose nothing.

Never run it on `pull_request_target` with the pull request's code checked out: that
event runs with a write token and the repository's secrets, and the pull request's code
could steal them (docs/ci.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convergio_gate.errors import OK, REFUSED, FatalError, UsageError
from convergio_gate.gates import engine, select
from convergio_gate.gates._base import Finding
from convergio_gate.gates.evidence import TASK_FILE
from convergio_gate.github import event as events
from convergio_gate.github.render import CiReport, Claim
from convergio_gate.model.config import CONFIG_PATH, Config, config_from_bytes

PROTECTED = (CONFIG_PATH, ".convergio/baseline.yaml", ".convergio/runners.yaml")
MAX_ANNOTATIONS = 50


@dataclass
class Options:
    comment: bool = True
    sarif_file: str | None = None
    fail_on: str = "refusal"
    replay: bool = False
    push: bool = True
    remote: str = "origin"
    token: str | None = field(default=None, repr=False)
    signing_key: str | None = field(default=None, repr=False)


def run(args: argparse.Namespace) -> int:
    # Take the signing key out of the environment before anything else runs: replayed
    # evidence commands are the pull request's own code and must never see it.
    key = os.environ.pop("CONVERGIO_SIGNING_KEY", None)
    event = events.load()
    options = Options(
        comment=args.comment == "on",
        sarif_file=args.sarif_file or None,
        fail_on=args.fail_on,
        replay=args.replay == "on",
        push=not args.no_push,
        remote=args.remote,
        token=os.environ.get("GITHUB_TOKEN") or None,
        signing_key=key,
    )
    root = select.repo_root(Path.cwd())
    if event.is_pull:
        assert event.pull is not None
        return _pull_request(root, event, event.pull, options)
    if event.name == "push":
        return _merge(root, event, options)
    raise UsageError(
        f"`convergio-gate ci` has nothing to do on a {event.name} event",
        fix="run it on pull_request and on push to the default branch (docs/ci.md)",
    )


# -- pull requests --------------------------------------------------------------------


def _pull_request(root: Path, event: events.Event, pull: events.Pull, options: Options) -> int:
    _ensure_commits(root, options.remote, [pull.base_sha, pull.head_sha])
    _fetch_chain(root, options.remote)
    base = _merge_base(root, pull.base_sha, pull.head_sha)
    config = config_from_bytes(_show(root, base, CONFIG_PATH), f"{CONFIG_PATH} (base)")
    baseline = _baseline_at(root, base)
    notes: list[str] = [f"Judged with the rules of the base branch ({pull.base_ref})."]
    gh = _client(event, options)
    protected = _protected_changes(root, base, pull.head_sha, config)
    approvers: list[str] = []
    extra: list[Finding] = []
    if protected:
        approvers = _approvers(gh, pull, notes)
        if not approvers:
            extra += [_protected_finding(path) for path in protected]
    from convergio_gate.commands.check import chosen_gates

    selection = select.select_diff(root, f"{base}..{pull.head_sha}")
    outcome = engine.run(root, selection, chosen_gates(None, config), config, baseline=baseline)
    if options.replay:
        extra += _replay(root, selection, outcome.findings, config)
    outcome.findings = sorted(
        [*outcome.findings, *extra], key=lambda f: (f.path, f.line, f.gate, f.rule)
    )
    claims = _claims(root, base, selection, outcome.findings)
    report = CiReport(
        decision=outcome.decision,
        subject=f"pull request #{pull.number}",
        findings=outcome.findings,
        claims=claims,
        waived=outcome.waived,
        protected=protected,
        approvers=approvers,
        run_url=event.run_url,
        notes=notes,
    )
    report.chain_head, report.chain_entries = _record_pull(
        root, event, pull, outcome, report, options, protected, notes
    )
    _tell(gh, event, pull.head_sha, report, outcome, options)
    if report.decision == "refused" and options.fail_on == "refusal":
        return REFUSED
    return OK


def _ensure_commits(root: Path, remote: str, shas: Sequence[str]) -> None:
    missing = [s for s in shas if not _has(root, s)]
    if missing:
        _git(root, "fetch", "--quiet", "--no-tags", remote, *missing, check=False)
    still = [s for s in shas if not _has(root, s)]
    if still:
        raise UsageError(
            f"commits {', '.join(s[:12] for s in still)} are not in this clone",
            fix="check out with full history: actions/checkout with `fetch-depth: 0`",
        )


def _has(root: Path, sha: str) -> bool:
    return _git(root, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise FatalError(f"`git {' '.join(args[:3])}` failed: {proc.stderr.strip()}")
    return proc


def _fetch_chain(root: Path, remote: str) -> None:
    from convergio_gate.audit.chain import NOTES_REF, tracking_ref

    spec = f"+{NOTES_REF}*:{tracking_ref(remote)}*"
    _git(root, "fetch", "--quiet", "--no-tags", remote, spec, check=False)


def _merge_base(root: Path, base: str, head: str) -> str:
    proc = _git(root, "merge-base", base, head, check=False)
    return proc.stdout.strip() or base


def _show(root: Path, rev: str, path: str) -> bytes | None:
    proc = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def _baseline_at(root: Path, rev: str) -> dict[str, Any]:
    import tempfile

    from convergio_gate.gates.waivers import BASELINE_PATH, load_baseline

    data = _show(root, rev, BASELINE_PATH)
    if data is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / BASELINE_PATH
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
        return load_baseline(Path(tmp))


def _protected_changes(root: Path, base: str, head: str, config: Config) -> list[str]:
    changed = _git(root, "diff", "--name-only", "--no-renames", base, head).stdout.split("\n")
    globs = [*PROTECTED, *config.protected_paths]
    return sorted(p for p in changed if p and engine.matches(p, globs))


def _protected_finding(path: str) -> Finding:
    return Finding(
        gate="ci",
        rule="protected-change",
        path=path,
        line=1,
        column=1,
        message=f"{path} decides how pull requests are judged; this pull request changes it",
        fix="ask someone with write access to approve the pull request in a review; "
        "until then the base branch's version is what judges it",
        key=path,
    )


def _client(event: events.Event, options: Options) -> Any:
    if not options.token:
        return None
    from convergio_gate.github.api import GitHub

    backoff = float(os.environ.get("CONVERGIO_GITHUB_BACKOFF", "1.0"))
    return GitHub(event.repo, options.token, backoff=backoff)


def _approvers(gh: Any, pull: events.Pull, notes: list[str]) -> list[str]:
    if gh is None:
        notes.append("No token: approvals of protected changes could not be read.")
        return []
    from convergio_gate.github.api import GitHubError

    try:
        approvals = gh.approvals(pull.number)
    except GitHubError as exc:
        notes.append(f"Approvals could not be read: {exc.message}")
        return []
    return sorted({a.login for a in approvals if a.commit_id == pull.head_sha})


def _claims(
    root: Path, base: str, selection: select.Selection, findings: list[Finding]
) -> list[Claim]:
    from convergio_gate.errors import InputError
    from convergio_gate.model import yamlio
    from convergio_gate.model.plan import Task

    claims = []
    for source in selection.files:
        match = TASK_FILE.match(source.path)
        if not match:
            continue
        plan, task_id = match.groups()
        try:
            task = Task.from_doc(
                yamlio.parse(yamlio.decode(source.data, source.path), source.path),
                plan,
                source.path,
                task_id,
            )
        except InputError:
            continue
        old = "pending"
        before = _show(root, base, source.path)
        if before is not None:
            try:
                old = Task.from_doc(
                    yamlio.parse(yamlio.decode(before, source.path), source.path),
                    plan,
                    source.path,
                    task_id,
                ).status
            except InputError:
                old = "pending"
        if task.status == old and task.status != "done":
            continue
        against = [f for f in findings if f.path == source.path and f.gate == "evidence"]
        claims.append(Claim(task.ref, task.status, not against, tuple(f.message for f in against)))
    return claims


def _replay(
    root: Path, selection: select.Selection, findings: list[Finding], config: Config
) -> list[Finding]:
    """Run each claimed task's evidence commands again on the head; refuse what differs."""
    from convergio_gate.measure import measure
    from convergio_gate.model import counts as counting
    from convergio_gate.model import yamlio
    from convergio_gate.model.evidence import EVIDENCE, Evidence
    from convergio_gate.model.plan import Task
    from convergio_gate.model.schema import validate_document

    refused_paths = {f.path for f in findings if f.gate == "evidence"}
    out: list[Finding] = []
    for source in selection.files:
        match = TASK_FILE.match(source.path)
        if not match or source.path in refused_paths:
            continue
        plan, task_id = match.groups()
        task = Task.from_doc(
            yamlio.parse(yamlio.decode(source.data, source.path), source.path),
            plan,
            source.path,
            task_id,
        )
        if task.status != "submitted":
            continue
        prefix = f".convergio/plans/{plan}/evidence/{task_id}/"
        records = []
        for path in selection.list_files():
            if path.startswith(prefix) and path.endswith(".yaml"):
                data = selection.read_file(path)
                if data is not None:
                    doc = yamlio.parse(yamlio.decode(data, path), path)
                    records.append(Evidence.from_data(validate_document(doc, EVIDENCE, path), path))
        for kind in task.requires:
            newest = max(
                (r for r in records if r.kind == kind and not r.manual),
                key=lambda r: (r.started, r.label),
                default=None,
            )
            if newest is None or not newest.command:
                continue
            result = measure(
                newest.command,
                cwd=root,
                timeout_s=float(config.timeout_s),
                tail_lines=config.tail_lines,
                shell=newest.shell,
            )
            _, found = counting.count(
                newest.command,
                result.output,
                result.exit_code,
                newest.parser if newest.parser in counting.PARSERS else None,
            )
            if result.exit_code != 0 or not found.clean or result.timed_out:
                out.append(
                    Finding(
                        gate="evidence",
                        rule="not-reproduced",
                        path=source.path,
                        line=1,
                        column=1,
                        message=f"{task.ref}: the {kind} evidence did not reproduce on the pull "
                        f"request's head (exit {result.exit_code}, {found.failed} failed, "
                        f"{found.errors} errors, {found.warnings} warnings)",
                        fix="run the command on the head commit, fix what fails, record it again",
                        key=f"{task.ref} {kind} replay",
                    )
                )
    return out


def _signer(key: str | None) -> Any:
    if not key:
        return None
    from convergio_gate.audit import signing

    principal = os.environ.get("CONVERGIO_SIGNER", "ci@github-actions")

    def sign(digest: str) -> dict[str, str]:
        return signing.sign(digest, key, signer=principal).to_json()

    return sign


def _record_pull(
    root: Path,
    event: events.Event,
    pull: events.Pull,
    outcome: engine.Outcome,
    report: CiReport,
    options: Options,
    protected: list[str],
    notes: list[str],
) -> tuple[str | None, int]:
    from convergio_gate.audit.entry import Draft

    actor = f"github-actions ({event.actor or 'ci'}, run {event.run_id or 'local'})"
    drafts = []
    if protected and report.approvers:
        drafts.append(
            Draft(
                "approval",
                f"pull request #{pull.number}",
                "approved",
                actor,
                tuple(f"{p} changed" for p in protected),
                {"approvers": report.approvers, "head": pull.head_sha, "files": protected},
            )
        )
    reasons = [f"{f.gate}/{f.rule} {f.path}:{f.line}: {f.message}" for f in outcome.findings[:20]]
    drafts.append(
        Draft(
            "check",
            f"pull request #{pull.number}",
            outcome.decision,
            actor,
            tuple(reasons),
            {
                "head": pull.head_sha,
                "base": pull.base_sha,
                "findings": len(outcome.findings),
                "claims": [
                    {"task": c.task, "status": c.status, "accepted": c.accepted}
                    for c in report.claims
                ],
                "fingerprints": [f.fingerprint for f in outcome.findings[:500]],
            },
        )
    )
    push = options.push and not pull.fork
    if pull.fork:
        notes.append(
            "A pull request from a fork runs with a read-only token: the decision "
            "is recorded when the merge lands on the default branch."
        )
    return _append_and_push(root, drafts, options, push)


def _append_and_push(
    root: Path, drafts: list[Any], options: Options, push: bool
) -> tuple[str | None, int]:
    from convergio_gate.audit.chain import Chain
    from convergio_gate.gitio import Git, Identity

    git = Git.discover(root)
    identity = Identity(
        os.environ.get("GIT_COMMITTER_NAME") or "github-actions[bot]",
        os.environ.get("GIT_COMMITTER_EMAIL")
        or "41898282+github-actions[bot]@users.noreply.github.com",
    )
    chain = Chain(git)
    signer = _signer(options.signing_key)
    entries = chain.append_many(drafts, identity, signer)
    if push:
        _push_chain(git, chain, options.remote, identity, signer)
    read = chain.entries()
    head = read[-1].hash if read else entries[-1].hash
    return head, len(read)


def _push_chain(git: Any, chain: Any, remote: str, identity: Any, signer: Any) -> None:
    import random
    import time

    from convergio_gate.audit.chain import NOTES_REF

    for attempt in range(10):
        _fetch_chain(git.workdir, remote)
        chain.integrate(identity, signer)
        proc = git.run(
            ["push", "--quiet", "--no-verify", remote, f"{NOTES_REF}:{NOTES_REF}"], check=False
        )
        if proc.returncode == 0:
            return
        time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    raise FatalError(
        f"could not push the audit chain to {remote} after 10 attempts",
        fix="re-run the job; nothing was lost locally",
    )


def _tell(
    gh: Any,
    event: events.Event,
    sha: str,
    report: CiReport,
    outcome: engine.Outcome,
    options: Options,
) -> None:
    """Comment, status, summary, annotations, SARIF, outputs. A failure to post never hides
    the decision: the exit code and the job summary still carry it."""
    from convergio_gate import report as reports
    from convergio_gate.github.render import MARKER, render, summary

    if gh is not None:
        from convergio_gate.github.api import GitHubError

        if options.comment and event.pull is not None:
            try:
                gh.upsert_comment(event.pull.number, MARKER, render(report))
            except GitHubError as exc:
                report.notes.append(f"The comment could not be posted: {exc.message}")
        try:
            state = "failure" if report.decision == "refused" else "success"
            errors = sum(1 for f in report.findings if f.severity == "error")
            gh.set_status(
                sha,
                state,
                f"{report.decision}: {errors} refusals",
                target_url=event.run_url or None,
            )
        except GitHubError as exc:
            report.notes.append(f"The commit status could not be set: {exc.message}")
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(summary(report))
    shown = outcome.findings[:MAX_ANNOTATIONS]
    trimmed = engine.Outcome(outcome.selection, outcome.gates, findings=shown)
    print(reports.as_github(trimmed), end="")
    if len(outcome.findings) > len(shown):
        print(
            f"::notice::{len(outcome.findings) - len(shown)} more findings: see the job "
            "summary and the SARIF file"
        )
    if options.sarif_file:
        from convergio_gate.model import yamlio

        yamlio.write_output(Path(options.sarif_file), reports.dumps(reports.as_sarif(outcome)))
    _outputs(
        {
            "decision": report.decision,
            "findings": str(len(report.findings)),
            "refused-tasks": ",".join(report.refused_tasks),
            "chain-head": report.chain_head or "",
        }
    )
    from convergio_gate.console import out

    out().print(
        f"convergio-gate: {report.decision} ({len(report.findings)} findings, "
        f"chain head {report.chain_head})"
    )
    for note in report.notes:
        out().print(f"  {note}")


def _outputs(values: dict[str, str]) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            fh.write(f"{key}={value}\n")


# -- merges -----------------------------------------------------------------------------


def _merge(root: Path, event: events.Event, options: Options) -> int:
    """A push to the default branch: accept the claims that landed with them."""
    if not event.on_default_branch:
        raise UsageError(
            f"push to {event.ref}: only pushes to the default branch "
            f"({event.default_branch}) are judged",
            fix="limit the workflow's push trigger to the default branch",
        )
    _fetch_chain(root, options.remote)
    after = event.sha or _git(root, "rev-parse", "HEAD").stdout.strip()
    before = event.before if event.before and set(event.before) != {"0"} else None
    if before is None or not _has(root, before):
        parents = _git(root, "rev-list", "--parents", "-n", "1", after).stdout.split()[1:]
        before = parents[0] if parents else None
    config = config_from_bytes(_show(root, after, CONFIG_PATH))
    from convergio_gate.audit.chain import Chain
    from convergio_gate.audit.entry import Draft
    from convergio_gate.audit.trust import acceptances
    from convergio_gate.gitio import Git

    git = Git.discover(root)
    accepted = acceptances(Chain(git).entries(), config)
    changed = []
    if before:
        changed = _git(root, "diff", "--name-only", before, after).stdout.split("\n")
    selection = select.select_diff(root, f"{before}..{after}") if before else None
    actor = f"github-actions ({event.actor or 'ci'}, run {event.run_id or 'local'})"
    drafts: list[Any] = []
    claims: list[Claim] = []
    tree = git.code_tree_of_commit(git.resolve_commit(after))
    for path in sorted(p for p in changed if TASK_FILE.match(p)):
        verdict = _judge_landed(root, git, after, path, tree, config, selection)
        if verdict is None:
            continue
        ref, ok, reasons, data = verdict
        if ref in accepted:
            continue
        claims.append(Claim(ref, "submitted", ok, tuple(reasons)))
        kind, decision = ("accept", "accepted") if ok else ("refuse", "refused")
        drafts.append(Draft(kind, ref, decision, actor, tuple(reasons), {**data, "commit": after}))
    report = CiReport(
        decision="refused" if any(not c.accepted for c in claims) else "accepted",
        subject=f"the push to {event.default_branch}",
        claims=claims,
        run_url=event.run_url,
    )
    if drafts:
        report.chain_head, report.chain_entries = _append_and_push(
            root, drafts, options, options.push
        )
    engine_outcome = engine.Outcome(select.Selection("diff", report.subject, []), [])
    _tell(
        None,
        event,
        after,
        report,
        engine_outcome,
        Options(comment=False, sarif_file=options.sarif_file),
    )
    return OK


def _judge_landed(
    root: Path,
    git: Any,
    after: str,
    path: str,
    tree: str,
    config: Config,
    selection: select.Selection | None,
) -> tuple[str, bool, list[str], dict[str, Any]] | None:
    from convergio_gate.errors import InputError
    from convergio_gate.model import yamlio
    from convergio_gate.model.evidence import EVIDENCE, Evidence, judge
    from convergio_gate.model.plan import Task
    from convergio_gate.model.schema import validate_document

    match = TASK_FILE.match(path)
    assert match is not None
    plan, task_id = match.groups()
    data = _show(root, after, path)
    if data is None:
        return None
    try:
        task = Task.from_doc(yamlio.parse(yamlio.decode(data, path), path), plan, path, task_id)
    except InputError:
        return None
    if task.status not in ("submitted", "done"):
        return None
    prefix = f".convergio/plans/{plan}/evidence/{task_id}/"
    listing = _git(root, "ls-tree", "-r", "--name-only", after, "--", prefix).stdout.split()
    records = []
    for record_path in listing:
        raw = _show(root, after, record_path)
        if raw is None:
            continue
        try:
            doc = yamlio.parse(yamlio.decode(raw, record_path), record_path)
            records.append(
                Evidence.from_data(validate_document(doc, EVIDENCE, record_path), record_path)
            )
        except InputError:
            continue
    verdicts = judge(task, records, tree, accept_manual=config.accept_manual)
    ok = all(v.ok for v in verdicts)
    reasons = [v.reason for v in verdicts] or ["no evidence required"]
    evidence = [
        {"kind": v.kind, "file": v.record.label, "tree": v.record.tree}
        for v in verdicts
        if v.record is not None
    ]
    return task.ref, ok, reasons, {"tree": tree, "evidence": evidence}

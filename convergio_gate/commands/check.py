"""``convergio-gate check``: run the gates, say what is refused and how to fix it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convergio_gate import afterwards
from convergio_gate.errors import OK, REFUSED, UsageError
from convergio_gate.gates import engine, registry, select
from convergio_gate.gates.cache import Cache
from convergio_gate.gates.waivers import load_baseline
from convergio_gate.model.config import Config, load_config

if TYPE_CHECKING:
    from convergio_gate.audit.entry import Draft
    from convergio_gate.audit.quick import QuickChain

FORMATS = ("text", "json", "sarif", "github")
MAX_REASONS = 20
MAX_FINGERPRINTS = 500


def run(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    root, common = select.repo_dirs(cwd)
    cache_dir = common / "convergio" / "cache"
    config = load_config(root, cache_dir)
    gate_ids = chosen_gates(args.gate, config, cache_dir)
    modes = [m for m in ("staged", "all_files", "diff", "history") if getattr(args, m)]
    if len(modes) > 1 or (modes and args.files):
        raise UsageError("choose one of --staged, --all-files, --diff, --history, or FILES")
    cache = None if args.no_cache else Cache(common / "convergio" / "cache.sqlite3")
    baseline = load_baseline(root)
    quick = None
    if not args.no_record and "pygit2" not in sys.modules:
        from convergio_gate.audit.quick import QuickChain

        quick = QuickChain(root).prefetch()  # its reads run while the gates do
    try:
        if args.history is not None:
            outcome = _history(
                root, args.history, gate_ids, config, baseline, cache, args.jobs, cache_dir
            )
        else:
            selection = _select(root, cwd, args)
            outcome = engine.run(
                root,
                selection,
                gate_ids,
                config,
                baseline=baseline,
                cache=cache,
                jobs=args.jobs,
                cache_dir=cache_dir,
                no_cache=args.no_cache,
            )
        head = None if args.no_record else record(root, outcome, config, quick)
    finally:
        if cache is not None:
            afterwards.later(cache.close)  # SQLite writes its log back into the file
        if quick is not None:
            quick.close()
    emit(outcome, args.format, args.output, head)
    return REFUSED if outcome.refused else OK


def chosen_gates(
    asked: list[str] | None, config: Config, cache_dir: Path | None = None
) -> list[str]:
    known = registry.available(cache_dir)
    if asked:
        unknown = [g for g in asked if g not in known]
        if unknown:
            raise UsageError(
                f"unknown gate: {', '.join(unknown)}", fix="use one of: " + ", ".join(sorted(known))
            )
        return list(dict.fromkeys(asked))
    order = [g for g in registry.DEFAULT_ORDER if g in known]
    order += sorted(g for g in known if g not in order)
    return [g for g in order if config.gate_enabled(g)]


def _select(root: Path, cwd: Path, args: argparse.Namespace) -> select.Selection:
    if args.staged:
        return select.select_staged(root)
    if args.all_files:
        return select.select_all(root)
    if args.diff:
        return select.select_diff(root, args.diff)
    if args.files:
        return select.select_files(root, args.files, cwd)
    raise UsageError(
        "nothing to check",
        fix="pass files, or one of --staged, --all-files, --diff BASE..HEAD, --history",
    )


def _history(
    root: Path,
    rev: str,
    gate_ids: list[str],
    config: Config,
    baseline: Any,
    cache: Cache | None,
    jobs: int | None,
    cache_dir: Path | None = None,
) -> engine.Outcome:
    commits = select.history_commits(root, rev or "HEAD")
    total = engine.Outcome(select.Selection("history", f"history of {rev or 'HEAD'}", []), gate_ids)

    def run(selection: select.Selection, gates: list[str]) -> engine.Outcome:
        return engine.run(
            root,
            selection,
            gates,
            config,
            baseline=baseline,
            cache=cache,
            jobs=jobs,
            cache_dir=cache_dir,
            no_cache=cache is None,
        )

    seen: set[str] = set()
    for commit in commits:
        part = run(select.select_commit(root, commit), gate_ids)
        for finding in part.findings:
            marker = f"{finding.fingerprint}:{finding.secret_sha256 or ''}"
            if marker not in seen:
                seen.add(marker)
                total.findings.append(finding)
        total.waived.extend(part.waived)
        total.baselined.extend(part.baselined)
        total.selection.files.extend(part.selection.files)
        total.selection.skipped.extend(part.selection.skipped)
        total.scanned += part.scanned
        total.cached += part.cached
        total.seconds += part.seconds
    total.selection.subject = f"history of {rev or 'HEAD'} ({len(commits)} commits)"
    dead_paths = sorted({f.path for f in total.findings if f.gate == WIRE})
    if dead_paths:
        dead = run(select.select_at(root, rev or "HEAD", dead_paths), [WIRE])
        still = {f.fingerprint for f in dead.findings}
        total.findings = [f for f in total.findings if f.gate != WIRE or f.fingerprint in still]
    return total


#: The wire gate's id: in ``--history``, what it found unreferenced when a commit added it
#: counts only if it still is at the end (code used later was not dead).
WIRE = "wire"


def record(
    root: Path, outcome: engine.Outcome, config: Config, quick: QuickChain | None = None
) -> str:
    """The decision, and every waiver that let a finding through, into the audit chain.

    Appended through git's commands when the chain is in its usual state
    (:mod:`convergio_gate.audit.quick`): importing pygit2 costs a small check more than
    they do. Else, or when pygit2 is loaded already (the resident server has it), through
    the pygit2 writer. ``quick``: a git-command writer already reading (see
    ``QuickChain.prefetch``); the caller closes it.
    """
    if quick is not None:
        done = _record_quick(quick, outcome, config)
    elif "pygit2" not in sys.modules:
        from convergio_gate.audit.quick import QuickChain

        with QuickChain(root) as chain:
            done = _record_quick(chain, outcome, config)
    else:
        done = None
    if done is not None:
        return done
    from convergio_gate.audit.chain import Chain
    from convergio_gate.gitio import Git

    git = Git.discover(root)
    identity = git.identity()
    head = git.head_commit()
    drafts = _drafts(outcome, config.actor or str(identity), str(head.id) if head else None)
    return Chain(git).append_many(drafts, identity)[-1].hash


def _record_quick(chain: QuickChain, outcome: engine.Outcome, config: Config) -> str | None:
    """The chain's new head, or None when the git-command writer declines."""
    who = chain.identity()
    if who is None:
        return None
    drafts = _drafts(outcome, config.actor or f"{who[0]} <{who[1]}>", chain.head_commit())
    entries = chain.append_many(drafts, who)
    return entries[-1].hash if entries else None


def _drafts(outcome: engine.Outcome, actor: str, head: str | None) -> list[Draft]:
    from convergio_gate.audit.entry import Draft

    by_gate: dict[str, int] = {}
    for f in outcome.findings:
        by_gate[f.gate] = by_gate.get(f.gate, 0) + 1
    reasons = [
        f"{f.gate}/{f.rule} {f.path}:{f.line}: {f.message}" for f in outcome.findings[:MAX_REASONS]
    ]
    if len(outcome.findings) > MAX_REASONS:
        reasons.append(f"... and {len(outcome.findings) - MAX_REASONS} more")
    data: dict[str, Any] = {
        "mode": outcome.selection.mode,
        "commit": outcome.selection.commit or head,
        "base": outcome.selection.base,
        "gates": outcome.gates,
        "files": len(outcome.selection.files),
        "findings": len(outcome.findings),
        "by_gate": by_gate,
        "fingerprints": [f.fingerprint for f in outcome.findings[:MAX_FINGERPRINTS]],
        "waived": len(outcome.waived),
        "baselined": len(outcome.baselined),
    }
    drafts = [
        Draft("check", outcome.selection.subject, outcome.decision, actor, tuple(reasons), data)
    ]
    for finding, waiver in outcome.waived:
        drafts.append(
            Draft(
                "waiver",
                f"{finding.path}:{finding.line}",
                "waived",
                actor,
                (waiver.reason,),
                {
                    "gate": finding.gate,
                    "rule": finding.rule,
                    "fingerprint": finding.fingerprint,
                    "waiver_line": waiver.line,
                },
            )
        )
    return drafts


def emit(outcome: engine.Outcome, fmt: str, output: str | None, head: str | None) -> None:
    from convergio_gate import report

    if fmt == "text" and output is None:
        report.print_text(outcome, head)
        return
    if fmt == "json":
        text = report.dumps(report.as_json(outcome, head), records=True)
    elif fmt == "sarif":
        text = report.dumps(report.as_sarif(outcome))
    elif fmt == "github":
        text = report.as_github(outcome)
    else:
        text = report.text_of(outcome, head)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from convergio_gate.model import yamlio

    yamlio.write_output(Path(output), text)
    report.print_text(outcome, head)

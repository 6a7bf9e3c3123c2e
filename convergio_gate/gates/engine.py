"""Run gates over a selection of files and decide.

For each gate: the files it may see (excludes applied), cached findings for files it has
seen before (by blob id), a scan of the rest (spread over the machine's cores when there
is enough to scan), then the repository-wide gates. Then: only the lines a diff adds
count; fingerprints are computed; inline waivers and the baseline let findings through
(each waiver used is reported, so the chain can record it); what is left decides.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from convergio_gate.gates import registry, waivers
from convergio_gate.gates._base import Context, Finding, Gate, SourceFile, fingerprint
from convergio_gate.gates.cache import Cache
from convergio_gate.gates.rules import digest as rules_digest
from convergio_gate.gates.select import Selection

#: Never scanned by the code gates: the tool's own state (the evidence gate reads it),
#: dependencies and build output that are not the author's code.
DEFAULT_EXCLUDE = (
    ".convergio/**",
    "**/node_modules/**",
    "**/.venv/**",
    "**/venv/**",
    "**/__pycache__/**",
    "**/*.min.js",
    "**/*.min.css",
    "**/*.map",
)
STATE_GATES = frozenset({"evidence"})  # gates that read .convergio/ itself

PARALLEL_MIN_BYTES = 1 << 20
PARALLEL_MIN_FILES = 16


@dataclass
class Outcome:
    selection: Selection
    gates: list[str]
    findings: list[Finding] = field(default_factory=list)
    waived: list[tuple[Finding, waivers.Waiver]] = field(default_factory=list)
    baselined: list[Finding] = field(default_factory=list)
    scanned: int = 0
    cached: int = 0
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def decision(self) -> str:
        return "refused" if self.refused else "accepted"


def matches(path: str, globs: Sequence[str]) -> bool:
    for pattern in globs:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
            return True
    return False


def _settings_digest(settings: dict[str, Any]) -> str:
    raw = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def run(
    root: Path,
    selection: Selection,
    gate_ids: Sequence[str],
    config: Any,
    *,
    baseline: dict[str, waivers.BaselineEntry] | None = None,
    cache: Cache | None = None,
    jobs: int | None = None,
) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome(selection, list(gate_ids))
    raw: list[Finding] = []
    for gate_id in gate_ids:
        gate = registry.load(gate_id)
        settings = config.gate(gate_id)
        exclude = [*config.exclude, *settings.get("exclude", ())]
        if gate_id not in STATE_GATES:
            exclude.extend(DEFAULT_EXCLUDE)
        files = [f for f in selection.files if not matches(f.path, exclude)]
        if not files:
            continue
        ctx = Context(
            root=root,
            settings=settings,
            list_files=selection.list_files,
            read_file=selection.read_file,
            mode=selection.mode,  # type: ignore[arg-type]
            extra={"base": selection.base, "commit": selection.commit, "config": config},
        )
        if gate.scope == "file":
            found, scanned, hits = _file_gate(gate, files, ctx, cache, jobs)
            outcome.scanned += scanned
            outcome.cached += hits
        else:
            found = gate.check(files, ctx)
            outcome.scanned += len(files)
        severity = settings.get("severity")
        if severity:
            found = [replace(f, severity=severity) for f in found]
        raw.extend(found)
    raw = _added_only(raw, selection)
    raw = _with_fingerprints(raw)
    found_waivers = {f.path: waivers.find(f) for f in selection.files}
    bad = _added_only(waivers.reasonless(w for ws in found_waivers.values() for w in ws), selection)
    kept, outcome.waived = waivers.apply(raw, found_waivers)
    kept.extend(_with_fingerprints(bad))
    if baseline:
        outcome.baselined = [f for f in kept if f.fingerprint in baseline]
        kept = [f for f in kept if f.fingerprint not in baseline]
    if selection.commit and selection.mode == "history":
        kept = [replace(f, commit=selection.commit) for f in kept]
    outcome.findings = sorted(kept, key=lambda f: (f.path, f.line, f.column, f.gate, f.rule))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _added_only(findings: Sequence[Finding], selection: Selection) -> list[Finding]:
    if selection.added is None:
        return list(findings)
    added = selection.added
    return [
        f
        for f in findings
        if f.path in added
        and any(n in added[f.path] for n in range(f.line, (f.end_line or f.line) + 1))
    ]


def _with_fingerprints(findings: Sequence[Finding]) -> list[Finding]:
    """Fingerprint = gate, rule, path, content key, and which occurrence of that content."""
    seen: dict[tuple[str, str, str, str], int] = defaultdict(int)
    out = []
    for f in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.gate, f.rule)):
        group = (f.gate, f.rule, f.path, f.key)
        ordinal = seen[group]
        seen[group] += 1
        out.append(replace(f, fingerprint=fingerprint(f.gate, f.rule, f.path, f.key, ordinal)))
    return out


def _file_gate(
    gate: Gate, files: list[SourceFile], ctx: Context, cache: Cache | None, jobs: int | None
) -> tuple[list[Finding], int, int]:
    prefix = f"{gate.id}:{gate.version}:{rules_digest()}:{_settings_digest(ctx.settings)}"
    keys = {f.path: Cache.key(prefix, f.path, f.oid) for f in files}
    hits = cache.get_many(list(keys.values())) if cache else {}
    found: list[Finding] = []
    todo: list[SourceFile] = []
    for source in files:
        cached = hits.get(keys[source.path])
        if cached is None:
            todo.append(source)
        else:
            found.extend(cached)
    fresh = _scan(gate, todo, ctx, jobs)
    by_path: dict[str, list[Finding]] = {f.path: [] for f in todo}
    for finding in fresh:
        by_path.setdefault(finding.path, []).append(finding)
    if cache:
        cache.put_many((keys[p], v) for p, v in by_path.items() if p in keys)
    found.extend(fresh)
    return found, len(todo), len(files) - len(todo)


def _scan(gate: Gate, files: list[SourceFile], ctx: Context, jobs: int | None) -> list[Finding]:
    size = sum(len(f.data) for f in files)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers <= 1 or size < PARALLEL_MIN_BYTES or len(files) < PARALLEL_MIN_FILES:
        return gate.check(files, ctx)
    chunks: list[list[SourceFile]] = [[] for _ in range(workers * 4)]
    loads = [0] * len(chunks)
    for source in sorted(files, key=lambda f: -len(f.data)):
        i = loads.index(min(loads))
        chunks[i].append(source)
        loads[i] += len(source.data) + 2048
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    plain = Context(root=ctx.root, settings=ctx.settings, mode=ctx.mode)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_scan_chunk, [(gate.id, c, plain) for c in chunks if c])
        return [Finding.from_json(d) for batch in results for d in batch]


def _scan_chunk(job: tuple[str, list[SourceFile], Context]) -> list[dict[str, Any]]:
    gate_id, files, ctx = job
    gate = registry.load(gate_id)
    return [f.cache_json() for f in gate.check(files, ctx)]

"""Run gates over a selection of files and decide.

For each gate: the files it may see (excludes applied), cached findings for files it has
seen before (by blob id), a scan of the rest, then the repository-wide gates. A file gate
that has a ``refine(findings, files, ctx)`` then gets its findings, cached ones included,
to drop what the rest of the repository explains (the gates of a run share what they
build for that in ``ctx.extra["shared"]``). Then: only
the lines a diff adds count; fingerprints are computed; inline waivers and the baseline
let findings through (each waiver used is reported, so the chain can record it); what is
left decides.

When there is enough to scan, one pool of worker processes serves the whole run: every
file gate's work is queued on it, and a repository-wide gate may queue its per-file work
there too (``ctx.extra["submit"]``) while it does the rest in this process. The pool is
forked once the files are loaded and the gates built, so workers are handed positions in
the file list, never contents, and load nothing.

Parsing is most of the cost, so it is done once per file. A gate that parses says so
(``parses = True``); when a repository-wide one does, the file gates' work waits for its
per-file work and goes out with it, split by file: each worker parses a file once and
runs every parsing gate on the tree before it moves on. Small runs get the same in forked
children: the parsing gates split by file over one child per worker, and one child for
each other gate.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convergio_gate.gates import registry, waivers
from convergio_gate.gates._base import Context, Finding, Gate, SourceFile, fingerprint
from convergio_gate.gates.cache import Cache
from convergio_gate.gates.rules import digest as rules_digest
from convergio_gate.gates.select import Selection

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

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
    """Whether ``path`` matches one of ``globs`` (fnmatch; ``**/x`` matches ``x`` too)."""
    return _globs(tuple(globs)).match(path) is not None


def _included(files: Sequence[SourceFile], exclude: Sequence[str]) -> list[SourceFile]:
    """The files that do not match ``exclude`` (as :func:`matches` says)."""
    pattern = _globs(tuple(exclude))
    return [f for f in files if pattern.match(f.path) is None]


@functools.lru_cache(maxsize=64)
def _globs(globs: tuple[str, ...]) -> re.Pattern[str]:
    """``globs`` as one regex: fnmatch's translation of each, as alternatives."""
    parts = [fnmatch.translate(g) for g in globs]
    parts += [fnmatch.translate(g[3:]) for g in globs if g.startswith("**/")]
    return re.compile("|".join(f"(?:{p})" for p in parts) if parts else "(?!)")


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
    cache_dir: Path | None = None,
    no_cache: bool = False,
) -> Outcome:
    """``cache_dir``: where the list of plugin gates may be kept between runs;
    ``no_cache``: repository-wide gates neither use nor keep caches of their own
    (``check --no-cache``; file gates use ``cache``)."""
    started = time.perf_counter()
    outcome = Outcome(selection, list(gate_ids))
    pool = _Pool(selection.files, jobs)
    plans: list[tuple[Gate, list[SourceFile], Context]] = []
    included: dict[tuple[str, ...], list[SourceFile]] = {}  # by exclude list: most share one
    known = registry.available(cache_dir)
    shared: dict[str, Any] = {}  # what the run's gates build once for all (Context.extra)
    for gate_id in gate_ids:
        gate = registry.load(gate_id, cache_dir, known)
        settings = config.gate(gate_id)
        exclude = [*config.exclude, *settings.get("exclude", ())]
        if gate_id not in STATE_GATES:
            exclude.extend(DEFAULT_EXCLUDE)
        chosen = included.get(tuple(exclude))
        if chosen is None:
            chosen = included[tuple(exclude)] = _included(selection.files, exclude)
        files = list(chosen)
        if not files:
            continue
        ctx = Context(
            root=root,
            settings=settings,
            list_files=selection.list_files,
            read_file=selection.read_file,
            mode=selection.mode,  # type: ignore[arg-type]
            extra={
                "base": selection.base,
                "commit": selection.commit,
                "config": config,
                "submit": pool.submit_call,
                "start": pool.flush,
                "hold": pool.hold,
                "no_cache": no_cache,
                "workers": pool.workers,
                "shared": shared,
            },
            list_oids=selection.known_oids,
        )
        plans.append((gate, files, ctx))
        if gate.scope == "file":
            pool.register(gate, ctx)
    pool.fork_small = len(plans) > 1 and pool.workers > 1
    raw: list[Finding] = []
    try:
        waits = {
            gate.id: _file_gate(gate, files, ctx, cache, pool, outcome)
            for gate, files, ctx in plans
            if gate.scope == "file"
        }
        repo_gates = [(gate, files, ctx) for gate, files, ctx in plans if gate.scope != "file"]
        if not any(getattr(gate, "parses", False) is True for gate, _, _ in repo_gates):
            pool.flush()  # nothing will join the file gates' work: start it now
        for gate, files, ctx in repo_gates:
            waits[gate.id] = _ready(gate.check(files, ctx))
            outcome.scanned += len(files)
        for gate, files, ctx in plans:
            found = waits[gate.id]()
            refine = getattr(gate, "refine", None) if gate.scope == "file" else None
            if callable(refine):
                found = refine(found, files, ctx)
            severity = ctx.settings.get("severity")
            if severity:
                found = [replace(f, severity=severity) for f in found]
            raw.extend(found)
    finally:
        pool.close()
    raw = _added_only(raw, selection)
    raw = _with_fingerprints(raw)
    found_waivers = _waivers(selection.files, cache)
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


def _waivers(files: Sequence[SourceFile], cache: Cache | None) -> dict[str, list[waivers.Waiver]]:
    """Each file's inline waivers, cached by blob id like a file gate's findings."""
    keys = {f.path: Cache.key(f"waivers:{waivers.VERSION}", f.path, f.oid) for f in files}
    hits = cache.get_values(list(keys.values())) if cache else {}
    out: dict[str, list[waivers.Waiver]] = {}
    fresh = []
    for source in files:
        stored = hits.get(keys[source.path])
        found = None if stored is None else waivers.from_json(source.path, stored)
        if found is None:
            found = waivers.find(source)
            fresh.append((keys[source.path], [w.to_json() for w in found]))
        out[source.path] = found
    if cache and fresh:
        cache.put_values(fresh)
    return out


def _ready(findings: list[Finding]) -> Callable[[], list[Finding]]:
    return lambda: findings


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
    gate: Gate,
    files: list[SourceFile],
    ctx: Context,
    cache: Cache | None,
    pool: _Pool,
    outcome: Outcome,
) -> Callable[[], list[Finding]]:
    """Start a file gate: cached findings now, the rest queued (or scanned here when
    there is little); the returned wait() gives them all, and fills the cache."""
    prefix = f"{gate.id}:{gate.version}:{rules_digest()}:{_settings_digest(ctx.settings)}"
    # the language is in the key: it is read from the content (a .h file is C or C++), and
    # a change in how it is read must not serve findings of the other grammar
    keys = {f.path: Cache.key(f"{prefix}:{f.language}", f.path, f.oid) for f in files}
    hits = cache.get_many(list(keys.values())) if cache else {}
    found: list[Finding] = []
    todo: list[SourceFile] = []
    for source in files:
        cached = hits.get(keys[source.path])
        if cached is None:
            todo.append(source)
        else:
            found.extend(cached)
    outcome.scanned += len(todo)
    outcome.cached += len(files) - len(todo)
    wait = pool.submit_gate(gate, todo, ctx)

    def result() -> list[Finding]:
        fresh = wait()
        by_path: dict[str, list[Finding]] = {f.path: [] for f in todo}
        for finding in fresh:
            by_path.setdefault(finding.path, []).append(finding)
        if cache:
            cache.put_many((keys[p], v) for p, v in by_path.items() if p in keys)
        return [*found, *fresh]

    return result


#: What the workers of a run share with it, set just before they are forked.
_SHARED: dict[str, Any] = {}


@dataclass(eq=False)
class _Unit:
    """Work queued on the pool: a file gate over some files, or a repository-wide gate's
    per-file function over some files. ``parses``: the work parses the files with
    :mod:`convergio_gate.lang`, so it runs file by file beside other such work and each
    file is parsed once for all of it."""

    files: list[SourceFile]
    gate: Gate | None = None
    ctx: Context | None = None
    function: Callable[[Sequence[SourceFile]], list[Any]] | None = None
    parses: bool = False
    done: Callable[[], list[Any]] | None = None

    def run(self, files: Sequence[SourceFile]) -> list[Any]:
        if self.function is not None:
            return self.function(files)
        if self.gate is None or self.ctx is None:
            raise RuntimeError("a unit of work with neither a gate nor a function")
        return list(self.gate.check(files, self.ctx))

    def sendable(self, results: list[Any]) -> list[Any]:
        """``results`` as another process hands them back (findings as JSON)."""
        return [f.cache_json() for f in results] if self.function is None else results

    def received(self, results: list[Any]) -> list[Any]:
        return [Finding.from_json(d) for d in results] if self.function is None else results


def _execute(units: Sequence[_Unit]) -> list[list[Any]]:
    """Each unit's results, in this process. Units that parse go file by file, side by
    side, keeping only the current file's trees; the others take all their files at once."""
    from convergio_gate import lang

    out: list[list[Any]] = [[] for _ in units]
    parsing = {i for i, unit in enumerate(units) if unit.parses}
    if len(parsing) < 2:
        parsing = set()
    wanted: dict[int, tuple[SourceFile, list[int]]] = {}
    for i in sorted(parsing):
        for source in units[i].files:
            wanted.setdefault(id(source), (source, []))[1].append(i)
    if wanted:
        with lang.shared_trees() as kept:
            for source, which in wanted.values():
                for i in which:
                    out[i].extend(units[i].run([source]))
                kept.clear()
    for i, unit in enumerate(units):
        if i not in parsing:
            out[i] = unit.run(unit.files)
    return out


def _once(wait: Callable[[], Any]) -> Callable[[], Any]:
    """``wait``, called at most once: later calls give the first result."""
    box: list[Any] = []

    def get() -> Any:
        if not box:
            box.append(wait())
        return box[0]

    return get


class _Pool:
    """The run's worker processes, started on first use (fork: they inherit the files,
    the gates and their contexts).

    Work is queued, not started: it goes out together when a repository-wide gate hands
    over per-file work, or when a result is first waited for. Work that went out together
    is split by file, so the gates that parse a file do so in one process, once.
    """

    def __init__(self, files: list[SourceFile], jobs: int | None) -> None:
        self.files = files
        self.position = {id(f): i for i, f in enumerate(files)}
        self.workers = jobs if jobs is not None else (os.cpu_count() or 1)
        self.gates: dict[str, tuple[Gate, Context]] = {}
        self.executor: ProcessPoolExecutor | None = None
        self.pending: list[_Unit] = []
        self.held: set[int] = set()  # ids of files (see hold())
        self.later: list[_Unit] = []  # work held back, queued with the next submit_call
        #: Whether queued work too small for the workers runs in forked children, so
        #: that it overlaps the rest of the run (set when the run has more than one gate).
        self.fork_small = False

    def register(self, gate: Gate, ctx: Context) -> None:
        """A file gate the workers may be asked to run (before they are forked)."""
        self.gates[gate.id] = (gate, Context(root=ctx.root, settings=ctx.settings, mode=ctx.mode))

    def worth_it(self, files: Sequence[SourceFile]) -> bool:
        if self.workers <= 1 or len(files) < PARALLEL_MIN_FILES:
            return False
        if sum(f.size for f in files) < PARALLEL_MIN_BYTES:
            return False
        return all(id(f) in self.position for f in files)

    def _start(self) -> ProcessPoolExecutor:
        if self.executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            _SHARED.clear()
            _SHARED.update(files=self.files, gates=self.gates)
            context = multiprocessing.get_context("fork")
            self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self.executor

    def _chunks(self, files: Sequence[SourceFile], count: int = 0) -> list[list[int]]:
        """Positions in ``files``, in ``count`` (four per worker) chunks of about equal
        bytes (biggest files first)."""
        chunks: list[list[int]] = [[] for _ in range(count or self.workers * 4)]
        loads = [0] * len(chunks)
        for at in sorted(range(len(files)), key=lambda i: -files[i].size):
            i = loads.index(min(loads))
            chunks[i].append(at)
            loads[i] += files[at].size + 2048
        return [c for c in chunks if c]

    def _queue(self, unit: _Unit) -> Callable[[], list[Any]]:
        self.pending.append(unit)
        return self._wait(unit)

    def _wait(self, unit: _Unit) -> Callable[[], list[Any]]:
        """``unit``'s results once it is done (started by a flush if it is not yet)."""

        def wait() -> list[Any]:
            if unit.done is None:
                self.release()
                self.flush()
            if unit.done is None:
                raise RuntimeError("queued work was never started")
            return unit.done()

        return wait

    def submit_gate(
        self, gate: Gate, files: list[SourceFile], ctx: Context
    ) -> Callable[[], list[Finding]]:
        """Queue a file gate over ``files``; wait() gives its findings."""
        if not files:
            return list
        parses = getattr(gate, "parses", False) is True
        return self._queue(_Unit(list(files), gate=gate, ctx=ctx, parses=parses))

    def submit_call(
        self,
        function: Callable[[Sequence[SourceFile]], list[Any]],
        files: Sequence[SourceFile],
        *,
        parses: bool = False,
    ) -> Callable[[], list[Any]]:
        """Start ``function`` (module-level: it is sent by name) over ``files``, with the
        work queued so far; wait() gives its results in the order of ``files``.
        ``function`` must give one result per file and work on any split of them."""
        if not files:
            return list
        wait = self._queue(_Unit(list(files), function=function, parses=parses))
        self.release()
        self.flush()
        return wait

    def release(self) -> None:
        """Queue again what :meth:`hold` kept back."""
        self.pending.extend(self.later)
        self.later = []

    def hold(self, files: Sequence[SourceFile]) -> None:
        """Keep the file gates' parsing of ``files`` back from the next flush until more
        work is submitted (or its results are waited for): that work parses them too (a
        repository-wide gate's, once its index is built), and going out together, each
        file is parsed once."""
        self.held.update(id(f) for f in files)

    def flush(self) -> None:
        """Start every queued unit: in the workers when there is enough, else in forked
        children or in this process (but what :meth:`hold` keeps back)."""
        if self.held:
            self.later.extend(self._hold(self.held))
            self.held = set()
        units, self.pending = self.pending, []
        if not units:
            return
        union = list({id(f): f for unit in units for f in unit.files}.values())
        if self.worth_it(union):
            self._to_workers(units, union)
        elif self.fork_small and self.executor is None and alone():
            self._to_children(units)
        else:
            for unit, found in zip(units, _execute(units), strict=True):
                unit.done = _ready(found)

    def _hold(self, held: set[int]) -> list[_Unit]:
        """Split each queued file gate that parses: its share of ``held`` files is
        returned (to be queued again), the rest stays queued; the gate's wait() gives
        the findings of both."""
        now: list[_Unit] = []
        later: list[_Unit] = []
        for unit in self.pending:
            files = [f for f in unit.files if id(f) in held]
            if unit.function is not None or not unit.parses or not files:
                now.append(unit)
                continue
            second = replace(unit, files=files, done=None)
            waits = [self._wait(second)]
            rest = [f for f in unit.files if id(f) not in held]
            if rest:
                first = replace(unit, files=rest, done=None)
                now.append(first)
                waits.insert(0, self._wait(first))
            later.append(second)
            unit.done = _once(functools.partial(_joined, waits))
        self.pending = now
        return later

    def _to_children(self, units: list[_Unit]) -> None:
        """Every unit split by file over one forked child per worker (a fork of a big
        process is not free: no more children than cores), each file's parsing work in
        one child."""
        union = list({id(f): f for unit in units for f in unit.files}.values())
        chunks = [[union[at] for at in c] for c in self._chunks(union, self.workers)]
        parts, slots, routes = _split(units, chunks)
        waits = [_once(forked(functools.partial(_sendable_results, part))) for part in parts]
        for u, unit in enumerate(units):
            unit.done = _once(functools.partial(_gathered, unit, u, routes[u], slots, waits))

    def _to_workers(self, units: list[_Unit], union: list[SourceFile]) -> None:
        """Chunks of ``union`` to the workers, each with every unit's share of it."""
        executor = self._start()
        chunks = [[union[at] for at in c] for c in self._chunks(union)]
        parts, slots, routes = _split(units, chunks)
        futures = [
            executor.submit(
                _chunk_work,
                [
                    (
                        p.gate.id if p.function is None and p.gate else None,
                        p.function,
                        p.parses,
                        [self.position[id(f)] for f in p.files],
                    )
                    for p in part
                ],
            )
            for part in parts
        ]
        results = [_once(f.result) for f in futures]
        for u, unit in enumerate(units):
            unit.done = _once(functools.partial(_gathered, unit, u, routes[u], slots, results))

    def close(self) -> None:
        self.pending.clear()
        self.later.clear()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        _SHARED.clear()


def _joined(waits: Sequence[Callable[[], list[Any]]]) -> list[Any]:
    """The results of the parts a gate's work was split into (findings: in any order)."""
    return [item for wait in waits for item in wait()]


def _split(
    units: Sequence[_Unit], chunks: Sequence[Sequence[SourceFile]]
) -> tuple[list[list[_Unit]], list[dict[int, int]], list[list[int]]]:
    """Each chunk's share of ``units`` (one part per unit with files in it); for each
    chunk, which part is which unit's; for each unit, the chunk of each of its files."""
    chunk_of = {id(f): k for k, chunk in enumerate(chunks) for f in chunk}
    parts: list[list[_Unit]] = [[] for _ in chunks]
    slots: list[dict[int, int]] = [{} for _ in chunks]
    routes: list[list[int]] = []
    for u, unit in enumerate(units):
        route = []
        for source in unit.files:
            k = chunk_of[id(source)]
            if u not in slots[k]:
                slots[k][u] = len(parts[k])
                parts[k].append(replace(unit, files=[], done=None))
            parts[k][slots[k][u]].files.append(source)
            route.append(k)
        routes.append(route)
    return parts, slots, routes


def _sendable_results(group: Sequence[_Unit]) -> list[list[Any]]:
    return [unit.sendable(found) for unit, found in zip(group, _execute(group), strict=True)]


def _gathered(
    unit: _Unit,
    u: int,
    route: list[int],
    slots: list[dict[int, int]],
    results: list[Callable[[], list[list[Any]]]],
) -> list[Any]:
    """Unit ``u``'s results from the chunks it went out in, in the order of its files."""
    cursor: dict[int, int] = {}
    out: list[Any] = []
    if unit.function is None:  # findings: order does not matter, one list per chunk
        for k in dict.fromkeys(route):
            out.extend(unit.received(results[k]()[slots[k][u]]))
        return out
    for k in route:
        at = cursor.get(k, 0)
        out.append(results[k]()[slots[k][u]][at])
        cursor[k] = at + 1
    return out


def alone() -> bool:
    """Whether this process runs one thread: only then is a bare fork safe (a lock
    another thread holds would stay held in the child)."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def forked(work: Callable[[], list[Any]]) -> Callable[[], list[Any]]:
    """Run ``work`` in a forked child; the returned wait() gives its result (pickled
    across) or raises what it raised. The child leaves with ``os._exit``: it flushes
    nothing this process has buffered and runs none of its exit handlers."""
    import pickle

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            try:
                payload = b"R" + pickle.dumps(work())
            except BaseException as exc:  # handed to the parent whole
                try:
                    payload = b"E" + pickle.dumps(exc)
                except Exception:  # one pickle cannot carry
                    payload = b"E" + pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)

    def wait() -> list[Any]:
        with os.fdopen(read_end, "rb") as stream:
            data = stream.read()
        os.waitpid(pid, 0)
        if data[:1] == b"R":
            result: list[Any] = pickle.loads(data[1:])
            return result
        if data[:1] == b"E":
            raise pickle.loads(data[1:])
        raise RuntimeError("a gate's worker process ended without a result")

    return wait


def _chunk_work(specs: list[tuple[str | None, Any, bool, list[int]]]) -> list[list[Any]]:
    """In a worker: each unit's share of one chunk (a gate id or a function, whether it
    parses, positions in the run's files)."""
    files = _SHARED["files"]
    units = []
    for gate_id, function, parses, positions in specs:
        chosen = [files[i] for i in positions]
        if gate_id is not None:
            gate, ctx = _SHARED["gates"][gate_id]
            units.append(_Unit(chosen, gate=gate, ctx=ctx, parses=parses))
        else:
            units.append(_Unit(chosen, function=function, parses=parses))
    return _sendable_results(units)

"""The engine's one pool of workers: the same findings as a scan in this process, for the
file gates (built-in and plugin) and the wire gate's per-file work alike."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import git

from convergio_gate.errors import InputError
from convergio_gate.gates import engine, select
from convergio_gate.gates._base import LazyFile, blob_oid
from convergio_gate.gates.cache import Cache
from convergio_gate.model.config import Config

GATES = ["secret", "debt", "stub", "wire", "banana"]


def project(repo: Path) -> None:
    for n in range(24):
        (repo / f"pkg/m{n}.py").parent.mkdir(exist_ok=True)
        (repo / f"pkg/m{n}.py").write_text(
            f"def helper_{n}():\n    return {n}  # TODO: tidy\n\n\n"
            f"def unused_{n}():\n    pass\n\n\nBANANA = helper_{n}()\n"
        )
        (repo / f"web/w{n}.js").parent.mkdir(exist_ok=True)
        (repo / f"web/w{n}.js").write_text(
            f"function shown{n}() {{ return {n}; }}\nfunction lost{n}() {{}}\nshown{n}();\n"
        )
    git(repo, "add", "-A")


def findings(repo: Path, jobs: int, cache: Cache | None = None) -> list[dict[str, object]]:
    selection = select.select_all(repo)
    outcome = engine.run(repo, selection, GATES, Config(), jobs=jobs, cache=cache)
    return [f.to_json() for f in outcome.findings]


@pytest.mark.usefixtures("banana")
def test_the_pool_finds_what_one_process_finds(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(repo)
    alone = findings(repo, 1)
    assert {f["gate"] for f in alone} == {"debt", "stub", "wire", "banana"}
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 2)
    started: list[int] = []
    real = engine._Pool._start

    def counting(self: engine._Pool) -> object:
        if self.executor is None:
            started.append(self.workers)
        return real(self)

    monkeypatch.setattr(engine._Pool, "_start", counting)
    shutil.rmtree(repo / ".git/convergio", ignore_errors=True)  # the wire gate's own cache
    assert findings(repo, 2) == alone
    assert started == [2]  # one pool for every gate of the run
    assert engine._SHARED == {}


@pytest.mark.usefixtures("banana")
def test_findings_from_the_cache_equal_fresh_ones(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(repo)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 2)
    cache = Cache(tmp_path / "cache.sqlite3")
    fresh = findings(repo, 2, cache)
    assert findings(repo, 2, cache) == fresh
    cache.close()


def test_chunks_cover_every_file_once(repo: Path) -> None:
    project(repo)
    files = select.select_all(repo).files
    pool = engine._Pool(files, 3)
    chunks = pool._chunks(files)
    assert sorted(i for c in chunks for i in c) == list(range(len(files)))
    assert len(chunks) <= 12


def test_a_forked_gate_hands_back_its_findings_and_its_errors() -> None:
    assert engine.forked(lambda: [{"gate": "x", "line": 1}])() == [{"gate": "x", "line": 1}]

    def refused() -> list[dict[str, object]]:
        raise InputError("expected a list", path=".convergio/config.yaml", key="gates.x")

    with pytest.raises(InputError) as caught:
        engine.forked(refused)()
    assert str(caught.value) == ".convergio/config.yaml: gates.x: expected a list"

    def broken() -> list[dict[str, object]]:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        engine.forked(broken)()


def test_small_runs_overlap_their_gates_and_find_the_same(repo: Path) -> None:
    """In a process of its own (one thread: the forked path), as a hook runs it."""
    project(repo)
    files = [f"pkg/m{n}.py" for n in range(3)] + ["web/w0.js"]

    def run(*extra: str) -> list[dict[str, object]]:
        argv = ["check", "--no-record", "--format", "json", *extra, *files]
        proc = subprocess.run(
            [sys.executable, "-m", "convergio_gate", *argv],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        found: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
        return found

    serial = run("--jobs", "1")
    assert {f["gate"] for f in serial} == {"debt", "stub", "wire"}
    assert run() == serial


class _LoggingParser:
    """A parser that writes each parse to ``log`` (a file: a forked child's writes must
    reach the test)."""

    def __init__(self, real: Any, name: str, log: Path) -> None:
        self.real, self.name, self.log = real, name, log

    def parse(self, data: bytes) -> Any:
        with self.log.open("ab") as out:
            out.write(f"{self.name} {blob_oid(data)}\n".encode())
        return self.real.parse(data)


@pytest.mark.parametrize("jobs", [1, None])
def test_debt_stub_and_wire_parse_each_file_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch, jobs: int | None
) -> None:
    """In this process (``--jobs 1``) and in a small run's forked child alike."""
    from convergio_gate import lang

    project(repo)
    log = repo.parent / "parses.log"
    real = lang.parser
    monkeypatch.setattr(lang, "parser", lambda name: _LoggingParser(real(name), name, log))
    files = [f"pkg/m{n}.py" for n in range(4)] + [f"web/w{n}.js" for n in range(4)]
    selection = select.select_files(repo, files, repo)
    outcome = engine.run(repo, selection, ["debt", "stub", "wire"], Config(), jobs=jobs)
    assert {f.gate for f in outcome.findings} == {"debt", "stub", "wire"}
    lines = log.read_text().splitlines()
    assert len(lines) == len(set(lines)) == len(files)  # each file once, none twice


@pytest.mark.parametrize("jobs", [1, 2, None])
def test_a_whole_repository_run_parses_each_file_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch, jobs: int | None
) -> None:
    """With no index yet, wire reads Python definitions by text once the index is
    built, and parses only around those that may be unreferenced; the file gates' parsing
    of the Python files waits to go out with that work (pool.hold), so no file is parsed
    twice: in this process, in forked children (``None``: a small run) and in the pool."""
    from convergio_gate import lang

    project(repo)
    for n in range(24, 40):  # more Python files than wire reads by text at the least
        (repo / f"pkg/m{n}.py").write_text(f"def helper_{n}():\n    pass  # TODO: tidy\n")
    git(repo, "add", "-A")
    if jobs == 2:
        monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 2)
    log = repo.parent / "parses.log"
    real = lang.parser
    monkeypatch.setattr(lang, "parser", lambda name: _LoggingParser(real(name), name, log))
    gates = ["debt", "stub", "wire"]
    outcome = engine.run(repo, select.select_all(repo), gates, Config(), jobs=jobs, no_cache=True)
    found = {(f.gate, f.path, f.line) for f in outcome.findings}
    assert ("wire", "pkg/m30.py", 1) in found and ("stub", "pkg/m30.py", 2) in found
    assert ("debt", "pkg/m30.py", 2) in found and ("wire", "pkg/m3.py", 5) in found
    lines = log.read_text().splitlines()
    assert len(lines) == len(set(lines))  # none twice
    assert {line.split()[0] for line in lines} == {"python", "javascript"}


def test_a_run_with_everything_cached_reads_no_file(repo: Path, tmp_path: Path) -> None:
    """Ids from the stat cache, findings and waivers from the cache: no file is read,
    and the answer, waivers included, is the one a first run gives."""
    project(repo)
    (repo / "pkg/w.py").write_text(
        "def keep():  # convergio: allow wire -- called by a plugin\n    return 1\n\n\n"
        "x = 1  # TODO: later  # convergio: allow debt\n"
    )
    git(repo, "add", "-A")
    old = 1_600_000_000 * 10**9
    for path in repo.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            os.utime(path, ns=(old, old))
    cache = Cache(tmp_path / "cache.sqlite3")
    gates = ["secret", "debt", "stub", "wire"]
    first = engine.run(repo, select.select_all(repo), gates, Config(), jobs=1, cache=cache)
    selection = select.select_all(repo)
    again = engine.run(repo, selection, gates, Config(), jobs=1, cache=cache)
    cache.close()
    assert all(isinstance(f, LazyFile) for f in selection.files)
    assert [f.path for f in selection.files if "data" in vars(f)] == []
    assert [f.to_json() for f in again.findings] == [f.to_json() for f in first.findings]
    assert [(f.rule, w.line) for f, w in again.waived] == [("unused-function", 1)]
    assert ("waiver-needs-reason", "pkg/w.py") in {(f.rule, f.path) for f in again.findings}


def test_the_cache_writes_a_run_s_findings_in_one_transaction(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    assert cache.db is not None
    statements: list[str] = []
    cache.db.set_trace_callback(statements.append)
    cache.put_values((f"1:debt:f{i}.py:{i:040x}", []) for i in range(50))
    cache.db.set_trace_callback(None)
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert sum(s.startswith("INSERT") for s in statements) == 50
    keys = [f"1:debt:f{i}.py:{i:040x}" for i in range(50)]
    assert cache.get_values(keys) == {key: [] for key in keys}
    cache.close()
    # Another process sees every row, and nothing is left locked.
    again = Cache(tmp_path / "cache.sqlite3")
    again.put_values([("1:x", [1])])
    assert len(again.get_values([*keys, "1:x"])) == 51
    again.close()

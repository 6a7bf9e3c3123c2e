"""The tamper suite: a real chain of 200 entries in git notes, tampered with hundreds of
times in each way an attacker with write access to the notes ref could, each trial
written back into git as a notes tree and read back through the real reader."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest
from helpers import make_repo
from pygit2.enums import FileMode

from convergio_gate.audit.chain import NOTES_REF, Chain
from convergio_gate.audit.entry import GENESIS, Draft, Entry, hash_body
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

N = 200
TRIALS = 200
ME = Identity("Tess Tester", "tess@example.com")
TRIAL_REF = "refs/notes/trial"


class Attacker:
    """Writes arbitrary entries straight into a notes tree, as anyone with git could."""

    def __init__(self, repo: Path) -> None:
        self.git = Git.discover(repo)
        self.repo = self.git.repo
        self.chain = Chain(self.git, TRIAL_REF)
        self.sig = pygit2.Signature("Mallory", "mallory@example.com")
        self.oids: dict[bytes, pygit2.Oid] = {}

    def write(self, blobs: list[bytes]) -> None:
        by_dir: dict[str, list[tuple[str, pygit2.Oid]]] = {}
        for raw in blobs:
            oid = self.oids.get(raw) or self.oids.setdefault(raw, self.repo.create_blob(raw))
            by_dir.setdefault(str(oid)[:2], []).append((str(oid)[2:], oid))
        root = self.repo.TreeBuilder()
        for prefix, items in by_dir.items():
            sub = self.repo.TreeBuilder()
            for name, oid in items:
                sub.insert(name, oid, FileMode.BLOB)
            root.insert(prefix, sub.write(), FileMode.TREE)
        commit = self.repo.create_commit(None, self.sig, self.sig, "tampered", root.write(), [])
        self.repo.references.create(TRIAL_REF, commit, force=True)

    def judge(self, entries: list[Entry], anchor: str | None = None):  # type: ignore[no-untyped-def]
        self.write([e.to_bytes() for e in entries])
        return verify(self.chain.read([TRIAL_REF]), anchor)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Attacker, list[Entry]]:
    repo = make_repo(tmp_path_factory.mktemp("tamper") / "repo")
    chain = Chain(Git.discover(repo))
    kinds = ("accept", "refuse", "transition", "check", "waiver")
    drafts = [
        Draft(
            kinds[i % 5],
            f"plan/task-{i % 17}",
            "accepted" if i % 3 else "refused",
            "Tess Tester <tess@example.com>",
            (f"reason {i}",),
            {"i": i, "tree": "ab" * 20},
        )
        for i in range(N)
    ]
    for start in range(0, N, 50):
        chain.append_many(drafts[start : start + 50], ME)
    entries = chain.read([NOTES_REF]).ordered()
    assert [e.seq for e in entries] == list(range(1, N + 1))
    return Attacker(repo), entries


def reseal(entry: Entry, **changes: object) -> Entry:
    body = {**entry.body(), **changes}
    return Entry.from_body(body, hash_body(body))


def keep_hash(entry: Entry, **changes: object) -> Entry:
    return Entry.from_body({**entry.body(), **changes}, entry.hash)


def test_the_clean_chain_verifies(world: tuple[Attacker, list[Entry]]) -> None:
    attacker, entries = world
    report = attacker.judge(entries, anchor=entries[-1].hash)
    assert report.ok and report.entries == N and report.head_seq == N
    assert attacker.judge(entries).ok
    assert attacker.judge(entries, anchor=entries[N // 2].hash).ok  # the chain grew since


def _trials(
    kind: str,
    make: Callable[[random.Random, list[Entry]], tuple[list[Entry], int, str | None]],
    world: tuple[Attacker, list[Entry]],
) -> None:
    attacker, entries = world
    rng = random.Random(f"{kind}-trials")
    for trial in range(TRIALS):
        tampered, seq, anchor = make(rng, list(entries))
        report = attacker.judge(tampered, anchor)
        problem = report.problem
        assert problem is not None, f"trial {trial}: {kind} went unnoticed"
        assert (problem.kind, problem.seq) == (kind, seq), f"trial {trial}: {problem.message}"


FIELDS = {
    "time": lambda e, r: e.time.replace("2026", "2025"),
    "actor": lambda e, r: "Mallory <mallory@example.com>",
    "kind": lambda e, r: "accept" if e.kind != "accept" else "refuse",
    "subject": lambda e, r: e.subject + "-x",
    "decision": lambda e, r: "accepted" if e.decision != "accepted" else "refused",
    "reasons": lambda e, r: [],
    "data": lambda e, r: {**e.data, "i": r.randrange(10**6) + N},
    "prev": lambda e, r: f"{r.getrandbits(256):064x}",
    "version": lambda e, r: 7,
}


def _edit(rng: random.Random, entries: list[Entry]) -> tuple[list[Entry], int, str | None]:
    k = rng.randrange(N)
    name = rng.choice(sorted(FIELDS))
    changes = {name: FIELDS[name](entries[k], rng)}
    if rng.random() < 0.5 or k == N - 1:
        entries[k] = keep_hash(entries[k], **changes)  # the content no longer matches its hash
    else:
        entries[k] = reseal(entries[k], **changes)  # re-hashed: the next entry's link breaks
    return entries, k + 1, None


def _remove(rng: random.Random, entries: list[Entry]) -> tuple[list[Entry], int, str | None]:
    k = rng.randrange(N - 1)
    del entries[k]
    return entries, k + 1, None


def _reorder(rng: random.Random, entries: list[Entry]) -> tuple[list[Entry], int, str | None]:
    i, j = sorted(rng.sample(range(N), 2))
    a, b = entries[i], entries[j]
    entries[i] = reseal(b, seq=a.seq)
    entries[j] = reseal(a, seq=b.seq)
    return entries, i + 1, None


def _insert(rng: random.Random, entries: list[Entry]) -> tuple[list[Entry], int, str | None]:
    k = rng.randrange(N - 1)
    prev = entries[k - 1].hash if k else GENESIS
    style = rng.choice(("twin", "unlinked", "shifted", "anchored"))
    fake_body = {
        **entries[k].body(),
        "decision": "accepted",
        "kind": "accept",
        "subject": "plan/forged",
        "data": {"forged": rng.random()},
    }
    if style == "unlinked":
        fake_body["prev"] = f"{rng.getrandbits(256):064x}"
    else:
        fake_body["prev"] = prev
    fake = Entry.from_body(fake_body, hash_body(fake_body))
    anchor = entries[-1].hash if style == "anchored" else None
    if style == "shifted":
        shifted = [reseal(e, seq=e.seq + 1) for e in entries[k:]]
        return [*entries[:k], fake, *shifted], k + 1, None
    return [*entries, fake], k + 1, anchor


def _truncate(rng: random.Random, entries: list[Entry]) -> tuple[list[Entry], int, str | None]:
    keep = rng.randrange(1, N)
    return entries[:keep], keep + 1, entries[-1].hash


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("edited", _edit),
        ("removed", _remove),
        ("reordered", _reorder),
        ("inserted", _insert),
        ("truncated", _truncate),
    ],
)
def test_every_tamper_is_detected_and_named(kind: str, make, world) -> None:  # type: ignore[no-untyped-def]
    _trials(kind, make, world)


def test_truncation_without_an_anchor_is_invisible_and_says_so(world) -> None:  # type: ignore[no-untyped-def]
    attacker, entries = world
    assert attacker.judge(entries[:150]).ok  # which is why the head is published elsewhere


def test_a_swapped_note_blob_is_named(world) -> None:  # type: ignore[no-untyped-def]
    attacker, entries = world
    blobs = [e.to_bytes() for e in entries]
    repo = attacker.repo
    attacker.write(blobs)
    target = repo.references[TRIAL_REF].peel(pygit2.Commit)
    tree = target.tree
    victim = str(repo.create_blob(blobs[41]))
    other = repo.create_blob(blobs[41].replace(b"reason 41", b"REASON 41"))
    sub = repo.TreeBuilder(tree[victim[:2]].peel(pygit2.Tree))
    sub.insert(victim[2:], other, FileMode.BLOB)
    root = repo.TreeBuilder(tree)
    root.insert(victim[:2], sub.write(), FileMode.TREE)
    commit = repo.create_commit(None, attacker.sig, attacker.sig, "swap", root.write(), [])
    repo.references.create(TRIAL_REF, commit, force=True)
    problem = verify(attacker.chain.read([TRIAL_REF])).problem
    assert problem is not None and (problem.kind, problem.seq) == ("edited", 42)

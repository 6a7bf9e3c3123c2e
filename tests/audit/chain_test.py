from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pygit2
import pytest
from helpers import git, make_repo

from convergio_gate.audit.chain import NOTES_REF, Chain, tracking_ref
from convergio_gate.audit.entry import GENESIS, Draft, Entry, canonical
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

ME = Identity("Tess Tester", "tess@example.com")


def draft(n: int, **kw: object) -> Draft:
    fields: dict[str, object] = {
        "kind": "check",
        "subject": f"subject-{n}",
        "decision": "accepted",
        "actor": "Tess Tester <tess@example.com>",
        "reasons": (f"reason {n}",),
        "data": {"n": n},
    }
    fields.update(kw)
    return Draft(**fields)  # type: ignore[arg-type]


def test_entry_hash_covers_every_field() -> None:
    entry = Entry.seal(draft(1), seq=1, prev=GENESIS, time="2026-11-21T00:00:00.000000Z")
    assert entry.intact
    for key, value in (
        ("version", 2),
        ("seq", 2),
        ("prev", "1" * 64),
        ("time", "x"),
        ("actor", "y"),
        ("kind", "accept"),
        ("subject", "z"),
        ("decision", "refused"),
        ("reasons", ["r"]),
        ("data", {"n": 2}),
    ):
        body = entry.body()
        body[key] = value
        changed = Entry.from_body(body, entry.hash)
        assert not changed.intact, key


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_append_and_read_back(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    first = chain.append(draft(1), ME)
    second, third = chain.append_many([draft(2), draft(3)], ME)
    assert (first.seq, first.prev) == (1, GENESIS)
    assert second.prev == first.hash and third.prev == second.hash
    assert [e.seq for e in chain.entries()] == [1, 2, 3]
    assert verify(chain.read()).ok


def test_each_note_annotates_its_own_blob_and_git_can_read_it(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    entry = chain.append(draft(1), ME)
    listing = git(repo, "notes", "--ref", "convergio", "list").split()
    assert len(listing) == 2 and listing[0] == listing[1]
    shown = git(repo, "notes", "--ref", "convergio", "show", listing[1])
    assert Entry.from_bytes(shown.encode()).hash == entry.hash


def test_head_is_found_without_the_commit_message(repo: Path) -> None:
    """After a hand-made notes commit, appending still links to the true head."""
    chain = Chain(Git.discover(repo))
    chain.append_many([draft(1), draft(2)], ME)
    tip = git(repo, "rev-parse", NOTES_REF).strip()
    tree = git(repo, "rev-parse", f"{tip}^{{tree}}").strip()
    bare = git(repo, "commit-tree", tree, "-p", tip, "-m", "hand made").strip()
    git(repo, "update-ref", NOTES_REF, bare)
    third = chain.append(draft(3), ME)
    assert third.seq == 3 and verify(chain.read()).ok


def test_a_notes_ref_changed_under_our_feet_is_retried(repo: Path) -> None:
    """Another writer moves the ref between our read and our update: nothing is lost."""
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    rival = Chain(Git.discover(repo))
    real_cas = chain.git.cas_ref
    raced = []

    def cas_after_a_rival(*args: object, **kwargs: object) -> bool:
        if not raced:
            raced.append(rival.append(draft(99), ME))
        return real_cas(*args, **kwargs)  # type: ignore[arg-type]

    chain.git.cas_ref = cas_after_a_rival  # type: ignore[method-assign]
    mine = chain.append(draft(2), ME)
    entries = chain.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert raced[0].seq == 2 and mine.seq == 3 and mine.prev == raced[0].hash
    assert verify(chain.read()).ok


def test_a_locked_ref_is_waited_for(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    lock = Path(chain.git.common_dir) / (NOTES_REF + ".lock")
    lock.write_text("held by someone else\n")
    releaser = subprocess.Popen(
        [sys.executable, "-c", f"import time, os; time.sleep(0.3); os.unlink({str(lock)!r})"]
    )
    try:
        entry = chain.append(draft(2), ME)
    finally:
        releaser.wait()
    assert entry.seq == 2 and verify(chain.read()).ok


WRITER = textwrap.dedent(
    """
    import sys
    from convergio_gate.audit.chain import Chain
    from convergio_gate.audit.entry import Draft
    from convergio_gate.gitio import Git, Identity
    chain = Chain(Git.discover(sys.argv[1]))
    me = Identity("writer " + sys.argv[2], "w@example.com")
    for i in range(int(sys.argv[3])):
        chain.append(Draft("check", f"w{sys.argv[2]}-{i}", "accepted", str(me)), me)
    """
)


def test_four_processes_append_fifty_each_and_lose_nothing(repo: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(repo), str(w), "50"]) for w in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    chain = Chain(Git.discover(repo))
    entries = chain.entries()
    assert [e.seq for e in entries] == list(range(1, 201))
    assert {e.subject for e in entries} == {f"w{w}-{i}" for w in range(4) for i in range(50)}
    assert verify(chain.read()).ok
    assert git(repo, "fsck", "--no-progress", "--no-dangling").strip() == ""


def test_push_to_a_bare_remote_clone_fetch_and_verify(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    work = make_repo(tmp_path / "work")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "--quiet", "origin", "main")
    chain = Chain(Git.discover(work))
    chain.append_many([draft(n) for n in range(1, 6)], ME)
    head = chain.entries()[-1].hash
    git(work, "push", "--quiet", "origin", NOTES_REF)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "fetch", "--quiet", "origin", f"+{NOTES_REF}*:{tracking_ref('origin')}*")
    fresh = Chain(Git.discover(clone))
    report = verify(fresh.read(), expect_head=head)
    assert report.ok and report.entries == 5 and report.head_hash == head


def test_diverged_clones_are_resequenced_not_forked(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    one = make_repo(tmp_path / "one")
    git(one, "remote", "add", "origin", str(remote))
    git(one, "push", "--quiet", "origin", "main")
    Chain(Git.discover(one)).append(draft(1), ME)
    git(one, "push", "--quiet", "origin", NOTES_REF)
    two = tmp_path / "two"
    git(tmp_path, "clone", "--quiet", str(remote), str(two))
    spec = f"+{NOTES_REF}*:{tracking_ref('origin')}*"
    git(two, "fetch", "--quiet", "origin", spec)
    Chain(Git.discover(two)).append(draft(2, subject="from two"), ME)  # lands as seq 2
    Chain(Git.discover(one)).append(draft(3, subject="from one"), ME)  # also seq 2, locally
    git(one, "push", "--quiet", "origin", NOTES_REF)

    git(two, "fetch", "--quiet", "origin", spec)
    union = Chain(Git.discover(two))
    assert verify(union.read()).problem is not None  # two seq-2 entries: forked until merged
    union.append(draft(4, subject="after merge"), ME)  # a writer integrates first
    entries = union.read([NOTES_REF]).ordered()
    assert [e.subject for e in entries] == ["subject-1", "from one", "from two", "after merge"]
    assert verify(union.read([NOTES_REF])).ok
    parents = pygit2.Repository(str(two)).revparse_single(NOTES_REF).parents
    assert len(parents) == 1 and len(parents[0].parents) == 2  # the merge keeps both histories


def test_hand_merged_notes_show_as_a_fork(tmp_path: Path) -> None:
    one = make_repo(tmp_path / "one")
    Chain(Git.discover(one)).append(draft(1), ME)
    two = tmp_path / "two"
    git(tmp_path, "clone", "--quiet", str(one), str(two))
    git(two, "fetch", "--quiet", "origin", f"{NOTES_REF}:{NOTES_REF}")
    Chain(Git.discover(one)).append_many([draft(2), draft(3)], ME)
    Chain(Git.discover(two)).append_many([draft(20), draft(30)], ME)
    git(one, "fetch", "--quiet", str(two), f"{NOTES_REF}:refs/notes/theirs")
    git(one, "notes", "--ref", "convergio", "merge", "--quiet", "refs/notes/theirs")
    problem = verify(Chain(Git.discover(one)).read([NOTES_REF])).problem
    assert problem is not None and problem.kind == "forked" and problem.seq == 2


@pytest.mark.parametrize("garbage", [b"", b"not json", b"[1,2]", b'{"seq": 1}', b"\xff\xfe"])
def test_unreadable_notes_are_reported_not_crashed_on(repo: Path, garbage: bytes) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    target = git(repo, "rev-parse", "HEAD").strip()
    path = repo / ".git" / "garbage"
    path.write_bytes(garbage)
    git(repo, "notes", "--ref", "convergio", "add", "--allow-empty", "-f", "-F", str(path), target)
    problem = verify(chain.read()).problem
    assert problem is not None and problem.kind == "edited"

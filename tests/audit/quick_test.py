"""The git-plumbing writer of the audit chain: the same storage as the pygit2 writer,
verified by the same verifier, safe to interleave with it, and out of the way (it
declines) whenever the chain is not in its usual state."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import git

from convergio_gate.audit import chain as chain_module
from convergio_gate.audit.chain import NOTES_REF, Chain
from convergio_gate.audit.entry import Draft
from convergio_gate.audit.quick import QuickChain
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

ME = Identity("Tess Tester", "tess@example.com")
WHO = (ME.name, ME.email)


def draft(n: int) -> Draft:
    return Draft("check", f"subject {n}", "accepted", str(ME), (f"reason {n}",), {"n": n})


def quick_append(repo: Path, *drafts: Draft) -> list[int] | None:
    with QuickChain(repo) as quick:
        entries = quick.append_many(list(drafts), WHO)
    return None if entries is None else [e.seq for e in entries]


def test_declines_until_the_chain_exists_then_appends_what_verify_accepts(repo: Path) -> None:
    assert quick_append(repo, draft(1)) is None
    assert git(repo, "for-each-ref", NOTES_REF) == ""
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    assert quick_append(repo, draft(2), draft(3)) == [2, 3]
    read = chain.read()
    assert [(e.seq, e.subject) for e in read.ordered()] == [
        (1, "subject 1"),
        (2, "subject 2"),
        (3, "subject 3"),
    ]
    assert verify(read).ok
    # the pygit2 writer finds the head from the message the plumbing writer wrote
    assert chain.append(draft(4), ME).seq == 4
    assert verify(chain.read()).ok
    assert git(repo, "fsck", "--no-progress", "--no-dangling").strip() == ""


def test_same_storage_as_the_pygit2_writer(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    assert quick_append(repo, draft(2)) == [2]
    head = git(repo, "rev-parse", NOTES_REF).strip()
    entry = chain.entries()[-1]
    note = git(repo, "notes", "--ref", "convergio", "list").split()
    # each note annotates its own blob, with 2/38 fan-out, as git itself reads it
    assert git(repo, "notes", "--ref", "convergio", "show", note[0]).startswith("{")
    tree = git(repo, "ls-tree", "-r", "--name-only", head).split()
    assert all(len(p) == 41 and p[2] == "/" for p in tree)
    message = git(repo, "log", "-1", "--format=%B", head)
    stored = next(s for s in chain.read().stored if s.entry == entry)
    assert message == chain_module._message("audit entry 2", entry, stored.note) + "\n"
    people = git(repo, "log", "-1", "--format=%an|%ae|%cn|%ce|%P", head).strip().split("|")
    assert people[:4] == [ME.name, ME.email, ME.name, ME.email] and people[4]
    assert git(repo, "reflog", "show", "--format=%gs", NOTES_REF).splitlines()[0] == (
        "convergio-gate: audit entry 2"
    )


def test_declines_when_the_message_names_no_head(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    head = git(repo, "rev-parse", NOTES_REF).strip()
    tree = git(repo, "rev-parse", f"{head}^{{tree}}").strip()
    merged = git(repo, "commit-tree", tree, "-p", head, "-m", "merged by hand").strip()
    git(repo, "update-ref", NOTES_REF, merged)
    assert quick_append(repo, draft(2)) is None
    assert git(repo, "rev-parse", NOTES_REF).strip() == merged
    assert chain.append(draft(2), ME).seq == 2  # the pygit2 writer reads the whole chain


def test_declines_when_a_fetched_copy_is_not_part_of_ours(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    first = git(repo, "rev-parse", NOTES_REF).strip()
    git(repo, "update-ref", "refs/notes/remotes/origin/convergio", first)
    assert quick_append(repo, draft(2)) == [2]  # the copy is an ancestor: nothing to do
    chain.append(draft(3), ME)
    ahead = git(repo, "rev-parse", NOTES_REF).strip()
    git(repo, "update-ref", NOTES_REF, first)  # ours behind, the copy ahead
    git(repo, "update-ref", "refs/notes/remotes/origin/convergio", ahead)
    assert quick_append(repo, draft(4)) is None


def test_a_moved_ref_is_retried(repo: Path) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    quick = QuickChain(repo)
    real = quick._head
    raced: list[int] = []

    def head_then_rival(commit_id: str) -> object:
        found = real(commit_id)
        if not raced:  # another writer gets in between our read and our update
            raced.append(Chain(Git.discover(repo)).append(draft(99), ME).seq)
        return found

    quick._head = head_then_rival  # type: ignore[method-assign,assignment]
    entries = quick.append_many([draft(2)], WHO)
    quick.close()
    assert raced == [2] and entries is not None and entries[0].seq == 3
    assert verify(chain.read()).ok


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from convergio_gate.audit.chain import Chain
    from convergio_gate.audit.entry import Draft
    from convergio_gate.audit.quick import QuickChain
    from convergio_gate.gitio import Git, Identity
    root, kind, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    me = Identity("writer " + kind, "w@example.com")
    for i in range(count):
        d = Draft("check", f"{kind}-{i}", "accepted", str(me))
        if kind == "quick":
            with QuickChain(root) as quick:
                if quick.append_many([d], (me.name, me.email)) is not None:
                    continue
        Chain(Git.discover(root)).append(d, me)
    """
)


def test_plumbing_and_pygit2_writers_interleave_and_lose_nothing(repo: Path) -> None:
    Chain(Git.discover(repo)).append(draft(0), ME)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(repo), kind, "50"])
        for kind in ("quick", "pygit2")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    read = Chain(Git.discover(repo)).read()
    entries = read.ordered()
    assert [e.seq for e in entries] == list(range(1, 102))
    subjects = {e.subject for e in entries}
    assert subjects >= {f"{k}-{i}" for k in ("quick", "pygit2") for i in range(50)}
    assert verify(read).ok
    assert git(repo, "fsck", "--no-progress", "--no-dangling").strip() == ""


def test_identity_and_head(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with QuickChain(repo) as quick:
        assert quick.identity() == WHO  # from the committer variables the tests pin
        assert quick.head_commit() == git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.delenv("GIT_COMMITTER_NAME")
    monkeypatch.delenv("GIT_COMMITTER_EMAIL")
    with QuickChain(repo) as quick:
        assert quick.identity() is None  # the caller reports it, as the pygit2 path does
    git(repo, "config", "user.name", "Cora Config")
    git(repo, "config", "user.email", "cora@example.com")
    with QuickChain(repo) as quick:
        assert quick.identity() == ("Cora Config", "cora@example.com")
    assert (Git.discover(repo).identity().name, Git.discover(repo).identity().email) == (
        "Cora Config",
        "cora@example.com",
    )
    empty = repo.parent / "empty"
    empty.mkdir()
    git(empty, "init", "--quiet")
    with QuickChain(empty) as quick:
        assert quick.head_commit() is None


def test_what_a_prefetch_read_is_read_again_when_the_chain_moved_since(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = Chain(Git.discover(repo))
    chain.append(draft(1), ME)
    monkeypatch.delenv("GIT_COMMITTER_NAME")  # so the identity is read from git config too
    git(repo, "config", "user.name", ME.name)
    git(repo, "config", "user.email", ME.email)
    quick = QuickChain(repo).prefetch()
    assert set(quick._early) == {"identity", "refs"}  # both reads already under way
    assert quick_append(repo, draft(2)) == [2]  # another writer, after the prefetch
    try:
        assert quick.identity() == WHO
        entries = quick.append_many([draft(3), draft(4)], WHO)
    finally:
        quick.close()
    assert entries is not None and [e.seq for e in entries] == [3, 4]
    read = chain.read()
    assert [e.seq for e in read.ordered()] == [1, 2, 3, 4]
    assert verify(read).ok
    assert git(repo, "fsck", "--no-progress", "--no-dangling").strip() == ""


def test_a_prefetch_closed_unused_leaves_nothing_running(repo: Path) -> None:
    quick = QuickChain(repo).prefetch()
    running = list(quick._early.values())
    assert running
    quick.close()
    assert all(proc.returncode is not None for proc in running)

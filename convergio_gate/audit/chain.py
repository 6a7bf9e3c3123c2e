"""The audit chain stored in git notes under ``refs/notes/convergio``.

Each entry is one note. The note's blob holds the entry's canonical JSON and the note
annotates that very blob (its path in the notes tree is the blob's own object id, with
git's 2/38 fan-out), so every note names an object that exists and travels with the
notes ref. Git merges notes refs as sets of paths; the chain's order is its own
(``seq`` and ``prev``), never the notes tree's.

Appends are compare-and-swap on the notes ref: read the ref, build the new notes commit,
move the ref only if it still points where it did. A writer that loses the race
rebuilds on top of the winner, so concurrent writers lose nothing.

The notes commit message names the head entry (seq, hash, note id); an append reads the
head from there in constant time and falls back to reading the whole chain when the
message is missing or does not match the tree (after a merge, say).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import pygit2
from pygit2.enums import FileMode

from convergio_gate.audit.entry import GENESIS, CorruptEntry, Draft, Entry
from convergio_gate.errors import BusyError
from convergio_gate.gitio import Git, Identity

NOTES_REF = "refs/notes/convergio"
TRACKING_PREFIX = "refs/notes/remotes/"
TRACKING_SUFFIX = "/convergio"
MAX_ATTEMPTS = 200
_HEAD_RE = re.compile(r"^seq: (\d+)\nhash: ([0-9a-f]{64})\nnote: ([0-9a-f]{40})$", re.M)


def tracking_ref(remote: str) -> str:
    return f"{TRACKING_PREFIX}{remote}{TRACKING_SUFFIX}"


@dataclass(frozen=True)
class StoredEntry:
    """An entry as found in the notes tree, or the reason it could not be read."""

    note: str  # the path in the notes tree, without fan-out slashes
    blob: str  # the object id of the blob the path points at
    entry: Entry | None
    problem: str | None = None


@dataclass
class ChainRead:
    refs: dict[str, str] = field(default_factory=dict)  # ref name -> commit id read
    stored: list[StoredEntry] = field(default_factory=list)

    @property
    def entries(self) -> list[Entry]:
        return [s.entry for s in self.stored if s.entry is not None]

    def ordered(self) -> list[Entry]:
        """Intact entries by seq (ties broken by hash): what readers act on."""
        return sorted((e for e in self.entries if e.intact), key=lambda e: (e.seq, e.hash))


class Chain:
    def __init__(self, git: Git, ref: str = NOTES_REF) -> None:
        self.git = git
        self.repo = git.repo
        self.ref = ref

    # -- reading ------------------------------------------------------------------------

    def read(self, refs: Sequence[str] | None = None) -> ChainRead:
        """Read every note of ``refs`` (default: ours plus every remote-tracking copy).

        Notes present in several refs are read once; the result is their union.
        """
        names = list(refs) if refs is not None else self.default_refs()
        result = ChainRead()
        seen: set[str] = set()
        for name in names:
            target = self.git.read_ref(name)
            if target is None:
                continue
            result.refs[name] = target
            tree = self.repo[pygit2.Oid(hex=target)].peel(pygit2.Tree)
            odb = self.repo.odb
            for note, oid in _walk_notes(self.repo, tree):
                if note in seen:
                    continue
                seen.add(note)
                result.stored.append(_read_note(note, oid, odb.read(oid)[1]))
        return result

    def default_refs(self) -> list[str]:
        tracking = sorted(
            r for r in self.git.refs_matching(TRACKING_PREFIX) if r.endswith(TRACKING_SUFFIX)
        )
        return [self.ref, *tracking]

    def entries(self) -> list[Entry]:
        return self.read().ordered()

    # -- appending ----------------------------------------------------------------------

    def append(self, draft: Draft, identity: Identity, signer: Signer | None = None) -> Entry:
        return self.append_many([draft], identity, signer)[0]

    def append_many(
        self, drafts: Sequence[Draft], identity: Identity, signer: Signer | None = None
    ) -> list[Entry]:
        """Append ``drafts`` in order, in one ref update. Retries when the ref moves."""
        if not drafts:
            return []
        self.integrate(identity, signer)
        signature = identity.signature()
        for attempt in range(MAX_ATTEMPTS):
            old = self.git.read_ref(self.ref)
            seq, prev, tree = self._head(old)
            sealed: list[Entry] = []
            for draft in drafts:
                seq += 1
                entry = _signed(Entry.seal(draft, seq=seq, prev=prev), signer)
                sealed.append(entry)
                prev = entry.hash
            new_tree, last_note = self._add(tree, sealed)
            message = _message(f"audit entry {seq}", sealed[-1], last_note)
            commit = self.repo.create_commit(
                None,
                signature,
                signature,
                message,
                pygit2.Oid(hex=new_tree),
                [pygit2.Oid(hex=old)] if old else [],
            )
            if self.git.cas_ref(self.ref, str(commit), old, message.splitlines()[0], identity):
                return sealed
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())
        raise BusyError(
            f"{self.ref} kept moving: {MAX_ATTEMPTS} attempts to append lost the race",
            fix="check for a runaway process writing the chain, then run the command again",
        )

    def _head(self, commit_id: str | None) -> tuple[int, str, pygit2.Tree | None]:
        """(seq, hash) of the head entry under ``commit_id``, and the notes tree."""
        if commit_id is None:
            return 0, GENESIS, None
        commit = self.repo[pygit2.Oid(hex=commit_id)].peel(pygit2.Commit)
        tree = commit.tree
        match = _HEAD_RE.search(commit.message)
        if match:
            seq, digest, note = int(match[1]), match[2], match[3]
            blob = _lookup_note(tree, note)
            if blob is not None:
                stored = _read_note(note, blob.id, self.repo.odb.read(blob.id)[1])
                if stored.entry and stored.entry.seq == seq and stored.entry.hash == digest:
                    return seq, digest, tree
        best: Entry | None = None
        odb = self.repo.odb
        for note, oid in _walk_notes(self.repo, tree):
            entry = _read_note(note, oid, odb.read(oid)[1]).entry
            if (
                entry is not None
                and entry.intact
                and (best is None or (entry.seq, entry.hash) > (best.seq, best.hash))
            ):
                best = entry
        if best is None:
            return 0, GENESIS, tree
        return best.seq, best.hash, tree

    def _add(self, tree: pygit2.Tree | None, entries: Iterable[Entry]) -> tuple[str, str]:
        """Write ``entries`` as notes into ``tree``; return the new tree and last note id."""
        by_dir: dict[str, list[tuple[str, pygit2.Oid]]] = {}
        note = ""
        for entry in entries:
            blob = self.repo.create_blob(entry.to_bytes())
            note = str(blob)
            by_dir.setdefault(note[:2], []).append((note[2:], blob))
        root = self.repo.TreeBuilder(tree) if tree is not None else self.repo.TreeBuilder()
        for prefix, items in by_dir.items():
            existing = tree[prefix] if tree is not None and prefix in tree else None
            if existing is not None and existing.type_str == "tree":
                sub = self.repo.TreeBuilder(existing.peel(pygit2.Tree))
            else:
                sub = self.repo.TreeBuilder()
            for name, blob in items:
                sub.insert(name, blob, FileMode.BLOB)
            root.insert(prefix, sub.write(), FileMode.TREE)
        return str(root.write()), note

    # -- remote copies --------------------------------------------------------------------

    def integrate(self, identity: Identity, signer: Signer | None = None) -> None:
        """Bring remote-tracking copies of the chain into ours.

        A copy ahead of ours is fast-forwarded to. When both have entries the other
        lacks, ours are re-sequenced on top of the remote chain (their content kept, new
        seq and prev), in a merge commit that keeps both histories.
        """
        for tracking in self.default_refs()[1:]:
            for _attempt in range(MAX_ATTEMPTS):
                if self._integrate_one(tracking, identity, signer):
                    break

    def _integrate_one(self, tracking: str, identity: Identity, signer: Signer | None) -> bool:
        remote = self.git.read_ref(tracking)
        local = self.git.read_ref(self.ref)
        if remote is None or remote == local:
            return True
        if local is None or self.git.is_ancestor(local, remote):
            return self.git.cas_ref(
                self.ref,
                remote,
                local,
                f"convergio-gate: fast-forward to {tracking}",
                identity,
            )
        if self.git.is_ancestor(remote, local):
            return True
        theirs = self.read([tracking])
        ours = self.read([self.ref])
        known = {e.hash for e in theirs.entries}
        mine = sorted(
            (e for e in ours.ordered() if e.hash not in known), key=lambda e: (e.seq, e.hash)
        )
        seq, prev, tree = self._head(remote)
        moved: list[Entry] = []
        for entry in mine:
            seq += 1
            draft = Draft(
                entry.kind, entry.subject, entry.decision, entry.actor, entry.reasons, entry.data
            )
            new = Entry.seal(draft, seq=seq, prev=prev, time=entry.time)
            if "sig" in entry.extra:  # the old signature covered the old hash
                new = _signed(new, signer)
            moved.append(new)
            prev = new.hash
        if moved:
            new_tree, last_note = self._add(tree, moved)
            message = _message(
                f"re-sequence {len(moved)} local entries after {tracking}", moved[-1], last_note
            )
        else:
            assert tree is not None
            new_tree = str(tree.id)
            head = max(theirs.ordered(), key=lambda e: (e.seq, e.hash), default=None)
            message = f"convergio-gate: merge {tracking}\n"
            if head is not None:
                message = _message(f"merge {tracking}", head, _note_of(theirs, head))
        signature = identity.signature()
        commit = self.repo.create_commit(
            None,
            signature,
            signature,
            message,
            pygit2.Oid(hex=new_tree),
            [pygit2.Oid(hex=remote), pygit2.Oid(hex=local)],
        )
        return self.git.cas_ref(
            self.ref, str(commit), local, f"convergio-gate: merge {tracking}", identity
        )


#: Signs an entry hash; returns what is stored beside the entry as its "sig".
Signer = Callable[[str], dict[str, str]]


def _signed(entry: Entry, signer: Signer | None) -> Entry:
    if signer is None:
        return entry
    return replace(entry, extra={**entry.extra, "sig": signer(entry.hash)})


def _note_of(read: ChainRead, entry: Entry) -> str:
    for stored in read.stored:
        if stored.entry is entry:
            return stored.note
    return ""


def _message(title: str, head: Entry, note: str) -> str:
    return f"convergio-gate: {title}\n\nseq: {head.seq}\nhash: {head.hash}\nnote: {note}\n"


def _walk_notes(
    repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""
) -> Iterator[tuple[str, pygit2.Oid]]:
    """Every (note path without slashes, blob id) in a notes tree, whatever its fan-out."""
    for item in tree:
        name = prefix + (item.name or "")
        kind = item.type_str
        if kind == "tree":
            yield from _walk_notes(repo, repo[item.id], name)  # type: ignore[arg-type]
        elif kind == "blob":
            yield name, item.id


def _lookup_note(tree: pygit2.Tree, note: str) -> pygit2.Object | None:
    for path in (f"{note[:2]}/{note[2:]}", note, f"{note[:2]}/{note[2:4]}/{note[4:]}"):
        try:
            return tree[path]
        except KeyError:
            continue
    return None


def _read_note(note: str, oid: pygit2.Oid, data: bytes) -> StoredEntry:
    blob = str(oid)
    try:
        entry = Entry.from_bytes(data)
    except CorruptEntry as exc:
        return StoredEntry(note, blob, None, str(exc))
    problem = None if note == blob else "note path does not name its own blob"
    return StoredEntry(note, blob, entry, problem)

"""Append audit entries through git plumbing, for the pre-commit hook.

Every check records its decision in the chain, the pre-commit hook's too, and the
pygit2 writer (:mod:`convergio_gate.audit.chain`) costs that hook about 0.12 s in the
import of pygit2 alone: more than a third of its budget. The common case needs none of
it: the notes ref exists, its commit message names the head entry and the tree holds
that entry, and no copy fetched from a remote is waiting to be integrated. This module
handles exactly that case with git's own commands and the storage format of
``chain.py``, unchanged:

- each entry is a blob of its canonical bytes, and its note path is that blob's own id
  with git's 2/38 fan-out (``ab/cdef...``), under ``refs/notes/convergio``;
- the notes commit's message names the new head (``seq``, ``hash``, ``note``), its
  parent is the commit the ref pointed at, author and committer are the identity;
- the ref moves with ``git update-ref REF NEW OLD``: a compare-and-swap under git's
  ``<ref>.lock``, the lock the pygit2 writer takes too, so the two interleave safely.

Anything else returns None and the caller appends with the pygit2 writer: no chain yet,
a head the message does not name (after a merge), a fetched copy that is not already
part of ours, a fan-out other than 2/38, a race lost too often, or any git error.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from convergio_gate.audit.entry import CorruptEntry, Draft, Entry

NOTES_REF = "refs/notes/convergio"
TRACKING_PREFIX = "refs/notes/remotes/"
TRACKING_SUFFIX = "/convergio"
ATTEMPTS = 8
_HEAD_RE = re.compile(r"^seq: (\d+)\nhash: ([0-9a-f]{64})\nnote: ([0-9a-f]{40})$", re.M)
_TREE_MODE = b"40000"
_BLOB_MODE = b"100644"

TreeEntry = tuple[bytes, bytes, bytes]  # (mode, name, 20-byte id), as a tree object holds


class _Fallback(Exception):
    """The simple case does not hold: the pygit2 writer must do this append."""


class _Moved(Exception):
    """The notes ref moved (or was locked) between reading it and moving it."""


class QuickChain:
    """One repository's chain, appended to through git commands (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._batch: subprocess.Popen[bytes] | None = None
        self._early: dict[str, subprocess.Popen[bytes]] = {}

    def prefetch(self) -> QuickChain:
        """Start reading what an append reads first (the identity, the refs) while the
        caller does other work: those reads then cost nothing on the way out."""
        try:
            if not all(self._committer_env()):
                self._early["identity"] = self._start(*_IDENTITY_ARGS, reads=False)
            self._early["refs"] = self._start(*_REFS_ARGS, reads=False)
        except OSError:
            self._drop_early()
        return self

    def __enter__(self) -> QuickChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._drop_early()
        if self._batch is not None:
            assert self._batch.stdin is not None and self._batch.stdout is not None
            self._batch.stdin.close()
            self._batch.wait()
            self._batch.stdout.close()
            self._batch = None

    # -- what check needs besides the append ------------------------------------------

    def identity(self) -> tuple[str, str] | None:
        """(name, email) as the pygit2 writer finds them: the committer variables, then
        ``user.name`` / ``user.email``; None when one is missing (the caller reports it)."""
        name, email = self._committer_env()
        if not (name and email):
            proc = self._early_output("identity", check=False)
            if proc is None:
                proc = self._git(*_IDENTITY_ARGS, check=False)
            found: dict[str, str] = {}
            for line in proc.decode("utf-8", "replace").splitlines():
                key, _, value = line.partition(" ")
                found[key] = value
            name = name or found.get("user.name")
            email = email or found.get("user.email")
        return (name, email) if name and email else None

    @staticmethod
    def _committer_env() -> tuple[str | None, str | None]:
        return os.environ.get("GIT_COMMITTER_NAME"), os.environ.get("GIT_COMMITTER_EMAIL")

    def head_commit(self) -> str | None:
        """The commit HEAD names, or None (an unborn branch)."""
        found = self._read("HEAD^{commit}")
        return None if found is None else found[0]

    # -- appending --------------------------------------------------------------------

    def append_many(self, drafts: Sequence[Draft], who: tuple[str, str]) -> list[Entry] | None:
        """Append ``drafts`` in order, in one ref update; None when the pygit2 writer
        must (the chain is then untouched)."""
        if not drafts:
            return []
        try:
            for attempt in range(ATTEMPTS):
                try:
                    return self._append_once(drafts, who)
                except _Moved:
                    time.sleep(min(0.05, 0.002 * (attempt + 1)))
        except (_Fallback, OSError, subprocess.SubprocessError, ValueError):
            return None
        return None

    def _append_once(self, drafts: Sequence[Draft], who: tuple[str, str]) -> list[Entry]:
        old, tracking = self._refs()
        if old is None:
            raise _Fallback
        for ref in tracking:  # a fetched copy must already be part of ours
            if ref != old and not self._is_ancestor(ref, old):
                raise _Fallback
        seq, prev, root = self._head(old)
        sealed: list[Entry] = []
        for draft in drafts:
            seq += 1
            entry = Entry.seal(draft, seq=seq, prev=prev)
            sealed.append(entry)
            prev = entry.hash
        new_tree, last_note = self._add(root, sealed)
        message = (
            f"convergio-gate: audit entry {seq}\n\n"
            f"seq: {seq}\nhash: {sealed[-1].hash}\nnote: {last_note}\n"
        )
        name, email = who
        person = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        commit = self._git(
            "commit-tree", "--no-gpg-sign", new_tree, "-p", old, data=message.encode(), env=person
        )
        new = commit.decode().strip()
        title = message.splitlines()[0]
        proc = subprocess.run(
            ["git", "update-ref", "-m", title, NOTES_REF, new, old],
            cwd=self.root,
            capture_output=True,
            env={**os.environ, **person},
            check=False,
        )
        if proc.returncode != 0:
            raise _Moved
        return sealed

    def _refs(self) -> tuple[str | None, list[str]]:
        # The prefetched answer serves the first attempt only: a retry reads afresh.
        raw = self._early_output("refs")
        if raw is None:
            raw = self._git(*_REFS_ARGS)
        ours: str | None = None
        tracking: list[str] = []
        for line in raw.decode().splitlines():
            oid, _, name = line.partition(" ")
            if name == NOTES_REF:
                ours = oid
            elif name.startswith(TRACKING_PREFIX) and name.endswith(TRACKING_SUFFIX):
                tracking.append(oid)
        return ours, tracking

    def _is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = subprocess.run(
            ["git", "merge-base", "--is-ancestor", ancestor, descendant],
            cwd=self.root,
            capture_output=True,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise _Fallback
        return proc.returncode == 0

    def _head(self, commit_id: str) -> tuple[int, str, list[TreeEntry]]:
        """(seq, hash) of the head entry the notes commit names, and its root tree."""
        found = self._read(commit_id)
        if found is None or found[1] != "commit":
            raise _Fallback
        header, _, message = found[2].partition(b"\n\n")
        match = _HEAD_RE.search(message.decode("utf-8", "replace"))
        tree_line = header.split(b"\n", 1)[0]
        if match is None or not tree_line.startswith(b"tree "):
            raise _Fallback
        seq, digest, note = int(match[1]), match[2], match[3]
        root = self._tree(tree_line[5:].decode())
        blob = self._note_blob(root, note)
        data = self._read(blob)
        if data is None or data[1] != "blob":
            raise _Fallback
        try:
            entry = Entry.from_bytes(data[2])
        except CorruptEntry:
            raise _Fallback from None
        if blob != note or entry.seq != seq or entry.hash != digest:
            raise _Fallback
        return seq, digest, root

    def _note_blob(self, root: list[TreeEntry], note: str) -> str:
        """The blob at ``note``'s path: ``ab/cdef...`` or, unsplit, ``abcdef...``."""
        for mode, name, oid in root:
            if name == note.encode() and mode != _TREE_MODE:
                return oid.hex()
            if name == note[:2].encode() and mode == _TREE_MODE:
                for sub_mode, sub_name, sub_oid in self._tree(oid.hex()):
                    if sub_name == note[2:].encode() and sub_mode != _TREE_MODE:
                        return sub_oid.hex()
        raise _Fallback

    def _add(self, root: list[TreeEntry], entries: Sequence[Entry]) -> tuple[str, str]:
        """Write ``entries`` as notes into ``root``: the new root tree's id, last note.

        The ids are worked out here, so the blobs and the trees are written at once, by
        concurrent git processes (``mktree --missing``: a blob may land a moment after
        the tree naming it); each process must then report the id expected of it."""
        by_dir: dict[bytes, list[TreeEntry]] = {}
        note = ""
        blobs = [entry.to_bytes() for entry in entries]
        for data in blobs:
            note = _blob_id(data)
            by_dir.setdefault(note[:2].encode(), []).append(
                (_BLOB_MODE, note[2:].encode(), bytes.fromhex(note))
            )
        trees: list[list[TreeEntry]] = []
        new_root = {name: (mode, name, oid) for mode, name, oid in root}
        for prefix, items in by_dir.items():
            old = new_root.get(prefix)
            sub = {} if old is None or old[0] != _TREE_MODE else _by_name(self._tree(old[2].hex()))
            for item in items:
                sub[item[1]] = item
            trees.append(list(sub.values()))
            new_root[prefix] = (_TREE_MODE, prefix, bytes.fromhex(_tree_id(trees[-1])))
        trees.append(list(new_root.values()))
        tree_input = b"\n".join(map(_mktree_input, trees))
        writes = [(self._start("hash-object", "-w", "--stdin"), data) for data in blobs]
        writes.append((self._start("mktree", "--missing", "--batch"), tree_input))
        outputs = [self._finish(proc, data) for proc, data in writes]  # all, then judge
        if outputs[:-1] != [_blob_id(data) for data in blobs]:
            raise _Fallback
        expected = [_tree_id(t) for t in trees]
        if outputs[-1] is None or outputs[-1].split() != expected:
            raise _Fallback
        return expected[-1], note

    # -- git --------------------------------------------------------------------------

    def _start(self, *args: str, reads: bool = True) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["git", *args],
            cwd=self.root,
            stdin=subprocess.PIPE if reads else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    @staticmethod
    def _finish(proc: subprocess.Popen[bytes], data: bytes) -> str | None:
        """What a started process printed, once fed ``data``; None if it failed."""
        out, _ = proc.communicate(data)
        return out.decode("utf-8", "replace").strip() if proc.returncode == 0 else None

    def _early_output(self, name: str, check: bool = True) -> bytes | None:
        """What the prefetched command printed (None if there was none, or it failed)."""
        proc = self._early.pop(name, None)
        if proc is None:
            return None
        try:
            out, _ = proc.communicate()
        except OSError:
            return None
        if check and proc.returncode != 0:
            return None
        return out

    def _drop_early(self) -> None:
        for proc in self._early.values():
            try:
                proc.communicate()
            except OSError:
                proc.kill()
                proc.wait()
        self._early.clear()

    def _git(
        self,
        *args: str,
        data: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.root,
            input=data,
            capture_output=True,
            env={**os.environ, **env} if env else None,
            check=False,
        )
        if check and proc.returncode != 0:
            raise _Fallback
        return proc.stdout

    def _read(self, name: str) -> tuple[str, str, bytes] | None:
        """(id, type, content) of the object ``name`` names, from one long-lived
        ``git cat-file --batch``; None when it does not exist."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        assert self._batch.stdin is not None and self._batch.stdout is not None
        if "\n" in name:
            raise _Fallback
        self._batch.stdin.write(name.encode() + b"\n")
        self._batch.stdin.flush()
        header = self._batch.stdout.readline().split()
        if len(header) == 2 and header[1] == b"missing":
            return None
        if len(header) != 3:
            raise _Fallback
        size = int(header[2])
        content = self._batch.stdout.read(size + 1)[:size]
        return header[0].decode(), header[1].decode(), content

    def _tree(self, oid: str) -> list[TreeEntry]:
        found = self._read(oid)
        if found is None or found[1] != "tree":
            raise _Fallback
        return _parse_tree(found[2])


def _by_name(entries: list[TreeEntry]) -> dict[bytes, TreeEntry]:
    return {name: (mode, name, oid) for mode, name, oid in entries}


def _parse_tree(data: bytes) -> list[TreeEntry]:
    out: list[TreeEntry] = []
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        out.append((data[pos:space], data[space + 1 : nul], data[nul + 1 : nul + 21]))
        pos = nul + 21
    return out


_IDENTITY_ARGS = ("config", "--get-regexp", r"^user\.(name|email)$")
_REFS_ARGS = ("for-each-ref", "--format=%(objectname) %(refname)", NOTES_REF, TRACKING_PREFIX)


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _tree_id(entries: list[TreeEntry]) -> str:
    """The id git gives a tree of ``entries`` (sorted as git sorts them)."""
    ordered = sorted(entries, key=lambda e: e[1] + (b"/" if e[0] == _TREE_MODE else b""))
    body = b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in ordered)
    return hashlib.sha1(b"tree %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def _mktree_input(entries: list[TreeEntry]) -> bytes:
    lines = []
    for mode, name, oid in entries:
        if b"\n" in name or b"\t" in name:
            raise _Fallback
        kind = {_TREE_MODE: b"tree", b"160000": b"commit"}.get(mode, b"blob")
        lines.append(mode + b" " + kind + b" " + oid.hex().encode() + b"\t" + name + b"\n")
    return b"".join(lines)

"""Which files a check looks at, with what content, and which of their lines count.

- ``files``: paths given on the command line (what pre-commit passes), as they are in
  the working tree;
- ``staged``: what ``git commit`` would record, read from the index;
- ``all``: every tracked file, as it is in the working tree;
- ``diff``: the files a commit range changes, read at its head, counting only the lines
  it adds (a pull request is judged on what it brings);
- ``history``: what every commit on a branch added, for adopting the tool on an old
  repository.

The working-tree modes use the git CLI (one process each) rather than pygit2, whose
import alone would cost a pre-commit hook a third of its time budget.

Each selection can also name the git blob id of what its reader returns for a path
without reading it (``known_oids``), so a repository-wide gate can tell what changed
since its last run: from the tree for ``diff``; from the index for ``staged``, whose
reader reads the rest of the repository from the index too (what the commit records,
not what the work tree holds besides); and for the work tree from a stat cache like
git's own (``<git dir>/convergio/cache/stat.bin``): a file whose size, mtime, ctime and
inode are unchanged keeps its id; the others are read and hashed. An entry is stored
only once its mtime is two seconds old, so a file rewritten within one timestamp tick of
being hashed is never trusted.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convergio_gate import afterwards
from convergio_gate.errors import GitError, UsageError
from convergio_gate.gates._base import LazyFile, SourceFile, blob_oid
from convergio_gate.lang import cpp_hint, detect, modeline

MAX_FILE_BYTES = 8 << 20
STAT_FORMAT = 4  # 3: a .h file keeps what shows it is C++; 4: and a modeline
RACY_NS = 2_000_000_000

#: size, mtime, ctime, inode, blob id, ``#!`` line
StatEntry = tuple[int, int, int, int, bytes, bytes]


def _no_oids(paths: Sequence[str]) -> Mapping[str, str]:
    return {}


@dataclass
class Selection:
    mode: str
    subject: str  # what was checked, in words, for the audit chain and reports
    files: list[SourceFile]
    added: dict[str, set[int]] | None = None  # path -> lines that count (None: all)
    list_files: Callable[[], Sequence[str]] = field(default=tuple)
    read_file: Callable[[str], bytes | None] = field(default=lambda path: None)
    commit: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    base: str | None = None
    known_oids: Callable[[Sequence[str]], Mapping[str, str]] = field(default=_no_oids)


def git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=root, input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise GitError(f"`git {' '.join(args[:3])}` failed: {message}")
    return proc.stdout


def repo_root(start: Path) -> Path:
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise GitError(
            f"not a git repository (or any parent up to /): {start}",
            fix="run convergio-gate inside a git repository, or create one with `git init`",
        )
    return Path(proc.stdout.decode().strip())


def repo_dirs(start: Path) -> tuple[Path, Path]:
    """The work tree's root and the git dir its worktrees share (one git process)."""
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--git-common-dir"],
        cwd=start,
        capture_output=True,
        check=False,
    )
    lines = proc.stdout.decode().splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        raise GitError(
            f"not a git repository (or any parent up to /): {start}",
            fix="run convergio-gate inside a git repository, or create one with `git init`",
        )
    common = Path(lines[1])
    return Path(lines[0]), common if common.is_absolute() else (start / common)


def _split_z(raw: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]


def make_source(path: str, data: bytes) -> SourceFile:
    return SourceFile(path, data, blob_oid(data), detect(path, data))


def tracked(root: Path) -> list[str]:
    return _split_z(git(root, "ls-files", "-z", "--cached"))


def _worktree_reader(root: Path) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        full = root / path
        try:
            if full.is_symlink() or not full.is_file():
                return None
            if full.stat().st_size > MAX_FILE_BYTES:
                return None
            return full.read_bytes()
        except OSError:
            return None

    return read


def git_dir(root: Path) -> Path | None:
    """The git dir of the work tree at ``root`` (a worktree's ``.git`` file is followed),
    found without running git."""
    dot_git = root / ".git"
    try:
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            line = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if line.startswith("gitdir:"):
                found = Path(line[len("gitdir:") :].strip())
                found = found if found.is_absolute() else (root / found)
                return found if found.is_dir() else None
    except OSError:
        return None
    return None


def _worktree_oids(
    root: Path, given: Mapping[str, str]
) -> Callable[[Sequence[str]], Mapping[str, str]]:
    """``known_oids`` for a work-tree reader: ``given`` (files already read), then the
    stat cache; every file it answers for is a regular file the reader would return."""

    def known(paths: Sequence[str]) -> Mapping[str, str]:
        out = {p: given[p] for p in paths if p in given}
        rest = [p for p in paths if p not in given]
        if rest:
            out.update(stat_oids(root, rest))
        return out

    return known


class StatCache:
    """Git blob ids of work-tree files by path, valid while a file's size, mtime, ctime
    and inode are unchanged (see the module docstring). Entries are trusted only once
    their mtime is RACY_NS old."""

    def __init__(self, root: Path) -> None:
        where = git_dir(root)
        self.path = None if where is None else where / "convergio" / "cache" / "stat.bin"
        self.old = _load_stats(self.path)
        self.keep: dict[str, StatEntry] = {}
        self.trusted_before = time.time_ns() - RACY_NS

    def get(self, path: str, st: os.stat_result) -> tuple[str, bytes] | None:
        """The file's blob id and what :meth:`remember` kept for :func:`detect` (its
        ``#!`` line, ...; empty when nothing), when the cache vouches for it."""
        entry = self.old.get(path)
        if entry is None or entry[:4] != (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
            return None
        self.keep[path] = entry  # trusted when stored, and its mtime has not moved since
        return entry[4].hex(), entry[5]

    def remember(self, path: str, st: os.stat_result, digest: bytes, data: bytes) -> None:
        """``data``: the file's bytes (only its ``#!`` line is kept, for :func:`detect`,
        or its first two lines when they hold a modeline that tells the language, or for
        a ``.h`` file what shows it is C++)."""
        if st.st_mtime_ns < self.trusted_before:
            head = data[:256].split(b"\n", 1)[0] if data.startswith(b"#!") else b""
            if path.endswith((".h", ".H")):
                head = cpp_hint(data) or b""  # what makes the header C++, if anything
            elif detect(path, head) is None:
                head = modeline(data) or head
            self.keep[path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, digest, head)

    def save(self, asked: Iterable[str]) -> None:
        """Keep what was remembered; drop the entries of ``asked`` that were not."""
        asked = set(asked)
        merged = {p: e for p, e in self.old.items() if p not in asked}
        merged.update(self.keep)
        if merged != self.old:
            _save_stats(self.path, merged)


def stat_oids(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """Path -> git blob id of the work-tree file, for the regular files of ``paths`` no
    larger than MAX_FILE_BYTES, through the stat cache (see the module docstring)."""
    stats = StatCache(root)
    out: dict[str, str] = {}
    base = str(root) + "/"
    for path in paths:
        full = base + path
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            continue
        known = stats.get(path, st)
        if known is None:
            try:
                with open(full, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            oid = blob_oid(data)
            stats.remember(path, st, bytes.fromhex(oid), data)
        else:
            oid = known[0]
        out[path] = oid
    stats.save(paths)
    return out


def _load_stats(path: Path | None) -> dict[str, StatEntry]:
    if path is None:
        return {}
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict) or data.get("version") != STAT_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _save_stats(path: Path | None, entries: dict[str, StatEntry]) -> None:
    if path is not None:
        afterwards.later(lambda: _write_stats(path, entries))


def _write_stats(path: Path, entries: dict[str, StatEntry]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps({"version": STAT_FORMAT, "entries": entries}))
        os.replace(tmp, path)
    except OSError:
        return


def _load(root: Path, paths: Sequence[str], selection: Selection) -> None:
    """Read ``paths`` from the work tree into ``selection`` (one lstat each), skipping
    what the work-tree reader would not return, with the reason when there is one.

    A file the stat cache knows is not read now: it goes in as a :class:`LazyFile`,
    read only if a gate needs its bytes (a re-run with everything cached reads
    nothing); the cache keeps its ``#!`` line, which :func:`detect` may need.
    """
    base = str(root) + "/"
    stats = StatCache(root)
    for path in paths:
        full = base + path
        try:
            st = os.lstat(full)
        except OSError:
            continue  # gone since git listed it
        if stat.S_ISLNK(st.st_mode):
            selection.skipped.append((path, "a symbolic link"))
            continue
        if stat.S_ISDIR(st.st_mode):
            selection.skipped.append((path, "a directory (a submodule?)"))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if st.st_size > MAX_FILE_BYTES:
            selection.skipped.append((path, f"over {MAX_FILE_BYTES >> 20} MiB"))
            continue
        known = stats.get(path, st)
        if known is not None:
            oid, head = known
            language = detect(path, head)
            selection.files.append(LazyFile(path, oid, language, full, st.st_size))
            continue
        try:
            with open(full, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        source = make_source(path, data)
        stats.remember(path, st, bytes.fromhex(source.oid), data)
        selection.files.append(source)
    stats.save(paths)


def select_files(root: Path, given: Sequence[str], cwd: Path) -> Selection:
    paths = []
    for name in given:
        joined = Path(os.path.normpath(os.path.join(cwd, name)))
        full = joined.parent.resolve() / joined.name  # the file itself may be a symlink
        try:
            rel = full.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"{name} is outside the repository at {root}") from None
        if not (root / rel).exists() and not (root / rel).is_symlink():
            raise UsageError(f"no such file: {name}")
        paths.append(rel)
    read = _worktree_reader(root)
    selection = Selection(
        "files", f"{len(paths)} files", [], list_files=lambda: tracked(root), read_file=read
    )
    _load(root, paths, selection)
    selection.known_oids = _worktree_oids(root, {f.path: f.oid for f in selection.files})
    return selection


def select_all(root: Path) -> Selection:
    index = _IndexListing(root)
    paths, links = index.paths(), index.links()
    read = _worktree_reader(root)
    selection = Selection("all", "all files", [], list_files=lambda: paths, read_file=read)
    _load(root, [p for p in paths if p not in links], selection)
    selection.known_oids = _worktree_oids(root, {f.path: f.oid for f in selection.files})
    return selection


def select_staged(root: Path) -> Selection:
    # One call for the staged paths with their modes and blob ids:
    # ":<old mode> <new mode> <old id> <new id> <status>" NUL "<path>" NUL, per file.
    raw = git(
        root, "diff", "--cached", "--raw", "-z", "--no-abbrev", "--diff-filter=ACMR", "--no-renames"
    )
    fields = _split_z(raw)
    paths: list[str] = []
    wanted: list[tuple[str, str]] = []
    for meta, path in zip(fields[::2], fields[1::2], strict=True):
        _, mode, _, oid, _ = meta.lstrip(":").split(" ", 4)
        paths.append(path)
        if mode in ("100644", "100755"):
            wanted.append((path, oid))
    staged = _blob_contents(root, wanted)
    index = _IndexListing(root)

    def read(path: str) -> bytes | None:
        return staged[path] if path in staged else index.read(path)

    selection = Selection("staged", "staged changes", [], list_files=index.paths, read_file=read)
    for path in paths:
        data = staged.get(path)
        if data is None:
            selection.skipped.append((path, "a symbolic link or submodule"))
            continue
        selection.files.append(make_source(path, data))
    selection.known_oids = index.oids
    return selection


class _IndexListing:
    """The whole index, as a commit records it: its paths (once, even when unmerged),
    its submodules, the blob ids of its regular files (one ``git ls-files --stage``
    when first asked, so naming a file costs no stat and no read), and their content,
    read when asked through one ``git cat-file --batch`` started on the first read. A
    file with no single regular-file entry (a symbolic link, a submodule, a conflict)
    reads as nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: list[str] | None = None
        self._oids: dict[str, str] = {}
        self._links: set[str] = set()
        self._batch: subprocess.Popen[bytes] | None = None

    def _list(self) -> list[str]:
        if self._paths is None:
            paths: dict[str, None] = {}
            oids = self._oids
            for line in _split_z(git(self.root, "ls-files", "-z", "--stage")):
                meta, _, path = line.partition("\t")
                paths[path] = None
                mode, oid, stage = meta.split(" ", 2)
                if mode in ("100644", "100755") and stage == "0":
                    oids[path] = oid
                else:
                    oids.pop(path, None)
                if mode == "160000":
                    self._links.add(path)
            self._paths = list(paths)
        return self._paths

    def paths(self) -> list[str]:
        return self._list()

    def links(self) -> set[str]:
        """The submodules (gitlinks)."""
        self._list()
        return self._links

    def oids(self, wanted: Sequence[str]) -> dict[str, str]:
        self._list()
        oids = self._oids
        return {p: oids[p] for p in wanted if p in oids}

    def read(self, path: str) -> bytes | None:
        self._list()
        oid = self._oids.get(path)
        if oid is None:
            return None
        batch = self._batch
        if batch is None:
            batch = self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            weakref.finalize(self, _stop, batch)
        assert batch.stdin is not None and batch.stdout is not None
        try:
            batch.stdin.write(f"{oid}\n".encode())
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise GitError(f"`git cat-file --batch` could not read {path} ({oid})")
            size = int(header[2])
            data = batch.stdout.read(size + 1)[:-1]
        except (OSError, ValueError) as exc:
            raise GitError(f"`git cat-file --batch` failed reading {path}: {exc}") from None
        return data if size <= MAX_FILE_BYTES else None


def _stop(batch: subprocess.Popen[bytes]) -> None:
    """End a ``cat-file --batch`` process: it leaves when its input closes."""
    try:
        if batch.stdin is not None:
            batch.stdin.close()
        batch.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        batch.kill()
        batch.wait()
    if batch.stdout is not None:
        batch.stdout.close()


def _blob_contents(root: Path, wanted: Sequence[tuple[str, str]]) -> dict[str, bytes]:
    """The content of the ``(path, blob id)`` pairs no larger than MAX_FILE_BYTES, read in
    one `git cat-file --batch`; GitError if git lacks one."""
    blobs = read_blobs(root, [oid for _, oid in wanted])
    contents: dict[str, bytes] = {}
    for path, oid in wanted:
        data = blobs.get(oid)
        if data is None:
            raise GitError(
                f"the index names {path} as blob {oid}, which git does not have",
                fix="run `git fsck` and stage the file again",
            )
        if len(data) <= MAX_FILE_BYTES:
            contents[path] = data
    return contents


def read_blobs(root: Path, oids: Sequence[str]) -> dict[str, bytes]:
    """The content of each of ``oids`` (blob ids, hex) that git holds at ``root``, read in
    one `git cat-file --batch`; those it lacks are left out."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    out = git(root, "cat-file", "--batch", data="".join(f"{o}\n" for o in wanted).encode())
    found: dict[str, bytes] = {}
    pos = 0
    for oid in wanted:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        pos = header_end + 1
        if len(header) != 3:  # "<oid> missing"
            continue
        size = int(header[2])
        if header[1] == b"blob":
            found[oid] = out[pos : pos + size]
        pos += size + 1
    return found


def select_diff(root: Path, spec: str) -> Selection:
    """``BASE..HEAD`` (or ``BASE...HEAD``): files changed at HEAD, and the lines added."""
    import pygit2

    from convergio_gate.gitio import Git

    if ".." not in spec:
        raise UsageError(f"--diff {spec!r}: expected BASE..HEAD, e.g. origin/main..HEAD")
    three = "..." in spec
    base_rev, head_rev = spec.split("...") if three else spec.split("..")
    g = Git.discover(root)
    head = g.resolve_commit(head_rev or "HEAD")
    if base_rev and base_rev == _empty_tree(root):  # a root commit: everything is added
        base_tree = g.repo[pygit2.Oid(hex=base_rev)].peel(pygit2.Tree)
        base_id = base_rev
    else:
        base = g.resolve_commit(base_rev or "HEAD")
        if three:
            merge_base = g.repo.merge_base(base.id, head.id)
            if merge_base is not None:
                base = g.repo[merge_base].peel(pygit2.Commit)
        base_tree, base_id = base.tree, str(base.id)
    diff = base_tree.diff_to_tree(head.tree, context_lines=0)
    diff.find_similar()
    selection = Selection(
        "diff",
        f"diff {base_id[:12]}..{str(head.id)[:12]}",
        [],
        added={},
        commit=str(head.id),
        base=base_id,
    )
    assert selection.added is not None
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        if delta.status_char() == "D":
            continue
        path = delta.new_file.path
        mode = delta.new_file.mode
        if mode not in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
            selection.skipped.append((path, "a symbolic link or submodule"))
            continue
        lines = {
            line.new_lineno
            for hunk in patch.hunks
            for line in hunk.lines
            if line.origin == "+" and line.new_lineno > 0
        }
        data = g.repo[delta.new_file.id].peel(pygit2.Blob).data
        if len(data) > MAX_FILE_BYTES:
            selection.skipped.append((path, f"over {MAX_FILE_BYTES >> 20} MiB"))
            continue
        if not lines and delta.status_char() != "R":
            continue
        selection.added[path] = lines
        selection.files.append(make_source(path, data))
    _read_tree(root, g, head.tree, selection)
    return selection


#: After this many files read one by one from a tree, the rest are read in one batch.
READ_AHEAD_AFTER = 64


def _read_tree(root: Path, g: Any, tree: Any, selection: Selection) -> None:
    """Make ``tree`` (of the pygit2 repository of ``g``) the repository ``selection``'s
    repository-wide gates see. A gate that reads many of its files (the wire gate
    building its index afresh) gets the rest from one `git cat-file --batch`, three
    times as fast as a lookup each."""
    import pygit2

    blobs = dict(_tree_paths(g.repo, tree, ""))
    paths = list(blobs)
    ahead: dict[str, bytes] = {}
    reads = 0

    def read(path: str) -> bytes | None:
        nonlocal reads
        oid = blobs.get(path)
        if oid is not None and oid in ahead:
            return ahead[oid]
        reads += 1
        if reads == READ_AHEAD_AFTER:
            with contextlib.suppress(GitError, OSError):  # else one by one, as before
                ahead.update(read_blobs(root, list(blobs.values())))
            if oid is not None and oid in ahead:
                return ahead[oid]
        try:
            obj = tree[path]
        except KeyError:
            return None
        if obj.type_str != "blob":
            return None
        return bytes(g.repo[obj.id].peel(pygit2.Blob).data)

    selection.list_files = lambda: paths
    selection.read_file = read
    selection.known_oids = lambda wanted: {p: blobs[p] for p in wanted if p in blobs}


def select_at(root: Path, rev: str, paths: Sequence[str]) -> Selection:
    """Those of ``paths`` that ``rev`` has, as it has them, every line counting, in the
    repository as ``rev`` has it."""
    import pygit2

    from convergio_gate.gitio import Git

    g = Git.discover(root)
    commit = g.resolve_commit(rev)
    tree = commit.tree
    selection = Selection("files", f"commit {str(commit.id)[:12]}", [], commit=str(commit.id))
    for path in paths:
        try:
            obj = tree[path]
        except KeyError:
            continue
        if obj.type_str == "blob" and obj.filemode != 0o120000:
            selection.files.append(make_source(path, g.repo[obj.id].peel(pygit2.Blob).data))
    _read_tree(root, g, tree, selection)
    return selection


def _tree_paths(repo: object, tree: object, prefix: str) -> Iterator[tuple[str, str]]:
    """(path, blob id) of every blob under ``tree`` but symbolic links."""
    for item in tree:  # type: ignore[attr-defined]
        name = f"{prefix}{item.name}"
        if item.type_str == "tree":
            yield from _tree_paths(repo, repo[item.id], name + "/")  # type: ignore[index]
        elif item.type_str == "blob" and item.filemode != 0o120000:
            yield name, str(item.id)


def history_commits(root: Path, rev: str) -> list[str]:
    raw = git(root, "rev-list", "--reverse", "--no-merges", rev)
    return raw.decode().split()


def select_commit(root: Path, commit: str) -> Selection:
    """What one commit added relative to its first parent (or everything, for a root)."""
    parents = git(root, "rev-list", "--parents", "-n", "1", commit).decode().split()[1:]
    base = parents[0] if parents else _empty_tree(root)
    selection = select_diff(root, f"{base}..{commit}")
    selection.mode = "history"
    selection.subject = f"commit {commit[:12]}"
    return selection


def _empty_tree(root: Path) -> str:
    return git(root, "hash-object", "-w", "-t", "tree", "/dev/null").decode().strip()

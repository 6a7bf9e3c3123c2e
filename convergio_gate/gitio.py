"""The one place that talks to git: pygit2 for objects and refs, the git CLI for the
network (fetch, push) and for config that libgit2 and git must agree on.

Nothing here mocks or imitates git: refs are updated with libgit2's transactions, which
take the same ``<ref>.lock`` files git itself takes, so convergio-gate and a concurrent
``git fetch`` or ``git update-ref`` exclude each other correctly.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, FileStatus

from convergio_gate.errors import BusyError, GitError

STATE_DIR = ".convergio"
ZERO_OID = "0" * 40

_WT_CHANGED = (
    FileStatus.WT_NEW | FileStatus.WT_MODIFIED | FileStatus.WT_TYPECHANGE | FileStatus.WT_RENAMED
)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def signature(self) -> pygit2.Signature:
        return pygit2.Signature(self.name, self.email)


class Git:
    """A repository, opened once per command."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        # libgit2 checks, on every tree or commit written, that each object it names
        # exists. Ours only name objects we have just written or read, and the check
        # doubles the cost of an audit append; git itself does not make it.
        pygit2.settings.enable_strict_object_creation(False)

    @classmethod
    def discover(cls, start: Path | str = ".") -> Git:
        start = Path(start).resolve()
        try:
            found = pygit2.discover_repository(str(start))
        except pygit2.GitError as exc:
            raise GitError(f"cannot read a git repository at {start}: {exc}") from None
        if found is None:
            raise GitError(
                f"not a git repository (or any parent up to /): {start}",
                fix="run convergio-gate inside a git repository, or create one with `git init`",
            )
        try:
            return cls(pygit2.Repository(found))
        except pygit2.GitError as exc:
            raise GitError(f"cannot open the git repository at {found}: {exc}") from None

    # -- places ---------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        if self.repo.workdir is None:
            raise GitError(
                f"{self.repo.path} is a bare repository; this command needs a working tree",
                fix="run it in a clone with a working tree (`git clone` without --bare)",
            )
        return Path(self.repo.workdir)

    @property
    def git_dir(self) -> Path:
        return Path(self.repo.path)

    @property
    def common_dir(self) -> Path:
        """The directory shared by all worktrees (where refs and objects live)."""
        commondir = self.git_dir / "commondir"
        if commondir.is_file():
            return (self.git_dir / commondir.read_text().strip()).resolve()
        return self.git_dir

    @property
    def state_dir(self) -> Path:
        return self.workdir / STATE_DIR

    def private_dir(self, *parts: str) -> Path:
        """A directory of ours inside the git dir: never committed, shared by worktrees."""
        path = self.common_dir.joinpath("convergio", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- commits and trees ----------------------------------------------------------

    def head_commit(self) -> pygit2.Commit | None:
        if self.repo.head_is_unborn:
            return None
        try:
            obj = self.repo.head.peel(pygit2.Commit)
        except (pygit2.GitError, KeyError):
            return None
        return obj

    def resolve_commit(self, rev: str) -> pygit2.Commit:
        try:
            obj = self.repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise GitError(
                f"unknown revision '{rev}'",
                fix="name a commit, branch or tag that exists (`git log --oneline` lists them)",
            ) from None
        return commit

    def code_tree_of_tree(self, tree: pygit2.Tree) -> str:
        """The code tree: ``tree`` without the tool's own ``.convergio/`` directory."""
        if STATE_DIR not in tree:
            return str(tree.id)
        builder = self.repo.TreeBuilder(tree)
        builder.remove(STATE_DIR)
        return str(builder.write())

    def code_tree_of_commit(self, commit: pygit2.Commit) -> str:
        return self.code_tree_of_tree(commit.tree)

    def code_tree_of_worktree(self) -> str:
        """The tree git would commit after ``git add -A``, without ``.convergio/``.

        Staged changes, unstaged changes and untracked files that are not ignored all
        count; the real index is left untouched (the work happens on a private copy).
        """
        repo = pygit2.Repository(self.repo.path)
        index = repo.index
        index.read(force=True)
        if index.conflicts is not None:
            raise GitError(
                "the index has unresolved merge conflicts",
                fix="resolve them and `git add` the files, or `git merge --abort`",
            )
        prefix = STATE_DIR + "/"
        for path, flags in repo.status(untracked_files="all").items():
            if path.startswith(prefix) or not flags & (_WT_CHANGED | FileStatus.WT_DELETED):
                continue
            if flags & FileStatus.WT_DELETED:
                if path in index:
                    index.remove(path)
                continue
            if path in index and index[path].mode == FileMode.COMMIT:
                continue  # a submodule: its recorded commit is what git would commit
            full = self.workdir / path
            if full.is_dir() and not full.is_symlink():
                continue  # an untracked nested repository: git add -A would not descend
            index.add(path)
        with contextlib.suppress(pygit2.GitError, OSError, KeyError):
            index.remove_directory(STATE_DIR)
        return str(index.write_tree(repo))

    # -- identity ---------------------------------------------------------------------

    def identity(self) -> Identity:
        name = os.environ.get("GIT_COMMITTER_NAME") or self.config_get("user.name")
        email = os.environ.get("GIT_COMMITTER_EMAIL") or self.config_get("user.email")
        if not name or not email:
            missing = " and ".join(
                k for k, v in (("user.name", name), ("user.email", email)) if not v
            )
            raise GitError(
                f"no git identity: {missing} is not set, and convergio-gate signs every "
                "record it writes with it",
                fix='git config --global user.name "Your Name" && '
                "git config --global user.email you@example.com",
            )
        return Identity(name, email)

    def config_get(self, key: str) -> str | None:
        try:
            value = self.repo.config[key]
        except (KeyError, pygit2.GitError):
            return None
        return str(value)

    def config_get_all(self, key: str) -> list[str]:
        try:
            return [str(v) for v in self.repo.config.get_multivar(key)]
        except (KeyError, pygit2.GitError):
            return []

    def config_add(self, key: str, value: str) -> None:
        """Add a value to a multi-valued key in the repository's own config."""
        self.run(["config", "--local", "--add", key, value])

    def remotes(self) -> list[str]:
        return [r.name for r in self.repo.remotes if r.name]

    # -- refs -------------------------------------------------------------------------

    def read_ref(self, name: str) -> str | None:
        try:
            ref = self.repo.references.get(name)
        except (pygit2.GitError, ValueError):
            return None
        if ref is None:
            return None
        return str(ref.resolve().target)

    def refs_matching(self, prefix: str) -> list[str]:
        return [r for r in self.repo.references if r.startswith(prefix)]

    def cas_ref(
        self,
        name: str,
        new: str,
        expected: str | None,
        message: str,
        who: Identity | None = None,
    ) -> bool:
        """Set ``name`` to ``new`` if it still points at ``expected`` (None: absent).

        Takes git's own lock on the ref, so concurrent git processes are excluded too.
        Returns False when the ref moved or is locked by someone else right now.
        """
        if who is not None:
            self.repo.set_ident(who.name, who.email)  # the reflog's author
        try:
            with self.repo.transaction() as txn:
                txn.lock_ref(name)
                if _fresh_target(self.repo.path, name) != expected:
                    raise _Moved
                txn.set_target(name, pygit2.Oid(hex=new), message=message)
        except _Moved:
            return False
        except pygit2.GitError as exc:
            if "lock" in str(exc).lower() or "exists" in str(exc).lower():
                return False
            raise GitError(f"cannot update {name}: {exc}") from None
        return True

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        return bool(self.repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))

    # -- the git CLI ------------------------------------------------------------------

    def run(
        self, args: Sequence[str], *, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        cwd = self.repo.workdir or self.repo.path
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(f"`git {' '.join(args)}` failed: {proc.stderr.strip()}")
        return proc


class _Moved(Exception):
    """The ref we meant to update moved before we held its lock."""


def _fresh_target(git_dir: str, name: str) -> str | None:
    """Read a ref from disk, bypassing every cache (we hold its lock right now)."""
    repo = pygit2.Repository(git_dir)
    ref = repo.references.get(name)
    return None if ref is None else str(ref.resolve().target)


@contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an advisory lock on ``path`` or fail at once with BusyError naming ``what``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise BusyError(
                f"{what} is already in progress ({holder})",
                fix="wait for it to finish, then run the command again",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)

"""What a selection knows of its files without reading them: the blob id of what its
reader returns, from the tree, the index or a stat cache that never serves a stale id."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest
from helpers import git

from convergio_gate.gates import select
from convergio_gate.gates._base import ChangedWhileChecked, LazyFile, blob_oid

OLD = time.time_ns() - 3600 * 10**9


def write(root: Path, path: str, data: bytes, *, old: bool = True) -> None:
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(data)
    if old:
        os.utime(full, ns=(OLD, OLD))


def stats_file(root: Path) -> Path:
    return root / ".git" / "convergio" / "cache" / "stat.bin"


def test_the_stat_cache_answers_with_the_content_id(repo: Path) -> None:
    write(repo, "a.py", b"a = 1\n")
    write(repo, "b.py", b"b = 2\n")
    found = select.stat_oids(repo, ["a.py", "b.py", "gone.py"])
    assert found == {"a.py": blob_oid(b"a = 1\n"), "b.py": blob_oid(b"b = 2\n")}
    assert stats_file(repo).is_file()


def test_a_changed_file_is_hashed_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo, "a.py", b"a = 1\n")
    select.stat_oids(repo, ["a.py"])
    write(repo, "a.py", b"a = 22\n")  # new size and, whatever its mtime, a new ctime
    assert select.stat_oids(repo, ["a.py"]) == {"a.py": blob_oid(b"a = 22\n")}
    # same size, mtime put back as it was: the ctime (and inode) still tell
    write(repo, "a.py", b"a = 33\n")
    assert select.stat_oids(repo, ["a.py"]) == {"a.py": blob_oid(b"a = 33\n")}


def test_a_cached_id_is_not_read_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo, "a.py", b"a = 1\n")
    select.stat_oids(repo, ["a.py"])

    def no_read(*args: object, **kwargs: object) -> object:
        raise AssertionError("read again")

    monkeypatch.setattr("builtins.open", no_read)
    assert select.stat_oids(repo, ["a.py"]) == {"a.py": blob_oid(b"a = 1\n")}


def test_a_fresh_file_is_never_kept(repo: Path) -> None:
    """Rewritten within one timestamp tick of being hashed, its stat would not change."""
    write(repo, "a.py", b"a = 1\n", old=False)
    assert select.stat_oids(repo, ["a.py"]) == {"a.py": blob_oid(b"a = 1\n")}
    assert "a.py" not in select._load_stats(stats_file(repo))


def test_only_what_the_reader_returns(repo: Path) -> None:
    write(repo, "big.bin", b"x" * (select.MAX_FILE_BYTES + 1))
    write(repo, "real.py", b"r = 1\n")
    (repo / "link.py").symlink_to("real.py")
    (repo / "dir").mkdir()
    found = select.stat_oids(repo, ["big.bin", "link.py", "dir", "real.py"])
    assert found == {"real.py": blob_oid(b"r = 1\n")}


def test_a_damaged_stat_cache_is_ignored(repo: Path) -> None:
    write(repo, "a.py", b"a = 1\n")
    select.stat_oids(repo, ["a.py"])
    stats_file(repo).write_bytes(b"\x00garbage")
    assert select.stat_oids(repo, ["a.py"]) == {"a.py": blob_oid(b"a = 1\n")}


def test_each_mode_knows_the_ids_of_what_it_reads(repo: Path) -> None:
    write(repo, "app.py", b"def add(a, b):\n    return a + b\n")
    write(repo, "other.py", b"o = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "two")
    base = git(repo, "rev-parse", "HEAD").strip()
    # (written just now, not backdated: git itself trusts an old mtime of the same size)
    write(repo, "other.py", b"o = 2\n", old=False)  # staged
    git(repo, "add", "other.py")
    write(repo, "other.py", b"o = 3\n", old=False)  # and changed again in the work tree
    write(repo, "app.py", b"def add(a, b):\n    return b + a\n", old=False)  # unstaged
    paths = ["app.py", "other.py"]

    def check(selection: select.Selection) -> None:
        known = selection.known_oids(paths)
        for path in paths:
            data = selection.read_file(path)
            assert data is not None and known[path] == blob_oid(data), (selection.mode, path)

    check(select.select_staged(repo))
    check(select.select_files(repo, ["other.py"], repo))
    check(select.select_all(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "three")
    check(select.select_diff(repo, f"{base}..HEAD"))


def test_repo_dirs(repo: Path) -> None:
    (repo / "sub").mkdir()
    root, common = select.repo_dirs(repo / "sub")
    assert root == repo.resolve() or root == repo
    assert common.resolve() == (repo / ".git").resolve()


def age(root: Path) -> None:
    for path in root.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            os.utime(path, ns=(OLD, OLD))


def test_a_file_the_stat_cache_knows_is_read_only_when_asked_for(repo: Path) -> None:
    write(repo, "a.py", b"a = 1\n")
    write(repo, "tool", b"#!/usr/bin/env python3\nprint(1)\n")
    git(repo, "add", "-A")
    age(repo)
    first = {f.path: f for f in select.select_all(repo).files}
    assert not any(isinstance(f, LazyFile) for f in first.values())  # nothing cached yet
    again = {f.path: f for f in select.select_all(repo).files}
    assert all(isinstance(f, LazyFile) for f in again.values())
    assert all("data" not in vars(f) for f in again.values())
    assert again["tool"].language == "python"  # the #! line is kept with the id
    assert again["a.py"].oid == first["a.py"].oid and again["a.py"].size == 6
    assert again["a.py"].data == b"a = 1\n" and again["a.py"].lines == ["a = 1"]


def test_a_cached_header_stays_cpp_or_c_as_its_content_says(repo: Path) -> None:
    cpp = b"// widget\n#pragma once\n" + b"// license\n" * 40 + b"namespace ui {\nclass W {};\n}\n"
    write(repo, "widget.h", cpp)
    write(repo, "list.h", b'#ifdef __cplusplus\nextern "C" {\n#endif\nint len(void);\n')
    git(repo, "add", "-A")
    age(repo)
    headers = ("widget.h", "list.h")
    first = {f.path: f.language for f in select.select_all(repo).files if f.path in headers}
    again = [f for f in select.select_all(repo).files if f.path in headers]
    assert all(isinstance(f, LazyFile) for f in again)  # from the stat cache, unread
    assert {f.path: f.language for f in again} == first == {"widget.h": "cpp", "list.h": "c"}


def test_a_cached_file_keeps_the_language_its_modeline_names(repo: Path) -> None:
    write(
        repo, "completions/git", b"# bash completion for git  -*- shell-script -*-\n_git() { :; }\n"
    )
    write(repo, "tools/run", b"#!/opt/bin/tool\n# vim: set ft=python :\nprint(1)\n")
    write(repo, "notes", b"# -*- coding: utf-8 -*-\nplain text\n")
    git(repo, "add", "-A")
    age(repo)
    names = ("completions/git", "tools/run", "notes")
    first = {f.path: f.language for f in select.select_all(repo).files if f.path in names}
    again = [f for f in select.select_all(repo).files if f.path in names]
    assert all(isinstance(f, LazyFile) for f in again)  # from the stat cache, unread
    expected = {"completions/git": "bash", "tools/run": "python", "notes": None}
    assert {f.path: f.language for f in again} == first == expected


def test_a_file_that_changes_before_it_is_read_is_an_error(repo: Path) -> None:
    write(repo, "a.py", b"a = 1\n")
    git(repo, "add", "-A")
    age(repo)
    select.select_all(repo)
    (lazy,) = [f for f in select.select_all(repo).files if f.path == "a.py"]
    assert isinstance(lazy, LazyFile)
    (repo / "a.py").write_bytes(b"a = 2\n")
    with pytest.raises(ChangedWhileChecked, match=r"a\.py changed while it was being checked"):
        lazy.data  # noqa: B018
    (repo / "a.py").unlink()
    with pytest.raises(ChangedWhileChecked, match=r"a\.py"):
        lazy.data  # noqa: B018


def test_the_changed_file_error_crosses_a_process(repo: Path) -> None:
    error = pickle.loads(pickle.dumps(ChangedWhileChecked("x.py changed")))
    assert isinstance(error, ChangedWhileChecked)
    assert str(error) == "x.py changed\n  to fix: run the check again once nothing is writing to it"


def test_staged_selects_what_the_index_holds_and_names_what_it_skips(repo: Path) -> None:
    write(repo, "gone.py", b"x = 1\n")
    git(repo, "add", "gone.py")
    git(repo, "commit", "--quiet", "-m", "one to delete")
    git(repo, "rm", "--quiet", "gone.py")  # deleted: nothing to check
    write(repo, "dir with space/naïve.py", b"n = 1\n")
    write(repo, "run.sh", b"#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    os.symlink("run.sh", repo / "link.sh")
    write(repo, "app.py", b"def add(a, b):\n    return b + a\n")
    git(repo, "add", "-A")
    write(repo, "app.py", b"changed in the work tree only\n")  # the index's copy counts
    selection = select.select_staged(repo)
    contents = {f.path: f.data for f in selection.files}
    assert contents == {
        "app.py": b"def add(a, b):\n    return b + a\n",
        "dir with space/naïve.py": b"n = 1\n",
        "run.sh": b"#!/bin/sh\necho hi\n",
    }
    assert {f.path: f.oid for f in selection.files} == {p: blob_oid(d) for p, d in contents.items()}
    assert selection.skipped == [("link.sh", "a symbolic link or submodule")]


def test_staged_reads_the_rest_of_the_repository_from_the_index(repo: Path) -> None:
    write(repo, "lib.py", b"def helper():\n    return 1\n")
    write(repo, "use.py", b"import lib\n")
    write(repo, "link.py", b"x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    (repo / "link.py").unlink()
    os.symlink("lib.py", repo / "link.py")
    git(repo, "add", "link.py")
    # The caller exists only in the work tree: the commit would not record it.
    write(repo, "use.py", b"import lib\nlib.helper()\n", old=False)
    (repo / "lib.py").unlink()  # deleted in the work tree, not in the index
    selection = select.select_staged(repo)
    assert selection.read_file("use.py") == b"import lib\n"
    assert selection.read_file("lib.py") == b"def helper():\n    return 1\n"
    assert selection.read_file("link.py") is None  # a symbolic link in the index
    assert selection.read_file("never.py") is None
    assert {"lib.py", "use.py", "link.py"} <= set(selection.list_files())
    assert selection.known_oids(["use.py", "link.py"]) == {"use.py": blob_oid(b"import lib\n")}


def test_the_staged_reader_leaves_no_process_behind(repo: Path) -> None:
    import gc

    listing = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if not listing.exists():
        pytest.skip("needs /proc/<pid>/task/<tid>/children")
    write(repo, "a.py", b"a = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "a")
    write(repo, "b.py", b"b = 1\n")
    git(repo, "add", "b.py")
    before = set(listing.read_text().split())
    selection = select.select_staged(repo)
    assert selection.read_file("a.py") == b"a = 1\n"  # not staged: read from the index
    started = set(listing.read_text().split()) - before
    assert len(started) == 1  # the cat-file --batch
    del selection
    gc.collect()
    assert not started & set(listing.read_text().split())  # gone, and reaped


def test_blobs_are_read_in_one_batch_and_what_git_lacks_is_left_out(repo: Path) -> None:
    (repo / "a.txt").write_bytes(b"first\n")
    (repo / "b.bin").write_bytes(b"\0\n" * 3)
    git(repo, "add", "a.txt", "b.bin")
    a, b = blob_oid(b"first\n"), blob_oid(b"\0\n" * 3)
    missing = blob_oid(b"never added\n")
    found = select.read_blobs(repo, [a, missing, b, a])
    assert found == {a: b"first\n", b: b"\0\n" * 3}
    assert select.read_blobs(repo, []) == {}


def test_many_files_read_from_a_tree_come_in_one_batch(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range's reader gives what the commit holds; past the first few files read one
    by one, the rest come from one `git cat-file --batch` (and are the same)."""
    monkeypatch.setattr(select, "READ_AHEAD_AFTER", 3)
    for n in range(12):
        write(repo, f"m{n}.py", f"x = {n % 5}\n".encode())  # some contents twice
    write(repo, "link_target.py", b"y = 1\n")
    os.symlink("link_target.py", repo / "link.py")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "many")
    write(repo, "m0.py", b"changed in the work tree, not committed\n")
    batches: list[int] = []
    real = select.read_blobs

    def counting(root: Path, oids: list[str]) -> dict[str, bytes]:
        batches.append(len(oids))
        return real(root, oids)

    monkeypatch.setattr(select, "read_blobs", counting)
    selection = select.select_diff(repo, "HEAD~1..HEAD")
    paths = list(selection.list_files())
    known = selection.known_oids(paths)
    for path in [*paths, *paths]:
        data = selection.read_file(path)
        assert data is not None and blob_oid(data) == known[path], path
        assert data == git(repo, "show", f"HEAD:{path}").encode()
    assert len(batches) == 1 and batches[0] == len(paths)
    assert selection.read_file("link.py") == b"link_target.py"
    assert selection.read_file("nowhere.py") is None

"""Parsing: inside ``shared_trees`` the same bytes in the same language are parsed once."""

from __future__ import annotations

import pytest

from convergio_gate import lang


def test_one_tree_for_the_same_bytes_inside_shared_trees() -> None:
    data = b"def f():\n    return 1\n"
    with lang.shared_trees() as kept:
        first = lang.parse("python", data)
        assert lang.parse("python", data) is first
        assert lang.parse("bash", data) is not first  # another language, another tree
        assert lang.parse("python", bytes(data)) is not first  # other bytes, parsed anew
        kept.clear()
        assert lang.parse("python", data) is not first
        with lang.shared_trees() as inner:  # nested: the same mapping
            assert inner is kept
    assert lang.parse("python", data) is not lang.parse("python", data)


def test_a_shared_tree_reads_like_a_fresh_one() -> None:
    data = b"class A:\n    def run(self):\n        pass\n"
    fresh = lang.parse("python", data).root_node
    with lang.shared_trees():
        lang.parse("python", data)
        shared = lang.parse("python", data).root_node
    assert str(shared) == str(fresh)


@pytest.mark.parametrize(
    ("data", "language"),
    [
        (b"#pragma once\nnamespace fmt {\n", "cpp"),
        (b"/* x */\ntemplate <typename T>\nstruct Box { T v; };\n", "cpp"),
        (b"class Widget : public Base {\n public:\n  void draw();\n};\n", "cpp"),
        (b"#include <vector>\nint n;\n", "cpp"),
        (b"void f(std::string s);\n", "cpp"),
        (b'#ifdef __cplusplus\nextern "C" {\n#endif\nint len(const char *s);\n', "c"),
        (b"struct node *new;  /* class of the node */\n", "c"),
        (b"", "c"),
    ],
)
def test_a_header_is_cpp_only_when_it_shows_cpp(data: bytes, language: str) -> None:
    assert lang.detect("include/lib.h", data) == language
    assert lang.detect("src/lib.hpp", data) == "cpp"


@pytest.mark.parametrize(
    ("data", "language"),
    [
        (b"# bash completion for 2to3   -*- shell-script -*-\n_2to3() {\n", "bash"),
        (b"#!/opt/bin/runner\n# -*- mode: python; coding: utf-8 -*-\n", "python"),
        (b";; -*- Mode: Ruby -*-\n", "ruby"),
        (b"# vim: set ft=sh :\necho hi\n", "bash"),
        (b"// vi: filetype=javascript\n", "javascript"),
        (b"# -*- sh-mode -*-\n", "bash"),
        (b"# -*- coding: utf-8 -*-\nx = 1\n", None),  # a coding line names no language
        (b"# -*- mode: fundamental -*-\n", None),  # a mode we do not read
        (b"one\ntwo\n# -*- sh -*-\n", None),  # only the first two lines count
        (b"#!/usr/bin/env python3\n# vim: ft=sh\n", "python"),  # the #! line first
    ],
)
def test_a_modeline_names_the_language_of_a_file_without_a_known_extension(
    data: bytes, language: str | None
) -> None:
    assert lang.detect("completions/tool", data) == language
    assert lang.detect("tool.py", data) == "python"  # the extension comes first

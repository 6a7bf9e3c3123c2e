"""Patterns compiled on first use behave as the compiled pattern."""

from __future__ import annotations

import re

import pytest

from convergio_gate import lazyre


def test_compiled_on_first_use_then_the_same_pattern() -> None:
    pattern = lazyre.compile(r"(?P<word>[a-z]+)-(\d+)", re.I)
    assert "_compiled" not in vars(pattern)
    match = pattern.search("xx ABC-12")
    assert match is not None and match["word"] == "ABC" and match[2] == "12"
    assert pattern.pattern == r"(?P<word>[a-z]+)-(\d+)" and pattern.flags & re.I
    assert [m[0] for m in pattern.finditer("a-1 b-2")] == ["a-1", "b-2"]
    assert pattern.sub("_", "a-1 b") == "_ b"
    assert vars(pattern)["_compiled"] is re.compile(r"(?P<word>[a-z]+)-(\d+)", re.I)
    assert vars(pattern)["search"] == vars(pattern)["_compiled"].search  # no lookup hook now


def test_a_bad_pattern_fails_when_used() -> None:
    pattern = lazyre.compile(b"(unclosed")
    with pytest.raises(re.error):
        pattern.match(b"x")

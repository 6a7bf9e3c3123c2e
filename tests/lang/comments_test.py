"""Comments come from the parse tree, in every language, at the position an editor
shows; strings, heredocs, code samples and attribute values are not comments, and the
inputs that break naive scanners (multi-byte text, invalid UTF-8, CRLF, one huge line)
do not break this one."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_gate.gates._base import SourceFile, blob_oid
from convergio_gate.lang import GRAMMARS, detect, query
from convergio_gate.lang.comments import (
    Comment,
    Keywords,
    comment_spans,
    comments,
    excerpt,
    positions,
)


def source(path: str, data: bytes | str) -> SourceFile:
    raw = data.encode() if isinstance(data, str) else data
    return SourceFile(path, raw, blob_oid(raw), detect(path, raw))


def texts(path: str, data: bytes | str) -> list[str]:
    return [c.text for c in comments(source(path, data))]


#: (path, code, the comments it holds): one row per language, each with a comment
#: delimiter inside a string (or the language's equivalent) that must not count.
CASES = [
    ("a.py", 'x = "# no"  # yes\n"""doc # no"""\ny = f"{z}  # no"\n', ["# yes"]),
    (
        "a.js",
        'const s = "// no"; // yes\n/* block */\n/** doc */\nconst r = /\\/\\//;\n'
        "const t = `// ${x} /* no */`;\n",
        ["// yes", "/* block */", "/** doc */"],
    ),
    ("a.ts", "const s: string = '/* no */'; // yes\n", ["// yes"]),
    ("a.tsx", "const A = () => <div>// text {/* yes */}</div>;\n", ["/* yes */"]),
    (
        "a.go",
        'package a\n\n// yes\nvar s = "// no" /* block */\nvar r = `// raw`\n',
        ["// yes", "/* block */"],
    ),
    (
        "a.rs",
        '//! inner\n/// outer\n/* block */\nfn f() -> &\'static str { "// no" }\n',
        ["//! inner", "/// outer", "/* block */"],
    ),
    (
        "A.java",
        'class A { String s = "// no"; /** doc */ int x; // yes\n}\n',
        ["/** doc */", "// yes"],
    ),
    ("a.c", '/* yes */\nconst char *s = "/* no */"; // line\n', ["/* yes */", "// line"]),
    ("a.cpp", 'auto s = R"(// no)"; // yes\n', ["// yes"]),
    (
        "a.rb",
        'x = "# no" # yes\ny = "#{z}" # two\n=begin\nblock\n=end\n',
        ["# yes", "# two", "=begin\nblock\n=end"],
    ),
    ("a.sh", '#!/bin/sh\necho "# no" # yes\ncat <<EOF\n# heredoc\nEOF\n', ["#!/bin/sh", "# yes"]),
    ("a.yaml", 'a: "# no" # yes\nb: |\n  # block scalar\n', ["# yes"]),
    ("a.toml", 'a = "# no" # yes\n', ["# yes"]),
    ("Dockerfile", 'FROM x\n# yes\nRUN echo "# no"\n', ["# yes"]),
    (
        "a.md",
        "# Title\n\n<!-- yes -->\n\ntext `<!-- no -->` <!-- inline -->\n\n"
        "```html\n<!-- fenced -->\n```\n\n<div>\n<!-- in a block -->\n</div>\n",
        ["<!-- yes -->", "<!-- inline -->", "<!-- in a block -->"],
    ),
    (
        "a.html",
        '<!-- yes --><p title="<!-- no -->">x</p><script>\nvar s = "// no"; // js\n</script>\n',
        ["<!-- yes -->", "// js"],
    ),
]


@pytest.mark.parametrize(("path", "code", "expected"), CASES, ids=[c[0] for c in CASES])
def test_comments_are_found_and_strings_are_not(path: str, code: str, expected: list[str]) -> None:
    assert texts(path, code) == expected


def test_every_language_has_a_comments_query() -> None:
    assert {lang for lang in GRAMMARS if query(lang, "comments") is None} == set()
    assert {c[0] for c in CASES} and {detect(c[0]) for c in CASES} == set(GRAMMARS)


def test_positions_are_one_based_lines_and_character_columns() -> None:
    found = comments(source("a.py", 'x = "é€😀"  # after\n\n    # indented\n'))
    assert found == [
        Comment(line=1, column=12, end_line=1, text="# after"),
        Comment(line=3, column=5, end_line=3, text="# indented"),
    ]


def test_invalid_utf8_counts_as_the_replacement_characters_source_text_shows() -> None:
    data = b'x = "\xff\xfe\xc3"  # c\n'
    sf = source("a.py", data)
    (found,) = comments(sf)
    assert found.text == "# c"
    assert sf.text.split("\n")[0][found.column - 1 :] == "# c"


def test_crlf_line_endings() -> None:
    data = b"# one\r\nx = 1  # two\r\n/* not python */\r\n"
    assert [(c.line, c.column, c.text) for c in comments(source("a.py", data))] == [
        (1, 1, "# one"),
        (2, 8, "# two"),
    ]
    block = comments(source("a.c", b"int x;\r\n/* a\r\n   b */\r\nint y; // z\r\n"))
    assert [(c.line, c.end_line, c.column) for c in block] == [(2, 3, 1), (4, 4, 8)]
    assert block[1].text == "// z"


def test_rust_doc_comments_lose_their_line_break() -> None:
    (found,) = comments(source("a.rs", "/// doc\r\nfn f() {}\n"))
    assert (found.text, found.line, found.end_line) == ("/// doc", 1, 1)


def test_multiline_comment_end_line() -> None:
    (found,) = comments(source("a.js", "x;\n/*\n * a\n * b\n */\n"))
    assert (found.line, found.end_line) == (2, 5)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("a.py", b""),
        ("a.py", b"\x00\x01# not text\n"),
        ("notes.txt", b"# a comment in a language we do not parse\n"),
        ("a.unknownext", b"// x\n"),
    ],
)
def test_nothing_for_empty_binary_or_unknown_files(path: str, data: bytes) -> None:
    assert comments(source(path, data)) == []


def test_a_language_without_a_grammar_gives_nothing() -> None:
    assert comments(SourceFile("a.xyz", b"# x\n", blob_oid(b"# x\n"), "cobol")) == []


def test_keep_drops_comments_before_they_are_decoded() -> None:
    seen: list[bytes] = []

    def keep(raw: bytes) -> bool:
        seen.append(raw)
        return b"yes" in raw

    found = comments(source("a.py", "# no\n# yes\n"), keep=keep)
    assert [c.text for c in found] == ["# yes"]
    assert seen == [b"# no", b"# yes"]


def test_ranges_limit_the_search_to_overlapping_comments() -> None:
    code = "# one\nx = 1\n# two\ny = 2\n# three\n"
    start = code.index("# two")
    sf = source("a.py", code)
    assert [c.text for c in comments(sf, ranges=[(start + 2, start + 3)])] == ["# two"]
    assert [c.text for c in comments(sf, ranges=[(0, 1), (start, len(code))])] == [
        "# one",
        "# two",
        "# three",
    ]
    assert comments(sf, ranges=[]) == []


def test_spans_are_sorted_and_disjoint() -> None:
    sf = source("a.html", "<!-- a --><script>// b\n</script><!-- c -->\n")
    spans = comment_spans(sf)
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_positions_need_sorted_offsets() -> None:
    assert positions(b"ab\ncd", [0, 1, 3, 4]) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    with pytest.raises(ValueError, match="sorted"):
        positions(b"ab\ncd", [3, 1])


def test_comment_helpers_locate_text_inside_the_comment() -> None:
    comment = Comment(line=4, column=9, end_line=6, text="/* a\n * TODO b\n */")
    index = comment.text.index("TODO")
    assert comment.position(index) == (5, 4)
    assert comment.position(3) == (4, 12)
    assert comment.line_around(index) == (" * TODO b", 3)


def test_waiver_text_is_not_judged() -> None:
    comment = Comment(1, 1, 2, "# x convergio: allow todo -- TODO in #1\n# y")
    parts = [comment.text[a:b] for a, b in comment.judged()]
    assert parts == ["# x ", "\n# y"]


def test_excerpt_is_at_most_80_characters_and_keeps_the_match() -> None:
    line = "# " + "a" * 100 + " TODO: here " + "b" * 100
    short = excerpt(line, line.index("TODO"))
    assert len(short) <= 80
    assert "TODO: here" in short
    assert excerpt("  # short  ", 0) == "# short"


def test_keywords_match_exactly_or_in_any_case() -> None:
    words = Keywords(["TODO", "fixme"])
    assert words.found_in(b"x TODO y")
    assert not words.found_in(b"x todo y")
    assert words.found_in(b"x FixMe y")
    assert not Keywords([])
    assert sorted(words.occurrences(b"TODO fixme FIXME", b"todo fixme fixme")) == [0, 5, 11]


def test_one_huge_line_of_comments_is_linear() -> None:
    # 100k comments on one line, with a multi-byte character so that columns are counted
    # in characters: quadratic work here would take minutes.
    data = ("é" + "/*c*/ x;" * 100_000 + "\n").encode()
    started = time.perf_counter()
    found = comments(source("big.js", data))
    elapsed = time.perf_counter() - started
    assert len(found) == 100_000
    assert found[-1].column == 2 + 8 * 99_999
    assert elapsed < 20, f"{elapsed:.1f}s"


_LINE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters='"\\#\x85'
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_LINE, st.binary(max_size=4)), min_size=1, max_size=8))
def test_positions_agree_with_source_text(rows: list[tuple[str, bytes]]) -> None:
    """Whatever precedes a comment (any characters, invalid bytes), its line and column
    point at it in ``SourceFile.text`` split on newlines."""
    lines = []
    for n, (text, junk) in enumerate(rows):
        junk = bytes(b for b in junk if b >= 0x80)  # invalid UTF-8, never a delimiter
        lines.append(b'x = "' + text.encode() + junk + b'"  # c' + str(n).encode())
    sf = source("a.py", b"\n".join(lines) + b"\n")
    found = comments(sf)
    assert [c.text for c in found] == [f"# c{n}" for n in range(len(rows))]
    shown = sf.text.split("\n")
    for comment in found:
        assert shown[comment.line - 1][comment.column - 1 :] == comment.text

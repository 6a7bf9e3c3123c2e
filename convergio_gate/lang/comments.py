"""The comments of a source file, in every language convergio-gate parses.

Gates that judge what a comment says (debt markers, self-admitted stubs) must not be
fooled by the same words in a string literal, an identifier or a Python docstring, so
comments come from the parse tree, never from a regular expression over the text:
``rules/queries/<language>/comments.scm`` names the comment nodes of each grammar.
Two languages need more than a node: a Markdown comment is an HTML ``<!-- -->`` inside
an HTML block or a paragraph (``@html`` / ``@html.inline`` captures: the node's text is
searched), and the code of an HTML ``<script>`` is JavaScript (``@injection.javascript``:
parsed with that grammar).

Positions are what an editor shows: 1-based lines, and 1-based columns counted in
characters, computed from tree-sitter's byte offsets in one pass over the file (so a
multi-byte character before a comment, or a 5 MB file on one line, costs no more than
reading the file once). The text is decoded with ``errors="replace"``, as
``SourceFile.text`` is, and carries its delimiters but not a trailing line break.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convergio_gate.gates._base import SourceFile
from convergio_gate.lang import GRAMMARS, captures, parse, query

if TYPE_CHECKING:
    from tree_sitter import Node, Query, Tree

#: Node types that are comments in the grammars convergio-gate loads.
COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})

#: An HTML comment (an unterminated one runs to the end), and a Markdown code span.
HTML_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.DOTALL)
CODE_SPAN = re.compile(rb"(`+).+?\1", re.DOTALL)
#: An inline waiver (``convergio: allow RULE -- reason``): its text is never judged.
WAIVER = re.compile(r"convergio:\s*allow\b[^\n]*")
#: The longest preview a finding carries.
PREVIEW_WIDTH = 80

#: A comment as a byte range of the file: (start, end).
Span = tuple[int, int]


@dataclass(frozen=True)
class Comment:
    """One comment: where it starts and ends, and its text with its delimiters."""

    line: int
    column: int
    end_line: int
    text: str

    def position(self, index: int) -> tuple[int, int]:
        """The 1-based line and character column of ``text[index]`` in the file."""
        newline = self.text.rfind("\n", 0, index)
        if newline < 0:
            return self.line, self.column + index
        return self.line + self.text.count("\n", 0, index), index - newline

    def line_around(self, index: int) -> tuple[str, int]:
        """The line of ``text`` that holds ``text[index]``, and ``index`` within it."""
        start = self.text.rfind("\n", 0, index) + 1
        end = self.text.find("\n", index)
        line = self.text[start : len(self.text) if end < 0 else end]
        return line.rstrip("\r"), index - start

    def judged(self) -> list[tuple[int, int]]:
        """The parts of ``text`` a gate may judge: all of it but waiver text."""
        parts: list[tuple[int, int]] = []
        start = 0
        for waiver in WAIVER.finditer(self.text):
            parts.append((start, waiver.start()))
            start = waiver.end()
        parts.append((start, len(self.text)))
        return parts


def excerpt(line: str, index: int, width: int = PREVIEW_WIDTH) -> str:
    """At most ``width`` characters of ``line`` around ``line[index]``, for a preview;
    runs of whitespace are collapsed."""
    index -= len(line) - len(line.lstrip())
    line = line.strip()
    if len(line) > width:
        start = max(0, min(index - width // 4, len(line) - width + 1))
        line = line[start : start + width - 1] + "\u2026"
    return " ".join(line.split())


class Keywords:
    """A cheap pre-filter: literals of which a text must hold at least one.

    A keyword in lower case matches in any case (it is looked for in the lower-cased
    text), one with a capital matches exactly; keywords are ASCII, as ``bytes.lower``
    folds only ASCII. Looking for a few literals with ``in``
    runs at memory speed, so whole files and comments without any are skipped before
    they are parsed or searched with regular expressions.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        words = set(keywords)
        self.words = tuple(sorted(words))
        self.exact = tuple(sorted(w.encode() for w in words if w != w.lower()))
        self.folded = tuple(sorted(w.encode() for w in words if w == w.lower()))
        self._exact_only = tuple(w for w in self.exact if w.lower() not in self.folded)
        #: What :meth:`occurrences` looks for: (word, whether in the lower-cased text).
        self.searches = tuple(
            [(w, False) for w in self._exact_only] + [(w, True) for w in self.folded]
        )

    def __bool__(self) -> bool:
        return bool(self.exact or self.folded)

    def occurrences(
        self, data: bytes, lowered: bytes, memo: dict[tuple[bytes, bool], list[int]] | None = None
    ) -> list[int]:
        """Offsets of every keyword in ``data`` (``lowered`` is ``data.lower()``), sorted.

        An exact keyword whose lower case is also a folded one is not searched twice:
        the folded search finds it. ``memo`` keeps each keyword's offsets in this text
        for the next :class:`Keywords` asked about it (rules share keywords).
        """
        memo = {} if memo is None else memo
        out: list[int] = []
        for words, text, folded in ((self._exact_only, data, False), (self.folded, lowered, True)):
            for word in words:
                found = memo.get((word, folded))
                if found is None:
                    found = memo[(word, folded)] = _find_all(text, word)
                out.extend(found)
        out.sort()
        return out

    def found_in(self, data: bytes, lowered: bytes | None = None) -> bool:
        if any(word in data for word in self.exact):
            return True
        if not self.folded:
            return False
        if lowered is None:
            lowered = data.lower()
        return any(word in lowered for word in self.folded)


def _find_all(text: bytes, word: bytes) -> list[int]:
    """Every offset of ``word`` in ``text``, overlapping ones too."""
    found: list[int] = []
    at = text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


#: How each language's comments start, where that is all it takes to tell where they can
#: be: ``hash`` (``#`` to the end of the line), ``slashes`` (``//`` to the end of the
#: line, ``/*`` to the first ``*/``). Not here: C and C++ (a backslash continues a ``//``
#: comment onto the next line), Rust (block comments nest), Ruby (``=begin``), HTML and
#: Markdown.
COMMENT_STARTS = {
    "python": "hash",
    "bash": "hash",
    "yaml": "hash",
    "toml": "hash",
    "dockerfile": "hash",
    "javascript": "slashes",
    "typescript": "slashes",
    "tsx": "slashes",
    "go": "slashes",
    "java": "slashes",
}
_HASH_COMMENT = re.compile(rb"#[^\n]*")
_LINE_COMMENT = re.compile(rb"//[^\n]*")


def comment_regions(language: str, data: bytes) -> list[Span] | None:
    """Byte ranges, sorted and apart, that hold every comment of ``data``: from each
    comment start to where such a comment would end (a start inside a string makes a
    range too, so they hold more than the comments). None when ``language``'s comments
    cannot be told by their start (:data:`COMMENT_STARTS`)."""
    global _LAST_REGIONS
    last = _LAST_REGIONS
    if last is not None and last[1] is data and last[0] == language:
        return last[2]  # the same file, asked again by the next gate
    regions = _comment_regions(language, data)
    _LAST_REGIONS = (language, data, regions)
    return regions


#: The last answer of :func:`comment_regions`: the debt and stub gates ask it of the
#: same file one after the other (callers do not change the list).
_LAST_REGIONS: tuple[str, bytes, list[Span] | None] | None = None


def _comment_regions(language: str, data: bytes) -> list[Span] | None:
    starts = COMMENT_STARTS.get(language)
    if starts is None:
        return None
    if starts == "hash":
        return [m.span() for m in _HASH_COMMENT.finditer(data)]
    spans = [m.span() for m in _LINE_COMMENT.finditer(data)]
    at = data.find(b"/*")
    if at < 0:
        return spans
    while at >= 0:  # every opening, even one inside another range: ranges merge below
        close = data.find(b"*/", at + 2)
        spans.append((at, len(data) if close < 0 else close + 2))
        at = data.find(b"/*", at + 2)
    spans.sort()
    merged: list[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def occurrences_in(
    regions: Sequence[Span], data: bytes, keywords: Iterable[Keywords]
) -> dict[tuple[bytes, bool], list[int]]:
    """Where each keyword of ``keywords`` occurs inside ``regions`` of ``data``, as
    :meth:`Keywords.occurrences` keeps them in its ``memo`` (offsets in ``data``): the
    regions are searched joined, which is as fast as their share of the file is small."""
    joined = b"\0".join(data[start:end] for start, end in regions)  # no keyword holds \0
    lowered = joined.lower()
    memo: dict[tuple[bytes, bool], list[int]] = {}
    for words in keywords:  # as Keywords.occurrences fills its memo, each word once
        for key in words.searches:
            if key not in memo:
                memo[key] = _find_all(lowered if key[1] else joined, key[0])
    if not any(memo.values()):
        return memo
    starts: list[int] = []  # where each region starts in ``joined``
    position = 0
    for start, end in regions:
        starts.append(position)
        position += end - start + 1
    out: dict[tuple[bytes, bool], list[int]] = {}
    for key, found in memo.items():
        places = out[key] = []
        for at in found:
            i = bisect_right(starts, at) - 1
            places.append(regions[i][0] + at - starts[i])
    return out


def is_comment(node: Node) -> bool:
    return node.type in COMMENT_TYPES


def comments(
    source: SourceFile,
    tree: Tree | None = None,
    *,
    keep: Callable[[bytes], bool] | None = None,
    ranges: Sequence[Span] | None = None,
) -> list[Comment]:
    """Every comment of ``source``, in file order; [] for unknown or binary files.

    ``tree`` is the file's parse tree when the caller already has one (one parse per
    file); ``keep`` sees each comment's raw bytes and drops those it returns False for
    before any decoding or position work is done; ``ranges`` (byte ranges) limits the
    search to comments that overlap one of them, which spares walking a big file's
    whole tree when the caller knows where to look.
    """
    spans = comment_spans(source, tree, ranges)
    if keep is not None:
        data = source.data
        spans = [(start, end) for start, end in spans if keep(data[start:end])]
    return from_spans(source.data, spans)


def comment_spans(
    source: SourceFile, tree: Tree | None = None, ranges: Sequence[Span] | None = None
) -> list[Span]:
    """The byte ranges of the comments of ``source``, sorted, without overlaps."""
    lang = source.language
    if lang is None or lang not in GRAMMARS or not source.data or source.is_binary:
        return []
    return _spans(lang, source.data, tree, ranges)


def _spans(
    lang: str, data: bytes, tree: Tree | None, ranges: Sequence[Span] | None = None
) -> list[Span]:
    compiled = query(lang, "comments")
    if compiled is None:
        return []
    if tree is None:
        tree = parse(lang, data)
    found = captures_in(compiled, tree.root_node, ranges)
    spans: list[Span] = [(node.start_byte, node.end_byte) for node in found.get("comment", ())]
    for node in found.get("html", ()):
        spans.extend(_html_comments(data, node.start_byte, node.end_byte, blank_code=False))
    for node in found.get("html.inline", ()):
        spans.extend(_html_comments(data, node.start_byte, node.end_byte, blank_code=True))
    for name, nodes in found.items():
        if name.startswith("injection."):
            for node in nodes:
                spans.extend(_injected(name.removeprefix("injection."), data, node))
    return _trimmed(data, sorted(set(spans)))


def captures_in(
    compiled: Query, root: Node, ranges: Sequence[Span] | None
) -> dict[str, list[Node]]:
    """``lang.captures``, limited to nodes that overlap ``ranges`` (all if None)."""
    if ranges is None:
        return captures(compiled, root)
    from tree_sitter import QueryCursor

    found: dict[str, list[Node]] = {}
    for start, end in _merged(ranges):
        cursor = QueryCursor(compiled)
        cursor.set_byte_range(start, end)
        for name, nodes in cursor.captures(root).items():
            found.setdefault(name, []).extend(nodes)
    return found


def _merged(ranges: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _html_comments(data: bytes, start: int, end: int, *, blank_code: bool) -> list[Span]:
    if data.find(b"<!--", start, end) < 0:
        return []
    text = data[start:end]
    if blank_code:
        text = CODE_SPAN.sub(lambda m: b" " * len(m[0]), text)
    return [(start + m.start(), start + m.end()) for m in HTML_COMMENT.finditer(text)]


def _injected(lang: str, data: bytes, node: Node) -> list[Span]:
    """Comments of embedded code (a <script>), parsed with its own grammar."""
    if lang not in GRAMMARS or node.end_byte <= node.start_byte:
        return []
    offset = node.start_byte
    inner = _spans(lang, data[offset : node.end_byte], None)
    return [(start + offset, end + offset) for start, end in inner]


def _trimmed(data: bytes, spans: Iterable[Span]) -> list[Span]:
    """Spans without a trailing line break (Rust doc comments carry one), no overlaps."""
    out: list[Span] = []
    last_end = -1
    for start, end in spans:
        while end > start and data[end - 1] in b"\r\n":
            end -= 1
        if end > start and start >= last_end:
            out.append((start, end))
            last_end = end
    return out


def from_spans(data: bytes, spans: Sequence[Span]) -> list[Comment]:
    """Comments for byte ranges of ``data`` (sorted, not overlapping)."""
    places = positions(data, [start for start, _ in spans])
    out: list[Comment] = []
    for (start, end), (line, column) in zip(spans, places, strict=True):
        text = data[start:end].decode("utf-8", errors="replace")
        out.append(Comment(line=line, column=column, end_line=line + text.count("\n"), text=text))
    return out


def positions(data: bytes, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """The 1-based line and character column of each byte offset (sorted ascending).

    One linear pass: the cursor (``pos``, its ``line`` and character ``column``) only
    moves forward; newlines are counted between consecutive offsets, and characters
    from the previous offset when the next one is on the same line, so neither a long
    file nor a long line makes the work quadratic. Offsets must fall on character
    boundaries (tree-sitter's node boundaries do).
    """
    ascii_only = data.isascii()
    pos, line, column = 0, 1, 1
    out: list[tuple[int, int]] = []
    for offset in offsets:
        if offset < pos:
            raise ValueError("offsets must be sorted")
        newline = data.rfind(b"\n", pos, offset)
        if newline < 0:
            column += _width(data, pos, offset, ascii_only)
        else:
            line += data.count(b"\n", pos, newline + 1)
            column = 1 + _width(data, newline + 1, offset, ascii_only)
        pos = offset
        out.append((line, column))
    return out


def _width(data: bytes, start: int, end: int, ascii_only: bool) -> int:
    """How many characters bytes ``start:end`` decode to (as ``SourceFile.text`` does)."""
    if ascii_only:
        return end - start
    return len(data[start:end].decode("utf-8", errors="replace"))

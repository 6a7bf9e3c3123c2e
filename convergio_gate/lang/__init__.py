"""Languages: which one a file is in, and tree-sitter parsers and queries for it.

Grammars come from the per-language wheels (``tree-sitter-python`` ...) and are loaded
only when a file of that language is checked, so a commit that touches Python never
loads the Rust grammar. Queries live in ``rules/queries/<language>/<name>.scm``.
"""

from __future__ import annotations

import importlib
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from convergio_gate import lazyre

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Query, Tree

#: language -> (module, function returning the grammar)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "bash": ("tree_sitter_bash", "language"),
    "yaml": ("tree_sitter_yaml", "language"),
    "toml": ("tree_sitter_toml", "language"),
    "html": ("tree_sitter_html", "language"),
    "markdown": ("tree_sitter_markdown", "language"),
    "dockerfile": ("tree_sitter_dockerfile", "language"),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",  # ".h" is C or C++: see detect()
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    ".ksh": "bash",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".toml": "toml",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".dockerfile": "dockerfile",
}

FILENAMES: dict[str, str] = {
    "Dockerfile": "dockerfile",
    "Containerfile": "dockerfile",
    "Gemfile": "ruby",
    "Rakefile": "ruby",
    ".bashrc": "bash",
    ".bash_profile": "bash",
    ".profile": "bash",
}

SHEBANGS: dict[str, str] = {
    "python": "python",
    "python3": "python",
    "python2": "python",
    "node": "javascript",
    "deno": "typescript",
    "ts-node": "typescript",
    "bash": "bash",
    "sh": "bash",
    "zsh": "bash",
    "dash": "bash",
    "ksh": "bash",
    "ruby": "ruby",
}


#: What only C++ says at the start of a line (a ``.h`` file is C or C++): a namespace,
#: a template, an access specifier, ``using namespace``, a class with a body, a C++
#: standard header. ``extern "C"`` is not one: C headers use it to serve C++.
CPP_LINE = lazyre.compile(
    rb"^[ \t]*(?=[nptuc#])(?:namespace(?:[ \t]+[\w:]+)?[ \t]*\{|template[ \t]*<"
    rb"|(?:public|private|protected)[ \t]*:|using[ \t]+namespace\b|class[ \t]+\w+[^;\n(]*\{"
    rb"|#[ \t]*include[ \t]*<(?:iostream|string|vector|memory|map|utility|type_traits|cstddef"
    rb"|cstdint|cstdlib|cstring|algorithm|functional|array|tuple|optional|variant|chrono"
    rb"|thread|mutex|atomic)>)",
    re.M,
)


def cpp_hint(data: bytes) -> bytes | None:
    """What in ``data`` shows C++ (``std::`` anywhere, or a :data:`CPP_LINE`), else
    None: a few milliseconds for a large C header."""
    if b"std::" in data:
        return b"std::"
    found = CPP_LINE.search(data)
    return found.group() if found is not None else None


def rust_attributes(item: Node) -> list[Node]:
    """The outer attributes written above a Rust item (``#[cfg(unix)]``), nearest first;
    comments between them are skipped."""
    found = []
    sibling = item.prev_named_sibling
    while sibling is not None and sibling.type in (
        "attribute_item",
        "line_comment",
        "block_comment",
    ):
        if sibling.type == "attribute_item":
            found.append(sibling)
        sibling = sibling.prev_named_sibling
    return found


def detect(path: str, head: bytes = b"") -> str | None:
    """The language of ``path``: by name, by extension, then by a ``#!`` line. A ``.h``
    file is C++ when ``head`` (give the whole file) shows C++ (:func:`cpp_hint`), else C:
    C++ projects name their headers ``.h`` as often as ``.hpp``, and the C grammar reads
    a class or a template as nonsense."""
    name = path.rsplit("/", 1)[-1]
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith(("Dockerfile.", "Containerfile.")):
        return "dockerfile"
    _, ext = os.path.splitext(name)
    ext = ext.lower()
    if ext == ".h":
        return "cpp" if cpp_hint(head) is not None else "c"
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    if head.startswith(b"#!"):
        first = head[:256].split(b"\n", 1)[0].decode("utf-8", "replace").split()
        if first:
            prog = first[0].rsplit("/", 1)[-1]
            if prog == "env":
                args = [a for a in first[1:] if not a.startswith("-")]
                prog = args[0] if args else ""
            found = SHEBANGS.get(prog.rstrip("0123456789.") or prog) or SHEBANGS.get(prog)
            if found is not None:
                return found
    return _mode_of(_first_lines(head))


#: An editor's modeline: Emacs ``-*- mode: sh -*-`` or ``-*- shell-script -*-``, Vim
#: ``vim: set ft=python :`` (also ``vi:`` and ``ex:``, ``filetype=``, ``syntax=``).
MODELINE = lazyre.compile(
    rb"-\*-(?:[^\n]*?\b[Mm]ode:[ \t]*([\w+-]+)|[ \t]*([\w+-]+)[ \t]*-\*-)"
    rb"|(?<![\w-])(?:vim?|ex):[^\n]*?(?<![\w-])(?:ft|filetype|syntax)=([\w+-]+)"
)
#: Modeline modes (Emacs major modes without ``-mode``, Vim file types) -> language.
MODES: dict[bytes, str] = {
    **dict.fromkeys([b"sh", b"shell-script", b"bash", b"zsh", b"ksh"], "bash"),
    **dict.fromkeys([b"python", b"python3"], "python"),
    **dict.fromkeys([b"js", b"js2", b"js3", b"javascript"], "javascript"),
    **dict.fromkeys([b"typescript"], "typescript"),
    **dict.fromkeys([b"ruby", b"enh-ruby"], "ruby"),
    **dict.fromkeys([b"go"], "go"),
    **dict.fromkeys([b"rust", b"rustic"], "rust"),
    **dict.fromkeys([b"java"], "java"),
    **dict.fromkeys([b"c"], "c"),
    **dict.fromkeys([b"c++", b"cpp"], "cpp"),
    **dict.fromkeys([b"yaml"], "yaml"),
    **dict.fromkeys([b"toml", b"conf-toml"], "toml"),
    **dict.fromkeys([b"dockerfile"], "dockerfile"),
    **dict.fromkeys([b"markdown", b"gfm"], "markdown"),
    **dict.fromkeys([b"html", b"mhtml"], "html"),
}
#: How far into a file its first two lines, where a modeline is looked for, may reach.
MODELINE_BYTES = 512


def modeline(data: bytes) -> bytes:
    """The first two lines of ``data`` when one holds a modeline naming a language we
    read (a file with no extension we know: ``completions/git``, ``# -*- sh -*-``), else
    b"". Only the start of a file is looked at, as Emacs does."""
    lines = _first_lines(data)
    return b"\n".join(lines) if _mode_of(lines) is not None else b""


def _first_lines(data: bytes) -> list[bytes]:
    """The first two lines of ``data``, within its first :data:`MODELINE_BYTES`."""
    return data[:MODELINE_BYTES].split(b"\n", 2)[:2]


def _mode_of(lines: list[bytes]) -> str | None:
    """The language a modeline in ``lines`` names, if any."""
    for line in lines:
        found = MODELINE.search(line)
        if found is not None:
            mode = (found.group(1) or found.group(2) or found.group(3)).lower()
            if mode.endswith(b"-mode"):
                mode = mode[: -len(b"-mode")]
            return MODES.get(mode)
    return None


@cache
def language(name: str) -> Language:
    """The tree-sitter grammar for ``name``, loaded on first use."""
    from tree_sitter import Language

    module_name, function = GRAMMARS[name]
    module = importlib.import_module(module_name)
    with warnings.catch_warnings():
        # Some grammar wheels still hand tree-sitter an int pointer, which it accepts
        # with a DeprecationWarning; the grammar itself is fine.
        warnings.simplefilter("ignore", DeprecationWarning)
        return Language(getattr(module, function)())


@cache
def parser(name: str) -> Parser:
    from tree_sitter import Parser

    return Parser(language(name))


#: Trees kept for re-use inside :func:`shared_trees`: id(data) -> (language, data, tree).
_KEPT: dict[int, tuple[str, bytes, Tree]] | None = None


def parse(name: str, data: bytes) -> Tree:
    """``data`` parsed as ``name``; inside :func:`shared_trees`, parsed once."""
    kept = _KEPT
    if kept is None:
        return parser(name).parse(data)
    entry = kept.get(id(data))
    if entry is not None and entry[0] == name and entry[1] is data:
        return entry[2]
    tree = parser(name).parse(data)
    kept[id(data)] = (name, data, tree)
    return tree


@contextmanager
def shared_trees() -> Iterator[dict[int, tuple[str, bytes, Tree]]]:
    """While inside, every gate that parses the same bytes as the same language gets the
    same tree (nothing here edits a tree, so one can serve them all). The caller clears
    the yielded mapping when it moves on to another file, to keep memory to one file's
    trees; all are dropped on leaving. Nested uses share the outer mapping."""
    global _KEPT
    if _KEPT is not None:
        yield _KEPT
        return
    _KEPT = {}
    try:
        yield _KEPT
    finally:
        _KEPT = None


@cache
def query(name: str, query_name: str) -> Query | None:
    """``rules/queries/<name>/<query_name>.scm`` compiled for ``name``; None if absent."""
    from tree_sitter import Query

    source = query_source(name, query_name)
    if source is None:
        return None
    compiled: Query = Query(language(name), source)
    return compiled


#: Grammars whose node types are another's, so they share its query files.
SHARED_QUERIES = {"tsx": "typescript"}


def query_source(name: str, query_name: str) -> str | None:
    folder = SHARED_QUERIES.get(name, name)
    path = resources.files("convergio_gate.rules") / "queries" / folder / f"{query_name}.scm"
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def captures(compiled: Query, node: Node) -> dict[str, list[Node]]:
    from tree_sitter import QueryCursor

    return QueryCursor(compiled).captures(node)


def matches(compiled: Query, node: Node) -> list[tuple[int, dict[str, list[Node]]]]:
    from tree_sitter import QueryCursor

    return QueryCursor(compiled).matches(node)


def matches_in(
    compiled: Query, node: Node, ranges: Sequence[tuple[int, int]]
) -> list[tuple[int, dict[str, list[Node]]]]:
    """The matches of ``compiled`` under ``node`` that have a node overlapping one of
    the byte ``ranges`` (sorted, not overlapping), each once. The cursor skips every
    subtree outside a range, so a few small ranges cost a fraction of a whole-tree
    pass; a match is returned whole, with its captures outside the range too."""
    from tree_sitter import QueryCursor

    out: list[tuple[int, dict[str, list[Node]]]] = []
    seen: set[tuple[int, tuple[tuple[str, tuple[int, ...]], ...]]] = set()
    for start, end in ranges:
        cursor = QueryCursor(compiled)
        cursor.set_byte_range(start, end)
        for index, captured in cursor.matches(node):
            key = (index, tuple((k, tuple(n.id for n in v)) for k, v in captured.items()))
            if key not in seen:
                seen.add(key)
                out.append((index, captured))
    return out

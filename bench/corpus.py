"""Generate a labeled corpus for the code gates (debt, stub, secret, wire).

    python bench/corpus.py --out /tmp/gate-corpus [--seed 7] [--scale 1]

Writes ``OUT/repo/`` (the files to check; ``bench/quality.py`` makes it a git repo) and
``OUT/manifest.json``: one label per item, ``{id, gate, expected, file, line, start,
end, language, category, ...}``. ``expected`` is ``positive`` (the gate must refuse the
item) or ``negative`` (a hard negative: the gate must not). A finding of the gate
matches an item when it is in the item's file and its line is the item's ``line`` or
lies within ``start..end`` (a function's whole body, a key block).

Everything is generated from templates x names x contexts with a seeded RNG, so the
same seed gives the same corpus byte for byte. Nothing is copied from the rules' own
samples (``rules/*.yaml``): the vocabularies, names and layouts here are independent,
so the benchmark measures detection, not memorisation of the samples.

Every credential-looking value is random bytes shaped to a provider's public format
(prefix, alphabet, length); none is, or was, a real credential. The repository's own
secret gate should be told to skip ``bench/results/`` and any corpus written inside it
(write the corpus outside the repository, as the default does).

Layout: ``repo/debt/<language>/...``, ``repo/stub/<language>/...``,
``repo/secret/<context>/...``, ``repo/wire/<language>/<item>/...``. The wire gate
reads the whole repository for references, so every identifier the generator makes up
is unique across the corpus: a name is referenced only where the generator says so.
"""

# ruff: noqa: E501 -- templates of generated code read best on one line each
# convergio: allow-file secret -- a benchmark corpus generator: every credential-like literal is a template or a documented example
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import shutil
import string
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------- infra


@dataclass
class Label:
    gate: str
    expected: str  # positive | negative
    category: str
    at: int = 0  # line of the snippet (0-based) where the finding is expected
    span: tuple[int, int] | None = None  # lines of the snippet the item covers
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileBuilder:
    path: str
    language: str
    lines: list[str] = field(default_factory=list)
    labels: list[tuple[int, Label]] = field(default_factory=list)

    @property
    def next_line(self) -> int:
        return len(self.lines) + 1

    def add(self, text: str, *labels: Label) -> int:
        """Append ``text`` (one or more lines); returns its first line number (1-based)."""
        start = self.next_line
        chunk = text.split("\n")
        self.lines.extend(chunk)
        for label in labels:
            self.labels.append((start, label))
        return start

    def blank(self) -> None:
        self.lines.append("")


class Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, FileBuilder] = {}
        self.raw: dict[str, str] = {}
        self.items: list[dict[str, Any]] = []

    def file(self, path: str, language: str) -> FileBuilder:
        if path in self.files or path in self.raw:
            raise ValueError(f"duplicate path {path}")
        fb = FileBuilder(path, language)
        self.files[path] = fb
        return fb

    def write_raw(self, path: str, text: str) -> None:
        if path in self.files or path in self.raw:
            raise ValueError(f"duplicate path {path}")
        self.raw[path] = text

    def label(self, path: str, line: int, start: int, end: int, language: str, lab: Label) -> None:
        self.items.append(
            {
                "gate": lab.gate,
                "expected": lab.expected,
                "file": path,
                "line": line,
                "start": start,
                "end": end,
                "language": language,
                "category": lab.category,
                **lab.extra,
            }
        )

    def flush(self) -> None:
        for fb in self.files.values():
            for start, lab in fb.labels:
                span = lab.span or (lab.at, lab.at)
                self.label(
                    fb.path, start + lab.at, start + span[0], start + span[1], fb.language, lab
                )
        for path, fb in self.files.items():
            self.raw[path] = "\n".join(fb.lines).rstrip("\n") + "\n"
        self.files.clear()
        for path, text in sorted(self.raw.items()):
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for n, item in enumerate(self.items):
            item["id"] = f"{item['gate']}-{n:05d}"


VERBS = [
    "parse",
    "load",
    "build",
    "render",
    "compute",
    "resolve",
    "fetch",
    "store",
    "encode",
    "decode",
    "merge",
    "split",
    "normalize",
    "validate",
    "format",
    "collect",
    "refresh",
    "sync",
    "index",
    "score",
    "rank",
    "filter",
    "group",
    "flatten",
    "export",
    "import",
    "publish",
    "schedule",
    "dispatch",
    "reconcile",
    "archive",
    "compress",
    "expand",
    "migrate",
    "persist",
    "hydrate",
    "serialize",
    "tokenize",
    "summarize",
    "enqueue",
    "drain",
    "rotate",
    "audit",
]
NOUNS = [
    "invoice",
    "ledger",
    "shipment",
    "tariff",
    "coupon",
    "voucher",
    "customer",
    "account",
    "receipt",
    "order",
    "basket",
    "catalog",
    "inventory",
    "warehouse",
    "parcel",
    "route",
    "carrier",
    "manifest",
    "payroll",
    "timesheet",
    "badge",
    "tenant",
    "quota",
    "webhook",
    "bucket",
    "snapshot",
    "journal",
    "cursor",
    "batch",
    "segment",
    "cohort",
    "forecast",
    "budget",
    "payout",
    "refund",
    "dispute",
    "rebate",
    "mileage",
    "itinerary",
    "booking",
    "seat",
    "venue",
    "ticket",
    "playlist",
    "episode",
    "podcast",
    "lyric",
    "chapter",
    "glossary",
    "footnote",
    "citation",
    "rubric",
    "transcript",
    "syllabus",
    "roster",
    "harvest",
    "orchard",
    "greenhouse",
    "sensor",
    "gauge",
    "turbine",
    "valve",
]
QUALIFIERS = [
    "daily",
    "pending",
    "stale",
    "remote",
    "local",
    "cached",
    "nested",
    "partial",
    "weighted",
    "legacy",
    "primary",
    "secondary",
    "regional",
    "nightly",
    "hourly",
    "draft",
    "archived",
    "merged",
    "verified",
    "raw",
]


class Names:
    """Unique multi-word identifiers: no two calls return the same words."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, ...]] = set()

    def words(self, n: int | None = None) -> tuple[str, ...]:
        for _ in range(10_000):
            k = n or self.rng.choice((2, 3, 3))
            if k == 2:
                w = (self.rng.choice(VERBS), self.rng.choice(NOUNS))
            else:
                w = (self.rng.choice(VERBS), self.rng.choice(QUALIFIERS), self.rng.choice(NOUNS))
            if w not in self.used:
                self.used.add(w)
                return w
        raise RuntimeError("name space exhausted")

    def noun_words(self) -> tuple[str, ...]:
        for _ in range(10_000):
            w = (
                self.rng.choice(QUALIFIERS),
                self.rng.choice(NOUNS),
                self.rng.choice(
                    (
                        "service",
                        "store",
                        "client",
                        "builder",
                        "registry",
                        "view",
                        "model",
                        "report",
                        "engine",
                        "policy",
                    )
                ),
            )
            if w not in self.used:
                self.used.add(w)
                return w
        raise RuntimeError("name space exhausted")

    def snake(self) -> str:
        return "_".join(self.words())

    def camel(self) -> str:
        w = self.words()
        return w[0] + "".join(x.title() for x in w[1:])

    def pascal(self) -> str:
        return "".join(x.title() for x in self.noun_words())

    def pascal_verb(self) -> str:
        return "".join(x.title() for x in self.words())


_UID = iter(range(1, 10**9))


def uid() -> int:
    """A number never returned before (statement and variable names stay unique)."""
    return next(_UID)


def pick(rng: random.Random, seq: list[Any] | tuple[Any, ...]) -> Any:
    return seq[rng.randrange(len(seq))]


# ------------------------------------------------------------------------------ debt

TASKS = """handle the empty page case | retry when the broker times out | validate the
postcode before saving | close the cursor on error | paginate the export | support
negative amounts | cache the tariff lookup | drop the legacy flag | use the new auth
client | stream instead of buffering the file | make the batch size configurable |
sort by creation date | escape the CSV fields | log the rejected rows | check the
currency matches | release the lock on timeout | split this into two queries |
deduplicate the recipients | respect the rate limit | convert to UTC first | guard
against a zero divisor | handle daylight saving | clean up the temp directory |
wire the metrics exporter | remove the debug output | localise the error text |
propagate the request id | reuse the HTTP session | bound the retry loop | read the
region from config""".replace("\n", " ").split(" | ")
TASKS = [t.strip() for t in TASKS]
WARNINGS = """assumes the list is sorted | not safe across threads | breaks on leap
years | relies on dict ordering | silently truncates long names | leaks the file
handle | shares state between requests | ignores the timezone | swallows the
original error | depends on the locale""".replace("\n", " ").split(" | ")
WARNINGS = [w.strip() for w in WARNINGS]
OWNERS = ["mara", "jdoe", "k.ito", "pwright", "ops-team", "lena", "ahmed", "sz"]
ISSUES = [
    "the upstream parser bug",
    "the flaky DNS resolver",
    "the old API version",
    "the vendor SDK crash",
    "the slow index",
    "the proxy timeout",
]
DECISIONS = [
    "which queue backs the retries",
    "the default page size",
    "whether refunds are partial",
    "the retention period",
    "the owner of this job",
]


def debt_positive_texts(rng: random.Random) -> list[tuple[str, str, str]]:
    """(marker rule, form, comment text) for positives; form 'lead' = marker starts it."""

    def t() -> str:
        return str(pick(rng, TASKS))

    def w() -> str:
        return str(pick(rng, WARNINGS))

    def o() -> str:
        return str(pick(rng, OWNERS))

    return [
        ("todo", "lead", f"TODO: {t()}"),
        ("todo", "lead", f"TODO({o()}): {t()}"),
        ("todo", "lead", f"TODO {t()}"),
        ("todo", "lead", f"TODO - {t()}"),
        ("todo", "lead", f"todo: {t()}"),
        ("todo", "lead", f"Todo: {t()}"),
        ("todo", "lead", "TODO"),
        ("todo", "inner", f"{t().capitalize()}. TODO: confirm with {o()}"),
        ("todo", "tag", f"@todo {t()}"),
        ("fixme", "lead", f"FIXME: {w()}"),
        ("fixme", "lead", f"FIXME({o()}) {t()}"),
        ("fixme", "lead", f"fixme {w()}"),
        ("fixme", "lead", f"FixMe: {t()}"),
        ("xxx", "lead", f"XXX: {w()}"),
        ("xxx", "lead", f"XXX {w()}"),
        ("hack", "lead", f"HACK: {w()}"),
        ("hack", "lead", f"HACK to {t()}"),
        ("hack", "lead", f"hack: {w()}"),
        ("hack", "inner", f"quick hack so we can {t()}"),
        ("hack", "inner", f"this is a dirty hack, {w()}"),
        ("hack", "inner", f"kludge: {w()}"),
        ("bug", "lead", f"BUG: {w()}"),
        ("bug", "lead", f"BUG({o()}): {w()}"),
        ("tbd", "lead", f"TBD: {pick(rng, DECISIONS)}"),
        ("tbd", "inner", f"Retention is TBD, ask {o()}"),
        ("temporary", "inner", f"temporary workaround for {pick(rng, ISSUES)}"),
        ("temporary", "inner", f"temp fix for {pick(rng, ISSUES)}"),
        ("temporary", "inner", f"workaround for now, {t()}"),
        ("temporary", "inner", f"remove this later, {w()}"),
        ("do-not-merge", "lead", "DO NOT MERGE"),
        ("do-not-merge", "lead", f"DO NOT SUBMIT: {w()}"),
        ("do-not-merge", "lead", "NOCOMMIT"),
        ("do-not-merge", "inner", "debug output, remove before release"),
    ]


def debt_negative_comment_texts(rng: random.Random) -> list[tuple[str, str]]:
    """(category, comment text): prose that mentions the words without being a marker."""
    n = pick(rng, NOUNS)
    return [
        ("prose", f"adds the {n} to the todo list of the current user"),
        ("prose", f"the todos of a {n} are synced every hour"),
        ("word", f"built during the spring hackathon for the {n} team"),
        ("word", f"keeps hackers from guessing the {n} id"),
        ("word", "debugging helpers live in the diagnostics module"),
        ("prose", f"fixes the bug where the {n} total was negative (#{rng.randint(100, 999)})"),
        ("prose", f"see the bug tracker for the {n} issues"),
        ("word", f"export to Todoist when the {n} is shared"),
        ("mask", "phone numbers are masked as XXX-XXX-" + str(rng.randint(1000, 9999))),
        ("mask", "shirt sizes go up to XXXL"),
        ("prose", f"temporary files are removed when the {n} job exits"),
        ("prose", f"a workaround for the proxy is described in docs/{n}.md"),
        ("quoted", f'prints "TODO" next to every open {n}'),
        ("path", f"see TODO.md for the {n} roadmap"),
        ("prose", "do not merge these two dicts, the keys overlap"),
        ("prose", f"the hack week demo of {n} reuses this parser"),
        ("identifier", f"todo_items holds the {n} rows"),
        ("url", f"docs: https://wiki.example.org/{n}/todo-lists"),
    ]


@dataclass(frozen=True)
class Dialect:
    """How a language spells comments, statements and string literals."""

    name: str
    ext: str
    line: str | None  # line comment prefix
    block: tuple[str, str] | None = None
    doc: tuple[str, str, str] | None = None  # open, middle, close
    trailing: bool = True
    header: str = ""
    footer: str = ""
    indent: str = ""

    def stmt(self, n: int) -> str:
        i = self.indent
        return {
            "python": f"limit_{n} = {n * 3}",
            "javascript": f"const limit{n} = {n * 3};",
            "typescript": f"const limit{n}: number = {n * 3};",
            "go": f"var limit{n} = {n * 3}",
            "rust": f"pub const LIMIT_{n}: u32 = {n * 3};",
            "java": f"{i}static final int LIMIT_{n} = {n * 3};",
            "c": f"static const int limit_{n} = {n * 3};",
            "cpp": f"constexpr int kLimit{n} = {n * 3};",
            "ruby": f"LIMIT_{n} = {n * 3}",
            "bash": f"LIMIT_{n}={n * 3}",
            "yaml": f"limit_{n}: {n * 3}",
            "toml": f"limit_{n} = {n * 3}",
            "dockerfile": f"ENV LIMIT_{n}={n * 3}",
            "markdown": f"Step {n}: run the importer with `--limit {n * 3}`.",
            "html": f'<p class="step">Step {n}</p>',
        }[self.name]

    def string_stmt(self, n: int, text: str) -> str:
        i = self.indent
        esc = text.replace('"', "'")
        return {
            "python": f'label_{n} = "{esc}"',
            "javascript": f'const label{n} = "{esc}";',
            "typescript": f'const label{n}: string = "{esc}";',
            "go": f'var label{n} = "{esc}"',
            "rust": f'pub const LABEL_{n}: &str = "{esc}";',
            "java": f'{i}static final String LABEL_{n} = "{esc}";',
            "c": f'static const char *label_{n} = "{esc}";',
            "cpp": f'const std::string kLabel{n} = "{esc}";',
            "ruby": f'LABEL_{n} = "{esc}"',
            "bash": f'echo "{esc}"',
            "yaml": f'label_{n}: "{esc}"',
            "toml": f'label_{n} = "{esc}"',
            "dockerfile": f'RUN echo "{esc}" >> /etc/motd',
            "markdown": f"{esc}",
            "html": f"<p>{esc}</p>",
        }[self.name]

    def ident_stmt(self, n: int, ident: str) -> str:
        i = self.indent
        return {
            "python": f"{ident} = []",
            "javascript": f"let {ident} = [];",
            "typescript": f"let {ident}: string[] = [];",
            "go": f"var {ident} []string",
            "rust": f"pub static {ident.upper()}: [u8; 0] = [];",
            "java": f"{i}static int {ident} = 0;",
            "c": f"static int {ident} = 0;",
            "cpp": f"static int {ident} = 0;",
            "ruby": f"{ident} = []",
            "bash": f"{ident}=()",
            "yaml": f"{ident}: []",
            "toml": f"{ident} = []",
            "dockerfile": f"ENV {ident.upper()}=0",
            "markdown": f"The `{ident}` setting is optional.",
            "html": f'<ul id="{ident}"></ul>',
        }[self.name]

    def comment(self, text: str) -> str:
        if self.line is not None:
            return f"{self.indent}{self.line} {text}"
        assert self.block is not None
        return f"{self.indent}{self.block[0]} {text} {self.block[1]}"


DIALECTS = {
    "python": Dialect(
        "python", "py", "#", header='"""Helpers for the {n} module."""\n\nimport os\n'
    ),
    "javascript": Dialect(
        "javascript", "js", "//", ("/*", "*/"), ("/**", " *", " */"), header="'use strict';\n"
    ),
    "typescript": Dialect(
        "typescript",
        "ts",
        "//",
        ("/*", "*/"),
        ("/**", " *", " */"),
        header="import {{ strict }} from 'assert';\n",
    ),
    "go": Dialect("go", "go", "//", ("/*", "*/"), header="package {n}\n"),
    "rust": Dialect(
        "rust", "rs", "//", ("/*", "*/"), ("/**", " *", " */"), header="//! Limits for {n}.\n"
    ),
    "java": Dialect(
        "java",
        "java",
        "//",
        ("/*", "*/"),
        ("/**", "     *", "     */"),
        header="package com.example.{n};\n\nfinal class Limits{N} {{",
        footer="}",
        indent="    ",
    ),
    "c": Dialect("c", "c", "//", ("/*", "*/"), header="#include <stdio.h>\n"),
    "cpp": Dialect("cpp", "cpp", "//", ("/*", "*/"), header="#include <string>\n"),
    "ruby": Dialect("ruby", "rb", "#", header="# frozen_string_literal: true\n"),
    "bash": Dialect("bash", "sh", "#", header="#!/usr/bin/env bash\nset -euo pipefail\n"),
    "yaml": Dialect("yaml", "yaml", "#", header="---\n"),
    "toml": Dialect("toml", "toml", "#", header="[settings]\n"),
    "dockerfile": Dialect(
        "dockerfile", "Dockerfile", "#", trailing=False, header="FROM debian:12-slim\n"
    ),
    "markdown": Dialect(
        "markdown", "md", None, ("<!--", "-->"), trailing=False, header="# {N} guide\n"
    ),
    "html": Dialect(
        "html",
        "html",
        None,
        ("<!--", "-->"),
        trailing=False,
        header="<!doctype html>\n<html>\n<body>",
    ),
}
DIALECTS["html"] = Dialect(
    "html",
    "html",
    None,
    ("<!--", "-->"),
    trailing=False,
    header="<!doctype html>\n<html>\n<body>",
    footer="</body>\n</html>",
)


def debt_positive_snippets(
    d: Dialect, n: int, text: str, rng: random.Random
) -> list[tuple[str, int, str]]:
    """(snippet, line of the marker within it, context name) for a marker ``text``."""
    out: list[tuple[str, int, str]] = []
    i = d.indent
    if d.line is not None:
        out.append((f"{d.comment(text)}\n{d.stmt(uid())}", 0, "line-comment"))
        if d.trailing:
            out.append((f"{d.stmt(uid())}  {d.line} {text}", 0, "trailing-comment"))
        out.append((f"{i}{d.line}{text}\n{d.stmt(uid())}", 0, "no-space-comment"))
        out.append(
            (
                f"{d.comment('Computes the ' + pick(rng, NOUNS) + ' limit.')}\n{d.comment(text)}\n{d.stmt(uid())}",
                1,
                "second-line",
            )
        )
    if d.block is not None:
        o, c = d.block
        out.append((f"{i}{o} {text} {c}\n{d.stmt(uid())}", 0, "block-comment"))
        if d.name not in ("markdown", "html"):
            out.append(
                (
                    f"{i}{o}\n{i} * Limits for the {pick(rng, NOUNS)} importer.\n{i} * {text}\n{i} */\n{d.stmt(uid())}",
                    2,
                    "multiline-block",
                )
            )
        else:
            out.append(
                (
                    f"{o}\n  Notes for the {pick(rng, NOUNS)} page.\n  {text}\n{c}\n{d.stmt(uid())}",
                    2,
                    "multiline-block",
                )
            )
    if d.doc is not None:
        o, m, c = d.doc
        out.append(
            (
                f"{i}{o}\n{m} Returns the {pick(rng, NOUNS)} limit.\n{m} {text}\n{c}\n{d.stmt(uid())}",
                2,
                "doc-comment",
            )
        )
    if d.name == "rust":
        out.append((f"/// {text}\n{d.stmt(uid())}", 0, "doc-comment"))
    if d.name == "html":
        out.append(
            (f"<script>\n  // {text}\n  const step{n} = {n};\n</script>", 1, "script-comment")
        )
    return out


def debt_negative_snippets(
    d: Dialect, n: int, rng: random.Random, names: Names
) -> list[tuple[str, int, str]]:
    """(snippet, line within it, category) for hard negatives of the debt gate."""
    out: list[tuple[str, int, str]] = []
    t = pick(rng, TASKS)
    marker = pick(
        rng,
        [
            "TODO: " + t,
            "FIXME: " + t,
            "XXX " + t,
            "HACK: " + t,
            "BUG: " + t,
            "TBD: " + t,
            "DO NOT MERGE",
        ],
    )
    if d.name not in ("markdown", "html"):
        out.append((d.string_stmt(n, marker), 0, "string"))
    else:
        out.append((d.string_stmt(n, marker), 0, "prose" if d.name == "markdown" else "text"))
    ident = (
        pick(
            rng,
            [
                "todo_items",
                "fixme_count",
                "hack_score",
                "todo_queue",
                "xxx_width",
                "tbd_fields",
                "bug_reports",
            ],
        )
        + f"_{n}"
    )
    if d.name in ("javascript", "typescript", "java", "go", "cpp"):
        parts = ident.split("_")
        ident = parts[0] + "".join(p.title() for p in parts[1:])
    out.append((d.ident_stmt(n, ident), 0, "identifier"))
    for category, text in rng.sample(debt_negative_comment_texts(rng), 6):
        out.append((f"{d.comment(text)}\n{d.stmt(uid())}", 0, "comment-" + category))
    if d.name == "python":
        out.append(
            (
                f'def {names.snake()}(rows):\n    """{marker} -- said in a docstring."""\n    return len(rows)',
                1,
                "docstring",
            )
        )
        out.append((f"query_{n} = \"SELECT * FROM todo WHERE note LIKE '%FIXME%'\"", 0, "string"))
        out.append((f"template_{n} = '''\n# {marker}\n'''", 1, "string-multiline"))
    if d.name in ("javascript", "typescript"):
        out.append((f"const tpl{n} = `\n  // {marker}\n`;", 1, "template-literal"))
        out.append((f"const re{n} = /TODO|FIXME/g;", 0, "regex-literal"))
    if d.name == "bash":
        out.append((f"cat <<EOF\n# {marker}\nEOF", 1, "heredoc"))
        out.append((f"tmp_{n}=$(mktemp /tmp/import.XXXXXX)", 0, "mask"))
    if d.name == "yaml":
        out.append((f"notes_{n}: |\n  # {marker}\n  more text", 1, "block-scalar"))
    if d.name == "markdown":
        out.append((f"```python\n# {marker}\n```", 1, "fenced-code"))
        out.append((f"Mark open work with `# {marker.split(':')[0]}` comments.", 0, "code-span"))
    if d.name == "html":
        out.append(
            (f'<li class="todo-item" data-state="fixme">{pick(rng, NOUNS)}</li>', 0, "attribute")
        )
    if d.name == "c" or d.name == "cpp":
        out.append((f'static const char *sql_{n} = "/* {marker} */";', 0, "string"))
    if d.name == "go":
        out.append((f"var raw{n} = `// {marker}`", 0, "raw-string"))
    if d.name == "rust":
        out.append((f'pub const RAW_{n}: &str = r"// {marker}";', 0, "raw-string"))
    if d.name == "dockerfile":
        out.append((f'LABEL note="{marker}"', 0, "string"))
    if d.name == "toml":
        out.append((f'notes_{n} = """\n# {marker}\n"""', 1, "string-multiline"))
    return out


def gen_debt(corpus: Corpus, rng: random.Random, names: Names, scale: int) -> None:
    for lang, d in DIALECTS.items():
        items: list[tuple[str, Label]] = []
        n = 0
        for _round in range(scale * 2):
            texts = debt_positive_texts(rng)
            for rule, form, text in texts:
                n += 1
                snippets = debt_positive_snippets(d, n, text, rng)
                snip, at, ctx = pick(rng, snippets)
                items.append(
                    (snip, Label("debt", "positive", ctx, at, extra={"rule": rule, "form": form}))
                )
            for _k in range(3):
                n += 1
                for snip, at, cat in debt_negative_snippets(d, n, rng, names):
                    n += 1
                    items.append((snip, Label("debt", "negative", cat, at)))
        rng.shuffle(items)
        per_file = 25
        for f in range(0, len(items), per_file):
            stem = f"{names.words(2)[1]}_{f // per_file}"
            if lang == "dockerfile":
                path = f"debt/{lang}/{stem}/Dockerfile"
            else:
                path = f"debt/{lang}/{stem}.{d.ext}"
            fb = corpus.file(path, lang)
            fb.add(d.header.format(n=stem, N=stem.title().replace("_", "")))
            for snip, lab in items[f : f + per_file]:
                fb.add(snip, lab)
                fb.blank()
            if d.footer:
                fb.add(d.footer)


# ------------------------------------------------------------------------------ stub

#: A stub item: (snippet, line of the expected finding, category, extra).
Snip = tuple[str, int, str, dict[str, Any]]

ADMISSIONS = [  # (rule, comment text) a stub gate must refuse
    ("admitted-stub", "This is just a placeholder until the {n} API is ready."),
    ("admitted-stub", "stub implementation, returns canned {n} data"),
    ("admitted-stub", "Dummy implementation of the {n} lookup."),
    ("admitted-stub", "placeholder logic: the {n} rules are not ported yet"),
    ("admitted-stub", "{n} sync is not implemented yet"),
    ("admitted-stub", "stubbed out for now, see the {n} design doc"),
    ("admitted-stub", "implement this later once the {n} schema is final"),
    ("admitted-stub", "the {n} handler is not wired up yet"),
    ("admitted-stub", "real {n} logic goes here"),
    ("fake-result", "In a real implementation this would call the {n} service."),
    ("fake-result", "In production, this would read the {n} table."),
    ("fake-result", "This would normally fetch the {n} from the API."),
    ("fake-result", "Simulate an API call to the {n} backend."),
    ("fake-result", "{n} totals are hardcoded for now"),
    ("fake-result", "For now, just return a fixed {n} list."),
    ("fake-result", "mock data for now, the {n} endpoint is down"),
]
NON_ADMISSIONS = [  # comment text a stub gate must accept
    "The gRPC stub for the {n} service is generated by protoc.",
    "Placeholder text shown in the empty {n} search box.",
    "Type stubs for the {n} client live in typings/.",
    "In production, set {N}_WORKERS to the number of cores.",
    "The real implementation of the {n} retry policy lives in retry.py.",
    "Fakes for the {n} gateway are in the test helpers.",
    "Returns an empty list when the {n} has no rows.",
    "Simulation results for the {n} model are cached on disk.",
    "Keeps the {n} dummy row out of the totals.",
    "We mock nothing here: the {n} client talks to the sandbox.",
]


def _adm(rng: random.Random) -> tuple[str, str]:
    rule, text = pick(rng, ADMISSIONS)
    n = pick(rng, NOUNS)
    return rule, text.format(n=n, N=n.upper())


def _nonadm(rng: random.Random) -> str:
    n = pick(rng, NOUNS)
    return pick(rng, NON_ADMISSIONS).format(n=n, N=n.upper())


def stub_python(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    f, _g, m, c = nm.snake(), nm.snake(), nm.snake(), nm.pascal()
    a = pick(
        rng,
        [
            "record",
            "rows, limit",
            "path, *, strict=False",
            "self_check",
            "payload: dict",
            "tenant_id: int, since=None",
        ],
    )
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"def {f}({a}):\n    pass", 1, "pass", {}),
        (f"def {f}({a}):\n    ...", 1, "ellipsis", {}),
        (
            f'def {f}({a}):\n    """Return the {pick(rng, NOUNS)} for the given input."""\n    pass',
            2,
            "docstring-pass",
            {},
        ),
        (f"def {f}({a}):\n    raise NotImplementedError", 1, "raise-not-implemented", {}),
        (
            f'def {f}({a}):\n    raise NotImplementedError("{f} is not implemented yet")',
            1,
            "raise-not-implemented-msg",
            {},
        ),
        (f"async def {f}({a}):\n    pass", 1, "async-pass", {}),
        (
            f"class {c}:\n    def {m}(self, {pick(rng, ['item', 'rows', 'key'])}):\n        pass",
            2,
            "method-pass",
            {},
        ),
        (f"def {f}({a}):\n    # nothing to do yet\n    pass", 2, "comment-pass", {}),
        (
            f"class {c}:\n    def {m}(self):\n        raise NotImplementedError()",
            2,
            "method-raise",
            {},
        ),
        (f"def {f}({a}):\n    # {adm}\n    return []", 1, "comment-" + rule, {"rule": rule}),
        (
            f'def {f}({a}):\n    """{adm}"""\n    return {{"status": "ok"}}',
            1,
            "docstring-" + rule,
            {"rule": rule},
        ),
        (
            f"def {f}({a}):\n    return {{'total': {rng.randint(2, 99)}}}  # {adm}",
            1,
            "trailing-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (
            f"class {c}(ABC):\n    @abstractmethod\n    def {m}(self):\n        pass",
            3,
            "abstractmethod",
            {},
        ),
        (
            f'class {c}(abc.ABC):\n    @abc.abstractmethod\n    def {m}(self, {pick(rng, ["key", "rows"])}):\n        """Return the {pick(rng, NOUNS)}."""\n        ...',
            4,
            "abstractmethod-ellipsis",
            {},
        ),
        (f"class {c}(Protocol):\n    def {m}(self, value: int) -> str: ...", 1, "protocol", {}),
        (
            f"class {c}(typing.Protocol):\n    def {m}(self) -> None:\n        ...",
            2,
            "protocol",
            {},
        ),
        (
            f"@overload\ndef {f}(value: int) -> int: ...\n@overload\ndef {f}(value: str) -> str: ...\ndef {f}(value):\n    return value",
            1,
            "overload",
            {},
        ),
        (f"class {c}Error(Exception):\n    pass", 1, "exception-class", {}),
        (
            f'class {c}Error({pick(rng, ["ValueError", "RuntimeError", "KeyError"])}):\n    """Raised when the {pick(rng, NOUNS)} is missing."""',
            1,
            "exception-class",
            {},
        ),
        (
            f"def {f}(mapping, key):\n    try:\n        del mapping[key]\n    except KeyError:\n        pass",
            4,
            "except-pass",
            {},
        ),
        (f"if TYPE_CHECKING:\n    def {f}(value: int) -> int: ...", 1, "type-checking", {}),
        (
            f'class {c}:\n    def {m}(self):\n        raise NotImplementedError("subclasses must implement {m}")',
            2,
            "abstract-message",
            {},
        ),
        (f"def {f}(left, right):\n    return left + right", 1, "real-body", {}),
        (
            f"def {f}(rows):\n    total = sum(r.amount for r in rows)\n    return round(total, 2)",
            1,
            "real-body",
            {},
        ),
        (f"handlers_{uid()} = [lambda event: None]", 0, "lambda-callback", {}),
        (
            f"def {pick(rng, ['noop', '_noop', 'do_nothing', 'noop_handler', '_nop'])}(*args, **kwargs):\n    pass",
            1,
            "noop-name",
            {},
        ),
        (f"def {f}(rows):\n    # {_nonadm(rng)}\n    return list(rows)", 1, "comment-prose", {}),
        (
            f'def {f}(rows):\n    """{_nonadm(rng)}"""\n    return sorted(rows)',
            1,
            "docstring-prose",
            {},
        ),
    ]
    return pos, neg


def stub_js(rng: random.Random, nm: Names, ts: bool) -> tuple[list[Snip], list[Snip]]:
    f, _g, m, c = nm.camel(), nm.camel(), nm.camel(), nm.pascal()
    a = (
        pick(rng, ["record", "rows, limit", "options = {}", "id"])
        if not ts
        else pick(rng, ["record: Row", "rows: Row[], limit: number", "id: string"])
    )
    r = ": void" if ts else ""
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"function {f}({a}){r} {{}}", 0, "empty-braces", {}),
        (f"function {f}({a}){r} {{\n}}", 0, "empty-braces-multiline", {}),
        (f"class {c} {{\n  {m}({a}){r} {{}}\n}}", 1, "method-empty", {}),
        (f"const {f} = ({a}){r} => {{}};", 0, "arrow-empty", {}),
        (
            f'function {f}({a}) {{\n  throw new Error("Not implemented");\n}}',
            1,
            "throw-not-implemented",
            {},
        ),
        (f"async function {f}({a}) {{\n  throw new Error('TODO: {f}');\n}}", 1, "throw-todo", {}),
        (f"export function {f}({a}){r} {{}}", 0, "exported-empty", {}),
        (
            f"function {f}({a}) {{\n  // {adm}\n  return null;\n}}",
            1,
            "comment-" + rule,
            {"rule": rule},
        ),
        (
            f"class {c} {{\n  {m}() {{\n    /* {adm} */\n    return [];\n  }}\n}}",
            2,
            "comment-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (f"{pick(rng, ['load', 'save', 'fetch'])}{uid()}().catch(() => {{}});", 0, "callback", {}),
        ('document.body.addEventListener("click", function () {});', 0, "callback", {}),
        (
            f"const {pick(rng, ['noop', 'NOOP', 'doNothing', 'noopHandler', 'emptyCallback'])} = () => {{}};",
            0,
            "noop-name",
            {},
        ),
        (
            f'function {f}(value) {{\n  if (value == null) {{\n    throw new Error("not implemented for empty input");\n  }}\n  return value;\n}}',
            2,
            "throw-branch",
            {},
        ),
        (f"function {f}(left, right) {{\n  return left + right;\n}}", 1, "real-body", {}),
        (f"class {c} {{\n  {m}(rows) {{\n    return rows.length;\n  }}\n}}", 1, "real-body", {}),
        (
            f"function {f}(rows) {{\n  // {_nonadm(rng)}\n  return rows.slice();\n}}",
            1,
            "comment-prose",
            {},
        ),
    ]
    if ts:
        neg += [
            (f"interface {c} {{\n  {m}(value: number): string;\n}}", 1, "interface", {}),
            (f"abstract class {c} {{\n  abstract {m}(): void;\n}}", 1, "abstract", {}),
            (
                f"function {f}(value: string): string;\nfunction {f}(value: number): number;\nfunction {f}(value: any): any {{\n  return value;\n}}",
                0,
                "overload",
                {},
            ),
            (f"declare function {f}(value: number): void;", 0, "declare", {}),
            (
                f"class {c} {{\n  constructor(private readonly repo: Map<string, number>) {{}}\n}}",
                1,
                "constructor-params",
                {},
            ),
            (
                f"class {c} extends Base{uid()} {{\n  override {m}(): void {{}}\n}}",
                1,
                "override",
                {},
            ),
        ]
    else:
        neg += [
            (f"class {c} {{\n  constructor() {{}}\n}}", 1, "constructor", {}),
        ]
    return pos, neg


def stub_go(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    f, m, t = nm.camel(), nm.pascal_verb(), nm.pascal()
    a = pick(rng, ["id int", "rows []Row", "ctx context.Context, key string", ""])
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"func {f}({a}) {{}}", 0, "empty-braces", {}),
        (f"func {f}({a}) {{\n}}", 0, "empty-braces-multiline", {}),
        (f"func (s *{t}) {m}({a}) {{}}", 0, "method-empty", {}),
        (f'func {f}({a}) error {{\n\tpanic("not implemented")\n}}', 1, "panic-not-implemented", {}),
        (f'func (s *{t}) {m}() int {{\n\tpanic("TODO: {m}")\n}}', 1, "panic-todo", {}),
        (
            f"func {f}({a}) []string {{\n\t// {adm}\n\treturn nil\n}}",
            1,
            "comment-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (f"type {t} interface {{\n\t{m}(ctx context.Context) error\n}}", 1, "interface", {}),
        (f"func ({t}) is{t}() {{}}", 0, "marker-method", {}),
        (f"func {f}(a, b int) int {{\n\treturn a + b\n}}", 1, "real-body", {}),
        (
            f'func {f}(v int) int {{\n\tif v < 0 {{\n\t\tpanic("unreachable: negative {pick(rng, NOUNS)}")\n\t}}\n\treturn v * 2\n}}',
            2,
            "panic-branch",
            {},
        ),
        (
            f"func {f}(rows []int) int {{\n\t// {_nonadm(rng)}\n\treturn len(rows)\n}}",
            1,
            "comment-prose",
            {},
        ),
    ]
    return pos, neg


def stub_rust(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    f, m, t = nm.snake(), nm.snake(), nm.pascal()
    a = pick(rng, ["id: u32", "rows: &[Row]", "path: &Path", ""])
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"fn {f}({a}) {{}}", 0, "empty-braces", {}),
        (f"pub fn {f}({a}) -> u32 {{\n    todo!()\n}}", 1, "todo-macro", {}),
        (f"fn {f}({a}) -> Vec<String> {{\n    unimplemented!()\n}}", 1, "unimplemented-macro", {}),
        (f'pub fn {f}({a}) -> bool {{\n    todo!("{f}")\n}}', 1, "todo-macro-msg", {}),
        (f"impl {t} {{\n    fn {m}(&self) {{}}\n}}", 1, "method-empty", {}),
        (
            f"fn {f}({a}) -> Option<u32> {{\n    // {adm}\n    None\n}}",
            1,
            "comment-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (f"trait {t} {{\n    fn {m}(&self) -> u32;\n}}", 1, "trait-decl", {}),
        (f"impl Drop for {t} {{\n    fn drop(&mut self) {{}}\n}}", 1, "trait-impl", {}),
        (f"trait {t} {{\n    fn {m}(&self) {{}}\n}}", 1, "trait-default", {}),
        (f"fn {f}(a: u32, b: u32) -> u32 {{\n    a + b\n}}", 1, "real-body", {}),
        (
            f'fn {f}(v: u8) -> u8 {{\n    match v {{\n        0 => 1,\n        _ => unreachable!("bad {pick(rng, NOUNS)}"),\n    }}\n}}',
            3,
            "unreachable-branch",
            {},
        ),
        (f'extern "C" {{\n    fn {f}(x: i32) -> i32;\n}}', 1, "extern-decl", {}),
        (
            f"fn {f}(rows: &[u8]) -> usize {{\n    // {_nonadm(rng)}\n    rows.len()\n}}",
            1,
            "comment-prose",
            {},
        ),
    ]
    return pos, neg


def stub_java(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    m, c = nm.camel(), nm.pascal()
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"    void {m}() {{}}", 0, "empty-braces", {}),
        (f"    public void {m}(String key) {{\n    }}", 0, "empty-braces-multiline", {}),
        (
            f"    public String {m}(int id) {{\n        throw new UnsupportedOperationException();\n    }}",
            1,
            "unsupported-operation",
            {},
        ),
        (
            f'    public int {m}() {{\n        throw new UnsupportedOperationException("Not supported yet.");\n    }}',
            1,
            "not-supported-yet",
            {},
        ),
        (
            f"    private List<String> {m}() {{\n        // {adm}\n        return Collections.emptyList();\n    }}",
            1,
            "comment-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (f"    interface {c} {{\n        String {m}(int id);\n    }}", 1, "interface", {}),
        (
            f"    abstract static class {c} {{\n        abstract void {m}();\n    }}",
            1,
            "abstract",
            {},
        ),
        ("    @Override\n    public void close() {}", 1, "override", {}),
        (
            f"    interface {c} {{\n        default void {m}() {{}}\n    }}",
            1,
            "interface-default",
            {},
        ),
        (
            f"    static final class {c} {{\n        private {c}() {{}}\n    }}",
            1,
            "private-constructor",
            {},
        ),
        (
            f'    public java.util.List<String> {m}() {{\n        throw new UnsupportedOperationException("read-only view");\n    }}',
            1,
            "unsupported-behaviour",
            {},
        ),
        (f"    int {m}(int a, int b) {{\n        return a + b;\n    }}", 1, "real-body", {}),
        (
            f"    int {m}(int[] rows) {{\n        // {_nonadm(rng)}\n        return rows.length;\n    }}",
            1,
            "comment-prose",
            {},
        ),
    ]
    return pos, neg


def stub_c(rng: random.Random, nm: Names, cpp: bool) -> tuple[list[Snip], list[Snip]]:
    f, m, c = nm.snake(), nm.camel(), nm.pascal()
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"void {f}(void) {{}}", 0, "empty-braces", {}),
        (f"static void {f}(struct ctx *c)\n{{\n}}", 0, "empty-braces-multiline", {}),
        (
            f"int {f}(const char *path) {{\n    /* {adm} */\n    return 0;\n}}",
            1,
            "comment-" + rule,
            {"rule": rule},
        ),
    ]
    neg: list[Snip] = [
        (f"int {f}(int x);", 0, "prototype", {}),
        (f"int {f}(int a, int b) {{\n    return a + b;\n}}", 1, "real-body", {}),
        (
            f"size_t {f}(const char *s) {{\n    /* {_nonadm(rng)} */\n    return strlen(s);\n}}",
            1,
            "comment-prose",
            {},
        ),
    ]
    if cpp:
        pos += [
            (f"void {c}::{m}() {{}}", 0, "method-empty", {}),
            (
                f'int {c}::{m}(int id) {{\n    throw std::logic_error("not implemented");\n}}',
                1,
                "throw-not-implemented",
                {},
            ),
        ]
        neg += [
            (f"class {c} {{\n public:\n  virtual void {m}() {{}}\n}};", 2, "virtual-hook", {}),
            (f"class {c} {{\n public:\n  virtual int {m}() = 0;\n}};", 2, "pure-virtual", {}),
            (
                f"class {c} {{\n public:\n  {c}() = default;\n  ~{c}() {{}}\n}};",
                3,
                "destructor",
                {},
            ),
            (
                f"class {c} : public Base{uid()} {{\n public:\n  void {m}() override {{}}\n}};",
                2,
                "override",
                {},
            ),
        ]
    return pos, neg


def stub_ruby(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    f, c = nm.snake(), nm.pascal()
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"def {f}(record)\nend", 0, "empty-def", {}),
        (f"def {f}; end", 0, "empty-def-oneline", {}),
        (f"def {f}(rows)\n  raise NotImplementedError\nend", 1, "raise-not-implemented", {}),
        (f"class {c}\n  def {f}\n  end\nend", 1, "method-empty", {}),
        (f"def {f}(rows)\n  # {adm}\n  []\nend", 1, "comment-" + rule, {"rule": rule}),
    ]
    neg: list[Snip] = [
        (
            f'class {c}\n  def {f}\n    raise NotImplementedError, "#{{self.class.name}} must implement {f}"\n  end\nend',
            2,
            "abstract-message",
            {},
        ),
        (f"def {f}(a, b)\n  a + b\nend", 1, "real-body", {}),
        (f"def {f}(rows)\n  # {_nonadm(rng)}\n  rows.compact\nend", 1, "comment-prose", {}),
    ]
    return pos, neg


def stub_bash(rng: random.Random, nm: Names) -> tuple[list[Snip], list[Snip]]:
    f = nm.snake()
    rule, adm = _adm(rng)
    pos: list[Snip] = [
        (f"{f}() {{\n  # {adm}\n  echo '{{}}'\n}}", 1, "comment-" + rule, {"rule": rule})
    ]
    neg: list[Snip] = [(f'{f}() {{\n  # {_nonadm(rng)}\n  ls "$1"\n}}', 1, "comment-prose", {})]
    return pos, neg


STUB_LANGS: dict[
    str, tuple[str, str, str, Callable[[random.Random, Names], tuple[list[Snip], list[Snip]]]]
] = {
    # language: (extension, header, footer, generator)
    "python": (
        "py",
        "from __future__ import annotations\n\nimport abc\nimport typing\nfrom abc import ABC, abstractmethod\nfrom typing import TYPE_CHECKING, Protocol, overload\n",
        "",
        stub_python,
    ),
    "javascript": ("js", "'use strict';\n", "", lambda r, n: stub_js(r, n, False)),
    "typescript": ("ts", "type Row = {{ id: string }};\n", "", lambda r, n: stub_js(r, n, True)),
    "go": ("go", 'package {pkg}\n\nimport "context"\n\ntype Row struct{{ ID int }}\n', "", stub_go),
    "rust": ("rs", "use std::path::Path;\n\npub struct Row;\n", "", stub_rust),
    "java": (
        "java",
        "package com.example.{pkg};\n\nimport java.util.Collections;\nimport java.util.List;\n\nclass {cls} {{",
        "}",
        stub_java,
    ),
    "c": ("c", "#include <string.h>\n\nstruct ctx;\n", "", lambda r, n: stub_c(r, n, False)),
    "cpp": (
        "cpp",
        "#include <stdexcept>\n#include <string>\n",
        "",
        lambda r, n: stub_c(r, n, True),
    ),
    "ruby": ("rb", "# frozen_string_literal: true\n", "", stub_ruby),
    "bash": ("sh", "#!/usr/bin/env bash\nset -eu\n", "", stub_bash),
}


def gen_stub(corpus: Corpus, rng: random.Random, names: Names, scale: int) -> None:
    rounds = {
        "python": 8,
        "javascript": 6,
        "typescript": 6,
        "go": 8,
        "rust": 7,
        "java": 8,
        "c": 10,
        "cpp": 7,
        "ruby": 10,
        "bash": 20,
    }
    for lang, (ext, header, footer, make) in STUB_LANGS.items():
        items: list[tuple[str, Label]] = []
        for _ in range(rounds[lang] * scale):
            pos, neg = make(rng, names)
            for snip, at, cat, extra in pos:
                items.append(
                    (snip, Label("stub", "positive", cat, at, (0, snip.count("\n")), extra))
                )
            for snip, at, cat, extra in neg:
                items.append(
                    (snip, Label("stub", "negative", cat, at, (0, snip.count("\n")), extra))
                )
        rng.shuffle(items)
        per_file = 20
        for k in range(0, len(items), per_file):
            stem = f"{names.words(2)[1]}_{k // per_file}"
            fb = corpus.file(f"stub/{lang}/{stem}.{ext}", lang)
            fb.add(header.format(pkg=stem, cls=stem.title().replace("_", "")))
            for snip, lab in items[k : k + per_file]:
                fb.add(snip, lab)
                fb.blank()
            if footer:
                fb.add(footer)
    # a .pyi stub file: declarations only, never stubs
    fb = corpus.file("stub/python/typings/ledger_api.pyi", "python")
    fb.add("from typing import Any\n")
    for _ in range(12 * scale):
        f = names.snake()
        fb.add(
            f"def {f}(value: int, *, strict: bool = ...) -> Any: ...",
            Label("stub", "negative", "pyi", 0),
        )
        c, m = names.pascal(), names.snake()
        fb.add(
            f"class {c}:\n    def {m}(self) -> None: ...",
            Label("stub", "negative", "pyi", 1, (0, 1)),
        )


# ---------------------------------------------------------------------------- secret

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEXD = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def rs(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64(data: bytes, url: bool = False, pad: bool = True) -> str:
    out = (base64.urlsafe_b64encode if url else base64.b64encode)(data).decode()
    return out if pad else out.rstrip("=")


def rbytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def jwt_token(rng: random.Random) -> str:
    alg = pick(rng, ["HS256", "HS256", "RS256", "HS512"])
    header = b64(
        json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode(), True, False
    )
    payload = {
        "sub": str(rng.randint(10**6, 10**9)),
        "name": pick(rng, ["Mara Lind", "Ken Ito", "Ada Osei", "Luis Roca"]),
        "iat": rng.randint(1_600_000_000, 1_750_000_000),
        "scope": pick(rng, ["read", "read write", "admin"]),
    }
    body = b64(json.dumps(payload, separators=(",", ":")).encode(), True, False)
    size = {"HS256": 32, "HS512": 64, "RS256": 256}[alg]
    return f"{header}.{body}.{b64(rbytes(rng, size), True, False)}"


def pem_body(rng: random.Random, kind: str) -> list[str]:
    prefix = {
        "RSA PRIVATE KEY": bytes.fromhex("308204a40201000282010100"),
        "PRIVATE KEY": bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"),
        "EC PRIVATE KEY": bytes.fromhex("30770201010420"),
        "OPENSSH PRIVATE KEY": b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none",
        "DSA PRIVATE KEY": bytes.fromhex("308201bb02010002818100"),
    }[kind]
    size = {
        "RSA PRIVATE KEY": 1190,
        "PRIVATE KEY": 1218,
        "EC PRIVATE KEY": 121,
        "OPENSSH PRIVATE KEY": 400,
        "DSA PRIVATE KEY": 446,
    }[kind]
    text = b64(prefix + rbytes(rng, size - len(prefix)))
    width = 70 if kind == "OPENSSH PRIVATE KEY" else 64
    return [text[i : i + width] for i in range(0, len(text), width)]


def pem(rng: random.Random, kind: str) -> str:
    return "\n".join([f"-----BEGIN {kind}-----", *pem_body(rng, kind), f"-----END {kind}-----"])


@dataclass(frozen=True)
class Provider:
    rule: str  # the rule of rules/secrets.yaml we expect to fire ("" when none is specific)
    name: str  # the conventional variable name
    make: Callable[[random.Random], str]
    token: bool = True  # recognisable by its format alone (no variable name needed)


def _slack_bot(r: random.Random) -> str:
    return f"xoxb-{r.randint(10**10, 10**11)}-{r.randint(10**12, 10**13)}-{rs(r, ALNUM, 24)}"


def _slack_user(r: random.Random) -> str:
    return f"xoxp-{r.randint(10**10, 10**11)}-{r.randint(10**10, 10**11)}-{r.randint(10**12, 10**13)}-{rs(r, HEXD, 32)}"


def _discord(r: random.Random) -> str:
    uid_ = b64(str(r.randint(10**17, 10**18)).encode(), True, False)
    return f"{uid_}.{rs(r, B64URL, 6)}.{rs(r, B64URL, 38)}"


PROVIDERS: list[Provider] = [
    Provider(
        "aws-access-key-id",
        "AWS_ACCESS_KEY_ID",
        lambda r: pick(r, ["AKIA", "ASIA"]) + rs(r, B32, 16),
    ),
    Provider(
        "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", lambda r: rs(r, B64, 40), token=False
    ),
    Provider("github-pat", "GITHUB_TOKEN", lambda r: "ghp_" + rs(r, ALNUM, 36)),
    Provider(
        "github-fine-grained-pat",
        "GH_TOKEN",
        lambda r: f"github_pat_{rs(r, ALNUM, 22)}_{rs(r, ALNUM, 59)}",
    ),
    Provider("github-oauth-token", "GITHUB_OAUTH_TOKEN", lambda r: "gho_" + rs(r, ALNUM, 36)),
    Provider(
        "github-app-token",
        "GITHUB_APP_TOKEN",
        lambda r: pick(r, ["ghs_", "ghu_"]) + rs(r, ALNUM, 36),
    ),
    Provider("gitlab-pat", "GITLAB_TOKEN", lambda r: "glpat-" + rs(r, B64URL, 20)),
    Provider("slack-token", "SLACK_BOT_TOKEN", lambda r: pick(r, [_slack_bot, _slack_user])(r)),
    Provider(
        "slack-webhook-url",
        "SLACK_WEBHOOK_URL",
        lambda r: (
            f"https://hooks.slack.com/services/T{rs(r, UPPER_DIGITS, 8)}/B{rs(r, UPPER_DIGITS, 10)}/{rs(r, ALNUM, 24)}"
        ),
    ),
    Provider(
        "stripe-live-key",
        "STRIPE_SECRET_KEY",
        lambda r: pick(r, ["sk_live_", "rk_live_"]) + rs(r, ALNUM, pick(r, [24, 99])),
    ),
    Provider(
        "stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET", lambda r: "whsec_" + rs(r, ALNUM, 32)
    ),
    Provider("google-api-key", "GOOGLE_API_KEY", lambda r: "AIza" + rs(r, B64URL, 35)),
    Provider("jwt", "ACCESS_TOKEN", jwt_token),
    Provider("npm-token", "NPM_TOKEN", lambda r: "npm_" + rs(r, ALNUM, 36)),
    Provider(
        "pypi-token",
        "PYPI_TOKEN",
        lambda r: "pypi-AgEIcHlwaS5vcmc" + rs(r, B64URL, pick(r, [70, 134])),
    ),
    Provider(
        "openai-api-key",
        "OPENAI_API_KEY",
        lambda r: pick(
            r,
            [
                f"sk-{rs(r, ALNUM, 20)}T3BlbkFJ{rs(r, ALNUM, 20)}",
                f"sk-proj-{rs(r, B64URL, 74)}T3BlbkFJ{rs(r, B64URL, 74)}",
            ],
        ),
    ),
    Provider(
        "anthropic-api-key", "ANTHROPIC_API_KEY", lambda r: f"sk-ant-api03-{rs(r, B64URL, 93)}AA"
    ),
    Provider("twilio-api-key", "TWILIO_API_KEY", lambda r: "SK" + rs(r, HEXD, 32)),
    Provider(
        "sendgrid-api-key",
        "SENDGRID_API_KEY",
        lambda r: f"SG.{rs(r, B64URL, 22)}.{rs(r, B64URL, 43)}",
    ),
    Provider("mailgun-api-key", "MAILGUN_API_KEY", lambda r: "key-" + rs(r, HEXD, 32)),
    Provider(
        "heroku-api-key",
        "HEROKU_API_KEY",
        lambda r: str(uuid.UUID(bytes=rbytes(r, 16), version=4)),
        token=False,
    ),
    Provider(
        "telegram-bot-token",
        "TELEGRAM_BOT_TOKEN",
        lambda r: f"{r.randint(10**8, 10**10)}:AA{rs(r, B64URL, 33)}",
    ),
    Provider("discord-bot-token", "DISCORD_BOT_TOKEN", _discord),
    Provider(
        "mailchimp-api-key",
        "MAILCHIMP_API_KEY",
        lambda r: f"{rs(r, HEXD, 32)}-us{r.randint(1, 21)}",
    ),
    Provider(
        "square-token",
        "SQUARE_ACCESS_TOKEN",
        lambda r: pick(
            r,
            [
                "sq0atp-" + rs(r, B64URL, 22),
                "sq0csp-" + rs(r, B64URL, 43),
                "EAAA" + rs(r, B64URL, 60),
            ],
        ),
    ),
    Provider(
        "shopify-token",
        "SHOPIFY_ACCESS_TOKEN",
        lambda r: pick(r, ["shpat_", "shpss_", "shpca_", "shppa_"]) + rs(r, HEXD, 32),
    ),
    Provider("digitalocean-token", "DIGITALOCEAN_TOKEN", lambda r: "dop_v1_" + rs(r, HEXD, 64)),
    Provider("huggingface-token", "HF_TOKEN", lambda r: "hf_" + rs(r, string.ascii_letters, 34)),
    Provider("databricks-token", "DATABRICKS_TOKEN", lambda r: "dapi" + rs(r, HEXD, 32)),
    Provider("age-secret-key", "SOPS_AGE_KEY", lambda r: "AGE-SECRET-KEY-1" + rs(r, BECH32, 58)),
    Provider("groq-api-key", "GROQ_API_KEY", lambda r: "gsk_" + rs(r, ALNUM, 52)),
    Provider("artifactory-token", "ARTIFACTORY_API_KEY", lambda r: "AKCp8" + rs(r, ALNUM, 68)),
    Provider("vault-token", "VAULT_TOKEN", lambda r: "hvs." + rs(r, B64URL, 90)),
    # formats no rule names: the generic name/value rules must carry them
    Provider("", "DD_API_KEY", lambda r: rs(r, HEXD, 32), token=False),
    Provider("", "BREVO_API_KEY", lambda r: f"xkeysib-{rs(r, HEXD, 64)}-{rs(r, ALNUM, 16)}"),
    Provider("", "POSTMAN_API_KEY", lambda r: f"PMAK-{rs(r, HEXD, 24)}-{rs(r, HEXD, 34)}"),
    Provider("", "LINEAR_API_KEY", lambda r: "lin_api_" + rs(r, ALNUM, 40)),
    Provider("", "NEW_RELIC_API_KEY", lambda r: "NRAK-" + rs(r, UPPER_DIGITS, 27)),
    Provider("", "CLOUDFLARE_API_TOKEN", lambda r: rs(r, B64URL, 40), token=False),
    Provider(
        "",
        "ATLASSIAN_API_TOKEN",
        lambda r: "ATATT3xFfGF0" + rs(r, B64URL, 170) + "=" + rs(r, HEXD, 8).upper(),
    ),
]

PASSWORD_NAMES = [
    "password",
    "db_password",
    "DB_PASS",
    "admin_password",
    "smtp_password",
    "secret_key",
    "client_secret",
    "api_secret",
    "auth_token",
    "api_key",
    "encryption_key",
    "signing_secret",
    "private_token",
    "redis_password",
]


def human_password(r: random.Random) -> str:
    word = pick(r, ["Harbor", "Maple", "Falcon", "Quartz", "Juniper", "Copper", "Nimbus"])
    return f"{word}{pick(r, ['#', '!', '@', '$'])}{r.randint(1970, 2029)}{pick(r, ['x', 'Q', 'z9', 'Lk'])}"


def strong_password(r: random.Random) -> str:
    return rs(r, ALNUM + "!#%&*+-=?@^_", r.randint(14, 28))


def _names(name: str) -> tuple[str, str, str, str]:
    """NAME, snake, camel, Pascal for an upper-case variable name."""
    snake = name.lower()
    parts = snake.split("_")
    camel = parts[0] + "".join(p.title() for p in parts[1:])
    return name, snake, camel, camel[0].upper() + camel[1:]


#: How a value is written down, by kind of file: (kind, template). Templates see NAME,
#: snake, camel, Pascal and v; "{@}" marks the line the value is on when it is not the first.
CONTEXTS: dict[str, list[str]] = {
    "py": [
        '{NAME} = "{v}"',
        "{snake} = '{v}'",
        'client = Client({snake}="{v}")',
        'DEFAULTS = {{"{snake}": "{v}"}}',
        'os.environ.setdefault("{NAME}", "{v}")',
    ],
    "js": [
        'const {camel} = "{v}";',
        "export const {NAME} = '{v}';",
        'const cfg = {{ {camel}: "{v}" }};',
        "module.exports.{camel} = `{v}`;",
    ],
    "ts": ['{camel}: string = "{v}";', "private readonly {camel} = '{v}';"],
    "go": ['const {camel} = "{v}"', 'var {camel} = "{v}"'],
    "java": ['    private static final String {NAME} = "{v}";'],
    "rb": ['{NAME} = "{v}"', "config.{snake} = '{v}'"],
    "yaml": ["{snake}: {v}", '{snake}: "{v}"', '- name: {NAME}\n  value: "{v}"{@1}'],
    "env": ["{NAME}={v}", 'export {NAME}="{v}"'],
    "ini": ["{snake} = {v}"],
    "toml": ['{snake} = "{v}"'],
    "properties": ["{dotted}={v}"],
    "xml": ['  <add key="{Pascal}" value="{v}" />', "  <{camel}>{v}</{camel}>"],
    "sh": ['export {NAME}="{v}"', "{NAME}='{v}' ./deploy.sh"],
    "dockerfile": ["ENV {NAME}={v}"],
    "tf": ['  {snake} = "{v}"'],
    "md": ["Set `{NAME}` to `{v}` before running the importer."],
}
TOKEN_ONLY_CONTEXTS = {
    "py": [
        'requests.get(url, headers={{"Authorization": "Bearer {v}"}})',
        'client = Client("{v}")',
    ],
    "js": ["fetch(url, {{ headers: {{ Authorization: `Bearer {v}` }} }});"],
    "go": ['var client = NewClient("{v}")'],
    "sh": ['curl -H "Authorization: token {v}" https://api.example.com/v1/me'],
    "md": ["```\ncurl -H 'Authorization: Bearer {v}' https://api.example.com/v2/items\n```{@1}"],
}
FILE_KIND = {  # kind: (directory, extension or file name, header, footer)
    "py": ("python", "py", "import os\n\nimport requests\n", ""),
    "js": ("js", "js", "'use strict';\n", ""),
    "ts": ("ts", "ts", "export class Settings {", "}"),
    "go": ("go", "go", "package settings\n", ""),
    "java": ("java", "java", "package com.example.conf;\n\nfinal class Keys {", "}"),
    "rb": ("ruby", "rb", "# frozen_string_literal: true\n", ""),
    "yaml": ("config", "yaml", "---\n", ""),
    "env": ("env", "env", "", ""),
    "ini": ("config", "ini", "[service]", ""),
    "toml": ("config", "toml", "[service]", ""),
    "properties": ("java-config", "properties", "", ""),
    "xml": (
        "dotnet",
        "config",
        '<?xml version="1.0" encoding="utf-8"?>\n<appSettings>',
        "</appSettings>",
    ),
    "sh": ("scripts", "sh", "#!/bin/sh\nset -e\n", ""),
    "dockerfile": ("docker", "Dockerfile", "FROM node:20-slim\n", 'CMD ["node", "server.js"]'),
    "tf": ("terraform", "tf", 'resource "example_service" "main" {', "}"),
    "md": ("docs", "md", "# Setup\n", ""),
}


def render(template: str, name: str, value: str) -> tuple[str, int]:
    """The text of ``template`` for ``name`` and ``value``; the line the value is on."""
    at = 0
    if "{@1}" in template:
        template, at = template.replace("{@1}", ""), 1
    upper, snake, camel, pascal = _names(name)
    text = template.format(
        NAME=upper, snake=snake, camel=camel, Pascal=pascal, dotted=snake.replace("_", "."), v=value
    )
    return text, at


def secret_negative_values(r: random.Random, name: str) -> list[tuple[str, str]]:
    """(category, value) that must not be reported under ``name``."""
    upper, snake, camel, _ = _names(name)
    return [
        (
            "placeholder",
            pick(
                r,
                [
                    "<your-api-key>",
                    "YOUR_API_KEY_HERE",
                    "changeme",
                    "********",
                    "REPLACE_ME",
                    "<token>",
                    "your-token-here",
                ],
            ),
        ),
        ("placeholder-run", "x" * r.randint(16, 40)),
        (
            "placeholder-prefixed",
            pick(
                r,
                [
                    "ghp_" + "X" * 36,
                    "sk_live_" + "x" * 24,
                    "AKIA" + "X" * 16,
                    "xoxb-" + "0" * 11 + "-xxxxxxxx",
                ],
            ),
        ),
        (
            "template",
            pick(
                r,
                [
                    "${" + upper + "}",
                    "{{ ." + "Values." + camel + " }}",
                    "${{ secrets." + upper + " }}",
                    "%(" + snake + ")s",
                    "{{ " + snake + " }}",
                    "<%= ENV['" + upper + "'] %>",
                ],
            ),
        ),
        (
            "example-key",
            pick(r, ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        ),
        ("empty", ""),
        ("name-as-value", upper),
        (
            "path",
            pick(
                r,
                [
                    f"/run/secrets/{snake}",
                    f"prod/{snake.replace('_', '/')}",
                    f"arn:aws:secretsmanager:eu-west-1:{r.randint(10**11, 10**12)}:secret:{snake}-{rs(r, ALNUM, 6)}",
                ],
            ),
        ),
    ]


def env_lookups(kind: str, name: str) -> list[str]:
    upper, snake, camel, _ = _names(name)
    return {
        "py": [
            f'{upper} = os.environ["{upper}"]',
            f'{snake} = os.getenv("{upper}", "")',
            f'client = Client({snake}=os.environ.get("{upper}"))',
        ],
        "js": [
            f"const {camel} = process.env.{upper};",
            f"const {camel} = process.env['{upper}'] ?? '';",
        ],
        "ts": [f"private readonly {camel} = process.env.{upper} ?? '';"],
        "go": [f'var {camel} = os.Getenv("{upper}")'],
        "java": [f'    private static final String {upper} = System.getenv("{upper}");'],
        "rb": [f'{upper} = ENV.fetch("{upper}")', f"config.{snake} = ENV['{upper}']"],
        "yaml": [
            f"{snake}: ${{{upper}}}",
            f"- name: {upper}\n  valueFrom:\n    secretKeyRef:\n      name: app-secrets\n      key: {snake}",
        ],
        "env": [f"{upper}=${{{upper}_FROM_VAULT}}"],
        "sh": [
            f'export {upper}="${{{upper}:?set {upper}}}"',
            f'{upper}="$(vault kv get -field={snake} secret/app)"',
        ],
        "dockerfile": [f"ARG {upper}", f"ENV {upper}=${{{upper}}}"],
        "tf": [f"  {snake} = var.{snake}"],
        "md": [f"Export `{upper}` in your shell before running the importer."],
    }.get(kind, [])


def lookalikes(kind: str, r: random.Random) -> list[tuple[str, str]]:
    """(category, line) that look like secrets to a naive scanner."""
    hex64 = rs(r, HEXD, 64)
    hex40 = rs(r, HEXD, 40)
    u = str(uuid.UUID(bytes=rbytes(r, 16), version=4))
    return {
        "py": [
            ("not-a-value", 'password_field = "password"'),
            ("not-a-value", f"PASSWORD_MIN_LENGTH = {r.randint(8, 16)}"),
            ("not-a-value", 'password = getpass.getpass("Password: ")'),
            ("not-a-value", 'token = request.headers.get("Authorization", "")'),
            ("not-a-value", 'api_key_header = "X-API-Key"'),
            ("hash", f'checksum = "{hex64}"'),
            ("hash", f'EXPECTED_SHA256 = "{hex64}"'),
            ("git-sha", f'commit = "{hex40}"'),
            ("uuid", f'request_id = "{u}"'),
            ("data-uri", f'ICON = "data:image/png;base64,iVBORw0KGgo{rs(r, B64, 60)}"'),
            (
                "url-no-credentials",
                f'DATABASE_URL = "postgres://db.internal:5432/{pick(r, NOUNS)}"',
            ),
            ("url-template", 'DATABASE_URL = f"postgres://{user}:{password}@{host}/app"'),
            (
                "public-id",
                f'GOOGLE_CLIENT_ID = "{r.randint(10**11, 10**12)}-{rs(r, string.ascii_lowercase + string.digits, 32)}.apps.googleusercontent.com"',
            ),
            ("publishable-key", f'STRIPE_PUBLISHABLE_KEY = "pk_live_{rs(r, ALNUM, 24)}"'),
            ("function-call", "secret_key = load_secret_key(settings.KEY_PATH)"),
        ],
        "js": [
            ("not-a-value", "const passwordInput = document.querySelector('#password');"),
            ("not-a-value", "const tokenKey = 'auth_token';"),
            ("hash", f"const etag = '\"{rs(r, HEXD, 32)}\"';"),
            ("uuid", f"const traceId = '{u}';"),
            ("css", f"const brand = '#{rs(r, HEXD, 6)}';"),
            (
                "jwt-doc-example",
                "const sample = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';",
            ),
            ("truncated-jwt", "// tokens look like eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOi...\n"),
        ],
        "yaml": [
            ("git-sha", f"    rev: {hex40}"),
            ("hash", f"sha256: {hex64}"),
            ("not-a-value", "password_policy: strong"),
            ("uuid", f"tenant_id: {u}"),
            (
                "public-key",
                f"ssh_authorized_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(r, B64, 43)} deploy@ci",
            ),
        ],
        "sh": [
            ("not-a-value", 'read -rsp "Password: " password'),
            ("hash", f'echo "{hex64}  release.tar.gz" | sha256sum -c -'),
            ("url-no-credentials", "git clone https://github.com/example/tools.git"),
        ],
        "env": [
            ("not-a-value", "PASSWORD_RESET_TTL=3600"),
            ("not-a-value", "AUTH_TOKEN_HEADER=X-Auth-Token"),
        ],
    }.get(kind, [])


def gen_secret(corpus: Corpus, rng: random.Random, names: Names, scale: int) -> None:
    per_kind: dict[str, list[tuple[str, Label]]] = {k: [] for k in CONTEXTS}

    def add(kind: str, text: str, at: int, expected: str, category: str, **extra: Any) -> None:
        lines = text.count("\n")
        per_kind[kind].append((text, Label("secret", expected, category, at, (0, lines), extra)))

    for _ in range(scale):
        for prov in PROVIDERS:
            kinds = rng.sample(sorted(CONTEXTS), 7)
            for kind in kinds:
                template = pick(rng, CONTEXTS[kind])
                if kind == "md" and not prov.token:
                    continue
                text, at = render(template, prov.name, prov.make(rng))
                add(
                    kind,
                    text,
                    at,
                    "positive",
                    "provider" if prov.rule else "other-provider",
                    provider=prov.name,
                    rule=prov.rule,
                )
            if prov.token:
                kind = pick(rng, sorted(TOKEN_ONLY_CONTEXTS))
                text, at = render(pick(rng, TOKEN_ONLY_CONTEXTS[kind]), prov.name, prov.make(rng))
                add(kind, text, at, "positive", "provider-bare", provider=prov.name, rule=prov.rule)
        for _k in range(40):
            name = pick(rng, PASSWORD_NAMES).upper()
            kind = pick(rng, [k for k in sorted(CONTEXTS) if k != "md"])
            value = pick(rng, [strong_password, strong_password, human_password])(rng)
            text, at = render(pick(rng, CONTEXTS[kind]), name, value)
            add(kind, text, at, "positive", "generic-password", provider=name)
        # negatives: the same names and contexts with values that are not secrets
        for prov in PROVIDERS[::2] + [
            Provider("", n.upper(), strong_password, False) for n in PASSWORD_NAMES[::2]
        ]:
            for category, value in rng.sample(secret_negative_values(rng, prov.name), 5):
                kind = pick(rng, [k for k in sorted(CONTEXTS) if k != "md"])
                text, at = render(pick(rng, CONTEXTS[kind]), prov.name, value)
                add(kind, text, at, "negative", category, provider=prov.name)
            for kind in rng.sample(sorted(CONTEXTS), 3):
                for line in env_lookups(kind, prov.name)[:1]:
                    add(
                        kind,
                        line,
                        0,
                        "negative",
                        "env-lookup",
                        provider=prov.name,
                    )
        for kind in sorted(CONTEXTS):
            for category, line in lookalikes(kind, rng):
                add(kind, line.rstrip("\n"), 0, "negative", category)
        # URLs, headers, command lines
        for _k in range(6):
            user, pw = (
                pick(rng, ["app", "admin", "svc_etl", "reporter"]),
                rs(rng, ALNUM + "-_.~", rng.randint(12, 24)),
            )
            host = f"{pick(rng, NOUNS)}-db.internal"
            url = pick(
                rng,
                [
                    f"postgres://{user}:{pw}@{host}:5432/app",
                    f"mysql://{user}:{pw}@{host}/shop",
                    f"mongodb+srv://{user}:{pw}@cluster0.{rs(rng, string.ascii_lowercase, 5)}.mongodb.net/app",
                    f"redis://:{pw}@{host}:6379/0",
                    f"amqp://{user}:{pw}@{host}:5672/",
                ],
            )
            kind = pick(rng, ["py", "yaml", "env", "js", "properties"])
            text, at = render(pick(rng, CONTEXTS[kind]), "DATABASE_URL", url)
            add(kind, text, at, "positive", "url-credentials", rule="database-url-password")
            text, at = render(
                pick(rng, CONTEXTS[kind]), "DATABASE_URL", f"postgres://{user}@{host}:5432/app"
            )
            add(kind, text, at, "negative", "url-no-password")
            text, at = render(
                pick(rng, CONTEXTS[kind]),
                "DATABASE_URL",
                f"postgres://{user}:${{DB_PASSWORD}}@{host}:5432/app",
            )
            add(kind, text, at, "negative", "url-template")
            basic = b64(f"{user}:{strong_password(rng)}".encode())
            add(
                "sh",
                f'curl -H "Authorization: Basic {basic}" https://{host}/api',
                0,
                "positive",
                "basic-auth-header",
                rule="authorization-header",
            )
            add(
                "py",
                f'HEADERS = {{"Authorization": "Bearer {rs(rng, ALNUM, 40)}"}}',
                0,
                "positive",
                "bearer-header",
                rule="authorization-header",
            )
            add(
                "sh",
                f"mysql -u {user} -p'{strong_password(rng)}' -h {host} app < dump.sql",
                0,
                "positive",
                "cli-password",
                rule="cli-password",
            )
            add(
                "sh",
                f"sshpass -p '{strong_password(rng)}' ssh {user}@{host}",
                0,
                "positive",
                "cli-password",
                rule="cli-password",
            )
            add(
                "sh", f'mysql -u {user} -p"$MYSQL_PASSWORD" -h {host} app', 0, "negative", "cli-env"
            )
            add(
                "sh",
                f"git clone https://{user}:{'ghp_' + rs(rng, ALNUM, 36)}@github.com/example/{pick(rng, NOUNS)}.git",
                0,
                "positive",
                "url-credentials",
                rule="github-pat",
            )
            add(
                "sh",
                f"curl -u {user}:{strong_password(rng).replace(' ', '')} https://{host}/api",
                0,
                "positive",
                "cli-password",
            )
    for kind, items in per_kind.items():
        rng.shuffle(items)
        directory, ext, header, footer = FILE_KIND[kind]
        for k in range(0, len(items), 25):
            stem = f"{names.words(2)[1]}_{k // 25}"
            path = (
                f"secret/{directory}/{stem}/Dockerfile"
                if kind == "dockerfile"
                else f"secret/{directory}/{stem}.{ext}"
            )
            lang = {
                "py": "python",
                "js": "javascript",
                "ts": "typescript",
                "go": "go",
                "java": "java",
                "rb": "ruby",
                "yaml": "yaml",
                "toml": "toml",
                "sh": "bash",
                "dockerfile": "dockerfile",
                "md": "markdown",
            }.get(kind, kind)
            fb = corpus.file(path, lang)
            if header:
                fb.add(header)
            for text, lab in items[k : k + 25]:
                if kind in ("ts", "java", "tf", "xml") and not text.startswith(" "):
                    text = "\n".join("  " + line for line in text.split("\n"))
                fb.add(text, lab)
                if kind in ("md",):
                    fb.blank()
            if footer:
                fb.add(footer)
    gen_secret_files(corpus, rng, names, scale)


def gen_secret_files(corpus: Corpus, rng: random.Random, names: Names, scale: int) -> None:
    """Whole files: key blocks, service-account JSON, .npmrc, .netrc, docker config,
    lockfiles (negatives: integrity hashes), public keys (negatives)."""
    for n in range(8 * scale):
        kind = pick(
            rng,
            [
                "RSA PRIVATE KEY",
                "PRIVATE KEY",
                "EC PRIVATE KEY",
                "OPENSSH PRIVATE KEY",
                "DSA PRIVATE KEY",
            ],
        )
        block = pem(rng, kind)
        lines = block.count("\n")
        fb = corpus.file(
            pick(
                rng,
                [
                    f"secret/keys/{pick(rng, NOUNS)}_{n}.pem",
                    f"secret/keys/deploy_{n}_id_rsa",
                    f"secret/keys/{pick(rng, NOUNS)}_{n}.key",
                ],
            ),
            "pem",
        )
        fb.add(
            block,
            Label("secret", "positive", "private-key-file", 0, (0, lines), {"rule": "private-key"}),
        )
    for n in range(4 * scale):
        block = pem(rng, pick(rng, ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"]))
        lines = block.count("\n")
        fb = corpus.file(f"secret/python/embedded_key_{n}.py", "python")
        fb.add("import jwt\n")
        fb.add(
            f'SIGNING_KEY = """{block}\n"""',
            Label(
                "secret",
                "positive",
                "private-key-embedded",
                0,
                (0, lines + 1),
                {"rule": "private-key"},
            ),
        )
        fb = corpus.file(f"secret/config/tls_{n}.yaml", "yaml")
        block = pem(rng, "PRIVATE KEY")
        body = "\n".join("  " + line for line in block.split("\n"))
        fb.add(
            f"tls_key: |\n{body}",
            Label(
                "secret", "positive", "private-key-yaml", 1, (0, lines + 1), {"rule": "private-key"}
            ),
        )
    for n in range(4 * scale):
        fb = corpus.file(f"secret/keys/{pick(rng, NOUNS)}_{n}.pub.pem", "pem")
        text = b64(
            bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00") + rbytes(rng, 270)
        )
        body = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
        block = f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----"
        fb.add(block, Label("secret", "negative", "public-key", 0, (0, block.count("\n"))))
        fb = corpus.file(f"secret/keys/authorized_keys_{n}", "text")
        for user in ("deploy", "backup", "ci"):
            fb.add(
                f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(rng, B64, 43)} {user}@{pick(rng, NOUNS)}-host",
                Label("secret", "negative", "public-key", 0),
            )
    for _n in range(3 * scale):
        project = f"{pick(rng, NOUNS)}-{rng.randint(100000, 999999)}"
        key = pem(rng, "PRIVATE KEY").replace("\n", "\\n") + "\\n"
        lines = [
            "{",
            '  "type": "service_account",',
            f'  "project_id": "{project}",',
            f'  "private_key_id": "{rs(rng, HEXD, 40)}",',
            f'  "private_key": "{key}",',
            f'  "client_email": "importer@{project}.iam.gserviceaccount.com",',
            f'  "client_id": "{rng.randint(10**20, 10**21)}",',
            '  "token_uri": "https://oauth2.googleapis.com/token"',
            "}",
        ]
        fb = corpus.file(f"secret/gcp/{project}.json", "json")
        fb.add(
            "\n".join(lines),
            Label(
                "secret",
                "positive",
                "gcp-service-account",
                4,
                (0, 8),
                {"rule": "gcp-service-account-key"},
            ),
        )
    for n in range(3 * scale):
        fb = corpus.file(f"secret/npm/{pick(rng, NOUNS)}_{n}/.npmrc", "ini")
        fb.add("registry=https://registry.npmjs.org/")
        fb.add(
            f"//registry.npmjs.org/:_authToken=npm_{rs(rng, ALNUM, 36)}",
            Label("secret", "positive", "npmrc", 0, extra={"rule": "npm-token"}),
        )
        fb.add(
            f"//npm.pkg.example.com/:_auth={b64(('ci:' + strong_password(rng)).encode())}",
            Label("secret", "positive", "npmrc-auth", 0, extra={"rule": "npmrc-auth"}),
        )
        fb.add(
            "//registry.example.org/:_authToken=${NPM_TOKEN}",
            Label("secret", "negative", "template", 0),
        )
        fb = corpus.file(f"secret/netrc/{pick(rng, NOUNS)}_{n}/.netrc", "text")
        fb.add(
            f"machine api.{pick(rng, NOUNS)}.example.com login ci-bot password {strong_password(rng)}",
            Label("secret", "positive", "netrc", 0, extra={"rule": "netrc-password"}),
        )
        fb.add(
            f"machine files.example.com\n  login reader\n  password {strong_password(rng)}",
            Label("secret", "positive", "netrc", 2, (0, 2), {"rule": "netrc-password"}),
        )
        fb = corpus.file(f"secret/docker/{pick(rng, NOUNS)}_{n}/config.json", "json")
        auth = b64(f"builder:{strong_password(rng)}".encode())
        fb.add('{\n  "auths": {\n    "registry.example.com": {')
        fb.add(
            f'      "auth": "{auth}"',
            Label("secret", "positive", "docker-config", 0, extra={"rule": "docker-config-auth"}),
        )
        fb.add("    }\n  }\n}")
        fb = corpus.file(f"secret/python/{pick(rng, NOUNS)}_{n}/.pypirc", "ini")
        fb.add("[pypi]\nusername = __token__")
        fb.add(
            f"password = pypi-AgEIcHlwaS5vcmc{rs(rng, B64URL, 70)}",
            Label("secret", "positive", "pypirc", 0, extra={"rule": "pypi-token"}),
        )
    # lockfiles: integrity hashes are not secrets
    for n in range(2 * scale):
        d = f"secret/lockfiles/app_{n}"
        fb = corpus.file(f"{d}/package-lock.json", "json")
        fb.add('{\n  "name": "app",\n  "lockfileVersion": 3,\n  "packages": {')
        for k in range(10):
            pkg = f"{pick(rng, NOUNS)}-{pick(rng, VERBS)}"
            fb.add(
                f'    "node_modules/{pkg}": {{\n      "version": "{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",\n      "resolved": "https://registry.npmjs.org/{pkg}/-/{pkg}-1.0.0.tgz",'
            )
            fb.add(
                f'      "integrity": "sha512-{b64(rbytes(rng, 64))}"',
                Label("secret", "negative", "lockfile-integrity", 0),
            )
            fb.add("    }," if k < 9 else "    }")
        fb.add("  }\n}")
        fb = corpus.file(f"{d}/yarn.lock", "text")
        for k in range(8):
            pkg = f"{pick(rng, NOUNS)}-{pick(rng, VERBS)}"
            fb.add(
                f'"{pkg}@^1.0.0":\n  version "1.2.{k}"\n  resolved "https://registry.yarnpkg.com/{pkg}/-/{pkg}-1.2.{k}.tgz#{rs(rng, HEXD, 40)}"'
            )
            fb.add(
                f"  integrity sha512-{b64(rbytes(rng, 64))}",
                Label("secret", "negative", "lockfile-integrity", 0),
            )
            fb.blank()
        fb = corpus.file(f"{d}/poetry.lock", "toml")
        for k in range(6):
            pkg = f"{pick(rng, NOUNS)}-{pick(rng, VERBS)}"
            fb.add(f'[[package]]\nname = "{pkg}"\nversion = "2.{k}.0"\nfiles = [')
            fb.add(
                f'    {{file = "{pkg}-2.{k}.0-py3-none-any.whl", hash = "sha256:{rs(rng, HEXD, 64)}"}},',
                Label("secret", "negative", "lockfile-integrity", 0),
            )
            fb.add("]\n")
        fb = corpus.file(f"{d}/go.sum", "text")
        for k in range(8):
            mod = f"github.com/{pick(rng, NOUNS)}/{pick(rng, VERBS)}"
            fb.add(
                f"{mod} v1.{k}.0 h1:{b64(rbytes(rng, 32))}",
                Label("secret", "negative", "lockfile-integrity", 0),
            )
        fb = corpus.file(f"{d}/Cargo.lock", "toml")
        for k in range(6):
            fb.add(
                f'[[package]]\nname = "{pick(rng, NOUNS)}-{k}"\nversion = "0.{k}.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"'
            )
            fb.add(
                f'checksum = "{rs(rng, HEXD, 64)}"',
                Label("secret", "negative", "lockfile-integrity", 0),
            )
            fb.blank()


# ------------------------------------------------------------------------------ wire


def wl(
    expected: str,
    category: str,
    at: int = 0,
    span: tuple[int, int] | None = None,
    kind: str = "function",
) -> Label:
    return Label("wire", expected, category, at, span, {"kind": kind})


PY_FATES = [
    ("imported-call", 3),
    ("unused", 3),
    ("module-level-call", 1),
    ("callback", 1),
    ("route-decorator", 1),
    ("cache-decorator-unused", 1),
    ("all-export", 1),
    ("yaml-handler", 1),
    ("getattr", 1),
    ("entry-point", 1),
    ("recursive-only", 1),
    ("mentioned-in-comment", 0.5),
    ("class-used", 2),
    ("class-unused", 1),
    ("class-external-base", 1),
    ("class-internal-override", 1),
]


def weighted(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in table], [w for _, w in table])[0]


def wire_python(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    base = f"wire/python/{pick(rng, NOUNS)}_{idx}"
    mod = "_".join(nm.words(2))
    fb = corpus.file(f"{base}/{mod}.py", "python")
    caller: list[str] = [f"from {mod} import *  # noqa: F403", f"import {mod}", ""]
    extra_files: dict[str, list[str]] = {}
    fb.add(
        f'"""Helpers for the {mod} pipeline."""\n\nimport ast\nimport functools\nimport json\nimport logging\n\nfrom flask import Flask\n\napp = Flask(__name__)\n'
    )
    exports: list[str] = []
    post: list[str] = []
    for _ in range(rng.randint(3, 6)):
        fate = weighted(rng, PY_FATES)
        f = nm.snake()
        arg = pick(rng, ["rows", "record", "path", "payload", "items, limit=10"])
        body = f"    return {arg.split(',')[0]}"
        if fate == "imported-call":
            fb.add(f"def {f}({arg}):\n{body}", wl("negative", fate))
            caller.append(f"print({mod}.{f}([]))")
        elif fate == "unused":
            fb.add(f"def {f}({arg}):\n{body}", wl("positive", fate))
        elif fate == "module-level-call":
            fb.add(f"def {f}({arg}):\n{body}", wl("negative", fate))
            post.append(f"DEFAULT_{f.upper()} = {f}([])")
        elif fate == "callback":
            fb.add(f"def {f}(item):\n    return len(str(item))", wl("negative", fate))
            caller.append(
                pick(
                    rng,
                    [
                        f"print(sorted(['b', 'a'], key={mod}.{f}))",
                        f"atexit.register({mod}.{f}, None)",
                        f"list(map({mod}.{f}, range(3)))",
                    ],
                )
            )
        elif fate == "route-decorator":
            fb.add(
                f'@app.route("/{f.replace("_", "-")}")\ndef {f}():\n    return {{"ok": True}}',
                wl("negative", fate, 1, (0, 1)),
            )
        elif fate == "cache-decorator-unused":
            fb.add(
                f"@functools.lru_cache(maxsize=128)\ndef {f}(key):\n    return key.upper()",
                wl("positive", fate, 1, (0, 1)),
            )
        elif fate == "all-export":
            fb.add(f"def {f}({arg}):\n{body}", wl("negative", fate))
            exports.append(f)
        elif fate == "yaml-handler":
            fb.add(f"def {f}(event):\n    return event.get('key')", wl("negative", fate))
            extra_files.setdefault("handlers.yaml", ["events:"]).append(
                f"  {pick(rng, NOUNS)}: {mod}.{f}"
            )
        elif fate == "getattr":
            fb.add(f"def {f}({arg}):\n{body}", wl("negative", fate))
            caller.append(f'print(getattr({mod}, "{f}")([]))')
        elif fate == "entry-point":
            fb.add(f"def {f}():\n    print('{mod}')", wl("negative", fate))
            extra_files.setdefault(
                "pyproject.toml",
                [
                    "[project]",
                    f'name = "{mod.replace("_", "-")}"',
                    'version = "0.1.0"',
                    "",
                    "[project.scripts]",
                ],
            ).append(f'{f.replace("_", "-")}-cli = "{mod}:{f}"')
        elif fate == "recursive-only":
            fb.add(f"def {f}(n):\n    return 1 if n <= 1 else n * {f}(n - 1)", wl("positive", fate))
        elif fate == "mentioned-in-comment":
            fb.add(f"def {f}({arg}):\n{body}", wl("positive", fate))
            caller.append(f"# {f} used to run here before the {pick(rng, NOUNS)} rewrite")
        elif fate.startswith("class"):
            c = nm.pascal()
            if fate == "class-unused":
                fb.add(f"class {c}:", wl("positive", fate, kind="class"))
                fb.add(
                    "    def __init__(self, value):\n        self.value = value",
                    wl("negative", "dunder", kind="method"),
                )
                fb.add(
                    "\n    def __repr__(self):\n        return f'{type(self).__name__}({self.value!r})'",
                    wl("negative", "dunder", 1, (1, 1), kind="method"),
                )
                fb.blank()
                continue
            if fate == "class-external-base":
                basename, hook, sig = pick(
                    rng,
                    [
                        ("ast.NodeVisitor", "visit_Call", "self, node"),
                        ("logging.Handler", "emit", "self, record"),
                        ("json.JSONEncoder", "default", "self, o"),
                    ],
                )
                fb.add(f"class {c}({basename}):", wl("negative", "used-class", kind="class"))
                fb.add(
                    f"    def {hook}({sig}):\n        return None",
                    wl("negative", "external-override", kind="method"),
                )
                m = nm.snake()
                fb.add(
                    f"\n    def {m}(self):\n        return 1",
                    wl("positive", "unused-method-of-external-subclass", 1, (1, 1), kind="method"),
                )
                caller.append(f"{mod}.{c}()")
                fb.blank()
                continue
            if fate == "class-internal-override":
                b, m = nm.pascal(), nm.snake()
                fb.add(f"class {b}:", wl("negative", "used-class", kind="class"))
                fb.add(
                    f"    def {m}(self):\n        return 0",
                    wl("negative", "called-method", kind="method"),
                )
                fb.blank()
                fb.add(f"\nclass {c}({b}):", wl("negative", "used-class", 1, (1, 1), kind="class"))
                fb.add(
                    f"    def {m}(self):\n        return 1",
                    wl("negative", "internal-override", kind="method"),
                )
                caller.append(f"print({mod}.{c}().{m}())")
                fb.blank()
                continue
            fb.add(f"class {c}:", wl("negative", "used-class", kind="class"))
            fb.add(
                "    def __init__(self):\n        self.items = []",
                wl("negative", "dunder", kind="method"),
            )
            called = nm.snake()
            helper = nm.snake()
            fb.add(
                f"\n    def {called}(self, item):\n        self.items.append(item)\n        return self.{helper}()",
                wl("negative", "called-method", 1, (1, 1), kind="method"),
            )
            fb.add(
                f"\n    def {helper}(self):\n        return len(self.items)",
                wl("negative", "self-called", 1, (1, 1), kind="method"),
            )
            for _k in range(rng.randint(1, 2)):
                mf = pick(
                    rng,
                    [
                        "unused-method",
                        "unused-method",
                        "unused-staticmethod",
                        "unused-property",
                        "used-property",
                    ],
                )
                m = nm.snake()
                if mf == "unused-method":
                    fb.add(
                        f"\n    def {m}(self, limit):\n        return self.items[:limit]",
                        wl("positive", mf, 1, (1, 1), kind="method"),
                    )
                elif mf == "unused-staticmethod":
                    fb.add(
                        f"\n    @staticmethod\n    def {m}(value):\n        return value * 2",
                        wl("positive", mf, 2, (1, 2), kind="method"),
                    )
                elif mf == "unused-property":
                    fb.add(
                        f"\n    @property\n    def {m}(self):\n        return self.items[-1]",
                        wl("positive", mf, 2, (1, 2), kind="method"),
                    )
                else:
                    fb.add(
                        f"\n    @property\n    def {m}(self):\n        return self.items[0]",
                        wl("negative", mf, 2, (1, 2), kind="method"),
                    )
                    caller.append(f"print(OBJ_{c.upper()}.{m})")
            caller.insert(2, f"OBJ_{c.upper()} = {mod}.{c}()")
            caller.append(f"OBJ_{c.upper()}.{called}(1)")
        fb.blank()
    for line in post:
        fb.add(line)
    if exports:
        fb.add("__all__ = [" + ", ".join(f'"{e}"' for e in exports) + "]")
    caller.insert(0, "import atexit")
    corpus.write_raw(f"{base}/run_{mod}.py", "\n".join(caller) + "\n")
    for name, lines in extra_files.items():
        corpus.write_raw(f"{base}/{name}", "\n".join(lines) + "\n")


JS_FATES = [
    ("required-call", 3),
    ("unused", 3),
    ("unused-arrow", 1),
    ("es-export", 1),
    ("event-callback", 1),
    ("class-used", 2),
    ("class-unused", 1),
]


def wire_js(corpus: Corpus, rng: random.Random, nm: Names, idx: int, ts: bool) -> None:
    lang = "typescript" if ts else "javascript"
    ext = "ts" if ts else "js"
    base = f"wire/{lang}/{pick(rng, NOUNS)}_{idx}"
    mod = nm.camel()
    fb = corpus.file(f"{base}/{mod}.{ext}", lang)
    t = (lambda s: s) if ts else (lambda s: "")
    caller = [f"const lib = require('./{mod}');", ""]
    cjs: list[str] = []
    fb.add("'use strict';\n")
    for _ in range(rng.randint(3, 6)):
        fate = weighted(rng, JS_FATES)
        f = nm.camel()
        if fate == "required-call":
            fb.add(
                f"function {f}(rows{t(': number[]')}){t(': number')} {{\n  return rows.length;\n}}",
                wl("negative", fate),
            )
            cjs.append(f)
            caller.append(f"console.log(lib.{f}([]));")
        elif fate == "unused":
            fb.add(
                f"function {f}(rows{t(': number[]')}){t(': number')} {{\n  return rows.length * 2;\n}}",
                wl("positive", fate),
            )
        elif fate == "unused-arrow":
            fb.add(f"const {f} = (value{t(': string')}) => value.trim();", wl("positive", fate))
        elif fate == "es-export":
            fb.add(
                f"export function {f}(value{t(': string')}) {{\n  return value.toUpperCase();\n}}",
                wl("negative", fate),
            )
        elif fate == "event-callback":
            fb.add(
                f"function {f}(event{t(': Event')}) {{\n  console.log(event.type);\n}}",
                wl("negative", fate),
            )
            fb.add(f"process.on('{pick(rng, ['exit', 'SIGTERM', 'warning'])}', {f});")
        elif fate == "class-unused":
            c = nm.pascal()
            fb.add(f"class {c} {{", wl("positive", fate, kind="class"))
            fb.add(
                f"  constructor(size{t(': number')}) {{\n    this.size = size;\n  }}\n}}",
                wl("negative", "constructor", kind="method"),
            )
        else:
            c = nm.pascal()
            called, unused = nm.camel(), nm.camel()
            fb.add(f"class {c} {{", wl("negative", "used-class", kind="class"))
            fb.add(
                f"  {called}(){t(': number')} {{\n    return 1;\n  }}",
                wl("negative", "called-method", kind="method"),
            )
            private = ts and rng.random() < 0.5
            fb.add(
                f"  {'private ' if private else ''}{unused}(){t(': number')} {{\n    return 2;\n  }}\n}}",
                wl(
                    "positive",
                    "unused-private-method" if private else "unused-method",
                    kind="method",
                ),
            )
            cjs.append(c)
            caller.append(f"console.log(new lib.{c}().{called}());")
        fb.blank()
    fb.add("module.exports = { " + ", ".join(cjs) + " };")
    corpus.write_raw(f"{base}/main.{ext}", "\n".join(caller) + "\n")


GO_FATES = [
    ("called", 3),
    ("unused-unexported", 3),
    ("exported", 1),
    ("handler", 1),
    ("unused-method", 2),
    ("unused-type", 1),
    ("init", 0.5),
]


def wire_go(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    pkg = "".join(nm.words(2))
    base = f"wire/go/{pick(rng, NOUNS)}_{idx}"
    fb = corpus.file(f"{base}/{pkg}/{pkg}.go", "go")
    fb.add(f'package {pkg}\n\nimport "net/http"\n')
    calls: list[str] = []
    for _ in range(rng.randint(3, 6)):
        fate = weighted(rng, GO_FATES)
        if fate == "called":
            f = "".join(x.title() for x in nm.words())
            fb.add(f"func {f}(n int) int {{\n\treturn n + 1\n}}", wl("negative", fate))
            calls.append(f"\tfmt.Println({pkg}.{f}(1))")
        elif fate == "unused-unexported":
            f = nm.camel()
            fb.add(f"func {f}(n int) int {{\n\treturn n * 3\n}}", wl("positive", fate))
        elif fate == "exported":
            f = "".join(x.title() for x in nm.words())
            fb.add(f'func {f}(s string) string {{\n\treturn s + "!"\n}}', wl("negative", fate))
        elif fate == "handler":
            f = nm.camel()
            fb.add(
                f"func {f}(w http.ResponseWriter, r *http.Request) {{\n\tw.WriteHeader(http.StatusNoContent)\n}}",
                wl("negative", fate),
            )
            h = "".join(x.title() for x in nm.words())
            fb.add(
                f'\n// {h} registers the handlers.\nfunc {h}(mux *http.ServeMux) {{\n\tmux.HandleFunc("/{f.lower()}", {f})\n}}',
                wl("negative", "exported", 2, (2, 2)),
            )
            calls.append(f"\t{pkg}.{h}(http.NewServeMux())")
        elif fate == "unused-method":
            t = nm.pascal()
            used = "".join(x.title() for x in nm.words())
            unused = nm.camel()
            fb.add(f"type {t} struct{{ n int }}", wl("negative", "used-type", kind="class"))
            fb.add(
                f"\nfunc (x *{t}) {used}() int {{ return x.{unused}() }}",
                wl("negative", "exported-method", 1, (1, 1), kind="method"),
            )
            fb.add(
                f"\nfunc (x *{t}) {unused}() int {{ return x.n }}",
                wl("negative", "self-called", 1, (1, 1), kind="method"),
            )
            dead = nm.camel()
            fb.add(
                f"\nfunc (x *{t}) {dead}() int {{ return -x.n }}",
                wl("positive", "unused-method", 1, (1, 1), kind="method"),
            )
            calls.append(f"\tfmt.Println((&{pkg}.{t}{{}}).{used}())")
        elif fate == "unused-type":
            t = nm.camel()
            fb.add(
                f"type {t} struct {{\n\tid   int\n\tname string\n}}",
                wl("positive", fate, kind="class"),
            )
        elif fate == "init":
            fb.add("func init() {\n\thttp.DefaultClient.Timeout = 0\n}", wl("negative", fate))
        fb.blank()
    main = corpus.file(f"{base}/main.go", "go")
    main.add(
        f'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\n\t"example.com/bench/{base}/{pkg}"\n)\n'
    )
    if rng.random() < 0.5:
        f = nm.camel()
        main.add(
            f'func {f}() string {{\n\treturn "unused in main"\n}}\n',
            wl("positive", "unused-in-main"),
        )
    main.add("func main() {", wl("negative", "main"))
    main.add("\n".join([*calls, "\t_ = http.StatusOK"]) + "\n}")


def wire_java(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    pkg = "".join(nm.words(2))
    c = nm.pascal()
    base = f"wire/java/{pick(rng, NOUNS)}_{idx}/src/com/example/{pkg}"
    fb = corpus.file(f"{base}/{c}.java", "java")
    fb.add(f"package com.example.{pkg};\n\nimport java.util.List;\n")
    fb.add(f"public final class {c} {{", wl("negative", "public-class", kind="class"))
    for _ in range(rng.randint(3, 6)):
        fate = weighted(
            rng,
            [
                ("private-used", 2),
                ("private-unused", 3),
                ("public", 1),
                ("override", 1),
                ("nested-unused", 1),
            ],
        )
        m = nm.camel()
        if fate == "private-used":
            pub = nm.camel()
            fb.add(
                f"    private int {m}(List<Integer> rows) {{\n        return rows.size();\n    }}",
                wl("negative", fate, kind="method"),
            )
            fb.add(
                f"\n    public int {pub}(List<Integer> rows) {{\n        return {m}(rows) + 1;\n    }}",
                wl("negative", "public", 1, (1, 1), kind="method"),
            )
        elif fate == "private-unused":
            fb.add(
                f"    private static String {m}(String value) {{\n        return value.trim();\n    }}",
                wl("positive", fate, kind="method"),
            )
        elif fate == "public":
            fb.add(
                f'    public String {m}() {{\n        return "{pkg}";\n    }}',
                wl("negative", fate, kind="method"),
            )
        elif fate == "override":
            fb.add(
                '    @Override\n    public String toString() {\n        return "' + c + '";\n    }',
                wl("negative", fate, 1, (0, 1), kind="method"),
            )
        else:
            n = nm.pascal()
            fb.add(
                f"    private static final class {n} {{\n        int size;\n    }}",
                wl("positive", fate, kind="class"),
            )
        fb.blank()
    fb.add("    public static void main(String[] args) {", wl("negative", "main", kind="method"))
    fb.add(f"        System.out.println(new {c}());\n    }}\n}}")
    helper = nm.pascal()
    hb = corpus.file(f"{base}/{helper}.java", "java")
    hb.add(f"package com.example.{pkg};\n")
    hb.add(
        f"final class {helper} {{\n    int count;\n}}",
        wl("positive", "package-private-class-unused", kind="class"),
    )


def wire_rust(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    base = f"wire/rust/{pick(rng, NOUNS)}_{idx}/src"
    fb = corpus.file(f"{base}/main.rs", "rust")
    fb.add("use std::fmt;\n")
    calls = []
    for _ in range(rng.randint(3, 6)):
        fate = weighted(
            rng,
            [
                ("called", 3),
                ("unused-private", 3),
                ("pub", 1),
                ("trait-impl", 1),
                ("unused-method", 1),
            ],
        )
        f = nm.snake()
        if fate == "called":
            fb.add(f"fn {f}(n: u32) -> u32 {{\n    n + 1\n}}", wl("negative", fate))
            calls.append(f'    println!("{{}}", {f}(1));')
        elif fate == "unused-private":
            fb.add(f"fn {f}(n: u32) -> u32 {{\n    n * 2\n}}", wl("positive", fate))
        elif fate == "pub":
            fb.add(f"pub fn {f}(n: u32) -> u32 {{\n    n * 4\n}}", wl("negative", fate))
        elif fate == "trait-impl":
            t = nm.pascal()
            fb.add(f"struct {t};", wl("negative", "used-type", kind="class"))
            fb.add(
                f'\nimpl fmt::Display for {t} {{\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {{\n        write!(f, "{t}")\n    }}\n}}',
                wl("negative", "trait-impl", 2, (2, 2), kind="method"),
            )
            calls.append(f'    println!("{{}}", {t});')
        else:
            t = nm.pascal()
            used = nm.snake()
            fb.add(f"struct {t} {{\n    n: u32,\n}}", wl("negative", "used-type", kind="class"))
            fb.add(
                f"\nimpl {t} {{\n    fn {used}(&self) -> u32 {{\n        self.n\n    }}",
                wl("negative", "called-method", 2, (2, 2), kind="method"),
            )
            fb.add(
                f"\n    fn {f}(&self) -> u32 {{\n        self.n + 1\n    }}\n}}",
                wl("positive", "unused-method", 1, (1, 1), kind="method"),
            )
            calls.append(f'    println!("{{}}", {t} {{ n: 1 }}.{used}());')
        fb.blank()
    fb.add("fn main() {", wl("negative", "main"))
    fb.add("\n".join(calls) + "\n}")


def wire_ruby(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    base = f"wire/ruby/{pick(rng, NOUNS)}_{idx}"
    c = nm.pascal()
    fname = "_".join(nm.words(2))
    fb = corpus.file(f"{base}/lib/{fname}.rb", "ruby")
    caller = [f"require_relative 'lib/{fname}'", f"obj = {c}.new"]
    fb.add(f"class {c}", wl("negative", "used-class", kind="class"))
    fb.add("  def initialize\n    @rows = []\n  end", wl("negative", "special", kind="method"))
    for _ in range(rng.randint(2, 5)):
        fate = weighted(rng, [("called", 3), ("unused", 3), ("send-symbol", 1), ("to-s", 0.5)])
        m = nm.snake()
        if fate == "called":
            fb.add(
                f"\n  def {m}(row)\n    @rows << row\n  end",
                wl("negative", fate, 1, (1, 1), kind="method"),
            )
            caller.append(f"obj.{m}(1)")
        elif fate == "unused":
            fb.add(
                f"\n  def {m}\n    @rows.size\n  end",
                wl("positive", fate, 1, (1, 1), kind="method"),
            )
        elif fate == "send-symbol":
            fb.add(
                f"\n  def {m}\n    @rows.first\n  end",
                wl("negative", fate, 1, (1, 1), kind="method"),
            )
            caller.append(f"obj.send(:{m})")
        else:
            fb.add(
                '\n  def to_s\n    "rows"\n  end',
                wl("negative", "special", 1, (1, 1), kind="method"),
            )
    fb.add("end")
    corpus.write_raw(f"{base}/run_{fname}.rb", "\n".join(caller) + "\n")


def wire_c(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    base = f"wire/c/{pick(rng, NOUNS)}_{idx}"
    stem = "_".join(nm.words(2))
    header = corpus.file(f"{base}/{stem}.h", "c")
    fb = corpus.file(f"{base}/{stem}.c", "c")
    fb.add(f'#include <stdlib.h>\n#include "{stem}.h"\n')
    calls: list[str] = []
    header.add(f"#ifndef {stem.upper()}_H\n#define {stem.upper()}_H\n")
    for _ in range(rng.randint(3, 6)):
        fate = weighted(
            rng,
            [
                ("static-called", 2),
                ("static-unused", 3),
                ("declared-in-header", 1),
                ("extern-unused", 1),
                ("atexit-callback", 1),
            ],
        )
        f = nm.snake()
        if fate == "static-called":
            fb.add(f"static int {f}(int n) {{\n    return n + 1;\n}}", wl("negative", fate))
            calls.append(f"    total += {f}(1);")
        elif fate == "static-unused":
            fb.add(f"static int {f}(int n) {{\n    return n * 2;\n}}", wl("positive", fate))
        elif fate == "declared-in-header":
            header.add(f"int {f}(int n);")
            fb.add(f"int {f}(int n) {{\n    return n * 4;\n}}", wl("negative", fate))
        elif fate == "extern-unused":
            fb.add(f"int {f}(int n) {{\n    return n - 1;\n}}", wl("positive", fate))
        else:
            fb.add(f"static void {f}(void) {{\n    fflush(NULL);\n}}", wl("negative", fate))
            calls.append(f"    atexit({f});")
        fb.blank()
    header.add("\n#endif")
    fb.add("int main(void) {", wl("negative", "main"))
    fb.add("    int total = 0;\n" + "\n".join(calls) + "\n    return total;\n}")


def wire_bash(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    base = f"wire/bash/{pick(rng, NOUNS)}_{idx}"
    fb = corpus.file(f"{base}/{'_'.join(nm.words(2))}.sh", "bash")
    fb.add("#!/usr/bin/env bash\nset -euo pipefail\n")
    calls: list[str] = []
    for _ in range(rng.randint(2, 5)):
        fate = weighted(rng, [("called", 3), ("unused", 3), ("trap", 1)])
        f = nm.snake()
        if fate == "called":
            fb.add(f'{f}() {{\n  echo "$1"\n}}', wl("negative", fate))
            calls.append(f"{f} start")
        elif fate == "unused":
            fb.add(f'{f}() {{\n  rm -f "$1.bak"\n}}', wl("positive", fate))
        else:
            fb.add(f'{f}() {{\n  rm -rf "${{TMPDIR:-/tmp}}/job.$$"\n}}', wl("negative", fate))
            calls.append(f"trap {f} EXIT")
        fb.blank()
    fb.add("\n".join(calls))


def gen_wire(corpus: Corpus, rng: random.Random, names: Names, scale: int) -> None:
    counts = {
        "python": 90,
        "javascript": 30,
        "typescript": 25,
        "go": 30,
        "java": 20,
        "rust": 20,
        "ruby": 15,
        "c": 20,
        "bash": 15,
    }
    for lang, count in counts.items():
        for idx in range(count * scale):
            if lang == "python":
                wire_python(corpus, rng, names, idx)
            elif lang in ("javascript", "typescript"):
                wire_js(corpus, rng, names, idx, lang == "typescript")
            else:
                {
                    "go": wire_go,
                    "java": wire_java,
                    "rust": wire_rust,
                    "ruby": wire_ruby,
                    "c": wire_c,
                    "bash": wire_bash,
                }[lang](corpus, rng, names, idx)
    # Added later, each from a generator of its own (called in this order, each seeded
    # from the main one), so the items above stay as they were.
    later: list[tuple[Callable[[Corpus, random.Random, Names, int], None], str | None]] = [
        (wire_python_dispatch, None),
        (stub_hierarchy, "stub-hierarchy"),
        (stub_real, "stub-real"),
        (scripts_real, "scripts"),
        (hooks_real, "hooks"),
        (hierarchy_across_files, "across"),
        (declined_real, "declined"),
        (ruby_rust_real, "ruby-rust"),
        (fake_returns, "fake-return"),
        (hollow_tests, "hollow-test"),
        (skipped_tests, "skipped-test"),
        (focused_tests, "focused-test"),
        (sum_placeholders, "sum-placeholder"),
    ]
    for make_one, label in later:
        seed = rng.random()
        own = random.Random(seed if label is None else f"{seed}:{label}")
        for idx in range(10 * scale):
            make_one(corpus, own, names, idx)


def wire_python_dispatch(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """A class that reaches its handlers by a name built at run time (hard negatives),
    and one handler whose prefix is only named, not built upon (a positive)."""
    base = f"wire/python/dispatch_{idx}"
    mod = "_".join(nm.words(2))
    fb = corpus.file(f"{base}/{mod}.py", "python")
    c = nm.pascal()
    prefix = pick(rng, ["on_", "do_", "handle_", "apply_", "_process_"])
    build = pick(
        rng,
        [
            f'getattr(self, "{prefix}" + kind)',
            f'getattr(self, f"{prefix}{{kind}}")',
            f'getattr(self, "{prefix}%s" % kind)',
            f'getattr(self, "{prefix}{{}}".format(kind))',
        ],
    )
    fb.add(f'"""Events for the {mod} pipeline."""\n')
    fb.add(f"\nclass {c}:", wl("negative", "used-class", 1, (1, 1), kind="class"))
    fb.add(
        f"    def dispatch(self, kind, payload):\n        return {build}(payload)",
        wl("negative", "called-method", kind="method"),
    )
    for _ in range(rng.randint(2, 4)):
        fb.add(
            f"\n    def {prefix}{nm.snake()}(self, payload):\n        return payload",
            wl("negative", "dispatch", 1, (1, 1), kind="method"),
        )
    fb.blank()
    more = f"{mod}_more"
    other = nm.pascal()
    fm = corpus.file(f"{base}/{more}.py", "python")
    fm.add(f'"""More events."""\n\nPREFIX = "{prefix}"\n')
    fm.add(f"\nclass {other}:", wl("negative", "used-class", 1, (1, 1), kind="class"))
    fm.add(
        f"    def {prefix}{nm.snake()}(self, payload):\n        return PREFIX",
        wl("positive", "dispatch-prefix-only-named", kind="method"),
    )
    fm.blank()
    corpus.write_raw(
        f"{base}/run_{mod}.py",
        f"import {mod}\nimport {more}\n\nprint({mod}.{c}().dispatch('x', 1), {more}.{other}())\n",
    )


def stub_hierarchy(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Class hierarchies in one file: a base method that a subclass overrides (raising
    "not implemented", or an empty default hook), and an empty override that turns the
    base's behaviour off, are hard negatives; the same bases with no override of the
    method are positives."""

    def cls() -> str:
        return f"{nm.pascal()}{uid()}"

    def snip(fb: FileBuilder, text: str, expected: str, category: str, at: int = 0) -> None:
        fb.add(text, Label("stub", expected, category, at, (0, text.count("\n"))))
        fb.blank()

    py = corpus.file(f"stub/python/hierarchy_{idx}.py", "python")
    py.add("from __future__ import annotations\n")
    m, n = nm.snake(), nm.snake()
    base, sub = cls(), cls()
    raise_ = pick(rng, ["raise NotImplementedError", "raise NotImplementedError()"])
    snip(
        py,
        f"class {base}:\n    def {m}(self, rows):\n        {raise_}\n\n\n"
        f"class {sub}({pick(rng, ['', 'abc.ABC, '])}{base}):\n"
        f"    def {m}(self, rows):\n        return sorted(rows)",
        "negative",
        "overridden-abstract",
    )
    base, sub = cls(), cls()
    snip(
        py,
        f"class {base}:\n    def {m}(self):\n        pass\n\n    def run(self):\n"
        f"        self.{m}()\n\n\nclass {sub}({base}):\n    def {m}(self):\n"
        f"        self.ready = True",
        "negative",
        "default-hook",
    )
    base, sub = cls(), cls()
    snip(
        py,
        f"class {base}:\n    def {n}(self, fd):\n        self.saved = os.dup(fd)\n\n\n"
        f"class {sub}({base}):\n    def {n}(self, fd):\n        pass",
        "negative",
        "turned-off",
    )
    base, sub = cls(), cls()
    snip(
        py,
        f"class {base}:\n    def {m}(self, item) -> int: ...\n\n    def total(self, items):\n"
        f"        return sum(self.{m}(i) for i in items)\n\n\nclass {sub}({base}):\n"
        f"    def {m}(self, item) -> int:\n        return len(item)",
        "negative",
        "mixin-declaration",
    )
    base, sub = cls(), cls()
    snip(
        py,
        f"class {base}:\n    def {m}(self, rows):\n        {raise_}\n\n\n"
        f"class {sub}({base}):\n    def {n}(self, rows):\n        return rows",
        "positive",
        "not-overridden",
        2,
    )
    base, sub = cls(), cls()
    snip(
        py,
        f"class {base}:\n    def {m}(self):\n        return 1\n\n\n"
        f"class {sub}({base}):\n    def {n}(self):\n        pass",
        "positive",
        "new-method-empty",
        7,
    )
    for lang, ext in (("javascript", "js"), ("typescript", "ts")):
        fb = corpus.file(f"stub/{lang}/hierarchy_{idx}.{ext}", lang)
        m, n = nm.camel(), nm.camel()
        void = ": void" if lang == "typescript" else ""
        base, sub = cls(), cls()
        snip(
            fb,
            f"export class {base} {{\n  {m}(){void} {{\n"
            f'    throw new Error("not implemented");\n  }}\n}}\n\n'
            f"export class {sub} extends {base} {{\n  {m}(){void} {{\n"
            f"    this.done = true;\n  }}\n}}",
            "negative",
            "overridden-abstract",
        )
        base, sub = cls(), cls()
        snip(
            fb,
            f"export class {base} {{\n  {n}(){void} {{\n    this.open = true;\n  }}\n}}\n\n"
            f"export class {sub} extends {base} {{\n  {n}(){void} {{}}\n}}",
            "negative",
            "turned-off",
        )
        base, sub = cls(), cls()
        snip(
            fb,
            f"export class {base} {{\n  {m}(){void} {{\n"
            f'    throw new Error("not implemented");\n  }}\n}}\n\n'
            f"export class {sub} extends {base} {{\n  {n}(){void} {{\n"
            f"    this.done = true;\n  }}\n}}",
            "positive",
            "not-overridden",
            2,
        )
    fb = corpus.file(f"stub/java/Hierarchy{idx}.java", "java")
    fb.add(f"package com.example.hierarchy{idx};\n")
    m = nm.camel()
    base, sub = cls(), cls()
    snip(
        fb,
        f"class {base} {{\n    void {m}() {{}}\n\n    void run() {{\n        {m}();\n    }}\n}}\n\n"
        f"class {sub} extends {base} {{\n    void {m}() {{\n        System.out.println(1);\n"
        f"    }}\n}}",
        "negative",
        "default-hook",
    )
    base, sub = cls(), cls()
    snip(
        fb,
        f"class {base} {{\n    void {m}() {{\n"
        f"        throw new UnsupportedOperationException();\n    }}\n}}\n\n"
        f"class {sub} extends {base} {{\n    void close() {{\n        System.out.println(1);\n"
        f"    }}\n}}",
        "positive",
        "not-overridden",
        2,
    )
    fb = corpus.file(f"stub/ruby/hierarchy_{idx}.rb", "ruby")
    m, n = nm.snake(), nm.snake()
    base, sub = cls(), cls()
    snip(
        fb,
        f"class {base}\n  def {m}\n    raise NotImplementedError\n  end\nend\n\n"
        f"class {sub} < {base}\n  def {m}\n    [1, 2].sum\n  end\nend",
        "negative",
        "overridden-abstract",
    )
    base, sub = cls(), cls()
    snip(
        fb,
        f"class {base}\n  def {m}\n    raise NotImplementedError\n  end\nend\n\n"
        f"class {sub} < {base}\n  def {n}\n    [1, 2].sum\n  end\nend",
        "positive",
        "not-overridden",
        2,
    )


def stub_real(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """What real Go, Rust, Ruby, Java, Python and JavaScript code leaves empty or
    unsupported on purpose, each the shape of one found in a widely used package (hard
    negatives): classes named as bases to subclass, null objects, doc comments that say
    a method is abstract, a hook or a no-op, one build's version of a function, Rust
    bound checks and unit-test helpers, Go parameters without names and markers, Java's
    optional collection operations. Their near misses are positives."""

    def cls() -> str:
        return f"{nm.pascal()}{uid()}"

    def snip(fb: FileBuilder, text: str, expected: str, category: str) -> None:
        fb.add(text, Label("stub", expected, category, 0, (0, text.count("\n"))))
        fb.blank()

    py = corpus.file(f"stub/python/real_{idx}.py", "python")
    m = nm.snake()
    raise_ = pick(rng, ["raise NotImplementedError", "raise NotImplementedError()"])
    base = pick(rng, [f"Base{cls()}", f"{cls()}Base", f"Abstract{cls()}"])
    snip(py, f"class {base}:\n    def {m}(self, key):\n        {raise_}", "negative", "base-class")
    snip(
        py, f"class Null{cls()}:\n    def {m}(self, data):\n        pass", "negative", "null-object"
    )
    snip(
        py,
        f'class {cls()}:\n    """{pick(rng, ["Subclasses override", "Override"])} what they need."""\n\n'
        f"    def {m}(self, rows):\n        {raise_}",
        "negative",
        "documented-abstract",
    )
    snip(py, f"class {cls()}Baseline:\n    def {m}(self):\n        pass", "positive", "not-a-base")
    snip(py, f"class Nullable{cls()}:\n    def {m}(self):\n        pass", "positive", "not-null")

    rs = corpus.file(f"stub/rust/real_{idx}.rs", "rust")
    f1, f2, f3 = nm.snake(), nm.snake(), nm.snake()
    cfg = pick(rng, ["not(unix)", "windows", 'not(feature = "std")', 'target_os = "wasi"'])
    snip(rs, f"#[cfg({cfg})]\nmod {f1} {{\n    pub fn {f2}() {{}}\n}}", "negative", "build-version")
    snip(
        rs,
        f"#[cfg({cfg})]\nfn {f3}(n: u32) -> u32 {{\n    unimplemented!()\n}}",
        "negative",
        "build-version",
    )
    bound = pick(rng, ["Send", "Send + Sync", "Unpin", "'static", "Sync + ?Sized"])
    snip(rs, f"fn is_{f1}<T: {bound}>() {{}}", "negative", "bound-check")
    snip(rs, f"fn _{f2}() {{}}", "negative", "named-unused")
    kind = cls()
    snip(
        rs,
        f"impl {kind} {{\n    /// Keeps the flag set: this function is itself a no-op.\n"
        f"    pub fn {f3}(&mut self) {{}}\n}}",
        "negative",
        "documented-noop",
    )
    snip(
        rs,
        f"#[cfg(test)]\nmod tests_{f1} {{\n    struct Fake;\n    impl Fake {{\n"
        f"        fn {f2}(&self) {{}}\n    }}\n}}",
        "negative",
        "test-module-helper",
    )
    snip(rs, f"fn {nm.snake()}<T: {bound}>(value: T) {{}}", "positive", "bounds-and-parameters")
    snip(rs, f"#[inline]\nfn {nm.snake()}() {{}}", "positive", "attribute-not-cfg")
    snip(
        rs,
        f"#[cfg(test)]\nmod tests_{nm.snake()} {{\n    #[test]\n    fn {nm.snake()}() {{}}\n}}",
        "positive",
        "empty-unit-test",
    )

    name = pick(
        rng, [f"real_{idx}_windows.go", f"real_{idx}_linux_arm64.go", f"real_{idx}_build.go"]
    )
    go = corpus.file(f"stub/go/{name}", "go")
    header = (
        ""
        if "_build" not in name
        else f"//go:build {pick(rng, ['!debug', 'windows', 'js && wasm'])}\n\n"
    )
    go.add(f"{header}package real{idx}\n")
    recv = cls()
    snip(go, f"func (d {recv}) {nm.pascal()}() {{}}", "negative", "build-version")
    snip(
        go,
        f'func (d *{recv}) {nm.pascal()}(n int) error {{\n\tpanic("not implemented")\n}}',
        "negative",
        "build-version",
    )
    go = corpus.file(f"stub/go/real_{idx}.go", "go")
    go.add(f"package real{idx}\n")
    a, b, c = cls(), cls(), cls()
    method = nm.pascal()
    kind = pick(rng, ["http.ResponseWriter", "context.Context", "*Node", "int, string"])
    snip(go, f"func (r {a}) {method}({kind}) {{}}", "negative", "unnamed-parameters")
    snip(
        go,
        f"func (x {b}) Interface{method}() {{}}\n\nfunc (x *{c}) Interface{method}() {{}}",
        "negative",
        "repeated-marker",
    )
    snip(
        go, f"func (r {a}) {nm.pascal()}(w http.ResponseWriter) {{}}", "positive", "named-parameter"
    )
    snip(go, f"func (s *{b}) {nm.pascal()}() {{}}", "positive", "exported-empty")

    rb = corpus.file(f"stub/ruby/real_{idx}.rb", "ruby")
    m, n = nm.snake(), nm.snake()
    snip(
        rb,
        f"module {cls()}\n  module Base\n    def {m}(key)\n      raise NotImplementedError\n"
        "    end\n  end\nend",
        "negative",
        "base-class",
    )
    snip(
        rb,
        f"class Null{cls()}\n  def {m}(msg); end\n  def {n}(msg); end\nend",
        "negative",
        "null-object",
    )
    doc = pick(
        rng,
        [
            "# A hook invoked every time a callback is halted; can be overridden.",
            "# This is the only method that has to be implemented by sub-classes!",
            "# @abstract\n  #\n  # Called after each run. The default implementation is a noop.",
        ],
    )
    snip(rb, f"class {cls()}\n  {doc}\n  def {m}(event)\n  end\nend", "negative", "documented-hook")
    snip(
        rb,
        f"class {cls()}\n  # The hook invoked by start.\n\n  def {n}(event)\n  end\nend",
        "positive",
        "detached-comment",
    )
    snip(
        rb,
        f"class {cls()}\n  # Starts the {nm.snake().replace('_', ' ')}.\n  def {n}(event)\n  end\nend",
        "positive",
        "doc-not-a-hook",
    )

    java = corpus.file(f"stub/java/Real{idx}.java", "java")
    java.add(f"package com.example.real{idx};\n")
    op = pick(rng, ["add", "remove", "put", "clear", "set", "addAll"])
    args = {"add": "K key", "remove": "Object key", "put": "K key", "clear": "", "set": "K key"}
    params = args.get(op, "Collection<? extends K> keys")
    coll = pick(
        rng,
        [
            "extends AbstractSet<K>",
            "implements Set<K>",
            "extends AbstractCollection<K> implements Set<K>",
        ],
    )
    snip(
        java,
        f"class {cls()}<K> {coll} {{\n    public boolean {op}({params}) {{\n"
        "        throw new UnsupportedOperationException();\n    }\n}",
        "negative",
        "optional-operation",
    )
    snip(java, f"class Base{cls()} {{\n    void {nm.camel()}() {{}}\n}}", "negative", "base-class")
    snip(
        java,
        f"class {cls()} {{\n    public boolean {op}({params}) {{\n"
        "        throw new UnsupportedOperationException();\n    }\n}",
        "positive",
        "operation-without-supertype",
    )
    snip(
        java,
        f"class {cls()}<K> {coll} {{\n    public boolean {nm.camel()}() {{\n"
        "        throw new UnsupportedOperationException();\n    }\n}",
        "positive",
        "not-an-optional-operation",
    )

    js = corpus.file(f"stub/javascript/real_{idx}.js", "javascript")
    m = nm.camel()
    snip(
        js,
        f"export class {cls()} {{\n  /**\n   * Moves to the next item.\n   * @abstract\n   */\n"
        f'  {m}() {{\n    throw new Error("Not implemented.");\n  }}\n}}',
        "negative",
        "documented-abstract",
    )
    snip(
        js,
        f"/**\n * Checks the statements. It does nothing.\n */\nexport function {m}() {{}}",
        "negative",
        "documented-noop",
    )
    snip(js, f"export class {cls()}Base {{\n  {m}() {{}}\n}}", "negative", "base-class")
    snip(
        js,
        f"export class {cls()} {{\n  /**\n   * Moves to the next item.\n   */\n"
        f'  {m}() {{\n    throw new Error("Not implemented.");\n  }}\n}}',
        "positive",
        "doc-not-abstract",
    )
    # (added after the rest, so the items above stay as they were)
    ts = corpus.file(f"stub/typescript/real_{idx}.ts", "typescript")
    shell, fn = cls(), nm.camel()
    use = pick(
        rng,
        [
            f"{shell}.prototype = Proto{uid()};",
            f"Object.setPrototypeOf({shell}, Proto{uid()});",
            f"const self = {shell} as any;",
        ],
    )
    snip(ts, f"function {shell}() {{}}\n{use}", "negative", "constructor-shell")
    snip(
        ts,
        f"/**\n * Registers a backend.\n *\n * @example\n * const backend = {{\n"
        f" *   {fn}: () => none() // {pick(rng, ['Placeholder', 'Mock', 'Dummy'])} implementation\n"
        f" * }}\n */\nexport function register{uid()}(backend: Backend): void {{\n"
        "  backends.push(backend);\n}",
        "negative",
        "doc-example",
    )
    snip(ts, f"function {fn}(row: Row) {{}}\n\n{fn}(order);", "positive", "called-empty")
    snip(
        ts,
        f"/**\n * Parses the input.\n * @param input the text\n"
        f" * Placeholder implementation until the grammar lands.\n */\n"
        f"export function parse{uid()}(input: string): number {{\n  return input.length;\n}}",
        "positive",
        "admission-after-a-tag",
    )
    rs = corpus.file(f"stub/rust/real_doc_{idx}.rs", "rust")
    snip(
        rs,
        f"/// Runs the command.\n///\n/// ```\n/// fn main() {{\n"
        f"///     // placeholder implementation\n/// }}\n/// ```\npub fn {nm.snake()}() -> i32 {{\n"
        "    go()\n}",
        "negative",
        "doc-example",
    )
    snip(
        rs,
        f"/// Runs the command.\n/// Placeholder implementation for now.\npub fn {nm.snake()}() -> i32 {{\n"
        "    go()\n}",
        "positive",
        "admission-in-doc",
    )
    ex = corpus.file(f"stub/rust/examples/real_{idx}.rs", "rust")
    snip(
        ex,
        f"fn main() {{\n    let args = {nm.snake()}();\n    // Continued program logic goes here...\n}}",
        "negative",
        "example-code",
    )
    hpp = corpus.file(f"stub/cpp/real_{idx}.h", "cpp")  # C++ in a .h: read as C++
    hpp.add("#pragma once\n#include <mutex>\n")
    sink, tag = nm.snake(), nm.snake()
    snip(
        hpp,
        f"class {sink}_sink : public base_sink {{\nprotected:\n    void flush_() override {{}}\n}};",
        "negative",
        "header-override",
    )
    kind = pick(rng, ["std::size_t", "const Handler&", "Args...", "int*, const Tuple&"])
    snip(
        hpp,
        f"struct {sink}_buffers {{\n    void {nm.snake()}({kind}) {{}}\n}};",
        "negative",
        "unnamed-parameters",
    )
    snip(
        hpp,
        f"struct {tag}_t {{\n    ASIO_CONSTEXPR {tag}_t() {{}}\n}};",
        "negative",
        "constructor-behind-macro",
    )
    snip(
        hpp,
        f"struct {tag}_promise {{\n    void return_void() {{}}\n"
        "    void await_suspend(std::coroutine_handle<>) noexcept {}\n};",
        "negative",
        "coroutine-hooks",
    )
    snip(hpp, f"class null_{tag} {{\npublic:\n    void lock() {{}}\n}};", "negative", "null-object")
    snip(
        hpp,
        f"struct {nm.snake()}_state {{\n    void reset(const Handler& handler) {{}}\n}};",
        "positive",
        "named-parameter",
    )
    snip(
        hpp,
        f"class nullable_{tag} {{\npublic:\n    void lock() {{}}\n}};",
        "positive",
        "not-null",
    )
    ch = corpus.file(f"stub/c/real_{idx}.h", "c")
    ch.add(f"#ifndef REAL_{idx}_H\n#define REAL_{idx}_H\n")
    snip(ch, f"static inline void {nm.snake()}(void) {{}}", "positive", "void-parameters")
    ch.add("#endif")


def scripts_real(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Shapes from shell scripts and lexers (git, bash-completion, neofetch, rouge, thor):
    functions a script reaches by a name it builds (``"cmd_$command"``, a JS template,
    Ruby's ``#{}``), a completion file read by its modeline, a comment about where
    execution gets to, an option's stand-in ``--XXX=NAME``, and a list of words holding
    password-named directives (hard negatives, and the debt marker only a modeline
    reveals); near misses: a function no name is built for, a pair of strings, a flag's
    value."""
    base = f"wire/bash/scripts_{idx}"
    prefix = pick(rng, ["cmd_", "mode_", "action_", "do_"])
    sh = corpus.file(f"{base}/{'_'.join(nm.words(2))}.sh", "bash")
    sh.add("#!/usr/bin/env bash\nset -euo pipefail")
    sh.add(
        "# usage: tool [--XXX=NAME] COMMAND",
        Label("debt", "negative", "option-placeholder"),
    )
    sh.blank()
    for _ in range(rng.randint(2, 3)):
        sh.add(
            f'{prefix}{nm.snake()}() {{\n  echo "$@"\n}}',
            wl("negative", "built-by-expansion", 0, (0, 2)),
        )
        sh.blank()
    unused = f"{pick(rng, ['tidy', 'prune', 'sweep'])}_{nm.snake()}"
    sh.add(f'{unused}() {{\n  rm -f "$1.bak"\n}}', wl("positive", "unused", 0, (0, 2)))
    sh.blank()
    build = pick(
        rng,
        [
            f'"{prefix}$command"',
            f'"{prefix}${{command}}"',
            f"{prefix}$command",
            f'"{prefix}$(echo "$command" | tr - _)"',
        ],
    )
    sh.add(
        "# when code goes here, $command holds the subcommand",
        Label("stub", "negative", "where-execution-gets"),
    )
    sh.add(f'command=${{1:-help}}\nshift || true\n{build} "$@"')

    def dispatching(fb: FileBuilder, opening: str, caller: str, member: str, category: str) -> None:
        """A used class whose ``caller`` reaches 1-3 ``member`` methods (``{}``: a name)
        by a name it builds."""
        fb.add(opening, wl("negative", "used-class", 0, (0, 0), kind="class"))
        fb.add(caller, wl("negative", "called-method", 0, (0, 2), kind="method"))
        for _ in range(rng.randint(1, 3)):
            fb.add(member.format(nm.snake()), wl("negative", category, 1, (1, 3), kind="method"))

    js = corpus.file(f"wire/javascript/template_{idx}/{'_'.join(nm.words(2))}.js", "javascript")
    c = nm.pascal()
    run = "  run(kind) {\n    return this[`on_${kind}`]();\n  }"
    dispatching(
        js, f"class {c} {{", run, "\n  on_{}() {{\n    return 1;\n  }}", "built-by-template"
    )
    js.add(f"}}\nmodule.exports = new {c}().run('x');")

    rbase = f"wire/ruby/interpolated_{idx}"
    router = "_".join(nm.words(2))
    rb = corpus.file(f"{rbase}/{router}.rb", "ruby")
    rc = nm.pascal()
    route = '  def route(kind)\n    send(:"parse_#{kind}")\n  end'
    dispatching(
        rb, f"class {rc}", route, "\n  def parse_{}\n    1\n  end", "built-by-interpolation"
    )
    rb.add("end")
    corpus.write_raw(
        f"{rbase}/main_{router}.rb", f'require_relative "{router}"\n{rc}.new.route("x")\n'
    )

    name = nm.snake()
    modeline = pick(
        rng,
        [
            f"# {name} completion                    -*- shell-script -*-",
            "# vim: set ft=sh :",
            "# -*- mode: sh -*-",
        ],
    )
    co = corpus.file(f"debt/bash/completions_{idx}/{name.replace('_', '-')}", "bash")
    co.add(modeline)
    co.add(f"_{name}()\n{{")
    co.add(
        f"    # TODO: complete the {' '.join(nm.words(2))} options",
        Label("debt", "positive", "modeline-file"),
    )
    co.add(f"    COMPREPLY=()\n}} &&\n    complete -F _{name} {name}")

    words = sorted(
        {"".join(nm.words(2)) for _ in range(6)}
        | {"".join(nm.words(1)) + pick(rng, ["password", "passphrase"]) for _ in range(2)}
    )
    listed = ", ".join(f'"{w}"' for w in words)
    lexer = pick(rng, ["python", "ruby", "javascript"])
    ext = {"python": "py", "ruby": "rb", "javascript": "js"}[lexer]
    lx = corpus.file(f"secret/lexers_{idx}/{name}_keywords.{ext}", lexer)
    lx.add(
        f"DIRECTIVES = [{listed}]",
        Label("secret", "negative", "list-of-words"),
    )
    if lexer == "python":
        r = random.Random(rng.random())
        lx.add(
            f'PAIR = ("password", "{strong_password(r).replace(chr(34), "")}")',
            Label("secret", "positive", "pair-of-strings"),
        )
        lx.add(
            f'ARGS = ["mysql", "-u", "root", "--password", "{human_password(r)}"]',
            Label("secret", "positive", "flag-value-in-list"),
        )


def hooks_real(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Empty methods that are hooks by how they are written, from Capacitor, React
    Native and tox (hard negatives): Java and TypeScript methods for subclasses
    (``protected``, or in an ``abstract`` class) and bodies whose own comment says they
    are empty on purpose ("// Override me to add behavior", "// no-op: ...", "# empty
    hook: subclasses override it"). Near misses (positives): a public method of a
    concrete class, and a comment or doc that says it does nothing for now."""

    def snip(fb: FileBuilder, text: str, expected: str, category: str) -> None:
        fb.add(text, Label("stub", expected, category, 0, (0, text.count("\n"))))
        fb.blank()

    def event() -> str:
        return " ".join(nm.words(2))

    java = corpus.file(f"stub/java/Hooks{idx}.java", "java")
    java.add(f"package com.example.hooks{idx};\n")
    lifecycle = pick(rng, ["Start", "Resume", "Pause", "Stop", "Destroy", "Restart"])
    snip(
        java,
        f"public class {nm.pascal()}Plugin {{\n"
        f"    protected void handleOn{lifecycle}{nm.pascal()}() {{}}\n}}",
        "negative",
        "protected-hook",
    )
    snip(
        java,
        f"public abstract class {nm.pascal()}Listener {{\n"
        f"    public void on{nm.pascal()}(View view) {{}}\n}}",
        "negative",
        "abstract-class-default",
    )
    said = pick(
        rng,
        [
            f"// Override me to add behavior to the {event()} event",
            f'// no-op: it is here only so that the "{nm.camel()}" prop is exported',
            "// DO NOTHING",
        ],
    )
    snip(
        java,
        f"public class {nm.pascal()}Manager {{\n"
        f"    public void set{nm.pascal()}(View view, boolean on) {{\n        {said}\n    }}\n}}",
        "negative",
        "said-in-body",
    )
    later = pick(rng, ["// do nothing for now", "// no-op for the time being", "// no-op yet"])
    snip(
        java,
        f"public class {nm.pascal()}Sync {{\n"
        f"    public void push{nm.pascal()}(Change change) {{\n        {later}\n    }}\n}}",
        "positive",
        "temporary-in-body",
    )
    snip(
        java,
        f"public class {nm.pascal()}Store {{\n    /** Does nothing yet. */\n"
        f"    public void flush{nm.pascal()}() {{}}\n}}",
        "positive",
        "temporary-doc",
    )

    ts = corpus.file(f"stub/typescript/hooks_{idx}.ts", "typescript")
    snip(
        ts,
        f"export abstract class {nm.pascal()}Widget {{\n  on{nm.pascal()}(): void {{}}\n}}",
        "negative",
        "abstract-class-default",
    )
    panel = nm.pascal()
    snip(
        ts,
        f"export class {panel}Panel {{\n  protected on{nm.pascal()}(): void {{}}\n}}",
        "negative",
        "protected-hook",
    )
    snip(
        ts,
        f"export class {nm.pascal()}Form {{\n  save{nm.pascal()}(): void {{}}\n}}",
        "positive",
        "public-method",
    )

    py = corpus.file(f"stub/python/hooks_{idx}.py", "python")
    hook = f"_{nm.snake()}"
    comment = pick(
        rng,
        [
            "# empty abstract base class",
            "# empty on purpose: subclasses override it",
            "# no-op: the OS frees it with the process",
        ],
    )
    snip(
        py,
        f"class {nm.pascal()}Env:\n    def {hook}(self) -> None:  {comment}\n        pass",
        "negative",
        "said-in-body",
    )
    snip(
        py,
        f"class {nm.pascal()}Env:\n    def {nm.snake()}(self) -> None:\n        pass  # no-op for now",
        "positive",
        "temporary-in-body",
    )

    dev = corpus.file(f"stub/java/hooks{idx}/{nm.pascal()}Support.java", "java")
    name = nm.pascal()
    dev.add(
        f"/**\n * In dev mode, use {{@link Bridge{name}}}. In production mode, use the dummy"
        f" implementation\n * {{@link Disabled{name}}}.\n */",
        Label("stub", "negative", "names-another-class", 0, (0, 3)),
    )
    dev.add(f"public interface {name}Support {{\n    void show(String message);\n}}")


def hierarchy_across_files(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """A base class whose methods raise NotImplementedError or do nothing, in one file,
    and its subclasses in others, from flask, celery and pip: a method that a subclass
    (or a subclass's subclass) defines is the base's abstract method or default hook
    (hard negatives); one that the subclasses only call, or that no subclass defines, is
    a stub (positives). In Python, Java and TypeScript."""
    language = pick(rng, ["python", "java", "typescript"])
    base, child, grand = nm.pascal(), nm.pascal(), nm.pascal()
    name = nm.snake if language == "python" else nm.camel
    abstract, hook, called, alone = name(), name(), name(), name()
    folder = f"stub/{language}/across_{idx}"
    if language == "python":
        ext, opening, closing, at = "py", f"class {base}:", "", 1
        raising = "    def {}(self, item):\n        raise NotImplementedError"
        empty = "    def {}(self):\n        pass"
        files = {
            child.lower(): f"from .{base.lower()} import {base}\n\n\nclass {child}({base}):\n"
            f"    def {abstract}(self, item):\n        return [item]\n\n"
            f"    def run(self):\n        self.{called}()\n",
            grand.lower(): f"from .{child.lower()} import {child}\n\n\nclass {grand}({child}):\n"
            f"    def {hook}(self):\n        self.ready = True\n",
        }
    elif language == "java":
        ext, at = "java", 0
        package = f"package com.example.across{idx};\n\n"
        opening, closing = f"{package}public class {base} {{", "}"
        raising = (
            "    public void {}(String item) {{\n"
            "        throw new UnsupportedOperationException();\n    }}"
        )
        empty = "    public void {}() {{}}"
        files = {
            child: f"{package}public class {child} extends {base} {{\n    @Override\n"
            f"    public void {abstract}(String item) {{\n        System.out.println(item);\n"
            f"    }}\n\n    void run() {{\n        {called}();\n    }}\n}}\n",
            grand: f"{package}public class {grand} extends {child} {{\n    @Override\n"
            f"    public void {hook}() {{\n        run();\n    }}\n}}\n",
        }
    else:
        ext, opening, closing, at = "ts", f"export class {base} {{", "}", 0
        raising = '  {}(item: string): string[] {{\n    throw new Error("not implemented");\n  }}'
        empty = "  {}(): void {{}}"
        files = {
            child.lower(): f"import {{ {base} }} from './{base.lower()}';\n\n"
            f"export class {child} extends {base} {{\n  {abstract}(item: string): string[] {{\n"
            f"    return [item];\n  }}\n\n  run(): void {{\n    this.{called}();\n  }}\n}}\n",
            grand.lower(): f"import {{ {child} }} from './{child.lower()}';\n\n"
            f"export class {grand} extends {child} {{\n  {hook}(): void {{\n"
            f"    this.run();\n  }}\n}}\n",
        }
    fb = corpus.file(f"{folder}/{base.lower() if ext != 'java' else base}.{ext}", language)
    fb.add(opening)
    for template, method, expected in (
        (raising, abstract, "negative"),
        (empty, hook, "negative"),
        (empty, called, "positive"),
        (raising, alone, "positive"),
    ):
        text = template.format(method)
        fb.add(text, Label("stub", expected, "across-files", at, (0, text.count("\n"))))
        fb.blank()
    if closing:
        fb.add(closing)
    for stem, text in files.items():
        corpus.write_raw(f"{folder}/{stem}.{ext}", text)


def declined_real(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Methods that decline on purpose, from celery, urllib3, pygments, pip and
    hypothesis (hard negatives): a NotImplementedError or a thrown Error whose message
    says the operation is not supported here, makes no sense or never happens, and a
    body comment that says so. Near misses (positives): "not supported yet", and a
    comment that gives an excuse rather than a reason."""
    py = corpus.file(f"stub/python/declined_{idx}.py", "python")
    js = corpus.file(f"stub/javascript/declined_{idx}.js", "javascript")
    backend = nm.pascal()
    operation = nm.snake()
    message = pick(
        rng,
        [
            f"{operation} is not supported by this backend.",
            f"{backend} does not support {operation.replace('_', ' ')}",
            f"The --{operation.replace('_', '-')} option is meaningless for this formatter.",
            "This should never happen",
        ],
    )
    reason = pick(
        rng,
        [
            "# This method doesn't make sense for this object.",
            "# This method should never be called: the caller checks first.",
            "# Implemented to satisfy the ABC check; the resolver does not use it.",
        ],
    )
    for fb, text, expected, category in (
        (
            py,
            f"class {backend}Backend:\n    def {operation}(self, key):\n"
            f"        raise NotImplementedError({message!r})",
            "negative",
            "declined-message",
        ),
        (
            py,
            f"class {nm.pascal()}Dist:\n    def {nm.snake()}(self, path):\n        {reason}\n"
            "        raise NotImplementedError",
            "negative",
            "declined-comment",
        ),
        (
            py,
            f"class {nm.pascal()}Store:\n    def {nm.snake()}(self, rows):\n"
            f'        raise NotImplementedError("{nm.pascal()} export is not supported yet")',
            "positive",
            "not-supported-yet",
        ),
        (
            py,
            f"class {nm.pascal()}Billing:\n    def {nm.snake()}(self, order):\n"
            "        # the payment client is not configured\n        raise NotImplementedError",
            "positive",
            "excuse-comment",
        ),
        (
            js,
            f"class {nm.pascal()}Adapter {{\n  {nm.camel()}() {{\n"
            f'    throw new Error("{nm.pascal()} is not implemented for this adapter");\n  }}\n}}',
            "positive",
            "not-implemented-message",
        ),
    ):
        fb.add(text, Label("stub", expected, category, 0, (0, text.count("\n"))))
        fb.blank()
    js.add("module.exports = {};")

    # and empty bodies that say there is nothing for them to do here (react-native
    # modules, asio), with near misses that say so for now
    java = corpus.file(f"stub/java/Reasons{idx}.java", "java")
    java.add(f"package com.example.reasons{idx};\n\npublic class {nm.pascal()}Module {{")
    platform = pick(rng, ["iOS", "Android", "Windows"])
    for text, expected, category in (
        (
            f"    public void {nm.camel()}(ReadableMap config) {{\n        // {platform} only\n    }}",
            "negative",
            "other-platform",
        ),
        (
            f"    public void set{nm.pascal()}(View view, int value) {{\n"
            "        // No reason to handle this value here since it is passed again to capture()\n"
            "    }",
            "negative",
            "handled-elsewhere",
        ),
        (
            '    @SuppressWarnings({"unused", "EmptyMethod"})\n'
            f"    public void {nm.camel()}(int index, Dynamic value) {{}}",
            "negative",
            "inspection-off",
        ),
        (
            f"    public void {nm.camel()}(Change change) {{\n"
            f"        // {platform} only for now\n    }}",
            "positive",
            "platform-for-now",
        ),
        (
            f"    public void {nm.camel()}(Change change) {{\n"
            "        // no need to do this until the API is ready\n    }",
            "positive",
            "until-ready",
        ),
    ):
        java.add(text, Label("stub", expected, category, 0, (0, text.count("\n"))))
        java.blank()
    for text, expected, category in (
        (
            "    @ReactMethod\n    public void addListener(String eventName) {\n    }",
            "negative",
            "framework-hook",
        ),
        (
            "    @ReactMethod\n    public void removeListeners(Integer count) {}",
            "negative",
            "framework-hook",
        ),
        ("    @ReactMethod\n    public void addObserver(String name) {}", "positive", "not-a-hook"),
    ):
        java.add(text, Label("stub", expected, category, 0, (0, text.count("\n"))))
        java.blank()
    java.add("}")


# ------------------------------------------------------------------------------ main


def generate(out: Path, seed: int = 7, scale: int = 1) -> dict[str, Any]:
    """Write the corpus and its manifest under ``out``; returns the manifest."""
    global _UID
    _UID = iter(range(1, 10**9))
    if out.exists():
        shutil.rmtree(out)
    repo = out / "repo"
    repo.mkdir(parents=True)
    corpus = Corpus(repo)
    names = Names(random.Random(seed * 7919))
    for gate, make in (
        ("debt", gen_debt),
        ("stub", gen_stub),
        ("secret", gen_secret),
        ("wire", gen_wire),
    ):
        make(corpus, random.Random(f"{seed}:{gate}"), names, scale)
    corpus.flush()
    digest = hashlib.sha256()
    for path in sorted(corpus.raw):
        digest.update(path.encode() + b"\0" + corpus.raw[path].encode())
    manifest = {
        "version": 1,
        "seed": seed,
        "scale": scale,
        "files": len(corpus.raw),
        "bytes": sum(len(t.encode()) for t in corpus.raw.values()),
        "digest": digest.hexdigest(),
        "match": "a finding matches an item when gate and file are equal and its line is "
        "`line` or within `start`..`end`",
        "items": corpus.items,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def summary(manifest: dict[str, Any]) -> str:
    counts: Counter[tuple[str, str, str]] = Counter()
    for item in manifest["items"]:
        counts[(item["gate"], item["language"], item["expected"])] += 1
    rows = ["gate     language     positive negative", "-" * 40]
    for gate in ("debt", "stub", "secret", "wire"):
        langs = sorted({k[1] for k in counts if k[0] == gate})
        for lang in langs:
            rows.append(
                f"{gate:8} {lang:12} {counts[(gate, lang, 'positive')]:8} {counts[(gate, lang, 'negative')]:8}"
            )
        pos = sum(v for k, v in counts.items() if k[0] == gate and k[2] == "positive")
        neg = sum(v for k, v in counts.items() if k[0] == gate and k[2] == "negative")
        rows.append(f"{gate:8} {'(all)':12} {pos:8} {neg:8}")
    rows.append(
        f"{manifest['files']} files, {manifest['bytes'] / 1e6:.2f} MB, digest {manifest['digest'][:16]}"
    )
    return "\n".join(rows)


def ruby_rust_real(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Shapes from the Ruby and Rust reviews (Debian's ruby-* and librust-*-dev: thor,
    concurrent-ruby, rspec, httpclient, activesupport, rouge, serde, syn). Hard
    negatives: a module's abstract method or hook that a class including it defines
    again (through a subclass, or through the module an ``included`` hook extends its
    includers with), a comment that says why a body is empty, a splat that takes
    anything, JRuby's camelCase methods of a Java interface, an admission inside a doc
    comment's example and "in a stub implementation", a generated file; for the wire
    gate, a subclass a registry reaches, the callbacks of a module named by a dotted
    path the repository does not nest, Rust's ``_``-named checks and ``tests.rs``.
    Near misses (positives): a module method no includer defines, a comment that only
    describes, a camelCase method of a class that includes nothing, an admission in
    the code, a file that only mentions generated reports, an unused method of a
    registered subclass or of a subclass of the repository's own nested class."""

    def snip(fb: FileBuilder, text: str, expected: str, category: str, at: int = 0) -> None:
        fb.add(text, Label("stub", expected, category, at, (0, text.count("\n"))))
        fb.blank()

    folder = f"stub/ruby/mixin_{idx}"
    mod, base, child = nm.pascal(), nm.pascal(), nm.pascal()
    abstract, hook, called, alone, cm_hook, cm_alone = (nm.snake() for _ in range(6))
    fb = corpus.file(f"{folder}/{mod.lower()}.rb", "ruby")
    fb.add(f"module {mod}\n  def self.included(base)\n    base.extend ClassMethods\n  end\n")
    raising = "  def {}(item)\n    raise NotImplementedError\n  end"
    empty = "  def {}\n  end"
    for template, method, expected, at in (
        (raising, abstract, "negative", 1),
        (empty, hook, "negative", 0),
        (empty, called, "positive", 0),
        (raising, alone, "positive", 1),
    ):
        snip(fb, template.format(method), expected, "module-across-files", at)
    fb.add("  module ClassMethods")
    snip(fb, f"    def {cm_hook}\n    end", "negative", "extended-across-files")
    snip(fb, f"    def {cm_alone}\n    end", "positive", "extended-across-files")
    fb.add("  end\nend")
    corpus.write_raw(f"{folder}/{base.lower()}.rb", f"class {base}\n  include {mod}\nend\n")
    corpus.write_raw(
        f"{folder}/{child.lower()}.rb",
        f"class {child} < {base}\n  def {abstract}(item)\n    [item]\n  end\n\n"
        f"  def {hook}\n    @ready = true\n  end\n\n  def run\n    {called}\n  end\n\n"
        f"  class << self\n    def {cm_hook}\n      :ready\n    end\n  end\nend\n",
    )

    rb = corpus.file(f"stub/ruby/said_{idx}.rb", "ruby")
    rb.add(f"class {nm.pascal()}")
    work = pick(rng, ["setup", "cleanup", "teardown", "flush", "action"])
    needed = pick(rng, ["required", "needed", "necessary"])
    snip(rb, f"  def {nm.snake()}\n    # No {work} {needed}.\n  end", "negative", "empty-reason")
    snip(rb, f"  def {nm.snake()}(*) end", "negative", "takes-anything")
    snip(
        rb,
        f"  def {nm.snake()}\n    # {pick(rng, ['write', 'read', 'send'])} the {pick(rng, NOUNS)}\n"
        "  end",
        "positive",
        "describes",
    )
    rb.add("end\n")
    rb.add(f"class {nm.pascal()}\n  include {pick(rng, JAVA_INTERFACES)}\n")
    snip(rb, f"  def {nm.camel()}(chain, auth_type); end", "negative", "java-interface")
    snip(rb, f"  def {nm.camel()}; end", "negative", "java-interface")
    rb.add("end\n")
    rb.add(f"class {nm.pascal()}")
    snip(rb, f"  def {nm.camel()}; end", "positive", "camel-case-alone")
    rb.add("end\n")
    example = (
        f"# Defines a group of {pick(rng, NOUNS)} examples.\n#\n"
        f'#     {nm.pascal()}.describe "something" do\n#       it "works" do\n'
        f"#         # {pick(rng, ['example', 'real', 'your'])} code goes here\n"
        "#       end\n#     end"
    )
    rb.add(example, Label("stub", "negative", "example-comment", 4, (0, 6)))
    rb.add(f"def {nm.snake()}(*args, &block)\n  group(*args, &block)\nend\n")
    snip(
        rb,
        f"def {nm.snake()}\n  # real logic goes here\n  @rows\nend",
        "positive",
        "admission",
        1,
    )
    snip(
        rb,
        "# We subclass Exception so that in a stub implementation a bare `rescue`\n"
        f"# in the user's code cannot catch it.\nclass {nm.pascal()}Error < Exception\nend",
        "negative",
        "kind-of-code",
    )
    snip(
        rb,
        f"# Returns a stub implementation of the {pick(rng, NOUNS)} for now.\n"
        f"def {nm.snake()}\n  @rows.first\nend",
        "positive",
        "admission",
    )

    service = nm.pascal()
    gen = corpus.file(f"stub/python/generated_{idx}_pb2_grpc.py", "python")
    gen.add(
        "# Generated by the gRPC Python protocol compiler plugin. DO NOT EDIT!\n"
        '"""Client and server classes corresponding to protobuf-defined services."""\n\n'
        f"\nclass {service}Servicer(object):"
    )
    snip(
        gen,
        f"    def {nm.pascal_verb()}(self, request, context):\n"
        "        raise NotImplementedError('Method not implemented!')",
        "negative",
        "generated-file",
        1,
    )
    reports = corpus.file(f"stub/python/reports_{idx}.py", "python")
    reports.add(f"# Reports generated by the nightly job land in ./out.\n\n\nclass {nm.pascal()}:")
    snip(reports, f"    def {nm.snake()}(self):\n        pass", "positive", "mentions-generated", 1)

    wbase = f"wire/ruby/registry_{idx}"
    registry, sub = nm.pascal(), nm.pascal()
    find, tokens, unused = nm.snake(), nm.snake(), nm.snake()
    reg = corpus.file(f"{wbase}/lib/{registry.lower()}.rb", "ruby")
    reg.add(f"class {registry}", wl("negative", "used-class", kind="class"))
    reg.add("  REGISTRY = {}\n")
    reg.add(
        "  def self.inherited(klass)\n    super\n    REGISTRY[klass.name] = klass\n  end\n",
        wl("negative", "special", 0, (0, 3), kind="method"),
    )
    reg.add(
        f"  def self.{find}(name)\n    REGISTRY.fetch(name)\n  end",
        wl("negative", "called", 0, (0, 2), kind="method"),
    )
    reg.add("end")
    lexers = corpus.file(f"{wbase}/lib/{sub.lower()}.rb", "ruby")
    lexers.add(f"class {sub} < {registry}", wl("negative", "registered-subclass", kind="class"))
    lexers.add(
        f"  def {tokens}(text)\n    text.split\n  end\n",
        wl("negative", "called", 0, (0, 2), kind="method"),
    )
    lexers.add(
        f"  def {unused}\n    @state.clear\n  end",
        wl("positive", "unused-of-registered", 0, (0, 2), kind="method"),
    )
    lexers.add("end")
    corpus.write_raw(
        f"{wbase}/run_{find}.rb",
        f"require_relative 'lib/{registry.lower()}'\n"
        f"{registry}.{find}(ARGV[0]).new.{tokens}('a b')\n",
    )

    wbase = f"wire/ruby/callbacks_{idx}"
    handler, app, run_callbacks = nm.pascal(), nm.pascal(), nm.snake()
    sax = corpus.file(f"{wbase}/lib/{handler.lower()}.rb", "ruby")
    sax.add(f"class {handler}", wl("negative", "used-class", kind="class"))
    sax.add("  include LibXML::XML::SaxParser::Callbacks\n")
    callback = f"on_{pick(rng, ['start', 'end', 'cdata'])}_{nm.snake()}"
    sax.add(
        f"  def {callback}(name, *rest)\n    @names << name\n  end",
        wl("negative", "outside-module-callback", 0, (0, 2), kind="method"),
    )
    sax.add("end")
    own = corpus.file(f"{wbase}/lib/{app.lower()}/callbacks.rb", "ruby")
    own.add(f"module {app}", wl("negative", "used-class", kind="class"))
    own.add("  module Callbacks", wl("negative", "used-class", kind="class"))
    own.add(
        f"    def {run_callbacks}(kind)\n      kind\n    end",
        wl("negative", "called", 0, (0, 2), kind="method"),
    )
    own.add("  end\nend")
    corpus.write_raw(
        f"{wbase}/run_{run_callbacks}.rb",
        f"{handler}.new\n{app}::Callbacks.{run_callbacks}(:save)\n",
    )

    wbase = f"wire/ruby/nested_{idx}"
    shop, badge, render, sparkle = nm.pascal(), nm.pascal(), nm.snake(), nm.snake()
    node = corpus.file(f"{wbase}/lib/{shop.lower()}/node.rb", "ruby")
    node.add(f"module {shop}", wl("negative", "used-class", kind="class"))
    node.add("  class Node", wl("negative", "used-class", kind="class"))
    node.add(
        f"    def {render}\n      name\n    end",
        wl("negative", "called", 0, (0, 2), kind="method"),
    )
    node.add("  end\nend")
    kid = corpus.file(f"{wbase}/lib/{shop.lower()}/{badge.lower()}.rb", "ruby")
    kid.add(f"module {shop}", wl("negative", "used-class", kind="class"))
    kid.add(f"  class {badge} < {shop}::Node", wl("negative", "used-class", kind="class"))
    kid.add(
        f"    def {sparkle}\n      {render} * 2\n    end",
        wl("positive", "unused-of-nested-subclass", 0, (0, 2), kind="method"),
    )
    kid.add("  end\nend")
    corpus.write_raw(f"{wbase}/run_{render}.rb", f"{shop}::{badge}.new.{render}\n")

    wbase = f"wire/rust/checks_{idx}"
    checks = corpus.file(f"{wbase}/src/lib.rs", "rust")
    bound = pick(rng, ["Send", "Sync", "Send + Sync", "Unpin"])
    checks.add(
        f"fn _assert_{nm.snake()}<T: {bound}>() {{}}",
        wl("negative", "named-unused"),
    )
    checks.blank()
    checks.add(
        f"fn {nm.snake()}() -> usize {{\n    std::mem::size_of::<u64>()\n}}",
        wl("positive", "unused", 0, (0, 2)),
    )
    tests = corpus.file(f"{wbase}/src/tests.rs", "rust")
    tests.add(
        f"fn {nm.snake()}() -> Vec<u8> {{\n    vec![1, 2, 3]\n}}",
        wl("negative", "test-helper", 0, (0, 2)),
    )


#: Java interfaces a JRuby class includes to implement (httpclient's SSL socket,
#: concurrent-ruby's thread factory).
JAVA_INTERFACES = [
    "X509TrustManager",
    "java.util.concurrent.ThreadFactory",
    "Java::JavaxNetSsl::HostnameVerifier",
    "Runnable",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path("/tmp/gate-corpus"), help="directory to write (replaced)"
    )
    parser.add_argument("--seed", type=int, default=7, help="RNG seed (same seed, same corpus)")
    parser.add_argument("--scale", type=int, default=1, help="multiply the number of items")
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.seed, args.scale)
    print(summary(manifest))
    print(f"corpus: {args.out / 'repo'}\nmanifest: {args.out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


#: What an agent writes over a function that fakes its result (each says so in words
#: the fake-return rule knows); ``{n}`` is a noun.
FAKE_SAYS = [
    "Return mock data",
    "mock response",
    "dummy {n}",
    "canned response",
    "Stub: always succeeds",
    "Placeholder: load the {n} here",
    "Simulated {n}",
    "For demo purposes, return a fixed {n}",
    "Pretend we synced",
    "Replace with the actual {n} lookup",
    "This is where you would call the {n} service",
    "In production, call the {n} service",
    "Skip {n} validation in this prototype",
    "Hardcoded {n} for the demo",
    "Returning a sample value",
    "Implementation left as an exercise",
]
#: The same kind of words in a function that computes its result: descriptions.
FAKE_WORDS_ABOUT_WORK = [
    "mock the {n} client in the tests, not here",
    "the dummy {n} row is dropped before the totals",
    "simulate one tick of the {n} model",
    "replace the cached {n} with the actual one",
    "a placeholder text is shown until the {n} loads",
]
#: What a function that rightly returns a constant says of it.
CONSTANT_REASONS = [
    "hardcoded in the protocol's specification",
    "the default when nothing is configured",
    "every {n} is enabled on this platform",
    "the server expects exactly this value",
]
#: Per language: a function with a comment and a constant result, one computing its
#: result from a client, and how a name is written ({c} comment, {f} name).
FAKE_SHAPES: dict[str, dict[str, Any]] = {
    "python": {
        "ext": "py",
        "constant": [
            'def {f}(key):\n    # {c}\n    return {{"id": key, "status": "ok"}}',
            "def {f}(rows):\n    # {c}\n    return [1, 2, 3]",
            "def {f}(token):\n    # {c}\n    return True",
            "def {f}():\n    # {c}\n    time.sleep(0.5)\n    return None",
        ],
        "work": "def {f}(client, key):\n    # {c}\n    return client.get(key)",
        "name": lambda nm: nm.snake(),
        "fake": lambda nm: "fake_" + nm.snake(),
        "hook": "class {b}:\n    def {f}(self):\n        # placeholder: subclasses add their own\n"
        "        return {{}}\n\n\nclass {s}({b}):\n    def {f}(self):\n        return self.read()",
    },
    "javascript": {
        "ext": "js",
        "constant": [
            "export function {f}(id) {{\n  // {c}\n  return {{ id, status: 'ok' }};\n}}",
            "export async function {f}() {{\n  // {c}\n  await new Promise((r) => setTimeout(r, 300));\n"
            "  return [];\n}}",
            "export const {f} = (token) => {{\n  // {c}\n  return true;\n}};",
        ],
        "work": "export function {f}(client, key) {{\n  // {c}\n  return client.get(key);\n}}",
        "name": lambda nm: nm.camel(),
        "fake": lambda nm: "mock" + nm.pascal_verb(),
        "hook": "export class {b} {{\n  {f}() {{\n    // placeholder: subclasses add their own\n"
        "    return {{}};\n  }}\n}}\n\nexport class {s} extends {b} {{\n  {f}() {{\n"
        "    return this.read();\n  }}\n}}",
    },
    "typescript": {
        "ext": "ts",
        "constant": [
            "export function {f}(id: string): Item {{\n  // {c}\n  return {{ id, status: 'ok' }} as Item;\n}}",
            "export async function {f}(): Promise<string[]> {{\n  // {c}\n  return [];\n}}",
            "export const {f} = (token: string): boolean => {{\n  // {c}\n  return true;\n}};",
        ],
        "work": "export function {f}(client: Client, key: string): Item {{\n  // {c}\n"
        "  return client.get(key);\n}}",
        "name": lambda nm: nm.camel(),
        "fake": lambda nm: "mock" + nm.pascal_verb(),
        "hook": "export class {b} {{\n  {f}(): object {{\n    // placeholder: subclasses add their own\n"
        "    return {{}};\n  }}\n}}\n\nexport class {s} extends {b} {{\n  {f}(): object {{\n"
        "    return this.read();\n  }}\n}}",
    },
    "go": {
        "ext": "go",
        "head": "package fakes\n",
        "constant": [
            'func {f}(id int) (string, error) {{\n\t// {c}\n\treturn "ok", nil\n}}',
            "func {f}(amount int) error {{\n\t// {c}\n\treturn nil\n}}",
            'func {f}() []string {{\n\t// {c}\n\treturn []string{{"a", "b"}}\n}}',
        ],
        "work": "func {f}(c *Client, key string) (string, error) {{\n\t// {c}\n\treturn c.Get(key)\n}}",
        "name": lambda nm: nm.pascal_verb(),
        "fake": lambda nm: "Fake" + nm.pascal_verb(),
    },
    "java": {
        "ext": "java",
        "class": True,
        "constant": [
            '    List<String> {f}() {{\n        // {c}\n        return List.of("a", "b");\n    }}',
            "    boolean {f}(String token) {{\n        // {c}\n        return true;\n    }}",
            '    String {f}(int id) {{\n        // {c}\n        return "ok";\n    }}',
        ],
        "work": "    String {f}(Client client, String key) {{\n        // {c}\n"
        "        return client.get(key);\n    }}",
        "name": lambda nm: nm.camel(),
        "fake": lambda nm: "fake" + nm.pascal_verb(),
    },
    "rust": {
        "ext": "rs",
        "constant": [
            'pub fn {f}(id: u32) -> String {{\n    // {c}\n    String::from("ok")\n}}',
            "pub fn {f}(token: &str) -> bool {{\n    // {c}\n    true\n}}",
            "pub fn {f}() -> Vec<u8> {{\n    // {c}\n    vec![1, 2, 3]\n}}",
        ],
        "work": "pub fn {f}(client: &Client, key: &str) -> String {{\n    // {c}\n"
        "    client.get(key)\n}}",
        "name": lambda nm: nm.snake(),
        "fake": lambda nm: "fake_" + nm.snake(),
    },
    "ruby": {
        "ext": "rb",
        "constant": [
            '  def {f}(id)\n    # {c}\n    {{ id: id, status: "ok" }}\n  end',
            "  def {f}(token)\n    # {c}\n    true\n  end",
            "  def {f}\n    # {c}\n    []\n  end",
        ],
        "work": "  def {f}(client, key)\n    # {c}\n    client.get(key)\n  end",
        "name": lambda nm: nm.snake(),
        "fake": lambda nm: "fake_" + nm.snake(),
        "module": True,
    },
    "c": {
        "ext": "c",
        "constant": [
            "int {f}(const char *key) {{\n    /* {c} */\n    return 0;\n}}",
            "double {f}(void) {{\n    // {c}\n    return 1.5;\n}}",
        ],
        "work": "int {f}(struct client *c, const char *key) {{\n    /* {c} */\n"
        "    return client_get(c, key);\n}}",
        "name": lambda nm: nm.snake(),
        "fake": lambda nm: "fake_" + nm.snake(),
    },
    "cpp": {
        "ext": "cpp",
        "constant": [
            "std::vector<int> {f}() {{\n    // {c}\n    return {{1, 2, 3}};\n}}",
            "bool {f}(const std::string &token) {{\n    // {c}\n    return true;\n}}",
        ],
        "work": "std::string {f}(Client &client, const std::string &key) {{\n    // {c}\n"
        "    return client.get(key);\n}}",
        "name": lambda nm: nm.snake(),
        "fake": lambda nm: "fake_" + nm.snake(),
    },
}


def _fake_snip(
    fb: FileBuilder, rng: random.Random, template: str, comment: str, name: str, label: Label
) -> None:
    """``template`` with ``name`` and ``comment`` (its ``{n}`` a noun), labelled at the
    comment's line."""
    text = template.format(f=name, c=comment.format(n=pick(rng, NOUNS)))
    label.at = next(n for n, line in enumerate(template.split("\n")) if "{c}" in line)
    label.span = (0, text.count("\n"))
    fb.add(text, label)
    fb.blank()


def fake_returns(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """The fake-return rule's shapes, in every language it judges. Positives: a
    function that returns a constant (a literal, a record, an empty list, after a
    simulated wait) under a comment that calls it fake ("Return mock data", "Pretend we
    synced", "Replace with the actual lookup"). Hard negatives: the same words in a
    function that computes its result, a constant under a comment that says why it is
    fixed, a function named as a fake (``fake_rates``, ``mockFetch``), a base's hook
    that a subclass in the file defines again, and the fakes of a test file."""
    for lang in ("python", "javascript", "typescript", "go", "java", "rust", "ruby", "c", "cpp"):
        if lang in ("c", "cpp") and idx % 2 != (lang == "cpp"):
            continue  # C and C++ take turns
        shape = FAKE_SHAPES[lang]
        fb = corpus.file(f"stub/{lang}/fakes_{idx}.{shape['ext']}", lang)
        if "head" in shape:
            fb.add(shape["head"])
        owner = nm.pascal()
        if shape.get("class"):
            fb.add(f"class {owner} {{")
        elif shape.get("module"):
            fb.add(f"class {owner}")

        cases = [
            (template, FAKE_SAYS, shape["name"], "positive", "fake-return")
            for template in rng.sample(shape["constant"], 2)
        ]
        cases += [
            (
                shape["work"],
                FAKE_WORDS_ABOUT_WORK,
                shape["name"],
                "negative",
                "fake-words-over-work",
            ),
            (pick(rng, shape["constant"]), CONSTANT_REASONS, shape["name"], "negative", "reason"),
            (pick(rng, shape["constant"]), FAKE_SAYS, shape["fake"], "negative", "named-fake"),
        ]
        for template, says, name, expected, category in cases:
            label = Label("stub", expected, category)
            _fake_snip(fb, rng, template, pick(rng, says), name(nm), label)
        if shape.get("class") or shape.get("module"):
            fb.add("}" if shape.get("class") else "end")
        if "hook" in shape:
            text = shape["hook"].format(b=nm.pascal(), s=nm.pascal(), f=shape["name"](nm))
            fb.add(text, Label("stub", "negative", "hook-overridden", 2, (0, text.count("\n"))))
        test_path = {
            "python": f"stub/{lang}/tests/test_fakes_{idx}.py",
            "javascript": f"stub/{lang}/fakes_{idx}.test.js",
            "typescript": f"stub/{lang}/fakes_{idx}.spec.ts",
            "go": f"stub/{lang}/fakes_{idx}_test.go",
            "ruby": f"stub/{lang}/fakes_{idx}_spec.rb",
        }.get(lang)
        if test_path is not None:
            tb = corpus.file(test_path, lang)
            if "head" in shape:
                tb.add(shape["head"])
            template = pick(rng, shape["constant"])
            if shape.get("module"):
                template = "class Fixtures\n" + template + "\nend"
            text = template.format(f=shape["name"](nm), c="canned response for the tests")
            tb.add(text, Label("stub", "negative", "test-double", 1, (0, text.count("\n"))))


#: Per language: a test file's path, how a test is written ({n} its name, {b} its
#: body), and assertions: hollow ones (a literal said to be itself or true) and real
#: ones (about what the code under test returns, or a literal computed with).
HOLLOW_SHAPES: dict[str, dict[str, Any]] = {
    "python": {
        "path": "stub/python/tests/test_hollow_{i}.py",
        "test": "def test_{n}():\n{b}",
        "indent": "    ",
        "hollow": ["assert True", "assert 1 == 1", 'assert "done"'],
        "real": ["assert {f}(1) == 1", "assert {f}([]) is None", "assert 42 >> 1 == 21"],
        "runs": "{f}(1)",
    },
    "javascript": {
        "path": "stub/javascript/hollow_{i}.test.js",
        "test": "test('{n}', () => {{\n{b}\n}});",
        "indent": "  ",
        "hollow": [
            "expect(true).toBe(true);",
            "expect(1).toEqual(1);",
            "expect(true).toBeTruthy();",
        ],
        "real": [
            "expect({f}(1)).toBe(1);",
            "expect(() => {f}(-1)).toThrow();",
            "expect(2 ** 3).toBe(8);",
        ],
        "runs": "{f}(1);",
    },
    "typescript": {
        "path": "stub/typescript/hollow_{i}.spec.ts",
        "test": "it('{n}', async () => {{\n{b}\n}});",
        "indent": "  ",
        "hollow": ["expect(true).toBe(true);", "expect(2).toStrictEqual(2);"],
        "real": ["expect(await {f}(1)).toEqual([]);", "expect({f}).toBeDefined();"],
        "runs": "await {f}(1);",
    },
    "java": {
        "path": "stub/java/src/test/java/Hollow{i}Test.java",
        "head": "class Hollow{i}Test {{",
        "tail": "}",
        "test": "    @Test\n    void {n}() {{\n{b}\n    }}",
        "indent": "        ",
        "hollow": ["assertTrue(true);", "assertEquals(1, 1);", "Assertions.assertTrue(true);"],
        "real": ["assertEquals(1, {f}(1));", "assertTrue({f}(1) > 0);", "assertEquals(8, 1 << 3);"],
        "runs": "{f}(1);",
    },
    "rust": {
        "path": "stub/rust/hollow_{i}.rs",
        "head": "#[cfg(test)]\nmod tests {{",
        "tail": "}",
        "test": "    #[test]\n    fn {n}() {{\n{b}\n    }}",
        "indent": "        ",
        "hollow": ["assert!(true);", "assert_eq!(1, 1);"],
        "real": ["assert_eq!({f}(1), 1);", "assert!({f}(1) > 0);", "assert_eq!(1 << 3, 8);"],
        "runs": "{f}(1);",
    },
    "ruby": {
        "path": "stub/ruby/hollow_{i}_spec.rb",
        "head": "describe Hollow{i} do",
        "tail": "end",
        "test": "  it '{n}' do\n{b}\n  end",
        "indent": "    ",
        "hollow": ["expect(true).to eq(true)", "expect(1).to eq(1)"],
        "real": ["expect({f}(1)).to eq(1)", "expect {{ {f}(-1) }}.to raise_error(ArgumentError)"],
        "runs": "{f}(1)",
    },
}


def hollow_tests(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """The hollow-test rule's shapes: in six languages, a test whose every statement
    asserts that a literal is itself or true (``assert True``, ``expect(1).toEqual(1)``),
    with or without a comment (positives). Hard negatives: a test asserting on what the
    code under test returns, one that runs the code before ``assert True`` (a smoke
    test), one asserting on a literal computed with (``assert 42 >> 1 == 21``), and a
    helper (not a test) that asserts ``True``."""
    for lang, shape in HOLLOW_SHAPES.items():
        fb = corpus.file(shape["path"].format(i=idx), lang)
        if "head" in shape:
            fb.add(shape["head"].format(i=idx))
        pad = shape["indent"]
        function = nm.snake() if lang in ("python", "rust", "ruby") else nm.camel()
        hollow = rng.sample(shape["hollow"], min(2, len(shape["hollow"])))
        cases = [
            ([hollow[0]], "positive", "hollow-test"),
            (
                [f"// {pick(rng, ['real checks come later', 'placeholder'])}", *hollow],
                "positive",
                "hollow-commented",
            ),
            ([pick(rng, shape["real"])], "negative", "real-assertion"),
            ([shape["runs"], hollow[0]], "negative", "smoke-test"),
        ]
        for lines, expected, category in cases:
            body = "\n".join(
                pad
                + (x.replace("//", "#", 1) if lang in ("python", "ruby") else x).format(f=function)
                for x in lines
            )
            text = shape["test"].format(n=nm.snake(), b=body)
            at = next(
                n
                for n, line in enumerate(text.split("\n"))
                if line.startswith(pad) and "//" not in line and "#" not in line
            )
            fb.add(text, Label("stub", expected, category, at, (0, text.count("\n"))))
            fb.blank()
        if lang == "python":
            text = f"def {nm.snake()}():\n    assert True"
            fb.add(text, Label("stub", "negative", "helper-not-a-test", 1, (0, 1)))
        if "tail" in shape:
            fb.add(shape["tail"])


# A reason a skip admits (the test fails or is not done), and one it names a need by.
SKIP_ADMITS = [
    "not implemented yet",
    "fails on CI",
    "flaky",
    "broken since the refactor",
    "fix later",
    "temporarily disabled",
    "hangs",
    "does not work yet",
    "WIP",
    "fails after the API change, re-enable later",
]
SKIP_NEEDS = [
    "requires network access",
    "needs a running Postgres",
    "slow: run with --slow",
    "needs the GPU runner",
    "requires Docker",
    "only meaningful against a real S3 bucket",
]
#: Per language: the file, and each case as (template, line of the skip or None when
#: nothing is to be found, expected, category). A template names the test {n}, the
#: function under test {f}, a reason {r}; {{ and }} are braces.
SKIP_SHAPES: dict[str, dict[str, Any]] = {
    "python": {
        "path": "stub/python/tests/test_skipped_{i}.py",
        "head": "import sys\n\nimport pytest\n",
        "cases": [
            ("@pytest.mark.skip\ndef test_{n}():\n    assert {f}(1) == 1", 0, "bare"),
            (
                '@pytest.mark.skip(reason="{a}")\ndef test_{n}():\n    assert {f}(1) == 1',
                0,
                "admits",
            ),
            ('def test_{n}():\n    pytest.skip("{a}")\n    assert {f}(1) == 1', 1, "admits-first"),
            (
                '@pytest.mark.skip(reason="{d}")\ndef test_{n}():\n    assert {f}(1) == 1',
                None,
                "needs",
            ),
            (
                '@pytest.mark.skipif(sys.platform == "win32", reason="{a}")\n'
                "def test_{n}():\n    assert {f}(1) == 1",
                None,
                "conditional",
            ),
            (
                'def test_{n}():\n    if not {f}_ready():\n        pytest.skip("{a}")\n'
                "    assert {f}(1) == 1",
                None,
                "conditional",
            ),
        ],
    },
    "javascript": {
        "path": "stub/javascript/skipped_{i}.test.js",
        "cases": [
            ("it.skip('{n}', () => {{\n  expect({f}(1)).toBe(1);\n}});", 0, "bare"),
            ("// {a}\nxit('{n}', () => {{\n  expect({f}(1)).toBe(1);\n}});", 1, "admits"),
            ("// {d}\nit.skip('{n}', () => {{\n  expect({f}(1)).toBe(1);\n}});", None, "needs"),
            ("it('{n}', () => {{\n  expect({f}(1)).toBe(1);\n}});", None, "runs"),
        ],
    },
    "typescript": {
        "path": "stub/typescript/skipped_{i}.spec.ts",
        "cases": [
            (
                "describe.skip('{n}', () => {{\n  it('works', () => expect({f}(1)).toBe(1));\n}});",
                0,
                "bare",
            ),
            (
                "test.skip('{n}', async () => {{ // {a}\n  expect(await {f}(1)).toEqual([]);\n}});",
                0,
                "admits",
            ),
            (
                "test('{n}', async ({{ browserName }}) => {{\n"
                "  test.skip(browserName === 'webkit', '{a}');\n  expect(await {f}(1)).toEqual([]);\n}});",
                None,
                "conditional",
            ),
            (
                "// {d}\ntest.skip('{n}', async () => {{\n  expect(await {f}(1)).toEqual([]);\n}});",
                None,
                "needs",
            ),
        ],
    },
    "java": {
        "path": "stub/java/src/test/java/Skipped{i}Test.java",
        "head": "class Skipped{i}Test {{",
        "tail": "}",
        "cases": [
            (
                "    @Disabled\n    @Test\n    void {n}() {{\n        assertEquals(1, {f}(1));\n    }}",
                0,
                "bare",
            ),
            (
                '    @Disabled("{a}")\n    @Test\n    void {n}() {{\n        assertEquals(1, {f}(1));\n    }}',
                0,
                "admits",
            ),
            (
                '    @Ignore("{d}")\n    @Test\n    void {n}() {{\n        assertEquals(1, {f}(1));\n    }}',
                None,
                "needs",
            ),
            (
                "    @DisabledOnOs(OS.WINDOWS)\n    @Test\n    void {n}() {{\n        assertEquals(1, {f}(1));\n    }}",
                None,
                "conditional",
            ),
        ],
    },
    "rust": {
        "path": "stub/rust/skipped_{i}.rs",
        "head": "#[cfg(test)]\nmod tests {{",
        "tail": "}",
        "cases": [
            (
                '    #[test]\n    #[ignore = "{a}"]\n    fn {n}() {{\n        assert_eq!({f}(1), 1);\n    }}',
                1,
                "admits",
            ),
            (
                "    #[test]\n    #[ignore]\n    fn {n}() {{\n        assert_eq!({f}(1), 1);\n    }}",
                None,
                "bare-on-demand",
            ),
            (
                '    #[test]\n    #[ignore = "{d}"]\n    fn {n}() {{\n        assert_eq!({f}(1), 1);\n    }}',
                None,
                "needs",
            ),
        ],
    },
    "go": {
        "path": "stub/go/skipped_{i}_test.go",
        "head": 'package skipped\n\nimport "testing"\n',
        "cases": [
            (
                'func Test{N}(t *testing.T) {{\n\tt.Skip()\n\tif {f}(1) != 1 {{\n\t\tt.Fatal("wrong")\n\t}}\n}}',
                1,
                "bare",
            ),
            (
                'func Test{N}(t *testing.T) {{\n\tt.Skip("{a}")\n\tif {f}(1) != 1 {{\n\t\tt.Fatal("wrong")\n\t}}\n}}',
                1,
                "admits",
            ),
            ('func Test{N}(t *testing.T) {{\n\tt.Skip("{d}")\n}}', None, "needs"),
            (
                'func Test{N}(t *testing.T) {{\n\tif testing.Short() {{\n\t\tt.Skip("{a}")\n\t}}\n'
                '\tif {f}(1) != 1 {{\n\t\tt.Fatal("wrong")\n\t}}\n}}',
                None,
                "conditional",
            ),
        ],
    },
    "ruby": {
        "path": "stub/ruby/skipped_{i}_spec.rb",
        "head": "describe Skipped{i} do",
        "tail": "end",
        "cases": [
            ("  xit '{n}' do\n    expect({f}(1)).to eq(1)\n  end", 0, "bare"),
            ("  it '{n}', skip: '{a}' do\n    expect({f}(1)).to eq(1)\n  end", 0, "admits"),
            (
                "  it '{n}' do\n    pending '{a}'\n    expect({f}(1)).to eq(1)\n  end",
                1,
                "admits-first",
            ),
            ("  it '{n}', skip: '{d}' do\n    expect({f}(1)).to eq(1)\n  end", None, "needs"),
            (
                "  it '{n}' do\n    skip '{a}' unless ENV['CI']\n    expect({f}(1)).to eq(1)\n  end",
                None,
                "conditional",
            ),
        ],
    },
}


def skipped_tests(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """The skipped-test rule's shapes: in seven languages, a test switched off for good
    with no reason or with one that says it fails or is not done (positives). Hard
    negatives: the same skips with a reason that names what the test needs, skips under
    a condition (whatever their reason says), a test that runs, and Rust's bare
    ``#[ignore]`` (a slow test kept for ``cargo test -- --ignored``)."""
    for lang, shape in SKIP_SHAPES.items():
        fb = corpus.file(shape["path"].format(i=idx), lang)
        if "head" in shape:
            fb.add(shape["head"].format(i=idx))
        for template, at, category in shape["cases"]:
            function = nm.snake() if lang in ("python", "rust", "ruby") else nm.camel()
            text = template.format(
                n=nm.snake(),
                N=nm.pascal(),
                f=function,
                a=pick(rng, SKIP_ADMITS),
                d=pick(rng, SKIP_NEEDS),
            )
            expected = "negative" if at is None else "positive"
            fb.add(
                text, Label("stub", expected, f"skip-{category}", at or 0, (0, text.count("\n")))
            )
            fb.blank()
        if "tail" in shape:
            fb.add(shape["tail"])


#: Per language: each case as (template, line of the focus or None, category); {n} names
#: the test, {f} the function under test.
FOCUS_SHAPES: dict[str, dict[str, Any]] = {
    "javascript": {
        "path": "stub/javascript/focused_{i}.test.js",
        "cases": [
            ("it.only('{n}', () => {{\n  expect({f}(1)).toBe(1);\n}});", 0, "only"),
            (
                "fdescribe('{n}', () => {{\n  it('works', () => expect({f}(1)).toBe(1));\n}});",
                0,
                "f-prefix",
            ),
            (
                "it('runs only the {n}', () => {{\n  expect({f}({{ only: true }})).toBe(1);\n}});",
                None,
                "word-only",
            ),
            ("it('{n}', () => {{\n  expect(fit({f}(1))).toBe(1);\n}});", None, "call-named-fit"),
        ],
    },
    "typescript": {
        "path": "stub/typescript/focused_{i}.spec.ts",
        "cases": [
            (
                "describe.only('{n}', () => {{\n  test('works', async () => expect(await {f}(1)).toEqual([]));\n}});",
                0,
                "only",
            ),
            (
                "test.only('{n}', async () => {{\n  expect(await {f}(1)).toEqual([]);\n}});",
                0,
                "only",
            ),
            (
                "test('{n}', async () => {{\n  expect(await {f}(options.only)).toEqual([]);\n}});",
                None,
                "word-only",
            ),
        ],
    },
    "ruby": {
        "path": "stub/ruby/focused_{i}_spec.rb",
        "head": "describe Focused{i} do",
        "tail": "end",
        "cases": [
            ("  fit '{n}' do\n    expect({f}(1)).to eq(1)\n  end", 0, "f-prefix"),
            ("  it '{n}', focus: true do\n    expect({f}(1)).to eq(1)\n  end", 0, "metadata"),
            (
                "  it '{n}', focus: false do\n    expect({f}(1)).to eq(1)\n  end",
                None,
                "metadata-false",
            ),
            ("  it '{n}' do\n    expect({f}(form).focus).to eq(:name)\n  end", None, "word-focus"),
        ],
    },
}


def focused_tests(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """The focused-test rule's shapes: in JavaScript, TypeScript and Ruby, a test or suite
    focused so that the run skips every other one (``it.only``, ``fdescribe``, RSpec's
    ``fit`` and ``focus: true``: positives). Hard negatives: "only" and "focus" as words
    in a title, an option or a method, a function named ``fit``, ``focus: false``, and a
    test runner's fixture that is focused on purpose."""
    for lang, shape in FOCUS_SHAPES.items():
        fb = corpus.file(shape["path"].format(i=idx), lang)
        if "head" in shape:
            fb.add(shape["head"].format(i=idx))
        for template, at, category in rng.sample(shape["cases"], len(shape["cases"])):
            function = nm.snake() if lang == "ruby" else nm.camel()
            text = template.format(n=nm.snake(), f=function)
            expected = "negative" if at is None else "positive"
            fb.add(
                text, Label("stub", expected, f"focus-{category}", at or 0, (0, text.count("\n")))
            )
            fb.blank()
        if "tail" in shape:
            fb.add(shape["tail"])
    fb = corpus.file(f"stub/javascript/test/fixtures/only/focused_{idx}.spec.js", "javascript")
    text = (
        f"describe.only('{nm.snake()}', () => {{\n  it('runs', () => expect(run()).toBe(0));\n}});"
    )
    fb.add(text, Label("stub", "negative", "focus-fixture", 0, (0, 2)))


#: Template placeholders: a sum of numbers asserted equal to a number, per language, as
#: (path, test with {n} and {b}, placeholder, the same shape on real code, and for
#: Python a unittest method that checks arithmetic as an interpreter's suite does).
SUM_SHAPES: dict[str, tuple[str, str, str, str]] = {
    "python": (
        "stub/python/tests/test_sum_{i}.py",
        "def test_{n}():\n{b}",
        "    assert {x} + {y} == {z}",
        "    assert {f}({x}, {y}) == {z}",
    ),
    "javascript": (
        "stub/javascript/sum_{i}.test.js",
        "test('{n}', () => {{\n{b}\n}});",
        "  expect({x} + {y}).toBe({z});",
        "  expect({f}({x}, {y})).toBe({z});",
    ),
    "java": (
        "stub/java/src/test/java/Sum{i}Test.java",
        "    @Test\n    public void {n}() {{\n{b}\n    }}",
        "        assertEquals({z}, {x} + {y});",
        "        assertEquals({z}, {f}({x}, {y}));",
    ),
    "ruby": (
        "stub/ruby/sum_{i}_spec.rb",
        "  it '{n}' do\n{b}\n  end",
        "    expect({x} + {y}).to eq({z})",
        "    expect({f}({x}, {y})).to eq({z})",
    ),
}


def sum_placeholders(corpus: Corpus, rng: random.Random, nm: Names, idx: int) -> None:
    """Project templates' placeholder tests (Android Studio's ``assertEquals(4, 2 + 2)``,
    ``expect(1 + 1).toBe(2)``, pytest's ``assert 1 + 1 == 2``: positives of hollow-test).
    Hard negatives: the same assertion on what the code returns, and unittest's
    ``self.assertEqual(1 + 1, 2)``, which checks the interpreter's arithmetic."""
    for lang, (path, test, placeholder, real) in SUM_SHAPES.items():
        fb = corpus.file(path.format(i=idx), lang)
        if lang == "java":
            fb.add(f"public class Sum{idx}Test {{")
        if lang == "ruby":
            fb.add(f"describe Sum{idx} do")
        x, y = rng.randrange(1, 9), rng.randrange(1, 9)
        function = nm.snake() if lang in ("python", "ruby") else nm.camel()
        for line, expected, category in rng.sample(
            [(placeholder, "positive", "sum-placeholder"), (real, "negative", "sum-of-code")], 2
        ):
            body = line.format(x=x, y=y, z=x + y, f=function)
            text = test.format(n=nm.snake(), b=body)
            fb.add(
                text,
                Label(
                    "stub",
                    expected,
                    category,
                    text.count("\n") - (0 if lang == "python" else 1),
                    (0, text.count("\n")),
                ),
            )
            fb.blank()
        if lang == "python":
            text = f"class {nm.pascal()}Test(unittest.TestCase):\n    def test_{nm.snake()}(self):\n        self.assertEqual({x} + {y}, {x + y})"
            fb.add(text, Label("stub", "negative", "sum-unittest", 2, (0, 2)))
        if lang in ("java", "ruby"):
            fb.add("}" if lang == "java" else "end")

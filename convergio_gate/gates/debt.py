"""The debt gate: markers of unfinished or knowingly wrong work, in comments.

A coding agent that writes "TODO: handle errors" has told us, in its own words, that the
task is not done; so has a person. The markers and their case rules are data
(``rules/debt.yaml``); this module only finds them where they mean something.

Why comments only: the same word in a string literal (a UI label "TODO"), an
identifier (``todo_list``), inside a word (``todoist``, ``hackathon``) or in a Python
docstring is not a promise of future work, and reporting it would teach users to ignore
the gate. Comments come from the parse tree (``convergio_gate.lang.comments``), never
from a regular expression over the file, so a ``#`` inside a string is not a comment.
The text of a ``convergio: allow ...`` waiver is never searched: a waiver that names the
``todo`` rule must not itself be reported as a TODO.

Why it is fast: this runs on every commit. Each marker declares keywords (literals it
cannot match without); a file that holds none of them, which is most files, is skipped
with a few substring searches over its bytes and never parsed. A file that does is
parsed once, and only the comments that hold a keyword are decoded and searched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from convergio_gate import lazyre
from convergio_gate.errors import InputError
from convergio_gate.gates import rules as rule_files
from convergio_gate.gates._base import SEVERITIES, Context, Finding, SourceFile, normalise
from convergio_gate.lang.comments import (
    Comment,
    Keywords,
    comment_regions,
    comments,
    excerpt,
    occurrences_in,
)

RULE_FILE = "debt"
#: The longest marker a rule may match, in bytes (the rules' markers are phrases of a
#: few words); the pre-filter looks this far (and a little more) around each keyword.
MAX_MARKER = 192
WINDOW = MAX_MARKER + 8


@dataclass(frozen=True)
class Marker:
    """One marker of a rule: its regex, and the keywords it cannot match without."""

    pattern: re.Pattern[str]
    keywords: Keywords


@dataclass(frozen=True)
class MarkerRule:
    """A rule that searches comment text for markers, compiled (debt, and the stub
    gate's comment rules). ``pattern`` is all its markers in one regex; ``keywords`` all
    their keywords. ``message`` may name the matched text as ``{match}``."""

    id: str
    severity: str
    message: str
    fix: str
    pattern: re.Pattern[str]
    keywords: Keywords
    markers: tuple[Marker, ...] = ()


class DebtGate:
    """Refuses debt markers (TODO, FIXME, HACK, XXX ...) in comments."""

    id = "debt"
    description = "debt markers (TODO, FIXME, HACK, XXX ...) in comments"
    scope: Literal["file", "repo"] = "file"
    version = "1"
    parses = True  # the comments of a file with a marker come from its parse tree

    def __init__(self, rules: Sequence[MarkerRule] | None = None) -> None:
        self.rules = tuple(load_rules(lazy=True) if rules is None else rules)

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        findings: list[Finding] = []
        for source in files:
            findings.extend(self.check_file(source))
        return findings

    def check_file(self, source: SourceFile) -> list[Finding]:
        data = source.data
        if source.language is None or not data or source.is_binary:
            return []
        regions = comment_regions(source.language, data)
        if regions is not None and not regions:
            return []  # no comment can be here: not even searched
        active, windows = marker_windows(self.rules, data, regions)
        if not active:
            return []
        wanted = Keywords(word for rule in active for word in rule.keywords.words)
        findings: list[Finding] = []
        for comment in comments(source, keep=wanted.found_in, ranges=windows):
            findings.extend(judge(self.id, source.path, comment, active))
        findings.sort(key=lambda f: (f.line, f.column, f.rule))
        return findings


def judge(gate: str, path: str, comment: Comment, rules: Sequence[MarkerRule]) -> list[Finding]:
    """Every match of ``rules`` in ``comment``, outside waiver text, as a finding."""
    raw = comment.text.encode()
    lowered = raw.lower()
    found: list[Finding] = []
    for rule in rules:
        if not rule.keywords.found_in(raw, lowered):
            continue
        for start, end in comment.judged():
            for match in rule.pattern.finditer(comment.text, start, end):
                found.append(finding(gate, path, comment, rule, match))
    return found


def marker_windows(
    rules: Sequence[MarkerRule], data: bytes, regions: Sequence[tuple[int, int]] | None = None
) -> tuple[list[MarkerRule], list[tuple[int, int]]]:
    """The rules that match somewhere in ``data`` (comment or not), and where; with
    ``regions`` (see ``comments.comment_regions``), only keywords inside them count."""
    active: list[MarkerRule] = []
    windows: list[tuple[int, int]] = []
    memo: dict[tuple[bytes, bool], list[int]] = {}  # each keyword searched for once
    if regions is not None:
        memo = occurrences_in(regions, data, _keyword_groups(rules))
        if not any(memo.values()):
            return active, windows  # no keyword in any comment
    lowered = data.lower()
    for rule in rules:
        near = _windows(rule, data, lowered, memo)
        if near:
            active.append(rule)
            windows.extend(near)
    return active, windows


#: The keyword groups of each rule set in use, by identity (a gate keeps its rules).
_GROUPS: dict[int, tuple[Sequence[MarkerRule], list[Keywords]]] = {}


def _keyword_groups(rules: Sequence[MarkerRule]) -> list[Keywords]:
    """The keywords :func:`_windows` looks for, one group per marker of each rule (the
    rule's own when it has no markers), worked out once per rule set."""
    kept = _GROUPS.get(id(rules))
    if kept is None or kept[0] is not rules:
        if len(_GROUPS) >= 64:  # gates made again and again (tests): keep it small
            _GROUPS.clear()
        groups = [
            k for rule in rules for k in [m.keywords for m in rule.markers] or [rule.keywords]
        ]
        kept = _GROUPS[id(rules)] = (rules, groups)
    return kept[1]


def _windows(
    rule: MarkerRule, data: bytes, lowered: bytes, memo: dict[tuple[bytes, bool], list[int]]
) -> list[tuple[int, int]]:
    """Byte ranges of ``data`` where ``rule`` matches, comment or not; [] if none.

    Cheap, and never wrong when it finds nothing: each marker's regex runs only on a
    window around each of its own keywords, and a marker (at most MAX_MARKER bytes) that
    holds a keyword lies inside that keyword's window. A keyword inside the last window
    found only stretches it, without a search, so a file dense with keywords costs a few
    searches, not one per keyword. The comments that hold a marker overlap these
    windows, so only they need to be looked up in the parse tree.
    """
    found: list[tuple[int, int]] = []
    for marker in rule.markers or (Marker(rule.pattern, rule.keywords),):
        last: tuple[int, int] | None = None
        for at in marker.keywords.occurrences(data, lowered, memo):
            end = min(len(data), at + WINDOW)
            if last is not None and at < last[1]:
                last = found[-1] = (last[0], end)
                continue
            start = max(0, at - WINDOW)
            if marker.pattern.search(data[start:end].decode("utf-8", errors="replace")):
                last = (start, end)
                found.append(last)
    return found


def finding(
    gate: str, path: str, comment: Comment, rule: MarkerRule, match: re.Match[str]
) -> Finding:
    """The finding for ``match``, a match of ``rule`` in ``comment``."""
    index = match.start()
    line, column = comment.position(index)
    text, at = comment.line_around(index)
    return Finding(
        gate=gate,
        rule=rule.id,
        path=path,
        line=line,
        column=column,
        message=rule.message.format(match=" ".join(match[0].split())),
        fix=rule.fix,
        key=normalise(text),
        severity=rule.severity,
        preview=excerpt(text, at),
    )


def load_rules(name: str = RULE_FILE, *, lazy: bool = False) -> list[MarkerRule]:
    """The rules of ``rules/<name>.yaml``; InputError names the rule that is wrong.
    ``lazy``: regexes compile on first use (and a wrong one is reported then)."""
    return [
        compile_rule(rule, index, name, lazy=lazy)
        for index, rule in enumerate(rule_files.rules(name))
    ]


def compile_rule(
    rule: Mapping[str, Any], index: int, name: str = RULE_FILE, *, lazy: bool = False
) -> MarkerRule:
    """``rule`` (a mapping with ``markers:``) compiled, or InputError naming what is wrong."""
    label = f"rules/{name}.yaml"
    where = f"rules[{index}] ({rule['id']})"

    def wrong(message: str, key: str = "") -> InputError:
        return InputError(f"{rule['id']}: {message}", path=label, key=where + key)

    severity = rule.get("severity", "error")
    if severity not in SEVERITIES:
        raise wrong(f"severity must be one of {', '.join(SEVERITIES)}", ".severity")
    message = rule.get("message")
    if not isinstance(message, str) or not message:
        raise wrong("missing `message`", ".message")
    try:
        message.format(match="")
    except (KeyError, IndexError, ValueError) as exc:
        raise wrong(f"`message` may only name {{match}}: {exc!r}", ".message") from None
    markers = rule.get("markers")
    if not isinstance(markers, list) or not markers:
        raise wrong("expected a non-empty `markers:` list", ".markers")
    regexes: list[str] = []
    keywords: list[str] = []
    compiled: list[Marker] = []
    for n, marker in enumerate(markers):
        key = f".markers[{n}]"
        regex = marker.get("regex") if isinstance(marker, dict) else None
        words = marker.get("keywords") if isinstance(marker, dict) else None
        if not isinstance(regex, str) or not regex:
            raise wrong("every marker needs a `regex`", key)
        if not isinstance(words, list) or not words:
            raise wrong("every marker needs `keywords:`, a list of literals", key)
        if not all(isinstance(w, str) and w and w.isascii() for w in words):
            raise wrong("keywords must be non-empty ASCII text", key)
        compiled.append(
            Marker(_compile(regex, functools.partial(wrong, key=key), lazy), Keywords(words))
        )
        regexes.append(regex)
        keywords.extend(words)
    pattern = _compile(
        "|".join(f"(?:{r})" for r in regexes), functools.partial(wrong, key=".markers"), lazy
    )
    return MarkerRule(
        id=rule["id"],
        severity=severity,
        message=message,
        fix=" ".join(rule["fix"].split()),
        pattern=pattern,
        keywords=Keywords(keywords),
        markers=tuple(compiled),
    )


def _compile(regex: str, wrong: Callable[[str], InputError], lazy: bool = False) -> re.Pattern[str]:
    def error(exc: re.error) -> InputError:
        return wrong(f"regex does not compile: {exc}")

    if lazy:
        return lazyre.compile(regex, error=error)
    try:
        return re.compile(regex)
    except re.error as exc:
        raise error(exc) from None

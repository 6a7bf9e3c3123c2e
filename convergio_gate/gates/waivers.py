"""Explicit exceptions: inline waivers and the baseline.

An inline waiver names the rule (or the whole gate) and says why, on the line of the
finding or the line above::

    api_key = load_fixture_key()  # convergio: allow secret -- test fixture, not a real key

A whole file can be waived for a rule or gate with ``convergio: allow-file <rule> --
<reason>`` anywhere in it (for files whose purpose is to hold what a gate refuses, such
as a rule's own test samples). A waiver without a reason is itself refused: the point of
a waiver is the reason, which the audit chain records with every finding it lets through.
The baseline (``.convergio/baseline.yaml``) lists accepted pre-existing findings by fingerprint, so
adopting the tool on an old repository does not mean fixing everything first; it has no
line numbers, so it does not churn when code moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convergio_gate.errors import InputError
from convergio_gate.gates._base import Finding, SourceFile

WAIVER = re.compile(
    r"convergio:\s*allow(?P<file>-file)?\s+(?P<ids>[a-z][a-z0-9-]*(?:\s*,\s*[a-z][a-z0-9-]*)*)"
    r"(?:\s+--\s*(?P<reason>.*?))?\s*(?:\*/|-->|#\}|%\})?\s*$"
)
BASELINE_PATH = ".convergio/baseline.yaml"
#: Changes whenever what :func:`find` finds in the same bytes changes (cached by blob id).
VERSION = "1"


@dataclass(frozen=True)
class Waiver:
    path: str
    line: int
    ids: tuple[str, ...]
    reason: str
    whole_file: bool = False

    def to_json(self) -> list[Any]:
        """What the cache keeps (the path is in its key)."""
        return [self.line, list(self.ids), self.reason, self.whole_file]

    def covers(self, finding: Finding) -> bool:
        if finding.rule not in self.ids and finding.gate not in self.ids:
            return False
        return self.whole_file or self.line in (finding.line, finding.line - 1)


def find(source: SourceFile) -> list[Waiver]:
    if b"convergio:" not in source.data:
        return []
    found = []
    for number, text in enumerate(source.lines, start=1):
        if "convergio:" not in text:
            continue
        match = WAIVER.search(text)
        if match is None:
            continue
        ids = tuple(i.strip() for i in match["ids"].split(","))
        reason = (match["reason"] or "").strip()
        found.append(Waiver(source.path, number, ids, reason, bool(match["file"])))
    return found


def from_json(path: str, stored: Any) -> list[Waiver] | None:
    """Waivers as :meth:`Waiver.to_json` kept them; None when ``stored`` is not that."""
    if not isinstance(stored, list):
        return None
    out = []
    for item in stored:
        if not (isinstance(item, list) and len(item) == 4):
            return None
        line, ids, reason, whole_file = item
        if not (isinstance(line, int) and isinstance(ids, list) and isinstance(reason, str)):
            return None
        out.append(Waiver(path, line, tuple(str(i) for i in ids), reason, bool(whole_file)))
    return out


def reasonless(waivers: Iterable[Waiver]) -> list[Finding]:
    """A finding for every waiver that gives no reason."""
    return [
        Finding(
            gate="waiver",
            rule="waiver-needs-reason",
            path=w.path,
            line=w.line,
            column=1,
            message=f"waiver for {', '.join(w.ids)} gives no reason",
            fix="say why after `--`: convergio: allow RULE -- why this is fine here",
            key=",".join(w.ids),
        )
        for w in waivers
        if not w.reason
    ]


def apply(
    findings: Sequence[Finding], waivers: dict[str, list[Waiver]]
) -> tuple[list[Finding], list[tuple[Finding, Waiver]]]:
    """Split findings into (kept, waived with the waiver that let each through)."""
    kept: list[Finding] = []
    waived: list[tuple[Finding, Waiver]] = []
    for finding in findings:
        match = next(
            (w for w in waivers.get(finding.path, ()) if w.reason and w.covers(finding)),
            None,
        )
        if match is None:
            kept.append(finding)
        else:
            waived.append((finding, match))
    return kept, waived


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    gate: str
    rule: str
    path: str
    preview: str = ""


def load_baseline(root: Path) -> dict[str, BaselineEntry]:
    path = root / BASELINE_PATH
    if not path.exists():
        return {}
    from convergio_gate.model import yamlio
    from convergio_gate.model.schema import (
        Field,
        ListOf,
        Str,
        Struct,
        Version,
        validate_document,
    )

    entry = Struct(
        fields=(
            Field("fingerprint", Str(re.compile(r"^[0-9a-f]{32}$"), expected="a fingerprint")),
            Field("gate", Str()),
            Field("rule", Str()),
            Field("path", Str()),
            Field("preview", Str(allow_empty=True), required=False, default=""),
        ),
        expected="a baseline entry (fingerprint, gate, rule, path, preview)",
    )
    schema = Struct(
        fields=(
            Field("version", Version(1, "baseline")),
            Field("findings", ListOf(entry, max_items=1_000_000), required=False, default=list),
        ),
        expected="the baseline",
    )
    try:
        data = validate_document(
            yamlio.load(path, BASELINE_PATH, max_bytes=64 << 20), schema, BASELINE_PATH
        )
    except InputError as error:
        raise error.fixed_by(
            f"correct the entry, or write the file again with `convergio-gate baseline` "
            f"(it lists the findings of now); `git checkout {BASELINE_PATH}` restores "
            f"the committed one"
        ) from None
    return {e["fingerprint"]: BaselineEntry(**e) for e in data["findings"]}


def write_baseline(root: Path, findings: Sequence[Finding]) -> int:
    from convergio_gate.model import yamlio

    entries: list[dict[str, Any]] = [
        {
            "fingerprint": f.fingerprint,
            "gate": f.gate,
            "rule": f.rule,
            "path": f.path,
            "preview": f.preview,
        }
        for f in sorted(findings, key=lambda f: (f.path, f.gate, f.rule, f.fingerprint))
    ]
    doc = yamlio.new_map({"version": 1, "findings": entries})
    doc.yaml_set_start_comment(
        "Accepted pre-existing findings, by fingerprint (no line numbers: moving code does\n"
        "not churn this file). Written by `convergio-gate baseline`; a new finding, or a\n"
        "secret whose value changed, is not covered."
    )
    yamlio.write_atomic(root / BASELINE_PATH, yamlio.dump(doc))
    return len(entries)

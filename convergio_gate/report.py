"""Renderings of a check's outcome: text (rich), JSON, SARIF 2.1.0, GitHub annotations.

Every renderer works from findings alone, and a finding never holds a secret (only a
redacted preview and a hash), so no rendering can leak one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from convergio_gate import __version__

if TYPE_CHECKING:
    from convergio_gate.gates._base import Finding
    from convergio_gate.gates.engine import Outcome

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def as_json(outcome: Outcome, chain_head: str | None = None) -> dict[str, Any]:
    return {
        "decision": outcome.decision,
        "mode": outcome.selection.mode,
        "subject": outcome.selection.subject,
        "gates": outcome.gates,
        "findings": [f.to_json() for f in outcome.findings],
        "waived": [
            {**f.to_json(), "waiver": {"line": w.line, "reason": w.reason}}
            for f, w in outcome.waived
        ],
        "baselined": len(outcome.baselined),
        "files": len(outcome.selection.files),
        "skipped": [{"path": p, "why": why} for p, why in outcome.selection.skipped],
        "scanned": outcome.scanned,
        "cached": outcome.cached,
        "seconds": round(outcome.seconds, 3),
        "chain_head": chain_head,
    }


def _rule_meta(gate: str, rule: str) -> dict[str, str]:
    from convergio_gate.errors import InputError
    from convergio_gate.gates import rules as rules_data

    try:
        items = rules_data.rules(rules_data.rule_file(gate))
    except InputError:  # a plugin gate has no rule file of ours: describe it plainly
        items = []
    for item in items:
        if item["id"] == rule:
            return {"description": item["description"], "why": item["why"], "fix": item["fix"]}
    return {"description": f"{gate} gate: {rule}", "why": "", "fix": ""}


def as_sarif(outcome: Outcome) -> dict[str, Any]:
    rule_ids = sorted({(f.gate, f.rule) for f in outcome.findings})
    index = {pair: i for i, pair in enumerate(rule_ids)}
    rules = []
    for gate, rule in rule_ids:
        meta = _rule_meta(gate, rule)
        help_text = " ".join(t for t in (meta["why"], meta["fix"]) if t) or meta["description"]
        rules.append(
            {
                "id": f"{gate}/{rule}",
                "name": rule,
                "shortDescription": {"text": meta["description"]},
                "help": {"text": help_text},
                "properties": {"gate": gate},
            }
        )
    results = []
    for f in outcome.findings:
        result: dict[str, Any] = {
            "ruleId": f"{f.gate}/{f.rule}",
            "ruleIndex": index[(f.gate, f.rule)],
            "level": LEVELS.get(f.severity, "error"),
            "message": {"text": f"{f.message}. Fix: {f.fix}" if f.fix else f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)},
                    }
                }
            ],
            "partialFingerprints": {"convergioFingerprint/v1": f.fingerprint},
            "properties": {"gate": f.gate},
        }
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "convergio-gate",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def as_github(outcome: Outcome) -> str:
    """Workflow commands: one ``::error`` (or warning/notice) annotation per finding."""
    lines = []
    for f in outcome.findings:
        command = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
        props = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f'convergio-gate {f.gate}/{f.rule}')}",
            ]
        )
        lines.append(f"::{command} {props}::{_escape_data(f'{f.message}. Fix: {f.fix}')}")
    return "\n".join(lines) + ("\n" if lines else "")


def findings_text(findings: Sequence[Finding]) -> Any:
    """The findings as a compiler prints them, one ``path:line:col: gate/rule message``
    line each (editors and terminals make it a link), grouped by file: the preview and
    where it was added below it, and a rule's fix below its first finding only.

    One rich Text for all of them: rich then renders hundreds of findings at once,
    where a table of them cost more than the check itself.
    """
    from rich.text import Text

    text = Text()
    explained: set[tuple[str, str]] = set()
    for f in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.gate, f.rule)):
        style = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
        text.append(f"{f.path}:{f.line}:{f.column}", style="bold")
        text.append(": ")
        text.append(f"{f.gate}/{f.rule}", style=style)
        text.append(f" {f.message}\n")
        if f.preview:
            text.append(f"    {f.preview}\n", style="dim")
        if f.commit:
            text.append(f"    added in {f.commit[:12]}\n", style="dim")
        rule = (f.gate, f.rule)
        if rule not in explained:
            explained.add(rule)
            text.append(f"    fix: {f.fix}\n", style="green")
    text.rstrip()
    return text


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def text_of(outcome: Outcome, chain_head: str | None = None) -> str:
    """What :func:`print_text` writes, unstyled (``check --format text --output FILE``)."""
    import io

    from rich.console import Console

    from convergio_gate.console import PIPE_WIDTH

    buffer = io.StringIO()
    console = Console(
        file=buffer, highlight=False, width=PIPE_WIDTH, color_system=None, force_terminal=False
    )
    print_text(outcome, chain_head, console)
    return buffer.getvalue()


def print_text(outcome: Outcome, chain_head: str | None = None, console: Any = None) -> None:
    """The report for people, on standard output (or on ``console``)."""
    errors = sum(1 for f in outcome.findings if f.severity == "error")
    others = len(outcome.findings) - errors
    files = len(outcome.selection.files)
    stats = (
        f"{_many(files, 'file')}, {outcome.scanned} scanned, {outcome.cached} from cache, "
        f"{outcome.seconds:.2f}s"
    )
    extra = []
    if outcome.waived:
        extra.append(f"{len(outcome.waived)} waived")
    if outcome.baselined:
        extra.append(f"{len(outcome.baselined)} in the baseline")
    if others:
        extra.append(_many(others, "warning"))
    tail = f" ({', '.join(extra)})" if extra else ""
    if console is None and not (outcome.findings or outcome.selection.skipped or outcome.waived):
        # A clean run says one line: written without rich when rich would not style it.
        import sys

        from convergio_gate.console import plain

        head = f"  chain head {chain_head[:12]}" if chain_head else ""
        if plain(sys.stdout, f"clean{tail}  {stats}{head}"):
            return
    from rich.markup import escape

    from convergio_gate.console import out, styled

    given = console is not None  # then written as it is, unstyled
    if console is None:
        console = out()
    if outcome.findings:
        text = findings_text(outcome.findings)
        if not given and styled(console.file):
            console.print(text, soft_wrap=True, highlight=False)
        else:  # nothing to style: rich would write the text as it is, only slower
            console.file.write(text.plain + "\n")
    for path, why in outcome.selection.skipped:
        console.print(f"[dim]skipped {escape(path)}: {why}[/]")
    for f, w in outcome.waived:
        console.print(
            f"[dim]waived {f.gate}/{f.rule} at {escape(f.path)}:{f.line}: {escape(w.reason)}[/]"
        )
    head = f"  [dim]chain head {chain_head[:12]}[/]" if chain_head else ""
    if outcome.refused:
        found = _many(errors, "finding")
        console.print(f"[bold red]refused[/]: {found}{tail}  [dim]{stats}[/]{head}")
    else:
        console.print(f"[bold green]clean[/]{tail}  [dim]{stats}[/]{head}")


def dumps(data: Any, *, records: bool = False) -> str:
    """``data`` as indented JSON. ``records``: ``data`` is an object whose lists hold
    records (findings): each record goes on a line of its own, compact, which the C
    encoder writes (the indenting one is pure Python: 50 ms for 750 findings)."""
    if not records or not isinstance(data, dict) or not data:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lines = []
    for key, value in data.items():
        name = json.dumps(key, ensure_ascii=False)
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {json.dumps(v, ensure_ascii=False)}" for v in value)
            lines.append(f"  {name}: [\n{items}\n  ]")
        else:
            lines.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"

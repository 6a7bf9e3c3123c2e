"""What a pull request is told: the sticky comment and the job summary, in markdown.

Both say the decision first, then each refusal with where, which rule, why and how to
fix it, then the task claims and their verdicts, the waivers used, protected files and
their approval, and the chain head (the outside anchor for `verify --expect-head`).
Long lists are cut with a count, so nothing exceeds GitHub's limits, and everything
comes from findings, which never hold a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convergio_gate import __version__
from convergio_gate.gates._base import Finding
from convergio_gate.gates.waivers import Waiver
from convergio_gate.github.api import MAX_COMMENT

MARKER = "<!-- convergio-gate: sticky comment, edited in place on every run -->"
MAX_SUMMARY = 1_000_000
ROWS_IN_COMMENT = 50
VERDICT = {True: "✅ accepted", False: "❌ refused"}


@dataclass(frozen=True)
class Claim:
    task: str
    status: str
    accepted: bool
    reasons: tuple[str, ...] = ()


@dataclass
class CiReport:
    decision: str  # accepted | refused
    subject: str
    findings: list[Finding] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    waived: list[tuple[Finding, Waiver]] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)
    chain_head: str | None = None
    chain_entries: int = 0
    run_url: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def refused_tasks(self) -> list[str]:
        return [c.task for c in self.claims if not c.accepted]


def _preview(f: Finding) -> str:
    if not f.preview or f.preview in f.message:
        return ""
    return " · " + cell(f.preview, 80)


def cell(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rows(items: list[str], limit: int, what: str) -> list[str]:
    if len(items) <= limit:
        return items
    return [*items[:limit], f"| … | {len(items) - limit} more {what} | | | |"]


def render(report: CiReport, *, rows: int = ROWS_IN_COMMENT, marker: bool = True) -> str:
    lines: list[str] = [MARKER] if marker else []
    refused = report.decision == "refused"
    icon = "❌" if refused else "✅"
    lines.append(f"## {icon} convergio-gate: {report.decision}")
    lines.append("")
    errors = [f for f in report.findings if f.severity == "error"]
    summary = [f"{len(errors)} refusal{'s' if len(errors) != 1 else ''} in {report.subject}"]
    if report.claims:
        bad = len(report.refused_tasks)
        summary.append(
            f"{len(report.claims)} task claim{'s' if len(report.claims) != 1 else ''}"
            f" ({bad} refused)"
        )
    if report.waived:
        summary.append(f"{len(report.waived)} waived")
    lines.append("; ".join(summary) + ".")
    for note in report.notes:
        lines.append(f"> {cell(note, 500)}")
    if report.findings:
        lines += [
            "",
            "### Refusals",
            "",
            "| gate | where | rule | why | how to fix |",
            "|---|---|---|---|---|",
        ]
        body = [
            f"| {f.gate} | `{cell(f.path, 120)}:{f.line}` | {f.rule} | "
            f"{cell(f.message)}{_preview(f)} | "
            f"{cell(f.fix)} |"
            for f in report.findings
        ]
        lines += _rows(body, rows, "findings (all of them are in the job summary and SARIF)")
    if report.claims:
        lines += [
            "",
            "### Task claims",
            "",
            "| task | claims | verdict | reasons |",
            "|---|---|---|---|",
        ]
        body = [
            f"| `{cell(c.task, 120)}` | {c.status} | {VERDICT[c.accepted]}"
            f" | {cell('; '.join(c.reasons)) if c.reasons else ''} |"
            for c in report.claims
        ]
        lines += _rows(body, rows, "claims")
    if report.protected:
        lines += ["", "### Protected files", ""]
        changed = ", ".join(f"`{cell(p, 120)}`" for p in report.protected[:rows])
        decides = "decides" if len(report.protected) == 1 else "decide"
        if report.approvers:
            who = ", ".join(f"@{a}" for a in report.approvers)
            lines.append(f"This pull request changes {changed}: approved by {who}.")
        else:
            lines.append(
                f"This pull request changes {changed}, which {decides} how every pull request is "
                "judged. The gates ran with the base branch's versions; the change needs an "
                "approving review from someone with write access before it can merge."
            )
    if report.waived:
        lines += ["", "### Waivers used", "", "| where | rule | reason |", "|---|---|---|"]
        body = [
            f"| `{cell(f.path, 120)}:{f.line}` | {f.gate}/{f.rule} | {cell(w.reason)} |"
            for f, w in report.waived
        ]
        lines += _rows(body, rows, "waivers")
    lines.append("")
    if report.chain_head:
        lines.append(
            f"Audit chain head: `{report.chain_head}` ({report.chain_entries} "
            f"entr{'y' if report.chain_entries == 1 else 'ies'}). "
            f"Check it from any clone: `convergio-gate verify --expect-head {report.chain_head}`"
        )
    footer = f"<sub>convergio-gate {__version__}"
    if report.run_url:
        footer += f" · [run]({report.run_url})"
    lines.append(footer + "</sub>")
    text = "\n".join(lines) + "\n"
    limit = MAX_COMMENT if marker else MAX_SUMMARY
    if len(text) > limit and rows > 5:
        return render(report, rows=max(5, rows // 2), marker=marker)
    return text[:limit]


def summary(report: CiReport) -> str:
    """The job summary: the comment without the marker, with every row that fits."""
    return render(report, rows=2000, marker=False)

"""Small renderings shared by the commands (tables, refusals, status words)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from convergio_gate.console import out

STATUS_STYLE = {
    "pending": "dim",
    "in_progress": "cyan",
    "submitted": "yellow",
    "done": "green",
    "blocked": "magenta",
    "failed": "red",
    "cancelled": "dim",
}


def status_word(status: str, forged: bool = False) -> str:
    if forged:
        return "[bold red]FORGED[/]"
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def table(*columns: str, title: str | None = None) -> Table:
    grid = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid


def refusal(subject: str, reasons: list[str], fixes: list[str]) -> None:
    console = out()
    console.print(f"[bold red]refused[/]  {escape(subject)}")
    for reason in reasons:
        console.print(f"  [red]x[/] {escape(reason)}")
    for fix in dict.fromkeys(fixes):
        console.print(f"    [dim]fix:[/] {escape(fix)}")


def short(digest: str, n: int = 12) -> str:
    return digest[:n]

"""A clean run's one line is written without rich, exactly as rich would write it, and
rich still writes whatever it would style or wrap."""

from __future__ import annotations

import io

import pytest

from convergio_gate import console, report
from convergio_gate.gates.engine import Outcome
from convergio_gate.gates.select import Selection

CASES = [
    {},
    {"COLUMNS": "200"},
    {"COLUMNS": "30"},  # too narrow: rich wraps it, so rich writes it
    {"FORCE_COLOR": "1"},  # styled: rich writes it
    {"FORCE_COLOR": ""},
    {"TTY_COMPATIBLE": "1"},
    {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
]


def clean_outcome() -> Outcome:
    outcome = Outcome(Selection("files", "3 files", []), ["secret"])
    outcome.scanned, outcome.cached, outcome.seconds = 3, 4, 0.25
    return outcome


def render(monkeypatch: pytest.MonkeyPatch, *, fast: bool, head: str | None) -> str:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)
    console.reset()
    if not fast:
        monkeypatch.setattr(console, "plain", lambda stream, text: False)
    report.print_text(clean_outcome(), head)
    monkeypatch.undo()
    console.reset()
    return buffer.getvalue()


@pytest.mark.parametrize("env", CASES)
@pytest.mark.parametrize("head", [None, "ab" * 32])
def test_the_fast_line_is_what_rich_writes(
    env: dict[str, str], head: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        fast = render(m, fast=True, head=head)
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        slow = render(m, fast=False, head=head)
    assert fast == slow
    assert fast.startswith(("clean", "\x1b["))


def test_plain_declines_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    assert console.plain(stream, "clean") is False and stream.getvalue() == ""
    assert console.plain(io.StringIO(), "clean\x1b[1m") is False

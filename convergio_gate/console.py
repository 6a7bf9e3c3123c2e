"""Where the tool writes: rich consoles for people, plain JSON for programs.

Colour follows rich's rules: on for a terminal, off when piped, off when ``NO_COLOR`` is
set, forced with ``FORCE_COLOR``. Importing rich costs a pre-commit hook a tenth of its
budget, so it is imported only when something needs it: a line that rich would write
as it is (no terminal to style for, short enough not to be wrapped) is written directly.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 160


def styled(stream: Any) -> bool:
    """Whether a rich console on ``stream`` would style what it writes (a terminal, or
    colour forced), by rich's own rules."""
    environ = os.environ
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible == "1":
        return True
    if compatible == "0":
        return False
    force = environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:
        return False


def plain(stream: Any, text: str) -> bool:
    """Write ``text`` and a newline to ``stream`` if a rich console would write exactly
    that (it would not style it for a terminal nor wrap it); say whether it did."""
    if styled(stream):
        return False
    environ = os.environ
    width = PIPE_WIDTH
    if "COLUMNS" in environ:
        columns = environ["COLUMNS"]
        if not columns.isdigit() or int(columns) <= 0:
            return False
        width = int(columns)
    if len(text) > width or not text.isascii() or not text.isprintable():
        return False
    stream.write(text + "\n")
    stream.flush()
    return True


def _console(stream: Any) -> Console:
    from rich.console import Console

    console = Console(file=stream, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped into a file or a CI log: no terminal to fit, so do not wrap at 80.
        console = Console(file=stream, highlight=False, width=PIPE_WIDTH)
    return console


@lru_cache(maxsize=1)
def out() -> Console:
    return _console(sys.stdout)


@lru_cache(maxsize=1)
def err() -> Console:
    return _console(sys.stderr)


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout between runs in one process)."""
    out.cache_clear()
    err.cache_clear()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def raw(text: str) -> None:
    """Write text through untouched (no markup, no wrapping): command output."""
    sys.stdout.write(text)
    sys.stdout.flush()

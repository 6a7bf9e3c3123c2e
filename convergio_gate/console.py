"""Where the tool writes: rich consoles for people, plain JSON for programs.

Colour follows rich's rules: on for a terminal, off when piped, off when ``NO_COLOR`` is
set, forced with ``FORCE_COLOR``.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import Any

from rich.console import Console

PIPE_WIDTH = 160


def _console(stream: Any) -> Console:
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

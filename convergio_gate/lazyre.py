"""Regular expressions compiled when first used rather than when their module loads.

A module that defines dozens of patterns at import costs every process that imports it
the compile (about a millisecond each), even a run that answers from its caches and
never matches anything. ``lazyre.compile`` returns an object that compiles on first
attribute access and then behaves as the compiled pattern.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast


class _Deferred:
    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazyre.compile({self._args[0]!r}, {self._args[1]})"


def compile(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, done on first use."""
    return cast("re.Pattern[AnyStr]", _Deferred(pattern, int(flags)))

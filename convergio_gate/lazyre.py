"""Regular expressions compiled when first used rather than when they are defined.

A module that defines dozens of patterns at import, or a gate that compiles every rule
it loads, costs each process the compile (about a millisecond a pattern) even when the
run answers from its caches or the rule's keywords occur nowhere in the files checked.
``lazyre.compile`` returns an object that compiles on first attribute access and then
behaves as the compiled pattern. ``error`` turns a pattern that does not compile into
the exception to raise then (for a rule: an error naming the rule file and key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, AnyStr, cast

#: What a compiled pattern offers, copied onto the stand-in once compiled so that later
#: uses cost a plain attribute lookup.
_SHARED = (
    "search",
    "match",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "scanner",
    "pattern",
    "flags",
    "groups",
    "groupindex",
)


class _Deferred:
    def __init__(
        self, pattern: str | bytes, flags: int, error: Callable[[re.error], Exception] | None
    ) -> None:
        self._args = (pattern, flags)
        self._error = error

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_compiled" in self.__dict__:
            raise AttributeError(name)
        try:
            compiled: re.Pattern[Any] = re.compile(cast(Any, self._args[0]), self._args[1])
        except re.error as exc:
            if self._error is None:
                raise
            raise self._error(exc) from None
        self.__dict__["_compiled"] = compiled
        for attribute in _SHARED:
            self.__dict__[attribute] = getattr(compiled, attribute)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazyre.compile({self._args[0]!r}, {self._args[1]})"


def compile(
    pattern: AnyStr,
    flags: int | re.RegexFlag = 0,
    *,
    error: Callable[[re.error], Exception] | None = None,
) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, done on first use."""
    return cast("re.Pattern[AnyStr]", _Deferred(pattern, int(flags), error))


def warm(objects: Iterable[Any]) -> int:
    """Compile those of ``objects`` that are patterns waiting for first use (a process
    that forks its runs compiles them once, before it forks); how many it compiled."""
    done = 0
    for obj in objects:
        if isinstance(obj, _Deferred) and "_compiled" not in obj.__dict__:
            obj.__getattr__("flags")
            done += 1
    return done

"""Declarative schemas for the YAML files the tool reads.

A schema is a tree of small ``Kind`` objects. ``Struct.convert`` walks a round-trip
document, converts it to plain Python values and raises ``InputError`` naming the file,
the line, the key path, what was expected and, for a misspelt key, the nearest valid one.
"""

from __future__ import annotations

import abc
import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convergio_gate.errors import InputError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ID_DOC = "an id: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64"


@dataclass(frozen=True)
class Loc:
    """Where a value sits: file label, 1-based line (when known) and key path."""

    label: str
    line: int | None
    key: str

    def at_key(self, container: Any, key: str) -> Loc:
        return Loc(self.label, _line_of(container, key, True) or self.line, _join(self.key, key))

    def at_item(self, container: Any, index: int) -> Loc:
        line = _line_of(container, index, False) or self.line
        return Loc(self.label, line, f"{self.key}[{index}]")

    def error(self, message: str, fix: str | None = None) -> InputError:
        return InputError(message, path=self.label, line=self.line, key=self.key or None, fix=fix)

    def wants(self, what: str, got: str | None = None, fix: str | None = None) -> InputError:
        """The error "expected ``what``, got ``got``", with how to fix it: ``fix``, or
        else to give ``what`` there."""
        message = f"expected {what}" if got is None else f"expected {what}, got {got}"
        place = f"set `{self.key}` to" if self.key else "make the whole file"
        return self.error(message, fix=fix or f"{place} {what}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _line_of(container: Any, key: object, is_key: bool) -> int | None:
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        pos = lc.key(key) if is_key else lc.item(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    if pos is None:
        return None
    return int(pos[0]) + 1


def root_loc(doc: Any, label: str) -> Loc:
    lc = getattr(doc, "lc", None)
    line = int(lc.line) + 1 if lc is not None and lc.line is not None else 1
    return Loc(label, line, "")


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return "a list"
    text = repr(value) if isinstance(value, str) else type(value).__name__
    if isinstance(value, (bool, int, float)) or value is None:
        text = (
            "null"
            if value is None
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
    return text if len(text) <= 60 else text[:57] + "..."


class Kind(abc.ABC):
    """A type of value. ``expected`` is how an error message describes it."""

    expected: str = "a value"

    @abc.abstractmethod
    def convert(self, value: Any, loc: Loc) -> Any:
        """Check ``value`` and return it as a plain Python value, or raise InputError."""

    def wrong(self, value: Any, loc: Loc) -> InputError:
        return loc.wants(self.expected, _show(value))


@dataclass(frozen=True)
class Str(Kind):
    pattern: re.Pattern[str] | None = None
    expected: str = "a string"
    max_len: int = 100_000
    allow_empty: bool = False

    def convert(self, value: Any, loc: Loc) -> str:
        if not isinstance(value, str):
            raise self.wrong(value, loc)
        text = str(value)
        if not text and not self.allow_empty:
            raise loc.wants(self.expected, "an empty string")
        if len(text) > self.max_len:
            raise loc.wants(f"{self.expected} of at most {self.max_len} characters")
        if self.pattern is not None and not self.pattern.match(text):
            raise self.wrong(value, loc)
        return text


@dataclass(frozen=True)
class Int(Kind):
    minimum: int | None = None
    maximum: int | None = None
    expected: str = "an integer"

    def convert(self, value: Any, loc: Loc) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong(value, loc)
        if self.minimum is not None and value < self.minimum:
            raise loc.wants(f"{self.expected} >= {self.minimum}", str(value))
        if self.maximum is not None and value > self.maximum:
            raise loc.wants(f"{self.expected} <= {self.maximum}", str(value))
        return int(value)


@dataclass(frozen=True)
class Number(Kind):
    minimum: float | None = None
    expected: str = "a number"

    def convert(self, value: Any, loc: Loc) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong(value, loc)
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise loc.wants(self.expected, str(value))
        if self.minimum is not None and number < self.minimum:
            raise loc.wants(f"{self.expected} >= {self.minimum}", str(value))
        return number


@dataclass(frozen=True)
class Bool(Kind):
    expected: str = "true or false"

    def convert(self, value: Any, loc: Loc) -> bool:
        if not isinstance(value, bool):
            raise self.wrong(value, loc)
        return bool(value)


@dataclass(frozen=True)
class Enum(Kind):
    choices: tuple[str, ...] = ()

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(self.choices)

    def convert(self, value: Any, loc: Loc) -> str:
        if isinstance(value, str) and value in self.choices:
            return str(value)
        near = difflib.get_close_matches(str(value), self.choices, n=1)
        fix = f"did you mean '{near[0]}'?" if near else None
        raise loc.wants(self.expected, _show(value), fix=fix)


@dataclass(frozen=True)
class Timestamp(Kind):
    expected: str = "an ISO 8601 UTC time such as '2026-11-21T12:00:00Z'"

    def convert(self, value: Any, loc: Loc) -> str:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            return str(value.astimezone(dt.timezone.utc).isoformat()).replace("+00:00", "Z")
        if not isinstance(value, str):
            raise self.wrong(value, loc)
        try:
            dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise self.wrong(value, loc) from None
        return str(value)


@dataclass(frozen=True)
class Json(Kind):
    """Any JSON-like value (strings, numbers, booleans, null, lists, mappings)."""

    expected: str = "a JSON-like value"

    def convert(self, value: Any, loc: Loc) -> Any:
        if value is None or isinstance(value, (str, bool, int, float)):
            return value if not isinstance(value, str) else str(value)
        if isinstance(value, Mapping):
            return {str(k): self.convert(v, loc.at_key(value, str(k))) for k, v in value.items()}
        if isinstance(value, Sequence):
            return [self.convert(v, loc.at_item(value, i)) for i, v in enumerate(value)]
        raise self.wrong(value, loc)


@dataclass(frozen=True)
class Opt(Kind):
    """``inner`` or null."""

    inner: Kind = field(default_factory=Json)

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.inner.expected} or null"

    def convert(self, value: Any, loc: Loc) -> Any:
        return None if value is None else self.inner.convert(value, loc)


@dataclass(frozen=True)
class ListOf(Kind):
    inner: Kind = field(default_factory=Json)
    unique: bool = False
    max_items: int = 10_000

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"a list of {self.inner.expected}"

    def convert(self, value: Any, loc: Loc) -> list[Any]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise self.wrong(value, loc)
        if len(value) > self.max_items:
            raise loc.wants(f"at most {self.max_items} items", str(len(value)))
        out: list[Any] = []
        seen: set[Any] = set()
        for index, item in enumerate(value):
            item_loc = loc.at_item(value, index)
            converted = self.inner.convert(item, item_loc)
            if self.unique:
                marker = repr(converted)
                if marker in seen:
                    raise item_loc.error(f"duplicate item {_show(converted)}", fix="remove it")
                seen.add(marker)
            out.append(converted)
        return out


@dataclass(frozen=True)
class MapOf(Kind):
    """A mapping with free-form string keys (matching ``key``) and ``inner`` values."""

    inner: Kind = field(default_factory=Json)
    key: Kind = field(default_factory=Str)
    max_items: int = 1_000

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"a mapping of {self.key.expected} to {self.inner.expected}"

    def convert(self, value: Any, loc: Loc) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.wrong(value, loc)
        if len(value) > self.max_items:
            raise loc.wants(f"at most {self.max_items} keys", str(len(value)))
        out: dict[str, Any] = {}
        for key, item in value.items():
            key_loc = loc.at_key(value, str(key))
            out[self.key.convert(key, key_loc)] = self.inner.convert(item, key_loc)
        return out


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = True
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Struct(Kind):
    """A mapping with a fixed set of keys."""

    fields: tuple[Field, ...] = ()
    expected: str = "a mapping"

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def convert(self, value: Any, loc: Loc) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.wrong(value, loc)
        names = self.names()
        for key in value:
            if not isinstance(key, str):
                raise loc.error(f"keys must be strings, got {_show(key)}")
            if key not in names:
                near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                hint = f"did you mean '{near[0]}'? " if near else ""
                raise loc.at_key(value, key).error(
                    "unknown key",
                    fix=f"{hint}valid keys here: {', '.join(names)}",
                )
        out: dict[str, Any] = {}
        for spec in self.fields:
            if spec.name not in value:
                if spec.required:
                    what = f" ({spec.doc})" if spec.doc else ""
                    raise loc.error(
                        f"missing required key '{spec.name}': expected {spec.kind.expected}{what}",
                        fix=f"add `{spec.name}:` to this mapping",
                    )
                out[spec.name] = spec.default() if callable(spec.default) else spec.default
                continue
            out[spec.name] = spec.kind.convert(value[spec.name], loc.at_key(value, spec.name))
        return out


@dataclass(frozen=True)
class Version(Kind):
    """The ``version`` key every persisted file carries."""

    current: int = 1
    what: str = "file"

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"the {self.what} format version, {self.current}"

    def convert(self, value: Any, loc: Loc) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise loc.error(
                f"expected {self.expected}, got {_show(value)}", fix="write `version: 1`"
            )
        if value > self.current:
            raise loc.error(
                f"version {value} is newer than this convergio-gate understands ({self.current})",
                fix="upgrade convergio-gate: pip install -U convergio-gate",
            )
        if value < 1:
            raise loc.error(f"expected {self.expected}, got {value}", fix="write `version: 1`")
        return int(value)


def validate_document(doc: Any, schema: Struct, label: str) -> dict[str, Any]:
    """Validate a whole parsed document against ``schema``."""
    loc = root_loc(doc, label)
    if doc is None:
        raise loc.error(f"the file is empty, expected {schema.expected}")
    return schema.convert(doc, loc)

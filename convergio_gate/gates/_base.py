"""What a gate is, what it sees and what it says.

A gate is a small object with an ``id`` and a ``check(files, ctx)`` that returns
findings. Gates see whole files (with their git blob ids, so results can be cached per
blob); the engine decides which findings count (added lines only for a diff), applies
waivers and the baseline, and computes each finding's fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from convergio_gate.errors import BusyError

SEVERITIES = ("error", "warning", "note")
GATE_ID = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
RULE_ID = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class Finding:
    """One thing a gate refuses.

    ``key`` is the normalised content the finding is about (for a secret: the sha256 of
    the secret, never the secret); the engine turns gate, rule, path and key into the
    ``fingerprint``, which does not change when the finding moves to another line.
    ``preview`` is what may be shown of the matched text (for a secret: redacted).
    """

    gate: str
    rule: str
    path: str
    line: int
    column: int
    message: str
    fix: str
    key: str
    severity: str = "error"
    preview: str = ""
    secret_sha256: str | None = None
    end_line: int | None = None
    fingerprint: str = ""
    commit: str | None = None  # for `check --history`: the commit that added it
    #: Where the gate found it, as the gate names it, for its ``refine`` (the stub gate:
    #: a method's class and name); kept in the cache, not shown.
    scope: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "gate": self.gate,
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "preview": self.preview,
            "fingerprint": self.fingerprint,
        }
        if self.secret_sha256 is not None:
            data["secret_sha256"] = self.secret_sha256
        if self.commit is not None:
            data["commit"] = self.commit
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            gate=data["gate"],
            rule=data["rule"],
            path=data["path"],
            line=data["line"],
            column=data["column"],
            message=data["message"],
            fix=data["fix"],
            key=data.get("key", ""),
            severity=data.get("severity", "error"),
            preview=data.get("preview", ""),
            secret_sha256=data.get("secret_sha256"),
            end_line=data.get("end_line"),
            fingerprint=data.get("fingerprint", ""),
            scope=tuple(data.get("scope", ())),
        )

    def cache_json(self) -> dict[str, Any]:
        """What the cache stores: everything but the fingerprint (computed per run)."""
        data = self.to_json()
        data.pop("fingerprint")
        data["key"] = self.key
        if self.end_line is not None:
            data["end_line"] = self.end_line
        if self.scope:
            data["scope"] = list(self.scope)
        return data


def normalise(text: str) -> str:
    """Content as a fingerprint sees it: whitespace runs collapsed, ends stripped."""
    return " ".join(text.split())


def fingerprint(gate: str, rule: str, path: str, key: str, ordinal: int) -> str:
    raw = f"{gate}\0{rule}\0{path}\0{key}\0{ordinal}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def blob_oid(data: bytes) -> str:
    """The id git gives these bytes as a blob (``git hash-object``), without git."""
    header = f"blob {len(data)}\0".encode()
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """One file as a gate sees it."""

    path: str  # relative to the repository root, with forward slashes
    data: bytes
    oid: str  # git blob id of ``data``
    language: str | None = None

    @cached_property
    def is_binary(self) -> bool:
        return b"\0" in self.data[:8192]

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def size(self) -> int:
        return len(self.data)


class ChangedWhileChecked(BusyError):
    """A file's bytes are not the ones its blob id was taken from: it was written to
    while being checked."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix or "run the check again once nothing is writing to it")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


class LazyFile(SourceFile):
    """A :class:`SourceFile` whose blob id is already known (a stat cache vouches for
    the file at ``full``): its bytes are read only when a gate asks for them, which a
    re-run whose findings are all cached never does. What is read must hash to ``oid``,
    else :class:`ChangedWhileChecked` (findings would be cached under the wrong id).
    """

    def __init__(self, path: str, oid: str, language: str | None, full: str, size: int) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "full", full)
        object.__setattr__(self, "known_size", size)

    def __getattr__(self, name: str) -> Any:
        if name != "data":
            raise AttributeError(name)
        full = self.__dict__["full"]
        try:
            with open(full, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ChangedWhileChecked(f"{self.path}: {exc.strerror or exc}") from None
        if blob_oid(data) != self.oid:
            raise ChangedWhileChecked(f"{self.path} changed while it was being checked")
        object.__setattr__(self, "data", data)
        return data

    @property
    def size(self) -> int:
        return int(self.__dict__["known_size"])


def _no_files() -> Sequence[str]:
    return ()


def _no_read(path: str) -> bytes | None:
    return None


def _no_oids(paths: Sequence[str]) -> Mapping[str, str]:
    return {}


@dataclass
class Context:
    """What a gate may know about the repository beyond the files it is given."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)  # this gate's config section
    list_files: Callable[[], Sequence[str]] = field(default=_no_files)
    read_file: Callable[[str], bytes | None] = field(default=_no_read)
    mode: Literal["files", "staged", "all", "diff", "history"] = "files"
    extra: dict[str, Any] = field(default_factory=dict)
    #: paths -> {path: git blob id of what ``read_file`` returns for it}, for those of
    #: ``paths`` the selection knows without reading them (a stat cache, a tree): a
    #: repository-wide gate can then tell what changed since its last run cheaply.
    list_oids: Callable[[Sequence[str]], Mapping[str, str]] = field(default=_no_oids)

    def repo_files(self) -> Sequence[str]:
        """Every tracked file of the repository (as of the code being checked)."""
        return self.list_files()

    def read(self, path: str) -> bytes | None:
        return self.read_file(path)

    def known_oids(self, paths: Sequence[str]) -> Mapping[str, str]:
        return self.list_oids(paths)


@runtime_checkable
class Gate(Protocol):
    """The protocol every gate implements, built-in or third-party.

    ``scope`` is ``"file"`` when each file's findings depend only on that file (the
    engine then caches them by blob id), ``"repo"`` when they depend on the rest of the
    repository (never cached; runs serially). ``version`` changes whenever the gate's
    logic changes, so cached results of an older version are not reused. A file gate
    may also have ``refine(findings, files, ctx) -> findings``: called on every run with
    its findings, cached ones included, it may drop those that the rest of the
    repository explains (not cached, so keep it to the few findings that need it).
    """

    id: str
    description: str
    scope: Literal["file", "repo"]
    version: str

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]: ...

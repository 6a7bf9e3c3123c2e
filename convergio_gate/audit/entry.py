"""One audit entry: its fields, its canonical bytes and its hash.

The hash is sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of every
field: ``version, seq, prev, time, actor, kind, subject, decision, reasons, data``.
Nothing about an entry can change without changing its hash, and each entry names the
hash of the one before it (``prev``; 64 zeros for the first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

ENTRY_VERSION = 1
GENESIS = "0" * 64
HASH_RE = re.compile(r"^[0-9a-f]{64}$")

#: What an entry can record. Order matters only for documentation.
KINDS = (
    "accept",  # the gate accepted a task: it is done
    "refuse",  # the gate refused a claim or a change, with reasons
    "transition",  # a lifecycle transition the tool performed
    "waiver",  # a waiver let a finding through
    "check",  # a gate run over files, a diff or a commit
    "dispatch",  # one dispatch round of an agent on a task
    "approval",  # a person approved something the gate cannot decide alone
)

BODY_FIELDS = (
    "version",
    "seq",
    "prev",
    "time",
    "actor",
    "kind",
    "subject",
    "decision",
    "reasons",
    "data",
)


class CorruptEntry(ValueError):
    """Stored bytes that are not an entry at all."""


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def utc_now() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}Z"


@dataclass(frozen=True)
class Draft:
    """What a caller wants recorded; the chain adds seq, prev, time and hash."""

    kind: str
    subject: str
    decision: str
    actor: str
    reasons: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown audit entry kind {self.kind!r}")


@dataclass(frozen=True)
class Entry:
    version: int
    seq: int
    prev: str
    time: str
    actor: str
    kind: str
    subject: str
    decision: str
    reasons: tuple[str, ...]
    data: dict[str, Any]
    hash: str
    extra: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def body(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seq": self.seq,
            "prev": self.prev,
            "time": self.time,
            "actor": self.actor,
            "kind": self.kind,
            "subject": self.subject,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "data": self.data,
        }

    @cached_property
    def computed_hash(self) -> str:
        """sha256 of the canonical body.

        For stored bytes that are the canonical entry (as the tool writes them), the
        canonical body is those bytes without their ``"hash"`` member, so hashing them
        needs no re-serialisation: when that digest matches, the hash commits to exactly
        the bytes that were parsed. Otherwise the body is serialised canonically.
        """
        if self.raw is not None and not self.extra:
            member = b',"hash":"' + self.hash.encode("ascii", "replace") + b'"'
            if self.raw.count(member) == 1:
                stripped = self.raw.rstrip(b"\n").replace(member, b"", 1)
                digest = hashlib.sha256(stripped).hexdigest()
                if digest == self.hash:
                    return digest
        return hash_body(self.body())

    @property
    def intact(self) -> bool:
        return self.computed_hash == self.hash

    def to_bytes(self) -> bytes:
        stored = {**self.body(), "hash": self.hash, **self.extra}
        return canonical(stored) + b"\n"

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash, **self.extra}

    @classmethod
    def seal(cls, draft: Draft, *, seq: int, prev: str, time: str | None = None) -> Entry:
        body = {
            "version": ENTRY_VERSION,
            "seq": seq,
            "prev": prev,
            "time": time or utc_now(),
            "actor": draft.actor,
            "kind": draft.kind,
            "subject": draft.subject,
            "decision": draft.decision,
            "reasons": list(draft.reasons),
            "data": _plain(draft.data),
        }
        return cls.from_body(body, hash_body(body))

    @classmethod
    def from_body(
        cls,
        body: dict[str, Any],
        digest: str,
        extra: dict[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> Entry:
        return cls(
            version=body["version"],
            seq=body["seq"],
            prev=body["prev"],
            time=body["time"],
            actor=body["actor"],
            kind=body["kind"],
            subject=body["subject"],
            decision=body["decision"],
            reasons=tuple(body["reasons"]),
            data=body["data"],
            hash=digest,
            extra=dict(extra or {}),
            raw=raw,
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        """Parse stored bytes. Raises CorruptEntry when they are not an entry."""
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CorruptEntry(f"not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise CorruptEntry("not a JSON object")
        for key, typ in _TYPES:
            value = obj.get(key, _MISSING)
            if value is _MISSING:
                raise CorruptEntry(f"missing {key}")
            if type(value) is not typ:
                raise CorruptEntry(f"{key} is not a {typ.__name__}")
        extra = {k: v for k, v in obj.items() if k not in _STORED} if len(obj) > 11 else None
        return cls.from_body(obj, obj["hash"], extra, raw)


_TYPES = (
    ("version", int),
    ("seq", int),
    ("prev", str),
    ("time", str),
    ("actor", str),
    ("kind", str),
    ("subject", str),
    ("decision", str),
    ("reasons", list),
    ("data", dict),
    ("hash", str),
)
_STORED = frozenset(k for k, _ in _TYPES)
_MISSING = object()


def hash_body(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def _plain(value: Any) -> Any:
    """Deep-copy ``value`` into plain JSON types (tuples become lists)."""
    return json.loads(canonical(value))

"""Findings cached by what they depend on, so an unchanged file is never scanned twice.

The key is the gate and its version, the digest of every rule file, the digest of the
gate's settings, the file's language, its path (exemptions depend on it) and its git
blob id. Values are the findings as ``Finding.cache_json`` makes them: a secret is stored
only as its hash and a redacted preview. The cache lives in the repository's git dir
(``.git/convergio/cache.sqlite3``), shared by worktrees and never committed. It is a
cache: when it cannot be opened or written, the check runs without it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from convergio_gate.gates._base import Finding

SCHEMA = 1


class Cache:
    def __init__(self, path: Path | None) -> None:
        self.db: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=5, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS findings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        except sqlite3.Error:
            self.db = None

    @staticmethod
    def key(prefix: str, path: str, oid: str) -> str:
        return f"{SCHEMA}:{prefix}:{path}:{oid}"

    def get_many(self, keys: Sequence[str]) -> dict[str, list[Finding]]:
        try:
            return {
                key: [Finding.from_json(d) for d in value] if value else []
                for key, value in self.get_values(keys).items()
            }
        except (KeyError, TypeError):
            return {}

    def put_many(self, items: Iterable[tuple[str, list[Finding]]]) -> None:
        self.put_values((k, [f.cache_json() for f in v]) for k, v in items)

    def get_values(self, keys: Sequence[str]) -> dict[str, Any]:
        """What :meth:`put_values` stored under ``keys`` (JSON values), for those it has."""
        if self.db is None or not keys:
            return {}
        found: dict[str, Any] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"SELECT key, value FROM findings WHERE key IN ({marks})", chunk
                )
                for key, value in rows:
                    found[key] = [] if value == "[]" else json.loads(value)
        except (sqlite3.Error, ValueError):
            return {}
        return found

    def put_values(self, items: Iterable[tuple[str, Any]]) -> None:
        if self.db is None:
            return
        rows = [(k, json.dumps(v)) for k, v in items]
        if not rows:
            return
        # One transaction for all of them: in autocommit mode each row would be its own
        # (a tenth of a second per thousand rows), and a crash could keep some rows.
        try:
            self.db.execute("BEGIN")
            try:
                self.db.executemany(
                    "INSERT OR REPLACE INTO findings (key, value) VALUES (?, ?)", rows
                )
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

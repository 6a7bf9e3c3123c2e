"""The gate protocol and the objects gates work with (for built-in and plugin gates)."""

from __future__ import annotations

from convergio_gate.gates._base import (
    Context,
    Finding,
    Gate,
    SourceFile,
    blob_oid,
    fingerprint,
    normalise,
)

__all__ = [
    "Context",
    "Finding",
    "Gate",
    "SourceFile",
    "blob_oid",
    "fingerprint",
    "normalise",
]

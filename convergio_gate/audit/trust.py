"""Which acceptances count.

An acceptance entry makes its task done. Where the configuration requires signed
acceptances (``audit.require_signed_acceptance``), only those that carry a valid
signature by a key in ``audit.trusted_signers`` count: anyone who can push can append an
entry and re-hash a chain, but only the holder of a trusted key (CI) can sign one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from convergio_gate.audit.entry import Entry

if TYPE_CHECKING:
    from convergio_gate.model.config import Config


def acceptances(entries: Iterable[Entry], config: Config) -> dict[str, Entry]:
    """Task ref -> the first acceptance of it that counts under ``config``."""
    candidates = [e for e in entries if e.kind == "accept" and e.decision == "accepted"]
    if config.require_signed_acceptance:
        from convergio_gate.audit import signing

        if not config.trusted_signers.strip():
            return {}
        checks = signing.check_entries(candidates, config.trusted_signers)
        candidates = [e for e in candidates if e.hash in checks and checks[e.hash].ok]
    found: dict[str, Entry] = {}
    for entry in candidates:
        found.setdefault(entry.subject, entry)
    return found

"""Which gates exist: the built-in ones, and third-party ones from entry points.

Built-in gates are registered exactly as third-party ones are: by a ``module:Class``
reference, loaded only when the gate runs. Third-party packages add gates through the
``convergio_gate.gates`` entry-point group; a gate that fails to load is named, with the
reason, and the check stops (exit 2) rather than silently skipping it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from convergio_gate.errors import FatalError
from convergio_gate.gates._base import GATE_ID, Gate

ENTRY_POINT_GROUP = "convergio_gate.gates"

BUILTIN: dict[str, str] = {
    "debt": "convergio_gate.gates.debt:DebtGate",
    "stub": "convergio_gate.gates.stub:StubGate",
    "secret": "convergio_gate.gates.secret:SecretGate",
    "wire": "convergio_gate.gates.wire:WireGate",
    "evidence": "convergio_gate.gates.evidence:EvidenceGate",
}

#: The order gates run and report in.
DEFAULT_ORDER = ("secret", "debt", "stub", "wire", "evidence")


class GateLoadError(FatalError):
    """A gate could not be loaded."""


def available() -> dict[str, str]:
    """Gate id -> ``module:Class`` for every gate, built-in first."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            if found[ep.name] != ep.value:
                raise GateLoadError(
                    f"gate '{ep.name}' from {ep.value} clashes with {found[ep.name]}",
                    fix="uninstall one of the two packages, or rename the plugin's gate",
                )
            continue
        if not GATE_ID.match(ep.name):
            raise GateLoadError(
                f"plugin gate id '{ep.name}' ({ep.value}) is not valid: expected lower-case "
                "letters, digits and '-', 2 to 32 characters",
                fix="ask the plugin's authors to rename it",
            )
        found[ep.name] = ep.value
    return found


def load(gate_id: str) -> Gate:
    known = available()
    if gate_id not in known:
        raise GateLoadError(
            f"unknown gate '{gate_id}'",
            fix="use one of: " + ", ".join(sorted(known)),
        )
    ref = known[gate_id]
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
        gate = factory()
    except Exception as exc:
        raise GateLoadError(
            f"gate '{gate_id}' ({ref}) failed to load: {type(exc).__name__}: {exc}",
            fix="check that its package is installed and up to date (pip install -U ...)",
        ) from None
    if not isinstance(gate, Gate) or gate.id != gate_id:
        raise GateLoadError(
            f"gate '{gate_id}' ({ref}) does not implement the gate protocol "
            "(id, description, scope, version, check)",
            fix="ask the plugin's authors to implement convergio_gate.gates.Gate",
        )
    return gate

"""Which gates exist: the built-in ones, and third-party ones from entry points.

Built-in gates are registered exactly as third-party ones are: by a ``module:Class``
reference, loaded only when the gate runs. Third-party packages add gates through the
``convergio_gate.gates`` entry-point group; a gate that fails to load is named, with the
reason, and the check stops (exit 2) rather than silently skipping it.

Finding the plugins means reading every installed distribution's metadata
(``importlib.metadata``), which costs a pre-commit hook more than its gates do. So the
list is scanned once per process and kept on disk (``plugins.json`` in the repository's
cache directory), keyed by what an install or uninstall changes: every ``sys.path``
directory's mtime and, for each distribution in it, the mtime and size of its
``entry_points.txt``. A directory changed in the last two seconds is not trusted (an
install within one timestamp tick of the scan could go unseen), so nothing is kept then.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convergio_gate.errors import FatalError
from convergio_gate.gates._base import GATE_ID, Context, Finding, Gate, SourceFile

ENTRY_POINT_GROUP = "convergio_gate.gates"
PLUGIN_CACHE_FORMAT = 1
KEPT_KEYS = 8
RACY_NS = 2_000_000_000

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


def available(cache_dir: Path | None = None) -> dict[str, str]:
    """Gate id -> ``module:Class`` for every gate, built-in first.

    ``cache_dir``: where the list of plugins may be kept between runs (see above).
    """
    found = dict(BUILTIN)
    for name, value in plugins(cache_dir):
        if name in found:
            if found[name] != value:
                raise GateLoadError(
                    f"gate '{name}' from {value} clashes with {found[name]}",
                    fix="uninstall one of the two packages, or rename the plugin's gate",
                )
            continue
        if not GATE_ID.match(name):
            raise GateLoadError(
                f"plugin gate id '{name}' ({value}) is not valid: expected lower-case "
                "letters, digits and '-', 2 to 32 characters",
                fix="ask the plugin's authors to rename it",
            )
        found[name] = value
    return found


#: This process's scans, by site key.
_SCANNED: dict[str, list[tuple[str, str]]] = {}


def plugins(cache_dir: Path | None = None) -> list[tuple[str, str]]:
    """(name, ``module:Class``) of every entry point in our group, in the order
    ``importlib.metadata`` gives them."""
    key, trusted = site_key()
    if key in _SCANNED:
        return _SCANNED[key]
    path = None if cache_dir is None else cache_dir / "plugins.json"
    found = _read_cache(path, key)
    if found is None:
        from importlib.metadata import entry_points

        found = [(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
        if trusted:
            _write_cache(path, key, found)
    if trusted:
        _SCANNED[key] = found
    return found


def site_key() -> tuple[str, bool]:
    """What an install changes, as a digest; and whether it is old enough to trust."""
    h = hashlib.sha256(f"{sys.version}\0{sys.executable}".encode())
    newest = 0
    for entry in sys.path:
        where = entry or "."
        try:
            st = os.stat(where)
        except OSError:
            h.update(f"\0{entry}\0-".encode())
            continue
        newest = max(newest, st.st_mtime_ns)
        h.update(f"\0{entry}\0{st.st_mtime_ns}:{st.st_size}".encode())
        if not os.path.isdir(where):
            continue
        try:
            names = sorted(os.listdir(where))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                ep = os.stat(os.path.join(where, name, "entry_points.txt"))
            except OSError:
                continue
            newest = max(newest, ep.st_mtime_ns)
            h.update(f"\0{name}\0{ep.st_mtime_ns}:{ep.st_size}".encode())
    return h.hexdigest(), newest < time.time_ns() - RACY_NS


def _read_entries(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != PLUGIN_CACHE_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _read_cache(path: Path | None, key: str) -> list[tuple[str, str]] | None:
    found = _read_entries(path).get(key)
    if not isinstance(found, list):
        return None
    out = []
    for item in found:
        if not isinstance(item, list) or len(item) != 2:
            return None
        if not all(isinstance(v, str) for v in item):
            return None
        out.append((item[0], item[1]))
    return out


def _write_cache(path: Path | None, key: str, found: list[tuple[str, str]]) -> None:
    """Keep ``found`` under ``key``, beside the last few keys (one per interpreter or
    ``sys.path`` the tool runs with: a console script and ``python -m`` differ)."""
    if path is None:
        return
    entries = {k: v for k, v in _read_entries(path).items() if k != key}
    kept = dict(list(entries.items())[-(KEPT_KEYS - 1) :])
    kept[key] = [list(p) for p in found]
    payload = {"version": PLUGIN_CACHE_FORMAT, "entries": kept}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return


def load(gate_id: str, cache_dir: Path | None = None, known: dict[str, str] | None = None) -> Gate:
    """The gate ``gate_id``; ``known``: what :func:`available` said, when the caller has
    it already (it looks at every installed package's metadata)."""
    known = available(cache_dir) if known is None else known
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
        if ref == BUILTIN.get(gate_id) and isinstance(factory, type):
            gate: Any = deferred(factory, ref)()
        else:
            gate = factory()
    except Exception as exc:
        raise _failed(gate_id, ref, exc) from None
    if not isinstance(gate, Gate) or gate.id != gate_id:
        raise GateLoadError(
            f"gate '{gate_id}' ({ref}) does not implement the gate protocol "
            "(id, description, scope, version, check)",
            fix="ask the plugin's authors to implement convergio_gate.gates.Gate",
        )
    return gate


def _failed(gate_id: str, ref: str, exc: Exception) -> GateLoadError:
    return GateLoadError(
        f"gate '{gate_id}' ({ref}) failed to load: {type(exc).__name__}: {exc}",
        fix="check that its package is installed and up to date (pip install -U ...)",
    )


@functools.cache
def deferred(factory: Any, ref: str) -> type:
    """A subclass of the built-in gate ``factory`` whose instances are built (their
    ``__init__`` run) when first asked to check, or for an attribute ``__init__`` sets.

    A gate's id, scope and version are class attributes, so the engine can plan a run
    with them; building the gate compiles its rules, which a run whose files are all in
    the cache never needs, and which a run that hands the gate to a forked worker then
    does there, beside the other gates, rather than here before them all. An instance is
    still an instance of ``factory``.
    """

    def __init__(self: Any) -> None:
        self.__dict__["_built"] = False

    def build(self: Any) -> None:
        if not self.__dict__.get("_built"):
            try:
                factory.__init__(self)
            except Exception as exc:
                raise _failed(str(factory.id), ref, exc) from None
            self.__dict__["_built"] = True

    def check(self: Any, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        build(self)
        found: list[Finding] = factory.check(self, files, ctx)
        return found

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_built", True):
            raise AttributeError(name)
        build(self)
        return getattr(self, name)

    namespace = {
        "__init__": __init__,
        "check": check,
        "__getattr__": __getattr__,
        "__module__": factory.__module__,
        "__qualname__": factory.__qualname__,
        "__doc__": factory.__doc__,
    }
    return type(factory.__name__, (factory,), namespace)

"""``.convergio/config.yaml``: how the tool behaves in this repository.

Every command reads it, the pre-commit hook included, and parsing YAML and checking it
against the schema needs ruamel.yaml and the schema module: more than a tenth of a
pre-commit run's budget just to import. So the checked result is kept as JSON in the
repository's cache directory, under the sha256 of the file's bytes and of the code that
checks it; a file that changed, or a tool that changed, is parsed and checked again. The
schema is built on first use only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CONFIG_PATH = ".convergio/config.yaml"
GATE_ID = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
CACHE_FORMAT = b"config-json-1"
#: The schema's parts, built by :func:`schema` (kept importable by name).
SCHEMA_NAMES = ("EVIDENCE", "AUDIT", "CI", "PATHS", "CONFIG", "AllowedSigners", "GateSettings")


@cache
def schema() -> dict[str, Any]:
    """The config's schema: its parts by name (``CONFIG`` is the whole document)."""
    from convergio_gate.model.schema import (
        Bool,
        Enum,
        Field,
        Int,
        Json,
        Kind,
        ListOf,
        Loc,
        MapOf,
        Opt,
        Str,
        Struct,
        Version,
    )

    EVIDENCE = Struct(
        fields=(
            Field(
                "timeout_s",
                Int(1, 86_400),
                required=False,
                default=1800,
                doc="seconds before an evidence command is killed",
            ),
            Field(
                "tail_lines",
                Int(0, 500),
                required=False,
                default=40,
                doc="lines of output kept in each evidence record",
            ),
            Field(
                "accept_manual",
                Bool(),
                required=False,
                default=False,
                doc="whether `evidence add` records count towards `requires`",
            ),
        ),
        expected="the evidence policy (timeout_s, tail_lines, accept_manual)",
    )

    class AllowedSigners(Str):
        """OpenSSH allowed-signers lines, checked line by line when the config loads."""

        def convert(self, value: Any, loc: Loc) -> str:
            text = super().convert(value, loc)
            if not text.strip():
                return text
            from convergio_gate.audit.signing import parse_allowed_signers

            try:
                parse_allowed_signers(text)
            except ValueError as exc:
                raise loc.error(
                    f"not a valid allowed-signers list: {exc}",
                    fix="one key per line: `principal keytype base64-key` (see docs/signing.md)",
                ) from None
            return text

    AUDIT = Struct(
        fields=(
            Field(
                "actor",
                Opt(Str()),
                required=False,
                default=None,
                doc="who the entries name as actor; default: the git identity",
            ),
            Field(
                "trusted_signers",
                AllowedSigners(allow_empty=True),
                required=False,
                default="",
                doc="OpenSSH allowed-signers lines: the keys whose signatures CI entries carry",
            ),
            Field(
                "require_signed_acceptance",
                Bool(),
                required=False,
                default=False,
                doc="count a task done only through an acceptance signed by a trusted signer",
            ),
        ),
        expected="the audit settings (actor, trusted_signers, require_signed_acceptance)",
    )

    CI = Struct(
        fields=(
            Field(
                "protected_paths",
                ListOf(Str()),
                required=False,
                default=list,
                doc="more globs whose change in a pull request needs a maintainer's approval",
            ),
        ),
        expected="the CI settings (protected_paths)",
    )

    class GateSettings(Kind):
        """One gate's section: ``enabled``, ``severity``, ``exclude`` are checked; the rest is
        the gate's own (plugins define their settings)."""

        expected = "a gate's settings (enabled, severity, exclude, and the gate's own keys)"

        def convert(self, value: Any, loc: Loc) -> dict[str, Any]:
            data: dict[str, Any] = Json().convert(value, loc)
            if not isinstance(data, dict):
                raise loc.wants(self.expected)
            known = {
                "enabled": Bool(),
                "severity": Enum(("error", "warning", "note")),
                "exclude": ListOf(Str()),
            }
            for key, kind in known.items():
                if key in value:
                    data[key] = kind.convert(value[key], loc.at_key(value, key))
            return data

    PATHS = Struct(
        fields=(
            Field(
                "exclude",
                ListOf(Str()),
                required=False,
                default=list,
                doc="globs of files no gate looks at",
            ),
        ),
        expected="path settings (exclude)",
    )

    CONFIG = Struct(
        fields=(
            Field("version", Version(1, "config"), doc="the config format version"),
            Field("evidence", EVIDENCE, required=False, default=dict),
            Field("audit", AUDIT, required=False, default=dict),
            Field(
                "gates",
                MapOf(GateSettings(), key=Str(GATE_ID, expected="a gate id")),
                required=False,
                default=dict,
            ),
            Field("paths", PATHS, required=False, default=dict),
            Field("ci", CI, required=False, default=dict),
        ),
        expected="the convergio-gate config",
    )

    return {
        "EVIDENCE": EVIDENCE,
        "AUDIT": AUDIT,
        "CI": CI,
        "PATHS": PATHS,
        "CONFIG": CONFIG,
        "AllowedSigners": AllowedSigners,
        "GateSettings": GateSettings,
    }


def __getattr__(name: str) -> Any:
    if name in SCHEMA_NAMES:
        return schema()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Config:
    timeout_s: int = 1800
    tail_lines: int = 40
    accept_manual: bool = False
    actor: str | None = None
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    trusted_signers: str = ""
    require_signed_acceptance: bool = False
    protected_paths: tuple[str, ...] = ()

    def gate(self, gate_id: str) -> dict[str, Any]:
        return dict(self.gates.get(gate_id, {}))

    def gate_enabled(self, gate_id: str) -> bool:
        return bool(self.gates.get(gate_id, {}).get("enabled", True))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Config:
        evidence = data.get("evidence") or {}
        audit = data.get("audit") or {}
        return cls(
            timeout_s=evidence.get("timeout_s", 1800),
            tail_lines=evidence.get("tail_lines", 40),
            accept_manual=evidence.get("accept_manual", False),
            actor=audit.get("actor"),
            gates=dict(data.get("gates") or {}),
            exclude=tuple((data.get("paths") or {}).get("exclude", ())),
            trusted_signers=audit.get("trusted_signers", ""),
            require_signed_acceptance=audit.get("require_signed_acceptance", False),
            protected_paths=tuple((data.get("ci") or {}).get("protected_paths", ())),
        )


def load_config(root: Path, cache_dir: Path | None = None) -> Config:
    """Read the config under ``root`` (the working tree); defaults when there is none.

    ``cache_dir``: where the checked result may be kept (see the module docstring).
    """
    path = root / CONFIG_PATH
    if not path.exists():
        return Config()
    cached = _cached_path(path, cache_dir)
    if cached is not None:
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return Config.from_data(data)
        except (OSError, ValueError):
            pass
    from convergio_gate.model import yamlio
    from convergio_gate.model.schema import validate_document

    doc = yamlio.load(path, CONFIG_PATH)
    data = validate_document(doc, schema()["CONFIG"], CONFIG_PATH)
    if cached is not None:
        _store(cached, data)
    return Config.from_data(data)


def _cached_path(path: Path, cache_dir: Path | None) -> Path | None:
    """Where the checked config of these bytes is kept, or None (no cache, unreadable)."""
    if cache_dir is None:
        return None
    from convergio_gate import __version__

    h = hashlib.sha256(CACHE_FORMAT + __version__.encode())
    try:
        h.update(path.read_bytes())
        here = Path(__file__).parent
        for module in ("config.py", "schema.py", "yamlio.py", "../audit/signing.py"):
            h.update(b"\0" + (here / module).read_bytes())
    except OSError:
        return None
    return cache_dir / f"config-{h.hexdigest()[:32]}.json"


def _store(cached: Path, data: dict[str, Any]) -> None:
    """Keep ``data`` if JSON holds it exactly (a YAML-only value is parsed every time)."""
    try:
        text = json.dumps(data, sort_keys=True)
        if json.loads(text) != data:
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cached)
        for stale in cached.parent.glob("config-*.json"):
            if stale != cached:
                stale.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):
        return


def config_from_bytes(data: bytes | None, label: str = CONFIG_PATH) -> Config:
    """A config read from elsewhere (a commit, in CI); defaults for None."""
    if data is None:
        return Config()
    from convergio_gate.model import yamlio
    from convergio_gate.model.schema import validate_document

    if len(data) > yamlio.MAX_BYTES:
        from convergio_gate.errors import InputError

        raise InputError(f"file is over {yamlio.MAX_BYTES} bytes", path=label)
    doc = yamlio.parse(yamlio.decode(data, label), label)
    return Config.from_data(validate_document(doc, schema()["CONFIG"], label))


DEFAULT_CONFIG = """\
# convergio-gate configuration. Everything here is optional; the values shown are the
# defaults. Every key is described in docs/config.md of convergio-gate.
version: 1

evidence:
  # Seconds before `convergio-gate evidence run` kills the command (and its children).
  timeout_s: 1800
  # Lines of command output kept in each evidence record (the full output is hashed).
  tail_lines: 40
  # Whether evidence typed in with `evidence add` (not measured by running a command)
  # may satisfy a task's `requires`. Measured evidence is the point; keep this false.
  accept_manual: false

audit:
  # Who the audit entries name as actor. Default (null): your git identity.
  actor: null
  # The keys CI signs its entries with, as OpenSSH allowed-signers lines
  # (see docs/signing.md), and whether only a signed acceptance makes a task done.
  trusted_signers: ""
  require_signed_acceptance: false

# The gates `convergio-gate check` runs (pre-commit, CI). Each may be switched off or
# made a warning (reported, not refused), and given files to skip.
gates:
  debt: {enabled: true, severity: error}
  stub: {enabled: true, severity: error}
  secret: {enabled: true, severity: error}
  wire: {enabled: true, severity: error}
  evidence: {enabled: true, severity: error}

paths:
  # Globs of files no gate looks at (generated code, vendored code, fixtures).
  exclude: []

ci:
  # A pull request that changes .convergio/config.yaml or .convergio/baseline.yaml (or a
  # path listed here) is refused until a maintainer approves it in a review.
  protected_paths: []
"""

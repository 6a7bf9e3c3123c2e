"""Rules as data: ``rules/<name>.yaml`` files shipped inside the package.

Every rule file has ``version: 1`` and ``rules:``, a list of mappings with at least
``id``, ``description`` (what it does), ``why`` (why it is bad), ``fix`` (what to write
instead), and ``refuse:`` / ``allow:`` samples that the tests judge. A sample is
``{path: FILE, code: TEXT}`` or, for gates that need several files,
``{files: {PATH: TEXT, ...}, check: [PATH, ...]}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from convergio_gate.errors import InputError


def _root() -> Any:  # importlib.resources.abc.Traversable (3.11+)
    return resources.files("convergio_gate.rules")


_CACHE_FORMAT = b"rules-json-1"


@cache
def load(name: str) -> dict[str, Any]:
    """``rules/<name>.yaml`` as plain data; InputError names the rule when one is wrong.

    Parsing YAML in pure Python costs 0.2 s a file, most of a pre-commit run's budget, so
    a JSON copy is kept in the user's cache directory (:func:`_cache_dir`), keyed by the
    sha256 of the YAML; it loads in milliseconds. Never inside the installed package: pip
    does not know the file, so uninstalling would leave the package's directory behind,
    where it shadows a later editable install. Without a writable cache directory the
    YAML is parsed every time.
    """
    label = f"rules/{name}.yaml"
    source = _root() / f"{name}.yaml"
    if not source.is_file():
        raise InputError(
            "rule file missing from the installation", path=label, fix="reinstall convergio-gate"
        )
    raw = source.read_bytes()
    cached = _cached_path(name, raw)
    if cached is not None:
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
    data = _parse(raw, label)
    if cached is not None:
        _store(cached, name, data)
    return data


def _cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/convergio-gate/rules`` (``~/.cache`` without it); None with
    neither set."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else ""
    )
    return Path(base) / "convergio-gate" / "rules" if base else None


def _cached_path(name: str, raw: bytes) -> Path | None:
    directory = _cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(_CACHE_FORMAT + raw).hexdigest()[:20]
    return directory / f"{name}.{digest}.json"


#: Copies kept per rule file: installs of other versions share the directory, and each
#: keeps its own copy (the oldest go).
KEEP_COPIES = 8


def _store(cached: Path, name: str, data: dict[str, Any]) -> None:
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, cached)
        copies = sorted(
            cached.parent.glob(f"{name}.*.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for stale in copies[KEEP_COPIES:]:
            stale.unlink(missing_ok=True)
    except OSError:
        return


def _parse(raw: bytes, label: str) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(raw.decode("utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML: {exc}", path=label) from None
    if (
        not isinstance(data, dict)
        or data.get("version") != 1
        or not isinstance(data.get("rules"), list)
    ):
        raise InputError("expected `version: 1` and a `rules:` list", path=label)
    seen: set[str] = set()
    for index, rule in enumerate(data["rules"]):
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        where = f"rules[{index}]" + (f" ({rule_id})" if rule_id else "")
        if not isinstance(rule_id, str) or not rule_id:
            raise InputError("every rule needs an `id`", path=label, key=where)
        if rule_id in seen:
            raise InputError(f"rule id {rule_id} is used twice", path=label, key=where)
        seen.add(rule_id)
        for key in ("description", "why", "fix"):
            if not isinstance(rule.get(key), str):
                raise InputError(f"{rule_id}: missing `{key}`", path=label, key=where)
    return dict(data)


#: The rule file of each built-in gate, where its name differs from the gate's.
RULE_FILES = {"secret": "secrets"}


def rule_file(gate_id: str) -> str:
    return RULE_FILES.get(gate_id, gate_id)


def rules(name: str) -> list[dict[str, Any]]:
    return list(load(name)["rules"])


@cache
def digest() -> str:
    """A digest of every rule file and query: cached results are keyed by it."""
    h = hashlib.sha256()
    for path, data in sorted(_walk(_root(), "")):
        h.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def _walk(node: Any, prefix: str) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for child in node.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                out.extend(_walk(child, name + "/"))
        elif child.name.endswith((".yaml", ".scm")):
            out.append((name, child.read_bytes()))
    return out

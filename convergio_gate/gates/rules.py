"""Rules as data: ``rules/<name>.yaml`` files shipped inside the package.

Every rule file has ``version: 1`` and ``rules:``, a list of mappings with at least
``id``, ``description`` (what it does), ``why`` (why it is bad), ``fix`` (what to write
instead), and ``refuse:`` / ``allow:`` samples that the tests judge. A sample is
``{path: FILE, code: TEXT}`` or, for gates that need several files,
``{files: {PATH: TEXT, ...}, check: [PATH, ...]}``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any

from convergio_gate.errors import InputError


def _root() -> Any:  # importlib.resources.abc.Traversable (3.11+)
    return resources.files("convergio_gate.rules")


@cache
def load(name: str) -> dict[str, Any]:
    """``rules/<name>.yaml`` as plain data; InputError names the rule when one is wrong."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    label = f"rules/{name}.yaml"
    source = _root() / f"{name}.yaml"
    if not source.is_file():
        raise InputError(
            "rule file missing from the installation", path=label, fix="reinstall convergio-gate"
        )
    try:
        data = YAML(typ="safe", pure=True).load(source.read_text(encoding="utf-8"))
    except YAMLError as exc:
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
    return data


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

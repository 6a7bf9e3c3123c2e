"""The wheel carries every package and the rules; the public API is deliberate."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pytest

import convergio_gate

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "convergio_gate").rglob("__init__.py")
    }
    assert found | {"convergio_gate.rules"} == listed


def test_rules_ship_as_package_data() -> None:
    rules = resources.files("convergio_gate.rules")
    assert rules.is_dir()


def test_public_api_is_sorted_and_exists() -> None:
    assert convergio_gate.__all__ == sorted(convergio_gate.__all__)
    for name in convergio_gate.__all__:
        assert hasattr(convergio_gate, name)


def test_python_version_floor_matches_the_code() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert sys.version_info >= (3, 10)

"""Read a YAML file into plain data for tests (action.yml, workflows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())

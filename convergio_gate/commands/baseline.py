"""``convergio-gate baseline``: accept what is there today, so only new findings refuse.

For adopting the tool on an existing repository. The baseline lists findings by
fingerprint (no line numbers), so moving code does not churn it; a new finding, or a
secret whose value changed, is not covered.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from convergio_gate.commands.check import chosen_gates
from convergio_gate.console import out
from convergio_gate.errors import OK
from convergio_gate.gates import engine, select
from convergio_gate.gates.waivers import BASELINE_PATH, write_baseline
from convergio_gate.model.config import load_config


def run(args: argparse.Namespace) -> int:
    root = select.repo_root(Path.cwd())
    config = load_config(root)
    gates = chosen_gates(args.gate, config)
    outcome = engine.run(root, select.select_all(root), gates, config)
    count = write_baseline(root, outcome.findings)
    out().print(
        f"wrote {BASELINE_PATH}: {count} findings accepted as they are "
        "(commit it; new findings are still refused)"
    )
    return OK

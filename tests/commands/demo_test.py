from __future__ import annotations

import os
import time
from pathlib import Path

from helpers import run_cli


def test_the_demo_tells_the_whole_story_quickly(tmp_path: Path) -> None:
    # As on a fresh machine: bytecode is written (a stale .pyc of the buggy file once
    # made step 4 run the old code).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.monotonic()
    result = run_cli(tmp_path, "demo", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 10, f"the demo took {elapsed:.1f}s"
    out = result.stdout
    story = [
        "not clean: exit code 1, 2 failed",  # the agent's failing run, measured
        "refused  calc/fix-add: in_progress -> submitted",  # its claim refused
        "FORGED",  # a hand-written done caught
        "test evidence is stale",  # evidence bound to code
        "accepted calc/readme -> done",
        "accepted calc/fix-add -> done",  # measured again and accepted
        "chain OK: ",  # verify passes
        "chain BAD (edited): entry 2 was edited",  # the tampered copy is caught
    ]
    positions = [out.find(step) for step in story]
    assert all(p >= 0 for p in positions), [
        s for s, p in zip(story, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions), "the story is told out of order"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing left behind where it ran

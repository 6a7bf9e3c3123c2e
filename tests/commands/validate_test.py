"""The gate: validate accepts or refuses; forged `done` is reported everywhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import CLI, git

PY = sys.executable
TASK = ".convergio/plans/p1/tasks/t1.yaml"


@pytest.fixture
def submitted(initialized: Path, cg: CLI) -> Path:
    assert cg("plan", "create", "p1", "--title", "Plan").code == 0
    assert (
        cg(
            "task", "add", "p1", "t1", "--title", "Task", "--requires", "test", "--requires", "lint"
        ).code
        == 0
    )
    assert cg("task", "transition", "p1/t1", "in_progress").code == 0
    for kind in ("test", "lint"):
        assert cg("evidence", "run", "p1/t1", "--kind", kind, "--", PY, "-c", "0").code == 0
    assert cg("task", "transition", "p1/t1", "submitted").code == 0
    return initialized


def chain(cg: CLI) -> list[dict[str, object]]:
    return json.loads(cg("audit", "log", "--json").out)


def test_validate_accepts_with_an_entry_then_marks_done(submitted: Path, cg: CLI) -> None:
    result = cg("validate", "--json")
    assert result.code == 0, result.out
    (verdict,) = json.loads(result.out)
    assert verdict["accepted"] is True
    last = chain(cg)[-1]
    assert (last["kind"], last["subject"], last["decision"]) == ("accept", "p1/t1", "accepted")
    assert last["hash"] == verdict["entry"]
    assert [e["kind"] for e in last["data"]["evidence"]] == ["test", "lint"]
    text = (submitted / TASK).read_text()
    assert "status: done" in text and last["hash"] in text
    assert cg("validate").code == 0  # nothing left to do, still fine


def test_validate_refuses_stale_evidence_and_records_why(submitted: Path, cg: CLI) -> None:
    (submitted / "app.py").write_text("def add(a, b):\n    return b + a\n")
    result = cg("validate")
    assert result.code == 1
    assert "test evidence is stale" in result.out and "lint evidence is stale" in result.out
    last = chain(cg)[-1]
    assert (last["kind"], last["decision"]) == ("refuse", "refused")
    assert len(last["reasons"]) == 2
    assert "status: submitted" in (submitted / TASK).read_text()


def test_forged_done_is_reported_by_validate_status_and_verify(submitted: Path, cg: CLI) -> None:
    path = submitted / TASK
    path.write_text(path.read_text().replace("status: submitted", "status: done"))
    for argv in (("validate",), ("status",), ("verify",)):
        result = cg(*argv)
        assert result.code == 1, argv
        assert "forged" in result.out.lower(), argv
    status = json.loads(cg("status", "--json").out)
    assert status["forged"] == ["p1/t1"]
    assert json.loads(cg("verify", "--json").out)["forged"] == ["p1/t1"]


def test_an_acceptance_in_the_chain_makes_the_task_done_without_the_file(
    submitted: Path, cg: CLI
) -> None:
    """CI can accept a task without committing to the task file."""
    before = (submitted / TASK).read_text()
    assert cg("validate").code == 0
    (submitted / TASK).write_text(before)  # as if the file edit never landed
    status = json.loads(cg("status", "--json").out)
    (row,) = status["tasks"]
    assert (row["status"], row["effective_status"], row["forged"]) == ("submitted", "done", False)
    result = cg("task", "transition", "p1/t1", "in_progress")
    assert result.code == 1 and "terminal" in result.out


def test_verify_anchor_catches_truncation(submitted: Path, cg: CLI) -> None:
    assert cg("validate").code == 0
    head = chain(cg)[-1]["hash"]
    assert isinstance(head, str)
    assert cg("verify", "--expect-head", head).code == 0
    tip = git(submitted, "rev-parse", "refs/notes/convergio").strip()
    git(submitted, "update-ref", "refs/notes/convergio", f"{tip}~1")
    result = cg("verify", "--expect-head", head)
    assert result.code == 1 and "truncated" in result.out
    bad = cg("verify", "--expect-head", "nothex")
    assert bad.code == 2 and "expected a 64-hex" in bad.err


def test_history_is_append_only(submitted: Path, cg: CLI) -> None:
    before = (submitted / TASK).read_text()
    assert cg("validate").code == 0
    after = (submitted / TASK).read_text()
    old_history = before[before.index("history:") :]
    assert after[after.index("history:") :].startswith(old_history.rstrip("\n"))

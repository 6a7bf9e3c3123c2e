"""Transitions through the CLI: every illegal one refused, legal ones recorded."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from helpers import CLI, git

from convergio_gate.model.lifecycle import STATES, is_legal


@pytest.fixture
def planned(initialized: Path, cg: CLI) -> Path:
    assert cg("plan", "create", "p1", "--title", "Plan one").code == 0
    assert cg("task", "add", "p1", "t1", "--title", "Task one").code == 0
    return initialized


def set_status(repo: Path, status: str) -> None:
    """Put a task file into a state the way a hand edit would (for the setup only)."""
    path = repo / ".convergio/plans/p1/tasks/t1.yaml"
    text = path.read_text()
    lines = [
        f"status: {status}" if line.startswith("status:") else line for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("src", "dst"),
    [(a, b) for a, b in itertools.product(STATES, STATES) if not is_legal(a, b) and a != "done"],
)
def test_every_illegal_transition_is_refused(planned: Path, cg: CLI, src: str, dst: str) -> None:
    set_status(planned, src)
    before = (planned / ".convergio/plans/p1/tasks/t1.yaml").read_text()
    result = cg("task", "transition", "p1/t1", dst)
    assert result.code == 1, result.out + result.err
    assert "refused" in result.out
    assert (planned / ".convergio/plans/p1/tasks/t1.yaml").read_text() == before
    log = json.loads(cg("audit", "log", "--json").out)
    assert log[-1]["kind"] == "refuse" and log[-1]["subject"] == "p1/t1"


def test_done_by_hand_is_refused_even_from_submitted(planned: Path, cg: CLI) -> None:
    set_status(planned, "submitted")
    result = cg("task", "transition", "p1/t1", "done")
    assert result.code == 1 and "only the gate" in result.out


def test_legal_transitions_append_history_and_chain(planned: Path, cg: CLI) -> None:
    path = planned / ".convergio/plans/p1/tasks/t1.yaml"
    path.write_text(path.read_text().replace("title: Task one", "title: Task one  # keep me"))
    for state in ("in_progress", "blocked", "in_progress"):
        assert cg("task", "transition", "t1", state, "--note", f"to {state}").code == 0
    text = path.read_text()
    assert "# keep me" in text and text.startswith("# A convergio-gate task.")
    shown = json.loads(cg("task", "show", "p1/t1", "--json").out)
    assert [h["to"] for h in shown["history"]] == ["in_progress", "blocked", "in_progress"]
    log = json.loads(cg("audit", "log", "--json").out)
    assert [e["data"]["to"] for e in log] == ["in_progress", "blocked", "in_progress"]
    assert [h["entry"] for h in shown["history"]] == [e["hash"] for e in log]


def test_unknown_state_and_unknown_task(planned: Path, cg: CLI) -> None:
    result = cg("task", "transition", "p1/t1", "finished")
    assert result.code == 2 and "unknown state 'finished'" in result.err
    result = cg("task", "transition", "p1/nope", "in_progress")
    assert result.code == 2 and "unknown task 'p1/nope'" in result.err
    result = cg("task", "transition", "nope", "in_progress")
    assert result.code == 2 and "unknown task 'nope'" in result.err


def test_dangling_dependency_and_cycles_are_input_errors(planned: Path, cg: CLI) -> None:
    result = cg("task", "add", "p1", "t2", "--title", "Two", "--depends-on", "ghost")
    assert result.code == 2 and "depends on 'ghost'" in result.err
    assert cg("task", "add", "p1", "t2", "--title", "Two", "--depends-on", "t1").code == 0
    path = planned / ".convergio/plans/p1/tasks/t1.yaml"
    path.write_text(path.read_text().replace("depends_on: []", "depends_on: [t2]"))
    result = cg("task", "list")
    assert result.code == 2
    assert "dependency cycle: t1 -> t2 -> t1" in result.err
    assert ".convergio/plans/p1/tasks/t1.yaml:" in result.err
    git(planned, "status")  # the repository is untouched by the refusal

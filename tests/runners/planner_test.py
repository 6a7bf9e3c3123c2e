from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CLI

from convergio_gate.errors import InputError
from convergio_gate.runners.planner import from_markdown, parse_planner_answer

CHECKLIST = """\
# Login that works

## Build
- [ ] Add the login endpoint (requires: test; files: src/auth/**; runner: claude:sonnet)
  It takes a user and a password.
  It returns a session.
- [x] Set up the project
- [ ] Store sessions (requires: test, lint; budget: $2.5)

## Document
- [ ] Document login (after: add-the-login-endpoint)
"""


def test_a_checklist_splits_deterministically() -> None:
    first = from_markdown(CHECKLIST, "plan.md")
    again = from_markdown(CHECKLIST, "plan.md")
    assert [t.__dict__ for t in first] == [t.__dict__ for t in again]
    ids = [t.id for t in first]
    assert ids == ["add-the-login-endpoint", "store-sessions", "document-login"]
    endpoint, sessions, docs = first
    assert endpoint.description == "It takes a user and a password.\nIt returns a session.\n"
    assert endpoint.requires == ["test"] and endpoint.files == ["src/auth/**"]
    assert endpoint.runner_kind == "claude:sonnet"
    assert sessions.requires == ["test", "lint"] and sessions.max_budget_usd == 2.5
    assert docs.depends_on == ["add-the-login-endpoint", "store-sessions"]


def test_bad_checklists_say_where() -> None:
    with pytest.raises(InputError) as info:
        from_markdown("- [ ] A task (colour: red)\n", "plan.md")
    assert info.value.line == 1 and "unknown attribute 'colour'" in str(info.value)
    with pytest.raises(InputError):
        from_markdown("nothing to do here\n", "plan.md")
    with pytest.raises(InputError):
        from_markdown("- [ ] B (after: nope)\n", "plan.md")


def test_planner_answers_are_validated() -> None:
    good = {
        "tasks": [
            {"id": "a", "title": "A", "requires": ["test"]},
            {"id": "b", "title": "B", "depends_on": ["a"]},
        ]
    }
    assert [t.id for t in parse_planner_answer(f"Sure:\n```json\n{json.dumps(good)}\n```")] == [
        "a",
        "b",
    ]
    for bad in (
        "not json at all",
        json.dumps({"tasks": []}),
        json.dumps({"tasks": [{"id": "../x", "title": "X"}]}),
        json.dumps({"tasks": [{"id": "a", "title": "A", "depends_on": ["a"]}]}),
        json.dumps({"tasks": [{"id": "a", "title": "A", "depends_on": ["z"]}]}),
        json.dumps({"tasks": [{"id": "a", "title": "A", "colour": 1}]}),
    ):
        with pytest.raises(ValueError):
            parse_planner_answer(bad)


def test_plan_create_from_a_checklist(initialized: Path, cg: CLI, tmp_path: Path) -> None:
    source = tmp_path / "plan.md"
    source.write_text(CHECKLIST)
    result = cg("plan", "create", "login", "--from", str(source))
    assert result.code == 0, result.err
    assert "with 3 tasks" in result.out
    shown = json.loads(cg("plan", "show", "login", "--json").out)
    assert shown["title"] == "Login that works"
    assert [t["id"] for t in shown["tasks"]] == [
        "add-the-login-endpoint",
        "document-login",
        "store-sessions",
    ]

from __future__ import annotations

import itertools

from convergio_gate.model.lifecycle import (
    GATE_ONLY,
    STATES,
    TERMINAL,
    TRANSITIONS,
    explain_illegal,
    is_legal,
)


def test_the_happy_path_and_rework_are_legal() -> None:
    path = ["pending", "in_progress", "submitted", "in_progress", "submitted", "done"]
    assert all(is_legal(a, b) for a, b in itertools.pairwise(path))


def test_terminal_states_go_nowhere() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
        assert all(not is_legal(state, other) for other in STATES)
        assert "terminal" in explain_illegal(state, "in_progress")


def test_done_only_from_submitted_and_only_by_the_gate() -> None:
    assert [s for s in STATES if is_legal(s, "done")] == ["submitted"]
    assert ("submitted", "done") in GATE_ONLY
    assert "validate" in explain_illegal("in_progress", "done")


def test_every_illegal_pair_has_an_explanation() -> None:
    for a, b in itertools.product(STATES, STATES):
        if not is_legal(a, b):
            assert explain_illegal(a, b)

"""Task states and the transitions between them.

::

    pending -> in_progress -> submitted -> done
                    ^              |
                    +--------------+   (rework after a refusal)

    plus blocked, failed and cancelled. ``done`` and ``cancelled`` are terminal:
    reopening a done task means a new task. Only the gate (``convergio-gate validate``,
    or CI) moves a task to ``done``, and only together with an acceptance entry in the
    audit chain.
"""

from __future__ import annotations

STATES = ("pending", "in_progress", "submitted", "done", "blocked", "failed", "cancelled")
TERMINAL = frozenset({"done", "cancelled"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "blocked", "cancelled"}),
    "in_progress": frozenset({"submitted", "blocked", "failed", "cancelled"}),
    "submitted": frozenset({"in_progress", "done", "failed", "cancelled"}),
    "blocked": frozenset({"pending", "in_progress", "cancelled"}),
    "failed": frozenset({"in_progress", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}

#: Transitions only the gate may perform, never an agent or a person by hand.
GATE_ONLY = frozenset({("submitted", "done")})


def is_legal(src: str, dst: str) -> bool:
    return dst in TRANSITIONS.get(src, frozenset())


def explain_illegal(src: str, dst: str) -> str:
    """Why ``src -> dst`` is refused, and what is allowed instead."""
    if src == dst:
        return f"the task is already {src}"
    if src in TERMINAL:
        return f"{src} is terminal: reopening means a new task (`convergio-gate task add`)"
    allowed = sorted(TRANSITIONS.get(src, frozenset()))
    if dst == "done":
        return (
            "only the gate moves a task to done: submit it with fresh evidence, then run "
            "`convergio-gate validate`"
        )
    return f"{src} -> {dst} is not a legal transition; from {src} a task may go to " + ", ".join(
        allowed
    )

"""What dispatch shows while it runs: a live table in a terminal, plain lines in CI (and
any pipe), JSON events (one object per line) for other tools."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from convergio_gate.console import out


class PlainView:
    """One line per event: readable in a CI log."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        line = describe(kind, data)
        if line:
            with self.lock:
                out().print(line, highlight=False)

    def close(self) -> None:
        return None


class JsonView:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        with self.lock:
            sys.stdout.write(json.dumps({"event": kind, "time": time.time(), **data}) + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        return None


class LiveView:
    """A rich table of waves, tasks, rounds, costs and stop reasons, redrawn in place."""

    def __init__(self) -> None:
        from rich.live import Live

        self.lock = threading.Lock()
        self.rows: dict[str, dict[str, Any]] = {}
        self.wave = 0
        self.live = Live(self._table(), console=out(), refresh_per_second=8, transient=False)
        self.live.start()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        with self.lock:
            if kind == "wave":
                self.wave = data["wave"]
                for ref in data["tasks"]:
                    self.rows.setdefault(
                        ref,
                        {
                            "wave": self.wave,
                            "state": "waiting",
                            "round": 0,
                            "cost": 0.0,
                            "runner": "",
                        },
                    )
            elif kind == "round":
                row = self.rows.setdefault(data["task"], {"wave": self.wave, "cost": 0.0})
                row.update(state="running", round=data["round"], runner=data["runner"])
            elif kind == "round_end":
                row = self.rows[data["task"]]
                row["cost"] = row.get("cost", 0.0) + (data.get("cost_usd") or 0.0)
                row["state"] = data["decision"]
            elif kind == "stop":
                row = self.rows.setdefault(
                    data["task"], {"wave": self.wave, "round": 0, "runner": ""}
                )
                row.update(state=data["stop"], cost=data["cost_usd"], round=data["rounds"])
            self.live.update(self._table())

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title="convergio-gate dispatch", show_edge=False, header_style="bold")
        for column in ("wave", "task", "runner", "round", "cost", "state"):
            table.add_column(column)
        style = {"converged": "green", "running": "cyan", "refused": "yellow"}
        for ref, row in self.rows.items():
            state = str(row.get("state", ""))
            colour = style.get(state, "red" if state in _FAILED else "")
            table.add_row(
                str(row.get("wave", "")),
                ref,
                str(row.get("runner", "")),
                str(row.get("round", 0)),
                f"${row.get('cost', 0.0):.2f}",
                f"[{colour}]{state}[/]" if colour else state,
            )
        return table

    def close(self) -> None:
        self.live.stop()


_FAILED = {"rounds", "time", "money", "needs_human", "runner_failed", "cancelled", "blocked"}


def describe(kind: str, data: dict[str, Any]) -> str:
    if kind == "wave":
        return f"wave {data['wave']}: {', '.join(data['tasks'])}"
    if kind == "round":
        return f"  {data['task']}: round {data['round']} ({data['runner']})"
    if kind == "round_end":
        cost = f", ${data['cost_usd']:.2f}" if data.get("cost_usd") else ""
        return (
            f"  {data['task']}: round {data['round']} {data['decision']} "
            f"(exit {data['exit']}{cost}, {data['seconds']:.1f}s)"
        )
    if kind == "stop":
        detail = f": {data['detail']}" if data.get("detail") else ""
        return (
            f"{data['task']}: {data['stop']} after {data['rounds']} rounds, "
            f"${data['cost_usd']:.2f}, {data['seconds']:.1f}s{detail}"
        )
    if kind == "converged":
        return f"  {data['task']}: converged in round {data['round']}"
    return ""


def choose(json_events: bool) -> Any:
    if json_events:
        return JsonView()
    if out().is_terminal and not os.environ.get("CI"):
        return LiveView()
    return PlainView()

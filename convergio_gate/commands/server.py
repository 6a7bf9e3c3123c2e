"""``convergio-gate server status|start|stop``: the resident process ``check`` runs in.

``check`` starts the server itself when it finds none (see :mod:`convergio_gate.server`);
these are for looking at it, starting it ahead of the first commit, and stopping it.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from convergio_gate import server
from convergio_gate.console import out, print_json
from convergio_gate.errors import OK, BusyError

START_SECONDS = 20.0


def run(args: argparse.Namespace) -> int:
    path = server.socket_path()
    if args.action == "stop":
        stopped = server.stop(path)
        _report(args, {"socket": path, "running": False, "stopped": stopped})
        return OK
    info = server.ping(path)
    if args.action == "start" and info is None:
        if not server.spawn() and not server.starting(path):
            raise BusyError(
                f"cannot start a server at {path}",
                fix=f"make {server.runtime_dir()} yours and closed to others (mode 700), "
                f"or set {server.RUNTIME_DIR} to a directory that is",
            )
        deadline = time.monotonic() + START_SECONDS
        while info is None and time.monotonic() < deadline:
            time.sleep(0.05)
            info = server.ping(path)
        if info is None:
            raise BusyError(
                f"the server did not answer within {START_SECONDS:.0f} s at {path}",
                fix=f"check that {server.runtime_dir()} is yours and closed to others "
                "(mode 700), or run checks without it: "
                f"{server.SWITCH}=0",
            )
    state: dict[str, Any] = {"socket": path, "running": info is not None}
    if info is not None:
        state.update(pid=info.get("pid"), since=info.get("since"), runs=info.get("runs"))
    state["used_by_check"] = server.enabled()
    _report(args, state)
    return OK


def _report(args: argparse.Namespace, state: dict[str, Any]) -> None:
    if args.json:
        print_json(state)
        return
    console = out()
    if "stopped" in state:
        said = "stopped" if state["stopped"] else "no server was running"
        console.print(f"{said}  ({state['socket']})", highlight=False)
        return
    if not state["running"]:
        console.print(f"not running  ({state['socket']})", highlight=False)
    else:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state["since"]))
        console.print(
            f"running  pid {state['pid']}, since {since}, {state['runs']} runs  "
            f"({state['socket']})",
            highlight=False,
        )
    if not state["used_by_check"]:
        console.print(
            f"check does not use it here: {server.SWITCH}=0 is set, or CI is "
            f"(set {server.SWITCH}=1 to use it anyway)",
            highlight=False,
        )

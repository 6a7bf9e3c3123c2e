"""Run an evidence command and measure it: exit code, duration, output hash and tail.

The command runs in its own process group with no stdin; its combined output is streamed
to the user as it comes, hashed in full, spooled for the counts parsers and cut to its
last lines for the record. On timeout or Ctrl-C the whole group is killed, children too.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import selectors
import shlex
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convergio_gate.errors import FatalError, UsageError

MAX_PARSE_BYTES = 64 << 20
_CHUNK = 65536
_GRACE_S = 2.0


@dataclass(frozen=True)
class Measurement:
    argv: list[str]
    exit_code: int
    duration_s: float
    output_sha256: str
    output_bytes: int
    output: str  # for the parsers: the whole output, or its last MAX_PARSE_BYTES
    tail: str
    timed_out: bool
    signal: int | None


class CommandFailedToRun(FatalError):
    """The command could not be started, was killed, or ran out of time."""


def measure(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    tail_lines: int,
    shell: bool = False,
    echo: Callable[[str], None] | None = None,
) -> Measurement:
    if not argv:
        raise UsageError("no command given", fix="put the command after `--`, e.g. -- pytest -q")
    cmd: list[str] | str = shlex.join(argv) if shell and len(argv) > 1 else list(argv)
    if shell and len(argv) == 1:
        cmd = argv[0]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            shell=shell,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise CommandFailedToRun(
            f"command not found: {argv[0]}",
            fix="check the spelling and that it is installed and on PATH "
            "(or pass --shell to run it through /bin/sh)",
        ) from None
    except PermissionError:
        raise CommandFailedToRun(f"not executable: {argv[0]}", fix=f"chmod +x {argv[0]}") from None
    assert proc.stdout is not None
    with _Capture(tail_lines, echo) as capture:
        timed_out = _pump(proc, capture, deadline=started + timeout_s)
        duration = time.monotonic() - started
        code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        output = capture.text_for_parsers()
    return Measurement(
        argv=list(argv),
        exit_code=code,
        duration_s=duration,
        output_sha256=capture.digest.hexdigest(),
        output_bytes=capture.total,
        output=output,
        tail=capture.tail(),
        timed_out=timed_out,
        signal=-code if code < 0 else None,
    )


class _Capture:
    """Everything kept of the output: a full hash, a spool for parsers, the last lines."""

    def __init__(self, tail_lines: int, echo: Callable[[str], None] | None) -> None:
        self.digest = hashlib.sha256()
        self.total = 0
        self.tail_lines = tail_lines
        self.echo = echo
        self.spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed in __exit__
        self.last = deque[bytes](maxlen=max(tail_lines, 1))
        self.partial = b""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __enter__(self) -> _Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.spool.close()

    def feed(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.total += len(chunk)
        self.spool.write(chunk)
        if self.echo is not None:
            self.echo(self.decoder.decode(chunk))
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()[-_CHUNK:]
        self.last.extend(lines)

    def tail(self) -> str:
        lines = [*self.last, self.partial] if self.partial else list(self.last)
        kept = lines[-self.tail_lines :] if self.tail_lines else []
        return b"\n".join(kept).decode("utf-8", errors="replace")

    def text_for_parsers(self) -> str:
        self.spool.seek(max(0, self.total - MAX_PARSE_BYTES))
        return self.spool.read().decode("utf-8", errors="replace")


def _pump(proc: subprocess.Popen[bytes], capture: _Capture, deadline: float) -> bool:
    """Copy the output into ``capture`` until EOF; True when the deadline killed it."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    fd = proc.stdout.fileno()
    exited: float | None = None
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                kill_group(proc)
                break
            if not selector.select(timeout=min(remaining, 0.25)):
                if proc.poll() is not None:
                    exited = exited or time.monotonic()
                    if time.monotonic() - exited > _GRACE_S:
                        kill_group(proc)  # the leader is gone; stray children hold the pipe
                        break
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            capture.feed(chunk)
        proc.wait(timeout=_GRACE_S * 2 if timed_out else None)
    except KeyboardInterrupt:
        kill_group(proc)
        raise
    finally:
        selector.close()
        proc.stdout.close()
    return timed_out


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, _GRACE_S), (signal.SIGKILL, _GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:
            os.killpg(proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return


def describe_signal(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"

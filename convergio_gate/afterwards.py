"""Work a run may finish after its verdict is out: writing its caches.

What the user of a check waits for is its verdict: the output, the audit record and the
exit code. Writing the caches that make the next run fast is not part of it. Code that
only writes a cache hands the writing to :func:`later`. A process that runs by itself
does it at once, as it always did. A run the resident server forked
(:mod:`convergio_gate.server`) collects it instead (:func:`defer`), sends its exit code,
lets go of the client's terminal and pipes, and only then does it (:func:`finish`): a
commit does not wait for a cache to reach the disk.

Every cache is written to a temporary file and renamed (or through SQLite), and is keyed
by content, so a run that starts before another's writes land only finds less in it.
"""

from __future__ import annotations

from collections.abc import Callable

_pending: list[Callable[[], None]] | None = None


def defer() -> None:
    """From now on, keep what :func:`later` is given for :func:`finish`."""
    global _pending
    if _pending is None:
        _pending = []


def later(work: Callable[[], None]) -> None:
    """Do ``work`` now, or at :func:`finish` after :func:`defer`."""
    if _pending is None:
        work()
    else:
        _pending.append(work)


def finish() -> int:
    """Do the kept work, in order, and stop keeping it; how many pieces failed (a cache
    that cannot be written is a slower next run, never a wrong one)."""
    global _pending
    pending, _pending = _pending or [], None
    failed = 0
    for work in pending:
        try:
            work()
        except Exception:  # a cache write: best effort by design
            failed += 1
    return failed

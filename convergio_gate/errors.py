"""The errors convergio-gate shows to its users, and the exit codes they map to.

Exit codes are part of the interface (docs/exit-codes.md)::

    0    OK          everything asked for was done and nothing was refused
    1    REFUSED     a gate or a check said no; the reasons were printed
    2    USAGE       bad command line or bad input: a file, a repository state, a lock
    3    INTERNAL    a bug in convergio-gate; a short report with versions is printed
    130  INTERRUPTED Ctrl-C

The exception tree::

    FatalError             a problem that is the user's to fix; exit 2
     +-- UsageError        the command line itself is wrong
     +-- InputError        a file is wrong: names the file, line and key path
     +-- GitError          the repository is not in a state we can work with
     +-- BusyError         someone else holds a lock we need, or moved a ref under us
     +-- GitHubError       (convergio_gate.github.api) an API call failed: names the call
     +-- SigningError      (convergio_gate.audit.signing) no ssh-keygen, a bad key
     +-- GateLoadError     (convergio_gate.gates.registry) a gate failed to load, named

Every message says what was expected and ends with how to fix it.
"""

from __future__ import annotations

OK = 0
REFUSED = 1
USAGE = 2
INTERNAL = 3
INTERRUPTED = 130


class FatalError(Exception):
    """A problem the user can fix. ``str(error)`` is the whole message."""

    exit_code = USAGE

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        if self.fix:
            return f"{self.message}\n  to fix: {self.fix}"
        return self.message

    def fixed_by(self, fix: str) -> FatalError:
        """This error with ``fix`` as its hint, unless it has one already."""
        if not self.fix:
            self.fix = fix
            self.args = (self.render(),)
        return self


class UsageError(FatalError):
    """The command line is wrong."""


class InputError(FatalError):
    """A file the tool reads is wrong.

    ``path`` is shown relative to where the user stands when possible; ``line`` is
    1-based; ``key`` is a dotted key path such as ``history[2].to``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        where = ""
        if path:
            where = path + (f":{line}" if line else "")
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message, fix=fix)


class GitError(FatalError):
    """The repository cannot be used as it is."""


class BusyError(FatalError):
    """A lock is held by someone else, or a ref moved under our feet too often."""

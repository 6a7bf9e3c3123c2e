"""A resident process that lets ``check`` start warm: the pre-commit path's fast lane.

Half of a small ``check`` is the interpreter starting and importing the gates, the
grammars and their queries; the pre-commit hook pays it on every commit. This module
keeps one process with all of that loaded (a *server*, per install, idle-timed), and
``convergio-gate check`` hands it the run: the client connects to the server's Unix
socket and passes its command line, working directory, environment, umask and its own
stdin, stdout and stderr (the file descriptors themselves, ``SCM_RIGHTS``). The server
forks; the child takes the client's descriptors, directory and environment and runs the
very same ``cli.main`` a plain process would, then sends the exit code back. So a run
through the server writes to the same terminal or pipe, reads the same repository, and
decides the same way; it only skips the start. Nothing about a repository is kept in the
server between runs: every run is a fresh fork of the loaded, idle process.

When there is no server, or it cannot serve (it runs older code than is installed: the
client names the files it would import, with their sizes and mtimes; the socket is not
the user's own; a descriptor cannot be passed), the client runs the check itself, as it
always did, and then starts a server in the background for next time. The server leaves
after ``IDLE_SECONDS`` without a run, or at ``convergio-gate server stop``.

``CONVERGIO_GATE_SERVER=0`` turns all of this off (``1`` turns it on where it is off by
default: when ``CI`` is set, since a CI job has no next commit to be quick for).
``CONVERGIO_GATE_RUNTIME_DIR`` moves the socket's directory (default
``$XDG_RUNTIME_DIR/convergio-gate``, else ``/tmp/convergio-gate-<uid>``); the directory
must be the user's own and closed to others, or the server is not used.

The client half imports nothing beyond the interpreter's built-in modules: its point is
to be cheap.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # as typing's, without importing typing: the client must be cheap
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

PROTOCOL = 1
SWITCH = "CONVERGIO_GATE_SERVER"
RUNTIME_DIR = "CONVERGIO_GATE_RUNTIME_DIR"
IDLE_SECONDS = 15 * 60
MAX_MESSAGE = 16 << 20
#: The longest socket path AF_UNIX takes (sun_path is 108 bytes on Linux, 104 on macOS).
MAX_SOCKET_PATH = 100
PACKAGE = os.path.dirname(os.path.abspath(__file__))

#: Environment variables that change what an interpreter imports.
_PATH_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONSAFEPATH")
#: Replies: the child's pid, then its exit code; "stale" when the server runs other code.
STALE, PID, EXIT, PONG = b"S", b"P", b"X", b"K"


class Unavailable(Exception):
    """The server cannot take this run; the caller runs it in-process."""


# -- client ---------------------------------------------------------------------------


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether runs go through the server (see the module doc for the switches)."""
    environ = os.environ if environ is None else environ
    value = environ.get(SWITCH)
    if value is not None:
        wanted = value.strip().lower() not in ("0", "", "false", "no", "off")
    else:
        wanted = not environ.get("CI")
    return wanted and _supported()


def _supported() -> bool:
    import _socket

    return hasattr(os, "fork") and hasattr(_socket, "AF_UNIX") and hasattr(_socket, "SCM_RIGHTS")


def wants(words: Sequence[str]) -> bool:
    """Whether ``words`` (the command line after the program) is a ``check``."""
    rest = list(words)
    while rest and rest[0] == "-C" and len(rest) > 1:
        rest = rest[2:]
    return bool(rest) and rest[0] == "check"


def runtime_dir(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    given = environ.get(RUNTIME_DIR)
    if given:
        return given
    xdg = environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "convergio-gate")
    base = environ.get("TMPDIR") or "/tmp"
    return os.path.join(base, f"convergio-gate-{os.getuid()}")


def socket_path(environ: Mapping[str, str] | None = None) -> str:
    """Where this install's server listens: one per interpreter and package location."""
    import zlib

    name = "\0".join(_install()).encode("utf-8", "surrogateescape")
    return os.path.join(runtime_dir(environ), f"s-{zlib.crc32(name):08x}.sock")


def _install() -> tuple[str, str, str]:
    """The interpreter (``python`` and ``python3`` in a venv are one), the environment
    it runs in (which holds the dependencies), and where the package is."""
    return os.path.realpath(sys.executable), sys.prefix, PACKAGE


def fingerprint() -> str:
    """The code a run would execute: the interpreter, the import path (with each
    directory's mtime, which an install, upgrade or removal of a package changes), and
    every file of the package with its size and mtime. A server whose fingerprint
    differs must not serve."""
    parts = [*_install(), sys.version]
    parts += [f"{name}={os.environ.get(name, '')}" for name in _PATH_VARIABLES]
    for directory in sys.path[1:]:  # [0] is the script's own directory, or the server's cwd
        try:
            parts.append(f"{directory}:{os.stat(directory or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{directory}:-")
    stack = [PACKAGE]
    while stack:
        top = stack.pop()
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
        except OSError:
            parts.append(f"{top}: unreadable")
            continue
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat()
            except OSError:
                continue
            parts.append(f"{entry.path[len(PACKAGE) :]}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def _private_dir(path: str, create: bool) -> bool:
    """Whether ``path`` is a directory only this user can enter (made so if ``create``)."""
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return False
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            return False
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _connect(path: str) -> Any:
    import _socket

    if len(path.encode()) > MAX_SOCKET_PATH or not _private_dir(os.path.dirname(path), False):
        raise Unavailable("no usable socket directory")
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise Unavailable("no server") from None
    return sock


def _send(sock: Any, message: bytes, fds: Sequence[int] = ()) -> None:
    import _socket

    framed = len(message).to_bytes(4, "big") + message
    if fds:
        rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
        sent = sock.sendmsg([framed], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        framed = framed[sent:]
    if framed:
        sock.sendall(framed)


def _recv_exact(sock: Any, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _stream_info(stream: Any) -> tuple[str, str] | None:
    encoding = getattr(stream, "encoding", None)
    errors = getattr(stream, "errors", None)
    return (encoding, errors) if isinstance(encoding, str) and isinstance(errors, str) else None


def forward(words: Sequence[str]) -> int:
    """Run ``convergio-gate <words>`` in the server; its exit code.

    Raises Unavailable when the server cannot take it (nothing has run then)."""
    sock = _connect(socket_path())
    try:
        return _forward(sock, words)
    finally:
        sock.close()


def _forward(sock: Any, words: Sequence[str]) -> int:
    import signal

    try:
        cwd = os.getcwdb()
    except OSError:
        raise Unavailable("no working directory") from None
    umask = os.umask(0o022)
    os.umask(umask)
    streams = [_stream_info(s) for s in (sys.stdin, sys.stdout, sys.stderr)]
    message = marshal.dumps(
        (
            PROTOCOL,
            "run",
            fingerprint(),
            [os.fsencode(w) for w in words],
            os.fsencode(sys.argv[0] if sys.argv else "convergio-gate"),
            cwd,
            dict(os.environb),
            umask,
            streams,
        )
    )
    try:
        _send(sock, message, (0, 1, 2))
        kind = _recv_exact(sock, 1)
    except (OSError, EOFError):
        raise Unavailable("the server did not take the run") from None
    if kind != PID:
        raise Unavailable("the server runs other code")
    child = int.from_bytes(_recv_exact(sock, 4), "big")
    forwarded: list[int] = []

    def relay(signum: int, _frame: object) -> None:
        # To the run's whole process group, as a terminal signals its foreground job:
        # the run and the workers it forked.
        forwarded.append(signum)
        try:
            os.killpg(child, signum)
        except OSError:
            return

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, relay)
    try:
        kind = _recv_exact(sock, 1)
        if kind == EXIT:
            return int.from_bytes(_recv_exact(sock, 4), "big", signed=True)
    except (OSError, EOFError):
        pass
    if forwarded:
        return 130
    sys.stderr.write(
        "convergio-gate: the resident server stopped before the check finished\n"
        f"  to fix: run it again with {SWITCH}=0 to check without the server\n"
    )
    return 3


def ping(path: str | None = None) -> dict[str, Any] | None:
    """What the server says about itself (pid, since, runs), or None if none answers."""
    try:
        sock = _connect(path or socket_path())
    except Unavailable:
        return None
    try:
        _send(sock, marshal.dumps((PROTOCOL, "ping")))
        if _recv_exact(sock, 1) != PONG:
            return None
        size = int.from_bytes(_recv_exact(sock, 4), "big")
        info = marshal.loads(_recv_exact(sock, size))
    except (OSError, EOFError, ValueError):
        return None
    finally:
        sock.close()
    return info if isinstance(info, dict) else None


def stop(path: str | None = None) -> bool:
    """Ask the server to leave; whether one was there to ask."""
    try:
        sock = _connect(path or socket_path())
    except Unavailable:
        return False
    try:
        _send(sock, marshal.dumps((PROTOCOL, "stop")))
        sock.recv(1)
    except OSError:
        return False
    finally:
        sock.close()
    return True


def starting(path: str) -> bool:
    """Whether a server holds ``path``'s lock: it is running, or starting."""
    import fcntl

    try:
        fd = os.open(path + ".lock", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def spawn(idle: int | None = None) -> bool:
    """Start a server in the background, unless one is running or starting; whether
    one was started."""
    import subprocess

    path = socket_path()
    directory = os.path.dirname(path)
    if len(path.encode()) > MAX_SOCKET_PATH or not _private_dir(directory, True):
        return False
    if starting(path):
        return False
    command = [sys.executable, "-m", "convergio_gate.server", "--serve", path, PACKAGE]
    if idle is not None:
        command += ["--idle", str(idle)]
    try:
        subprocess.Popen(
            command,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return False
    return True


# -- server ---------------------------------------------------------------------------


def preload() -> None:
    """Import and build what a check uses, so every run forked from here has it."""
    import importlib

    from convergio_gate import cli, lang, lazyre
    from convergio_gate.commands import check  # noqa: F401  (the run's own imports)
    from convergio_gate.gates import debt, engine, registry, secret, stub, wire

    # argparse matches options with patterns it builds as it parses, from re's cache;
    # the exclude globs are compiled once per list: fill both for the usual run.
    cli.command_parser().parse_args(["check", "--staged"])
    engine._globs(engine.DEFAULT_EXCLUDE)
    engine._globs(())
    registry.available()  # the plugins' entry points, scanned once (the fingerprint
    # covers the import path: an install or removal of a plugin restarts the server)
    for gate_id in registry.DEFAULT_ORDER:
        registry.load(gate_id)
    # The secret rules and their keyword index are kept for the process: compile them
    # all. The debt and stub rules are compiled by each run's gates, from re's own cache,
    # which this fills.
    shipped = secret.load_rules()
    secret.keyword_index(shipped)
    lazyre.warm(p for rule in shipped for p in (rule.regex, rule.paths, *rule.allow_regexes))
    for module in (secret, debt, stub, wire):
        lazyre.warm(vars(module).values())
    lazyre.warm(stub.ANCHORS.values())
    lazyre.warm([*wire.CLASS_HEADERS.values(), *wire.DISCOVERY, *wire.DEF_SITES.values()])
    debt.load_rules()
    stub.load_rules()
    wire.policy()
    for name in lang.GRAMMARS:
        lang.parser(name)
        for query_name in ("comments", "definitions", "stubs", "docstrings"):
            lang.query(name, query_name)
    # rich for a refusal's table; pygit2 for the audit record (check.record uses its
    # writer when it is loaded: faster than git's commands once the import is paid).
    for name in (
        "rich.console",
        "rich.table",
        "rich.markup",
        "convergio_gate.report",
        "pygit2",
        "convergio_gate.audit.chain",
        "convergio_gate.gitio",
    ):
        importlib.import_module(name)


class Server:
    def __init__(self, path: str, idle: float) -> None:
        import socket
        import time

        self.path = path
        self.idle = idle
        self.started = time.time()
        self.runs = 0
        self.fingerprint = fingerprint()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lock_fd = -1
        self.bound = -1  # the inode of the socket file this server made

    def acquire(self) -> bool:
        import contextlib
        import fcntl

        self.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        old = os.umask(0o177)
        try:
            self.listener.bind(self.path)
        finally:
            os.umask(old)
        self.bound = os.stat(self.path).st_ino
        self.listener.listen(16)
        return True

    def serve(self) -> None:
        import signal
        import time

        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
        signal.signal(signal.SIGTERM, lambda *_: self.leave())
        last_run = time.monotonic()  # only runs keep it: a status query does not
        while True:
            left = self.idle - (time.monotonic() - last_run)
            if left <= 0:
                self.leave()
            self.listener.settimeout(left)
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, InterruptedError):
                continue
            try:
                if self.handle(conn):
                    last_run = time.monotonic()
            except (OSError, EOFError, ValueError, TypeError):
                pass
            finally:
                conn.close()

    def leave(self) -> None:
        try:
            if os.stat(self.path).st_ino == self.bound:  # not a newer server's socket
                os.unlink(self.path)
        except OSError:
            pass
        os._exit(0)

    def handle(self, conn: Any) -> bool:
        """Answer one connection; whether it was a run."""
        import socket
        import struct

        conn.settimeout(10)
        if hasattr(socket, "SO_PEERCRED"):
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if struct.unpack("3i", creds)[1] != os.getuid():
                return False
        first, fds = _recv_with_fds(conn)
        try:
            size = int.from_bytes(first[:4], "big")
            if size > MAX_MESSAGE or len(first) - 4 > size:
                return False
            body = first[4:] + _recv_exact(conn, size - (len(first) - 4))
            message = marshal.loads(body)
            if not isinstance(message, tuple) or len(message) < 2 or message[0] != PROTOCOL:
                conn.sendall(STALE)
                return False
            kind = message[1]
            if kind == "ping":
                info = marshal.dumps({"pid": os.getpid(), "since": self.started, "runs": self.runs})
                conn.sendall(PONG + len(info).to_bytes(4, "big") + info)
                return False
            if kind == "stop":
                conn.sendall(EXIT)
                self.leave()
            if kind != "run" or len(message) != 9 or len(fds) != 3:
                conn.sendall(STALE)
                return False
            if message[2] != self.fingerprint:
                conn.sendall(STALE)
                conn.close()
                self.leave()  # the installed code changed: a new server will start
            self.runs += 1
            pid = os.fork()
            if pid == 0:
                self.listener.close()
                os.close(self.lock_fd)
                _child(conn, fds, message)  # never returns
            return True
        finally:
            for fd in fds:
                os.close(fd)


def _recv_with_fds(conn: Any) -> tuple[bytes, list[int]]:
    import socket

    data, ancillary, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(
                int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True)
                for i in range(0, usable, 4)
            )
    if len(data) < 4:
        for fd in fds:
            os.close(fd)
        raise EOFError
    return data, fds


def _child(conn: Any, fds: Sequence[int], message: tuple[Any, ...]) -> None:
    """The forked child: become the client's process, run the command, report, then
    write what the run left for later (:mod:`convergio_gate.afterwards`), exit."""
    import atexit
    import signal
    import time

    from convergio_gate import afterwards

    code = 3
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)  # a group of its own, which the client signals as a terminal would
        _, _, _, words, argv0, cwd, environ, umask, streams = message
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.environb.clear()
        os.environb.update(environ)
        time.tzset()
        os.umask(umask)
        os.chdir(cwd)
        _streams(streams)
        sys.argv = [os.fsdecode(argv0), *(os.fsdecode(w) for w in words)]
        conn.sendall(PID + os.getpid().to_bytes(4, "big"))
        afterwards.defer()  # cache writes wait until the verdict is out
        code = _run(sys.argv[1:])
    except BaseException:  # the child must report, whatever happened
        code = 3
    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                continue
        conn.sendall(EXIT + code.to_bytes(4, "big", signed=True))
    except BaseException:  # the client reports a lost child
        code = 3
    try:
        # The client has its answer: let go of its terminal and pipes (a reader waiting
        # for their end, as pre-commit does, must not wait for this), then write.
        devnull = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(devnull, target)
        conn.close()
        afterwards.finish()
    except BaseException:  # nothing is left to tell anyone
        code = 3
    os._exit(0)


def _streams(streams: Sequence[tuple[str, str] | None]) -> None:
    for fd, (name, info) in enumerate(zip(("stdin", "stdout", "stderr"), streams, strict=True)):
        encoding, errors = info or ("utf-8", "strict" if fd == 0 else "backslashreplace")
        try:
            interactive = os.isatty(fd)
        except OSError:
            interactive = False
        stream = open(  # noqa: SIM115  (it is the process's own stream, never closed)
            fd,
            "r" if fd == 0 else "w",
            buffering=1 if interactive or fd == 2 else -1,
            encoding=encoding,
            errors=errors,
            closefd=False,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _run(words: list[str]) -> int:
    from convergio_gate import cli

    try:
        return cli.main(words, local=True)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        sys.stderr.write(f"{exc.code}\n")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import gc

    parser = argparse.ArgumentParser(prog="python -m convergio_gate.server")
    parser.add_argument("--serve", nargs=2, metavar=("SOCKET", "PACKAGE"), required=True)
    parser.add_argument("--idle", type=float, default=IDLE_SECONDS)
    args = parser.parse_args(argv)
    path, package = args.serve
    if os.path.realpath(package) != os.path.realpath(PACKAGE):
        return 2  # another install of the package answers to this interpreter
    if not _private_dir(os.path.dirname(path), True):
        return 2
    server = Server(path, args.idle)
    if not server.acquire():
        return 0  # another server holds the socket
    try:
        preload()
    except Exception:  # a broken install must not leave a server behind
        server.leave()
    gc.collect()
    gc.freeze()  # the loaded modules stay shared with the children, never copied
    server.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

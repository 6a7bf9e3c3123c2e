"""The resident server (convergio_gate/server.py), as users meet it: real `convergio-gate`
processes, a real server process on a real Unix socket, real git commits through
hooks/pre-commit. A run through the server must be indistinguishable from one without
it, but for the time it takes."""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git, make_repo

from convergio_gate import server
from convergio_gate.audit.chain import Chain
from convergio_gate.gitio import Git

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DIRTY = "def add(a, b):\n    # TODO: handle overflow\n    return a + b\n"
CLEAN = "def add(a, b):\n    return b + a\n"
CALLER = "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"

pytestmark = pytest.mark.skipif(not server._supported(), reason="needs fork and AF_UNIX")


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A socket directory of the test's own (short: AF_UNIX paths are ~100 bytes), and
    the server stopped and gone when the test ends."""
    where = Path(tempfile.mkdtemp(prefix="cgs-", dir="/tmp"))
    where.chmod(0o700)
    yield where
    env = {**os.environ, server.RUNTIME_DIR: str(where)}
    subprocess.run(
        [str(BIN / "convergio-gate"), "server", "stop"], env=env, capture_output=True, check=False
    )
    lock = next(where.glob("*.lock"), None)
    deadline = time.monotonic() + 10
    while lock is not None and server.starting(str(lock.with_suffix(""))):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    shutil.rmtree(where, ignore_errors=True)


def environ(runtime: Path, switch: str = "1") -> dict[str, str]:
    return {**os.environ, server.SWITCH: switch, server.RUNTIME_DIR: str(runtime)}


def cg(
    cwd: Path, env: dict[str, str], *argv: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as the hook and users run it."""
    return subprocess.run(
        [str(BIN / "convergio-gate"), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def status(runtime: Path) -> dict[str, object]:
    proc = cg(ROOT, environ(runtime), "server", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout)
    return found


def start(runtime: Path) -> dict[str, object]:
    proc = cg(ROOT, environ(runtime), "server", "start", "--json")
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout)
    assert found["running"] is True
    return found


def wait_for(runtime: Path, running: bool, seconds: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        state = status(runtime)
        if state["running"] is running or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def timeless(output: str) -> str:
    """``output`` without the time the run took (the one thing that should differ)."""
    output = re.sub(r"\b\d+\.\d+s\b", "<s>", output)
    return re.sub(r'"seconds": [0-9.e-]+', '"seconds": <s>', output)


def dirty_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / "app.py").write_text(DIRTY)
    (repo / "test_app.py").write_text(CALLER)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "util.py").write_text(CLEAN)
    git(repo, "add", ".")
    return repo


def test_a_check_through_the_server_says_and_exits_exactly_as_one_without_it(
    tmp_path: Path, runtime: Path
) -> None:
    repo = dirty_repo(tmp_path)
    start(runtime)
    for argv in (
        ["check", "--no-record", "--no-cache", "app.py", "test_app.py"],  # refused: exit 1
        ["check", "--no-record", "--no-cache", "--format", "json", "--staged"],
        ["check", "--no-record", "--no-cache", "pkg/util.py"],  # accepted: exit 0
        ["check", "--staged", "--all-files"],  # a usage error: exit 2, on stderr
        ["-C", "pkg", "check", "--no-record", "--no-cache", "util.py"],
    ):
        served = cg(repo, environ(runtime), *argv)
        local = cg(repo, environ(runtime, "0"), *argv)
        assert (served.returncode, timeless(served.stdout), served.stderr) == (
            local.returncode,
            timeless(local.stdout),
            local.stderr,
        ), argv
    assert status(runtime)["runs"] == 5
    assert cg(repo, environ(runtime), "check", "--no-record", "app.py").returncode == 1


def test_a_served_check_runs_in_the_clients_directory_and_environment(
    tmp_path: Path, runtime: Path
) -> None:
    repo = dirty_repo(tmp_path)
    start(runtime)
    # A path relative to a subdirectory, and colour forced by the client's environment.
    env = {**environ(runtime), "FORCE_COLOR": "1"}
    del env["NO_COLOR"]
    argv = ("check", "--no-record", "--no-cache", "../app.py")
    served = cg(repo / "pkg", env, *argv)
    local = cg(repo / "pkg", {**env, server.SWITCH: "0"}, *argv)
    assert served.returncode == local.returncode == 1
    assert timeless(served.stdout) == timeless(local.stdout)
    assert "app.py" in served.stdout and "\x1b[" in served.stdout
    assert status(runtime)["runs"] == 1


def test_the_first_check_starts_a_server_and_the_next_is_served(
    tmp_path: Path, runtime: Path
) -> None:
    repo = dirty_repo(tmp_path)
    assert status(runtime)["running"] is False
    first = cg(repo, environ(runtime), "check", "--no-record", "pkg/util.py")
    assert first.returncode == 0, first.stderr
    state = wait_for(runtime, True)
    assert state["running"] is True and state["runs"] == 0
    assert cg(repo, environ(runtime), "check", "--no-record", "pkg/util.py").returncode == 0
    assert status(runtime)["runs"] == 1


def test_no_server_is_started_when_it_is_off_or_in_ci(tmp_path: Path, runtime: Path) -> None:
    repo = dirty_repo(tmp_path)
    in_ci = {**environ(runtime), "CI": "true"}
    del in_ci[server.SWITCH]
    for env in (environ(runtime, "0"), in_ci):
        assert cg(repo, env, "check", "--no-record", "pkg/util.py").returncode == 0
    time.sleep(1)
    assert list(runtime.iterdir()) == []


def test_a_socket_directory_others_can_enter_is_not_used(tmp_path: Path, runtime: Path) -> None:
    repo = dirty_repo(tmp_path)
    runtime.chmod(0o755)
    proc = cg(repo, environ(runtime), "check", "--no-record", "app.py")
    assert proc.returncode == 1 and "debt/todo" in proc.stdout
    time.sleep(1)
    assert list(runtime.iterdir()) == []
    assert cg(repo, environ(runtime), "server", "start").returncode == 2


def test_a_server_running_other_code_steps_down_and_the_check_runs_anyway(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = dirty_repo(tmp_path)
    info = start(runtime)
    monkeypatch.setenv(server.RUNTIME_DIR, str(runtime))
    # As a client whose installed files changed since the server loaded them.
    monkeypatch.setattr(server, "fingerprint", lambda: "other code")
    monkeypatch.chdir(repo)
    with pytest.raises(server.Unavailable):
        server.forward(["check", "--no-record", "app.py"])
    assert wait_for(runtime, False, 10)["running"] is False
    assert not _alive(int(str(info["pid"])))
    monkeypatch.undo()
    proc = cg(repo, environ(runtime), "check", "--no-record", "app.py")
    assert proc.returncode == 1 and "debt/todo" in proc.stdout


def test_a_client_with_another_import_path_is_not_served_by_the_running_server(
    tmp_path: Path, runtime: Path
) -> None:
    repo = dirty_repo(tmp_path)
    info = start(runtime)
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    env = {**environ(runtime), "PYTHONPATH": str(elsewhere)}
    proc = cg(repo, env, "check", "--no-record", "app.py")
    assert proc.returncode == 1 and "debt/todo" in proc.stdout
    assert not _alive(int(str(info["pid"])))  # it stepped down rather than serve


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def test_a_server_left_idle_leaves_and_removes_its_socket(runtime: Path) -> None:
    env = environ(runtime)
    proc = subprocess.run(
        [sys.executable, "-c", "from convergio_gate import server; server.spawn(idle=1)"],
        env=env,
        check=True,
    )
    assert proc.returncode == 0
    assert wait_for(runtime, True)["running"] is True
    assert wait_for(runtime, False)["running"] is False
    assert not list(runtime.glob("*.sock"))


def test_a_malformed_request_gets_no_run_and_the_server_keeps_serving(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = dirty_repo(tmp_path)
    start(runtime)
    monkeypatch.setenv(server.RUNTIME_DIR, str(runtime))
    for message in (marshal.dumps((server.PROTOCOL + 1, "run")), marshal.dumps(("run",))):
        sock = server._connect(server.socket_path())
        try:
            server._send(sock, message)
            assert sock.recv(1) == server.STALE
        finally:
            sock.close()
    sock = server._connect(server.socket_path())
    try:
        sock.sendall(b"\xff\xff\xff\xff")  # a length far over the limit: dropped
        assert sock.recv(1) == b""
    finally:
        sock.close()
    assert cg(repo, environ(runtime), "check", "--no-record", "app.py").returncode == 1
    assert status(runtime)["runs"] == 1


def test_commits_through_the_hook_are_checked_and_recorded_by_the_server(
    tmp_path: Path, runtime: Path
) -> None:
    repo = make_repo(tmp_path / "plain")
    hook = repo / ".git" / "hooks" / "pre-commit"
    shutil.copy(ROOT / "hooks" / "pre-commit", hook)
    hook.chmod(0o755)
    start(runtime)
    env = {**environ(runtime), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    (repo / "app.py").write_text(DIRTY)
    (repo / "test_app.py").write_text(CALLER)
    git(repo, "add", "app.py", "test_app.py")
    refused = subprocess.run(
        ["git", "commit", "-m", "dirty"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "debt/todo" in refused.stdout + refused.stderr
    (repo / "app.py").write_text(CLEAN)
    git(repo, "add", "app.py")
    passed = subprocess.run(
        ["git", "commit", "-m", "clean"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    decisions = [(e.kind, e.decision) for e in Chain(Git.discover(repo)).entries()]
    assert decisions == [("check", "refused"), ("check", "accepted")]
    assert status(runtime)["runs"] == 2


def test_the_server_answers_only_its_own_user_and_keeps_its_socket_private(
    runtime: Path,
) -> None:
    info = start(runtime)
    sock = Path(str(info["socket"]))
    assert sock.parent == runtime
    assert sock.stat().st_mode & 0o777 == 0o600
    assert runtime.stat().st_mode & 0o777 == 0o700


SLOW_PLUGIN = """
import os, time


class SlowGate:
    id = "slow"
    description = "takes its time"
    scope = "file"
    version = "1"

    def check(self, files, ctx):
        with open(os.environ["SLOW_MARK"], "w") as mark:
            mark.write(str(os.getpid()))
        time.sleep(60)
        return []
"""


def test_ctrl_c_at_the_client_interrupts_the_run_in_the_server(
    tmp_path: Path, runtime: Path
) -> None:
    plugins = tmp_path / "plugins"
    info = plugins / "slow_gate-1.0.dist-info"
    info.mkdir(parents=True)
    (plugins / "slow_gate.py").write_text(SLOW_PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-gate\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[convergio_gate.gates]\nslow = slow_gate:SlowGate\n")
    mark = tmp_path / "running"
    env = {**environ(runtime), "PYTHONPATH": str(plugins), "SLOW_MARK": str(mark)}
    repo = dirty_repo(tmp_path)
    assert cg(ROOT, env, "server", "start").returncode == 0
    client = subprocess.Popen(
        [str(BIN / "convergio-gate"), "check", "--gate", "slow", "--no-record", "app.py"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists(), client.communicate(timeout=5)
    assert status(runtime)["runs"] == 1  # the gate runs in the server's child
    child = int(mark.read_text())
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=20)
    assert client.returncode == 130, (out, err)
    assert "interrupted" in err
    assert not _alive(child)

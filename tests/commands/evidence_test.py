"""`evidence run|add|list`: real subprocesses, measured results, faults handled."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import CLI, run_cli

PY = sys.executable


@pytest.fixture
def task(initialized: Path, cg: CLI) -> Path:
    assert cg("plan", "create", "p1", "--title", "Plan").code == 0
    assert cg("task", "add", "p1", "t1", "--title", "Task", "--requires", "test").code == 0
    assert cg("task", "transition", "p1/t1", "in_progress").code == 0
    return initialized


def records(cg: CLI) -> list[dict[str, object]]:
    result = cg("evidence", "list", "p1/t1", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_passing_run_is_measured(task: Path, cg: CLI) -> None:
    script = "print('hello'); print('1 passed in 0.01s')"
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", script)
    assert result.code == 0, result.out + result.err
    assert "hello" in result.out and "clean" in result.out
    (record,) = records(cg)
    assert record["exit_code"] == 0 and record["fresh"] is True and record["manual"] is False
    assert record["output_sha256"] == hashlib.sha256(b"hello\n1 passed in 0.01s\n").hexdigest()
    assert record["output_tail"] == "hello\n1 passed in 0.01s\n"
    assert record["command"] == [PY, "-c", script]
    assert record["duration_s"] >= 0


def test_a_failing_run_is_recorded_as_dirty_and_exits_1(task: Path, cg: CLI) -> None:
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", "raise SystemExit(3)")
    assert result.code == 1
    (record,) = records(cg)
    assert record["exit_code"] == 3 and record["clean"] is False
    assert record["counts"]["failed"] >= 1


def test_pytest_counts_are_parsed_from_a_real_run(task: Path, cg: CLI) -> None:
    (task / "test_x.py").write_text(
        "import pytest\n\ndef test_a():\n    pass\n\ndef test_b():\n    assert 0\n\n"
        "@pytest.mark.skip\ndef test_c():\n    pass\n"
    )
    result = cg(
        "evidence",
        "run",
        "p1/t1",
        "--kind",
        "test",
        "--quiet",
        "--",
        PY,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_x.py",
    )
    assert result.code == 1
    (record,) = records(cg)
    assert record["parser"] == "pytest"
    assert record["counts"] == {"passed": 1, "failed": 1, "errors": 0, "warnings": 0, "skipped": 1}


def test_evidence_goes_stale_on_a_one_byte_change(task: Path, cg: CLI) -> None:
    assert cg("evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", "0").code == 0
    assert records(cg)[0]["fresh"] is True
    app = task / "app.py"
    original = app.read_bytes()
    app.write_bytes(original.replace(b"a + b", b"a + c"))
    assert records(cg)[0]["fresh"] is False
    result = cg("task", "transition", "p1/t1", "submitted")
    assert result.code == 1 and "stale" in result.out
    app.write_bytes(original)  # back to the tested code: fresh again
    assert records(cg)[0]["fresh"] is True
    (task / "new_untracked.py").write_text("x = 1\n")
    assert records(cg)[0]["fresh"] is False  # untracked-but-not-ignored files count
    (task / "new_untracked.py").unlink()
    (task / "ignored.pyc").write_bytes(b"\0")
    assert records(cg)[0]["fresh"] is True  # ignored files do not
    assert cg("task", "transition", "p1/t1", "submitted").code == 0


def test_changes_under_convergio_do_not_make_evidence_stale(task: Path, cg: CLI) -> None:
    assert cg("evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", "0").code == 0
    assert cg("task", "add", "p1", "t2", "--title", "Another").code == 0
    assert records(cg)[0]["fresh"] is True


def test_command_not_found(task: Path, cg: CLI) -> None:
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--", "no-such-tool-xyz", "-q")
    assert result.code == 2 and "command not found: no-such-tool-xyz" in result.err
    assert records(cg) == []


def test_a_command_killed_by_a_signal_is_not_recorded(task: Path, cg: CLI) -> None:
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", script)
    assert result.code == 2 and "killed by SIGKILL" in result.err
    assert records(cg) == []


def test_a_timeout_kills_the_whole_process_group(task: Path, cg: CLI, tmp_path: Path) -> None:
    marker = tmp_path / "child-pid"
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = cg(
        "evidence", "run", "p1/t1", "--kind", "test", "--timeout", "1", "--", PY, "-c", script
    )
    assert time.monotonic() - started < 20
    assert result.code == 2 and "ran out of time after 1s" in result.err
    assert records(cg) == []
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        status = (
            Path(f"/proc/{child}/stat").read_text().split()[2]
            if Path(f"/proc/{child}/stat").exists()
            else "X"
        )
        if status == "Z":
            break
        time.sleep(0.05)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z", "the grandchild survived"


def test_concurrent_runs_on_one_task_are_refused(task: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    slow = subprocess.Popen(
        [
            PY,
            "-m",
            "convergio_gate",
            "evidence",
            "run",
            "p1/t1",
            "--kind",
            "test",
            "--",
            PY,
            "-c",
            f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.02)",
        ],
        cwd=task,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = task / ".git" / "convergio" / "locks" / "p1--t1.lock"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            lock.exists() and lock.read_text().startswith("pid")
        ):
            time.sleep(0.02)
        second = run_cli(task, "evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", "0")
        assert second.returncode == 2
        assert "an evidence run for p1/t1 is already in progress" in second.stderr
    finally:
        go.write_text("")
        _, err = slow.communicate(timeout=30)
    assert slow.returncode == 0, err
    third = run_cli(task, "evidence", "run", "p1/t1", "--kind", "test", "--", PY, "-c", "0")
    assert third.returncode == 0, third.stderr


def test_shell_mode(task: Path, cg: CLI) -> None:
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--shell", "--", "echo a && echo b")
    assert result.code == 0 and "a\nb\n" in result.out
    assert records(cg)[0]["shell"] is True


def test_junit_counts(task: Path, cg: CLI, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuite tests="4" failures="1" errors="0" skipped="1">'
        '<testcase name="a"/><testcase name="b"><failure/></testcase>'
        '<testcase name="c"><skipped/></testcase><testcase name="d"/></testsuite>'
    )
    result = cg(
        "evidence", "run", "p1/t1", "--kind", "test", "--junit", str(report), "--", PY, "-c", "0"
    )
    assert result.code == 1
    assert records(cg)[0]["counts"] == {
        "passed": 2,
        "failed": 1,
        "errors": 0,
        "warnings": 0,
        "skipped": 1,
    }


def test_manual_evidence_is_marked_and_does_not_count(task: Path, cg: CLI) -> None:
    result = cg("evidence", "add", "p1/t1", "--kind", "test", "--exit-code", "0", "--passed", "9")
    assert result.code == 0 and "does not satisfy" in result.out
    (record,) = records(cg)
    assert record["manual"] is True and record["parser"] == "manual"
    refused = cg("task", "transition", "p1/t1", "submitted")
    assert refused.code == 1 and "typed in" in refused.out


def test_the_tail_is_the_last_lines(task: Path, cg: CLI) -> None:
    script = "for i in range(100): print(f'line {i}')"
    assert cg("evidence", "run", "p1/t1", "--kind", "test", "-q", "--", PY, "-c", script).code == 0
    tail = records(cg)[0]["output_tail"]
    assert isinstance(tail, str)
    assert tail.splitlines() == [f"line {i}" for i in range(60, 100)]


def test_no_command_after_the_separator(task: Path, cg: CLI) -> None:
    with pytest.raises(SystemExit) as info:
        cg("evidence", "run", "p1/t1", "--kind", "test")
    assert info.value.code == 2


def test_a_secret_in_the_output_is_never_recorded(task: Path, cg: CLI) -> None:
    token = "ghp_" + "Tq7ZkP2mW9xR4vB8nC1dF6gH3jK5lM0sA2uY"
    script = f"print('connecting with {token}'); print('1 passed in 0.01s')"
    result = cg("evidence", "run", "p1/t1", "--kind", "test", "--quiet", "--", PY, "-c", script)
    assert result.code == 0
    assert "secret" in result.err
    (record,) = records(cg)
    assert token not in json.dumps(record)
    assert "ghp_…(40 chars)" in record["output_tail"]
    stored = "".join(p.read_text() for p in (task / ".convergio").rglob("*.yaml"))
    assert token not in stored

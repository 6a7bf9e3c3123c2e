"""Dispatch end to end: real git worktrees, the real gates, real evidence commands, and
test doubles of the vendor CLIs (executables that parse argv like the real ones and
play a script), run as `convergio-gate dispatch` runs in a terminal or in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_github import TOKEN, FakeGitHub
from helpers import git, make_repo

from convergio_gate.audit.chain import Chain
from convergio_gate.gitio import Git

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fake_vendors"
APP = "def add(a, b):\n    return a + b\n"
TESTS = (
    "import unittest\n\nfrom app import add\n\n\nclass T(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
)
MUL_TESTS = (
    TESTS + "\n    def test_mul(self):\n        from app import mul\n"
    "        self.assertEqual(mul(2, 3), 6)\n"
)


def task_yaml(task_id: str, **fields: Any) -> str:
    doc = {
        "version": 1,
        "id": task_id,
        "title": fields.pop("title", f"Task {task_id}"),
        "runner_kind": "claude:sonnet",
        "profile": "standard",
        **fields,
    }
    return json.dumps(doc) + "\n"  # JSON is YAML


def project(tmp_path: Path, tasks: dict[str, dict[str, Any]], runners: str | None = None) -> Path:
    repo = make_repo(tmp_path / "repo", commit=False)
    (repo / "app.py").write_text(APP)
    (repo / "test_app.py").write_text(TESTS)
    (repo / ".gitignore").write_text("__pycache__/\n")
    subprocess.run(
        [sys.executable, "-m", "convergio_gate", "init"], cwd=repo, check=True, capture_output=True
    )
    plan = repo / ".convergio/plans/p"
    (plan / "tasks").mkdir(parents=True)
    (plan / "plan.yaml").write_text("version: 1\nid: p\ntitle: P\n")
    for task_id, fields in tasks.items():
        (plan / "tasks" / f"{task_id}.yaml").write_text(task_yaml(task_id, **fields))
    if runners:
        (repo / ".convergio/runners.yaml").write_text(runners)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project and plan")
    return repo


def dispatch(
    repo: Path, script: dict[str, Any], *args: str, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    script_path = repo.parent / "script.json"
    script_path.write_text(json.dumps(script))
    full_env = {**os.environ, "FAKE_VENDOR_SCRIPT": str(script_path), **(env or {})}
    for vendor in ("claude", "codex", "gemini", "copilot", "qwen"):
        full_env[f"CONVERGIO_{vendor.upper()}_BIN"] = str(FAKES / vendor)
    proc = subprocess.run(
        [sys.executable, "-m", "convergio_gate", "dispatch", "p", "--json", *args],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, events, proc.stderr


def stops(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["task"]: e["stop"] for e in events if e["event"] == "stop"}


def show(repo: Path, rev: str, path: str) -> str:
    return git(repo, "show", f"{rev}:{path}")


UNITTEST = [f"{sys.executable} -m unittest -q"]


def test_refused_round_is_fed_back_and_the_task_converges(tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        {
            "mul": {
                "title": "Add mul",
                "requires": ["test"],
                "verify": UNITTEST,
                "files": ["app.py", "test_app.py"],
            }
        },
    )
    script = {
        "mul": [
            {
                "write": {
                    "app.py": APP + "\n\ndef mul(a, b):\n    # TODO: handle floats\n"
                    "    return a + b\n",
                    "test_app.py": MUL_TESTS,
                }
            },
            {
                "expect_prompt_contains": ["debt/todo", "app.py:6", "test evidence is not clean"],
                "write": {"app.py": APP + "\n\ndef mul(a, b):\n    return a * b\n"},
            },
        ]
    }
    code, events, err = dispatch(repo, script)
    assert code == 0, err
    assert stops(events) == {"p/mul": "converged"}
    branch = "convergio/p/mul"
    task = show(repo, branch, ".convergio/plans/p/tasks/mul.yaml")
    assert "status: submitted" in task
    evidence = git(
        repo, "ls-tree", "-r", "--name-only", branch, ".convergio/plans/p/evidence/mul/"
    ).split()
    assert len(evidence) == 2  # round 1 (failing) and round 2 (clean)
    assert "a * b" in show(repo, branch, "app.py")
    assert "mul" not in (repo / "app.py").read_text()  # the main worktree is untouched
    rounds = [e for e in Chain(Git.discover(repo)).entries() if e.kind == "dispatch"]
    assert [e.decision for e in rounds] == ["refused", "converged", "stopped: converged"]
    first = rounds[0]
    assert first.data["runner"] == "claude:sonnet" and first.data["exit"] == 0
    assert first.data["cost_usd"] == pytest.approx(0.01)
    assert not any("Add mul" in a or "TODO" in a for a in first.data["argv"])  # no prompt
    assert "debt/todo app.py:6" in first.reasons


def test_a_task_that_never_converges_stops_at_its_rounds(tmp_path: Path) -> None:
    repo = project(tmp_path, {"t": {"max_rounds": 2}})
    script = {
        "t": [
            {"write": {"app.py": APP + "# FIXME round one\n"}},
            {"write": {"app.py": APP + "# FIXME round two\n"}},
        ]
    }
    code, events, _ = dispatch(repo, script)
    assert code == 1 and stops(events) == {"p/t": "rounds"}
    assert [e["round"] for e in events if e["event"] == "round"] == [1, 2]


def test_a_hung_cli_is_killed_at_its_timeout_with_its_children(tmp_path: Path) -> None:
    repo = project(tmp_path, {"t": {"timeout_s": 3}})
    started = time.monotonic()
    code, events, _ = dispatch(repo, {"t": [{"sleep": 60, "spawn_sleeper": True}]})
    assert time.monotonic() - started < 40
    assert code == 1 and stops(events) == {"p/t": "time"}
    child = int((tmp_path / "child-t-1.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the CLI's child outlived the kill"


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_the_cost_budget_stops_the_task(tmp_path: Path) -> None:
    repo = project(tmp_path, {"t": {"max_budget_usd": 1.0, "max_rounds": 5}})
    code, events, _ = dispatch(
        repo, {"t": [{"cost_usd": 3.5, "write": {"app.py": APP + "# TODO\n"}}]}
    )
    assert code == 1 and stops(events) == {"p/t": "money"}
    argv = json.loads((tmp_path / "argv-t-1.json").read_text())["argv"]
    assert "--max-budget-usd" in argv  # passed where the CLI supports it


def test_a_read_only_run_that_edits_is_refused_and_reverted(tmp_path: Path) -> None:
    repo = project(tmp_path, {"look": {"profile": "read_only", "max_rounds": 2}})
    script = {
        "look": [
            {"write": {"notes.md": "I was told not to write\n"}, "ignore_mode": True},
            {"message": "looked, changed nothing"},
        ]
    }
    code, events, _ = dispatch(repo, script)
    assert stops(events) == {"p/look": "converged"}
    assert code == 0
    files = git(repo, "ls-tree", "-r", "--name-only", "convergio/p/look").split()
    assert "notes.md" not in files
    refusal = next(
        e
        for e in Chain(Git.discover(repo)).entries()
        if e.kind == "dispatch" and e.decision == "refused"
    )
    assert "read_only run edited 1 files (notes.md)" in refusal.reasons[0]
    argv = json.loads((tmp_path / "argv-look-1.json").read_text())["argv"]
    assert argv[argv.index("--permission-mode") + 1] == "plan"


def test_disjoint_leases_run_in_one_wave_in_parallel(tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        {
            "a": {"files": ["a/**"], "runner_kind": "codex:gpt-5-codex"},
            "b": {"files": ["b/**"], "runner_kind": "gemini:pro"},
        },
    )
    script = {
        "a": [{"write": {"a/x.md": "a\n"}, "sleep": 1}],
        "b": [{"write": {"b/y.md": "b\n"}, "sleep": 1}],
    }
    code, events, err = dispatch(repo, script, "--parallel", "2")
    assert code == 0, err
    waves = [e["tasks"] for e in events if e["event"] == "wave"]
    assert waves == [["p/a", "p/b"]]
    assert stops(events) == {"p/a": "converged", "p/b": "converged"}


def test_overlapping_leases_are_serialized(tmp_path: Path) -> None:
    repo = project(tmp_path, {"a": {"files": ["src/**"]}, "b": {"files": ["src/x.py"]}})
    code, events, _ = dispatch(repo, {"a": [{}], "b": [{}]}, "--parallel", "2")
    assert code == 0
    assert [e["tasks"] for e in events if e["event"] == "wave"] == [["p/a"], ["p/b"]]


def test_a_failed_dependency_blocks_its_dependents(tmp_path: Path) -> None:
    repo = project(tmp_path, {"base": {}, "next": {"depends_on": ["base"]}, "free": {}})
    script = {"base": [{"error": "Not logged in", "exit_code": 1}], "free": [{}], "next": [{}]}
    code, events, _ = dispatch(repo, script)
    assert code == 1
    assert stops(events) == {"p/base": "runner_failed", "p/free": "converged", "p/next": "blocked"}
    blocked = next(e for e in events if e["event"] == "stop" and e["task"] == "p/next")
    assert "base (runner_failed)" in blocked["detail"]


def test_a_custom_vendor_from_runners_yaml_needs_no_code(tmp_path: Path) -> None:
    qwen = (ROOT / "rules" / "runners.yaml").read_text()
    start = qwen.index("  qwen:")
    entry = qwen[start:].replace("  qwen:", "  acme:", 1)
    runners = "version: 1\nvendors:\n" + entry.replace(
        "executable: qwen", f"executable: {FAKES / 'qwen'}"
    )
    repo = project(tmp_path, {"t": {"runner_kind": "acme:any-model"}}, runners=runners)
    code, events, err = dispatch(repo, {"t": [{"message": "done by acme"}]})
    assert code == 0, err
    assert stops(events) == {"p/t": "converged"}


def test_dispatch_mode_opens_a_pull_request_per_converged_task(tmp_path: Path) -> None:
    repo = project(tmp_path, {"t": {}, "u": {"max_rounds": 1}})
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    with FakeGitHub() as gh:
        gh.add_repo("acme/app")
        env = {
            "GITHUB_REPOSITORY": "acme/app",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_URL": gh.url,
            "CONVERGIO_GITHUB_BACKOFF": "0.01",
            "CONVERGIO_BASE_BRANCH": "main",
        }
        script = {"t": [{}], "u": [{"write": {"app.py": APP + "# TODO\n"}}]}
        code, _events, err = dispatch(repo, script, "--open-pull-requests", env=env)
        pulls = gh.pulls("acme/app")
    assert code == 1, err  # u did not converge
    assert [(p["head_ref"], p["base_ref"]) for p in pulls] == [("convergio/p/t", "main")]
    assert "convergio/p/t" in git(remote, "branch", "--list")


def test_uncommitted_plans_are_refused(tmp_path: Path) -> None:
    repo = project(tmp_path, {"t": {}})
    (repo / ".convergio/plans/p/tasks/t.yaml").write_text(task_yaml("t", title="changed"))
    code, _, err = dispatch(repo, {"t": [{}]})
    assert code == 2 and "not committed" in err


def test_the_planner_falls_back_on_an_invalid_answer(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    subprocess.run(
        [sys.executable, "-m", "convergio_gate", "init"], cwd=repo, check=True, capture_output=True
    )
    (tmp_path / "goal.md").write_text("# Ship it\n- [ ] Write the code\n- [ ] Write the docs\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"message": "Sure! I would split it into two parts."}]))
    env = {
        **os.environ,
        "FAKE_VENDOR_SCRIPT": str(script),
        "CONVERGIO_CLAUDE_BIN": str(FAKES / "claude"),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "convergio_gate",
            "plan",
            "create",
            "ship",
            "--from",
            str(tmp_path / "goal.md"),
            "--planner",
            "claude:opus",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "not usable" in proc.stderr and "deterministically" in proc.stderr
    assert "with 2 tasks" in proc.stdout
    argv = json.loads((tmp_path / "argv-1.json").read_text())["argv"]
    assert argv[argv.index("--permission-mode") + 1] == "plan"  # asked read-only
    good = {
        "tasks": [
            {"id": "code", "title": "Write the code"},
            {"id": "docs", "title": "Write the docs", "depends_on": ["code"]},
        ]
    }
    script.write_text(json.dumps([{"message": json.dumps(good)}]))
    (tmp_path / "script.json.state").unlink()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "convergio_gate",
            "plan",
            "create",
            "ship2",
            "--from",
            str(tmp_path / "goal.md"),
            "--planner",
            "claude:opus",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "docs" in proc.stdout and "(after code)" in proc.stdout

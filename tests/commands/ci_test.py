"""`convergio-gate ci` end to end, run the way the action runs it.

A real bare remote, a base branch and a pull request branch, an event payload shaped like
GitHub's, the local fake GitHub API, and the action's own `run:` steps taken from
action.yml and executed with bash in the environment the runner gives them: the install
step once per session into its own virtualenv, the gate step for every scenario.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml_loader
from fake_github import TOKEN, FakeGitHub
from helpers import git

from convergio_gate.audit.chain import NOTES_REF, Chain
from convergio_gate.audit.entry import Draft
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/app"
BOT = {
    "GIT_AUTHOR_NAME": "CI",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "CI",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
}


def action() -> dict[str, Any]:
    return yaml_loader.load(ROOT / "action.yml")


@pytest.fixture(scope="session")
def action_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv set up by the action's own install step (dependencies come from the
    test environment through a .pth file, so only convergio-gate itself is installed)."""
    venv = tmp_path_factory.mktemp("action-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    step = next(s for s in action()["runs"]["steps"] if "pip install" in s.get("run", ""))
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ACTION_PATH": str(ROOT),
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv / "bin"


def expand(value: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        scope, name = match.group(1), match.group(2)
        return inputs[name] if scope == "inputs" else github[name]

    return re.sub(r"\$\{\{\s*(inputs|github)\.([A-Za-z_-]+)\s*\}\}", sub, str(value))


@dataclass
class Run:
    code: int
    out: str
    err: str
    summary: str
    outputs: dict[str, str]


@dataclass
class World:
    tmp: Path
    remote: Path
    work: Path
    gh: FakeGitHub
    bin: Path
    number: int = 0

    def commit(self, files: dict[str, str], message: str, branch: str = "main") -> str:
        if git(self.work, "symbolic-ref", "--short", "HEAD").strip() != branch:
            git(self.work, "checkout", "-q", branch)
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", branch)
        return git(self.work, "rev-parse", "HEAD").strip()

    def branch(self, name: str) -> None:
        git(self.work, "checkout", "-q", "-B", name, "origin/main")

    def pull(self, head_ref: str, *, fork: bool = False) -> dict[str, Any]:
        self.number += 1
        base = git(self.work, "rev-parse", "origin/main").strip()
        head = git(self.work, "rev-parse", head_ref).strip()
        head_repo = "stranger/app" if fork else REPO
        self.gh.add_pull(
            REPO,
            self.number,
            base_sha=base,
            head_sha=head,
            head_ref=head_ref,
            head_repo=head_repo,
            user="agent",
        )
        return {
            "action": "synchronize",
            "number": self.number,
            "pull_request": {
                "number": self.number,
                "user": {"login": "agent"},
                "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},
                "head": {"sha": head, "ref": head_ref, "repo": {"full_name": head_repo}},
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
        }

    def checkout(self, sha: str, name: str) -> Path:
        where = self.tmp / name
        git(self.tmp, "clone", "-q", str(self.remote), str(where))
        git(where, "fetch", "-q", "origin", sha)
        git(where, "checkout", "-q", sha)
        return where

    def run_action(
        self,
        event_name: str,
        payload: dict[str, Any],
        sha: str,
        *,
        ref: str = "refs/heads/main",
        inputs: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
        name: str = "ci",
    ) -> Run:
        checkout = self.checkout(sha, f"{name}-{self.number}-{event_name}")
        event = self.tmp / f"{name}-event.json"
        event.write_text(json.dumps(payload))
        summary = self.tmp / f"{name}-summary.md"
        outputs = self.tmp / f"{name}-outputs.txt"
        summary.write_text("")
        outputs.write_text("")
        spec = action()
        values = {k: str(v.get("default", "")) for k, v in spec["inputs"].items()}
        values.update(inputs or {})
        github = {"action_path": str(ROOT), "token": TOKEN}
        values = {k: expand(v, values, github) for k, v in values.items()}
        step = next(s for s in spec["runs"]["steps"] if s.get("id") == "gate")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
        env.update(BOT)
        env.update({k: expand(v, values, github) for k, v in step.get("env", {}).items()})
        env.update(
            {
                "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": event_name,
                "GITHUB_EVENT_PATH": str(event),
                "GITHUB_REPOSITORY": REPO,
                "GITHUB_SHA": sha,
                "GITHUB_REF": ref,
                "GITHUB_RUN_ID": "4242",
                "GITHUB_ACTOR": "agent",
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_API_URL": self.gh.url,
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_OUTPUT": str(outputs),
                "GITHUB_ACTION_PATH": str(ROOT),
                "CONVERGIO_GITHUB_BACKOFF": "0.01",
                **(extra_env or {}),
            }
        )
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        values_out = dict(
            line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, summary.read_text(), values_out)


@pytest.fixture
def world(tmp_path: Path, action_python: Path) -> World:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    gh = FakeGitHub(login=None).start()
    w = World(tmp_path, remote, work, gh, action_python)
    git(work, "checkout", "-q", "-b", "main")
    subprocess.run(
        [sys.executable, "-m", "convergio_gate", "init"], cwd=work, check=True, capture_output=True
    )
    w.commit(
        {
            "app.py": "def add(a, b):\n    return a + b\n",
            "test_app.py": "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            ".gitignore": "__pycache__/\n",
        },
        "base",
    )
    yield w
    gh.stop()


def comment_of(w: World) -> str:
    (only,) = w.gh.comments(REPO, w.number)
    return str(only["body"])


def test_a_clean_pull_request_passes(world: World) -> None:
    world.branch("feature")
    world.commit({"app.py": "def add(a, b):\n    return b + a\n"}, "commute", "feature")
    payload = world.pull("feature")
    run = world.run_action("pull_request", payload, payload["pull_request"]["head"]["sha"])
    assert run.code == 0, run.out + run.err
    assert run.outputs["decision"] == "accepted"
    assert "✅ convergio-gate: accepted" in comment_of(world)
    (status,) = world.gh.statuses(REPO, payload["pull_request"]["head"]["sha"])
    assert status["state"] == "success" and status["context"] == "convergio-gate"
    assert len(run.outputs["chain-head"]) == 64
    assert run.outputs["chain-head"] in run.summary


def test_a_todo_is_refused_and_the_comment_explains(world: World) -> None:
    world.branch("feature")
    world.commit(
        {"app.py": "def add(a, b):\n    # TODO: handle overflow\n    return a + b\n"},
        "todo",
        "feature",
    )
    payload = world.pull("feature")
    sha = payload["pull_request"]["head"]["sha"]
    run = world.run_action("pull_request", payload, sha)
    assert run.code == 1, run.out + run.err
    body = comment_of(world)
    assert "❌ convergio-gate: refused" in body
    assert "`app.py:2`" in body and "debt" in body
    assert "::error file=app.py,line=2" in run.out
    assert world.gh.statuses(REPO, sha)[-1]["state"] == "failure"
    # a second run edits the same comment: never a second one
    run = world.run_action("pull_request", payload, sha, name="again")
    assert run.code == 1
    assert len(world.gh.comments(REPO, world.number)) == 1
    assert len(world.gh.requests_matching("PATCH", r"/issues/comments/")) <= 1


def test_a_submitted_claim_without_evidence_is_refused(world: World) -> None:
    world.branch("claim")
    task = "version: 1\nid: t1\ntitle: Fix add\nstatus: submitted\nrequires: [test]\n"
    world.commit(
        {
            ".convergio/plans/p/plan.yaml": "version: 1\nid: p\ntitle: P\n",
            ".convergio/plans/p/tasks/t1.yaml": task,
        },
        "claim",
        "claim",
    )
    payload = world.pull("claim")
    run = world.run_action("pull_request", payload, payload["pull_request"]["head"]["sha"])
    assert run.code == 1
    assert run.outputs["refused-tasks"] == "p/t1"
    body = comment_of(world)
    assert "Task claims" in body and "no test evidence" in body


def test_switching_a_gate_off_is_refused_without_approval(world: World) -> None:
    world.branch("weaken")
    config = (world.work / ".convergio/config.yaml").read_text()
    weakened = config.replace("debt: {enabled: true", "debt: {enabled: false")
    assert weakened != config
    world.commit(
        {
            ".convergio/config.yaml": weakened,
            "app.py": "def add(a, b):\n    # TODO later\n    return a + b\n",
        },
        "weaken",
        "weaken",
    )
    payload = world.pull("weaken")
    sha = payload["pull_request"]["head"]["sha"]
    run = world.run_action("pull_request", payload, sha)
    assert run.code == 1
    body = comment_of(world)
    assert "protected-change" in body and ".convergio/config.yaml" in body
    assert "`app.py:2`" in body  # judged with the base config: debt still on
    # a maintainer approves: the protected change passes, the debt marker still does not
    world.gh.set_permission(REPO, "maintainer", "write")
    world.gh.add_review(REPO, world.number, "maintainer", "APPROVED", commit_id=sha)
    run = world.run_action("pull_request", payload, sha, name="approved")
    assert run.code == 1
    body = comment_of(world)
    assert "protected-change" not in body and "approved by @maintainer" in body
    git(world.work, "fetch", "-q", "origin", f"+{NOTES_REF}:{NOTES_REF}")
    chain = Chain(Git.discover(world.work))
    approvals = [e for e in chain.entries() if e.kind == "approval"]
    assert approvals and approvals[-1].data["approvers"] == ["maintainer"]


def test_a_fork_pull_request_is_read_only_and_pushes_nothing(world: World) -> None:
    world.branch("fork")
    world.commit({"app.py": "def add(a, b):\n    # FIXME\n    return a + b\n"}, "f", "fork")
    payload = world.pull("fork", fork=True)
    world.gh.set_read_only()
    before = git(world.remote, "for-each-ref", "refs/notes").strip()
    run = world.run_action("pull_request", payload, payload["pull_request"]["head"]["sha"])
    assert run.code == 1
    assert "::error file=app.py,line=2" in run.out
    assert "refused" in run.summary
    assert git(world.remote, "for-each-ref", "refs/notes").strip() == before
    assert "fork" in run.summary


def test_concurrent_merge_jobs_lose_nothing(world: World) -> None:
    shas = []
    for n in (1, 2):
        task = f"version: 1\nid: t{n}\ntitle: T{n}\nstatus: submitted\nrequires: []\n"
        shas.append(
            world.commit(
                {
                    ".convergio/plans/p/plan.yaml": "version: 1\nid: p\ntitle: P\n",
                    f".convergio/plans/p/tasks/t{n}.yaml": task,
                },
                f"land {n}",
            )
        )
    results: list[Run] = []

    def job(n: int) -> None:
        payload = {
            "before": shas[0] if n else git(world.work, "rev-parse", f"{shas[0]}~1").strip(),
            "after": shas[n],
            "repository": {"full_name": REPO, "default_branch": "main"},
        }
        results.append(world.run_action("push", payload, shas[n], name=f"merge{n}"))

    threads = [threading.Thread(target=job, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.code for r in results] == [0, 0], [r.out + r.err for r in results]
    fresh = world.tmp / "fresh"
    git(world.tmp, "clone", "-q", str(world.remote), str(fresh))
    git(fresh, "fetch", "-q", "origin", f"{NOTES_REF}:{NOTES_REF}")
    read = Chain(Git.discover(fresh)).read([NOTES_REF])
    assert verify(read).ok
    accepted = sorted(e.subject for e in read.entries if e.kind == "accept")
    assert accepted == ["p/t1", "p/t2"]


def test_a_forged_unsigned_acceptance_is_rejected_by_verify(world: World, tmp_path: Path) -> None:
    key = tmp_path / "ci_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", str(key)],
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    public = (tmp_path / "ci_key.pub").read_text().split()
    config = (world.work / ".convergio/config.yaml").read_text()
    config = config.replace(
        '  trusted_signers: ""', f'  trusted_signers: "ci@github-actions {public[0]} {public[1]}"'
    )
    config = config.replace("require_signed_acceptance: false", "require_signed_acceptance: true")
    task = "version: 1\nid: t1\ntitle: T1\nstatus: submitted\nrequires: []\n"
    sha = world.commit(
        {
            ".convergio/config.yaml": config,
            ".convergio/plans/p/plan.yaml": "version: 1\nid: p\ntitle: P\n",
            ".convergio/plans/p/tasks/t1.yaml": task,
            ".convergio/plans/p/tasks/t2.yaml": task.replace("t1", "t2").replace(
                "requires: []", "requires: [test]"
            ),
        },
        "land",
    )
    payload = {
        "before": git(world.work, "rev-parse", f"{sha}~1").strip(),
        "after": sha,
        "repository": {"full_name": REPO, "default_branch": "main"},
    }
    run = world.run_action(
        "push", payload, sha, extra_env={"CONVERGIO_SIGNING_KEY": key.read_text()}
    )
    assert run.code == 0, run.out + run.err
    # a contributor who can push forges an acceptance for t2 (CI never signed one)
    contributor = world.tmp / "contributor"
    git(world.tmp, "clone", "-q", str(world.remote), str(contributor))
    git(contributor, "fetch", "-q", "origin", f"+{NOTES_REF}:{NOTES_REF}")
    me = Identity("Mallory", "mallory@example.com")
    Chain(Git.discover(contributor)).append(
        Draft("accept", "p/t2", "accepted", "github-actions (ci, run 1)", ("looks fine",), {}), me
    )
    git(contributor, "push", "-q", "origin", NOTES_REF)
    checker = world.tmp / "checker"
    git(world.tmp, "clone", "-q", str(world.remote), str(checker))
    git(checker, "fetch", "-q", "origin", f"{NOTES_REF}:{NOTES_REF}")
    proc = subprocess.run(
        [sys.executable, "-m", "convergio_gate", "verify", "--json"],
        cwd=checker,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert report["untrusted_acceptances"] and "p/t2" in report["untrusted_acceptances"][0]
    # CI signed both of its entries: t1 accepted, t2 refused (no test evidence)
    assert report["signatures"]["valid"] == {"ci@github-actions": 2}
    status = subprocess.run(
        [sys.executable, "-m", "convergio_gate", "status", "--json"],
        cwd=checker,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = {r["task"]: r for r in json.loads(status.stdout)["tasks"]}
    assert rows["p/t1"]["effective_status"] == "done"
    assert rows["p/t2"]["effective_status"] == "submitted"


def test_replay_refuses_evidence_that_does_not_reproduce(world: World) -> None:
    world.branch("forged")
    world.commit({"app.py": "def add(a, b):\n    return a + b + 0\n"}, "code", "forged")
    g = Git.discover(world.work)
    tree = g.code_tree_of_commit(g.resolve_commit("HEAD"))
    task = (
        "version: 1\nid: t1\ntitle: T1\nstatus: submitted\nrequires: [test]\nhistory:\n"
        "  - {at: '2026-11-21T09:00:00Z', from: pending, to: in_progress, by: agent}\n"
        "  - {at: '2026-11-21T10:00:00Z', from: in_progress, to: submitted, by: agent}\n"
    )
    record = (
        "version: 1\ntask: p/t1\nkind: test\n"
        f"command: [{sys.executable}, -c, 'import sys; sys.exit(1)']\n"
        "exit_code: 0\nstarted: '2026-11-21T10:00:00Z'\nduration_s: 0.1\n"
        f"tree: '{tree}'\noutput_sha256: '{'0' * 64}'\ncounts: {{passed: 1}}\n"
    )
    world.commit(
        {
            ".convergio/plans/p/plan.yaml": "version: 1\nid: p\ntitle: P\n",
            ".convergio/plans/p/tasks/t1.yaml": task,
            ".convergio/plans/p/evidence/t1/20261121T100000000000Z-test.yaml": record,
        },
        "claim with typed-in evidence",
        "forged",
    )
    payload = world.pull("forged")
    sha = payload["pull_request"]["head"]["sha"]
    plain = world.run_action("pull_request", payload, sha, name="plain")
    assert plain.code == 0, plain.out + plain.err  # the record alone looks fine
    replayed = world.run_action(
        "pull_request", payload, sha, inputs={"replay": "on"}, name="replay"
    )
    assert replayed.code == 1
    assert "not-reproduced" in comment_of(world)
    assert replayed.outputs["refused-tasks"] == "p/t1"


def test_dispatch_mode_runs_the_plan_and_opens_pull_requests(world: World) -> None:
    fakes = ROOT / "tests" / "fake_vendors"
    task = (
        '{"version": 1, "id": "t", "title": "T", "runner_kind": "claude:sonnet", '
        '"files": ["notes.md"]}\n'
    )
    world.commit(
        {
            ".convergio/plans/p/plan.yaml": "version: 1\nid: p\ntitle: P\n",
            ".convergio/plans/p/tasks/t.yaml": task,
        },
        "plan",
    )
    script = world.tmp / "script.json"
    script.write_text(json.dumps({"t": [{"write": {"notes.md": "written by the agent\n"}}]}))
    payload = {"inputs": {"plan": "p"}, "repository": {"full_name": REPO, "default_branch": "main"}}
    world.gh.add_repo(REPO)
    sha = git(world.work, "rev-parse", "HEAD").strip()
    run = world.run_action(
        "workflow_dispatch",
        payload,
        sha,
        inputs={"mode": "dispatch", "plan": "p"},
        extra_env={
            "FAKE_VENDOR_SCRIPT": str(script),
            "CONVERGIO_CLAUDE_BIN": str(fakes / "claude"),
        },
    )
    assert run.code == 0, run.out + run.err
    assert [(p["head_ref"], p["base_ref"]) for p in world.gh.pulls(REPO)] == [
        ("convergio/p/t", "main")
    ]
    assert "convergio/p/t" in git(world.remote, "branch", "--list")

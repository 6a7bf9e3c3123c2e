"""What GitHub Actions tells a job: the event, the repository, the run.

Read from the ``GITHUB_*`` environment variables and the event payload at
``GITHUB_EVENT_PATH`` (the same JSON GitHub sends to webhooks). Only what the tool uses
is kept; anything missing that it needs is a clear error naming the variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convergio_gate.errors import UsageError

PULL_EVENTS = frozenset({"pull_request", "pull_request_target"})


@dataclass(frozen=True)
class Pull:
    number: int
    base_sha: str
    head_sha: str
    base_ref: str
    head_ref: str
    base_repo: str
    head_repo: str
    author: str

    @property
    def fork(self) -> bool:
        return self.head_repo != self.base_repo


@dataclass(frozen=True)
class Event:
    name: str
    repo: str
    sha: str
    ref: str
    default_branch: str
    server_url: str
    run_id: str
    pull: Pull | None = None
    before: str | None = None  # push: the previous tip of the branch
    inputs: dict[str, Any] = field(default_factory=dict)  # workflow_dispatch
    actor: str = ""

    @property
    def is_pull(self) -> bool:
        return self.name in PULL_EVENTS and self.pull is not None

    @property
    def on_default_branch(self) -> bool:
        return self.ref == f"refs/heads/{self.default_branch}"

    @property
    def run_url(self) -> str:
        if not self.run_id:
            return ""
        return f"{self.server_url}/{self.repo}/actions/runs/{self.run_id}"


def _need(env: Mapping[str, str], key: str) -> str:
    value = env.get(key, "")
    if not value:
        raise UsageError(
            f"{key} is not set: `convergio-gate ci` runs inside GitHub Actions",
            fix="run it from a workflow (see docs/ci.md), or set the GITHUB_* variables "
            "by hand to try it locally",
        )
    return value


def load(env: Mapping[str, str] | None = None) -> Event:
    env = os.environ if env is None else env
    name = _need(env, "GITHUB_EVENT_NAME")
    path = Path(_need(env, "GITHUB_EVENT_PATH"))
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from None
    if not isinstance(payload, dict):
        raise UsageError(f"the event payload {path} is not a JSON object")
    repo_info = payload.get("repository") or {}
    repo = env.get("GITHUB_REPOSITORY") or str(repo_info.get("full_name", ""))
    if not repo:
        raise UsageError("GITHUB_REPOSITORY is not set and the payload names no repository")
    pull = None
    if name in PULL_EVENTS:
        pull = _pull(payload, repo, path)
    return Event(
        name=name,
        repo=repo,
        sha=env.get("GITHUB_SHA", ""),
        ref=env.get("GITHUB_REF", ""),
        default_branch=str(repo_info.get("default_branch") or "main"),
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com"),
        run_id=env.get("GITHUB_RUN_ID", ""),
        pull=pull,
        before=payload.get("before") if name == "push" else None,
        inputs=dict(payload.get("inputs") or {}),
        actor=env.get("GITHUB_ACTOR", ""),
    )


def _pull(payload: dict[str, Any], repo: str, path: Path) -> Pull:
    pr = payload.get("pull_request")
    try:
        if not isinstance(pr, dict):
            raise TypeError("no pull_request object")
        base, head = pr["base"], pr["head"]
        return Pull(
            number=int(pr["number"]),
            base_sha=str(base["sha"]),
            head_sha=str(head["sha"]),
            base_ref=str(base["ref"]),
            head_ref=str(head["ref"]),
            base_repo=str((base.get("repo") or {}).get("full_name") or repo),
            head_repo=str((head.get("repo") or {}).get("full_name") or repo),
            author=str((pr.get("user") or {}).get("login", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise UsageError(
            f"the event payload {path} has no usable pull_request "
            "(number, base.sha, head.sha, base.ref, head.ref)"
        ) from None

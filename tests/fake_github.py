"""A small GitHub REST API on 127.0.0.1, for tests that must not mock the network.

The GitHub client (``convergio_gate/github/api.py``) is PyGithub plus our own retries,
error messages and comment de-duplication; all of that lives in how real HTTP answers
are handled (status codes, headers, Link pagination, JSON shapes), which a mocked
PyGithub would skip. So the tests talk to this server instead: it speaks the part of the
API the tool uses, with the fields PyGithub reads, checks the token, paginates like
GitHub (``per_page``/``page`` and a ``Link`` header), records every request, and can be
told to fail the next matching requests (rate limits, 5xx) to exercise the retries.

Used two ways:

- in-process: ``with FakeGitHub() as gh:`` then pass ``gh.url`` as the API URL (or set
  ``GITHUB_API_URL``); seed state with ``add_pull``, ``add_comment``, ``add_review``,
  ``set_permission``; inspect ``gh.requests``, ``gh.comments(...)``, ``gh.statuses(...)``.
- as a subprocess, for end-to-end tests that run the tool as a separate process::

      python tests/fake_github.py --port 0 --state state.json --log requests.json

  prints its URL on the first line of stdout, then serves until killed; ``state.json``
  holds the same seed as ``FakeGitHub.load_state`` takes, and the request log is
  rewritten (atomically) after every request.

``prefix="/api/v3"`` mounts the API under a path, as GitHub Enterprise Server does.
The Authorization header is never logged as sent: the log says whether it was right.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

TOKEN = "fake-token"
MAX_COMMENT = 65_536
MAX_STATUS_DESCRIPTION = 140
MAX_LISTED_FILES = 3000  # GitHub lists no more files of a pull request than this
STATES = ("error", "failure", "pending", "success")
EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z: timestamps are deterministic
NOT_ACCESSIBLE = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest"


def stamp(seq: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + seq))


def fake_sha(text: str) -> str:
    """A stable 40-hex "commit" for a ref that was not given one."""
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    times: int
    body: dict[str, Any] | None
    after: bool


class Reply(Exception):
    """Raised by a route to answer with an error status."""

    def __init__(
        self, status: int, message: str, *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            self.body["errors"] = errors


@dataclass
class Page:
    """A list answer that is paginated like GitHub's."""

    items: list[dict[str, Any]]


@dataclass
class State:
    token: str = TOKEN
    login: str | None = "gate-bot"
    user_type: str = "User"
    read_only: bool = False
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    permissions: dict[tuple[str, str], str] = field(default_factory=dict)
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    seq: int = 0

    def next_id(self) -> int:
        self.seq += 1
        return self.seq


class FakeGitHub:
    """The server and its state. Every public method is thread-safe."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        login: str | None = "gate-bot",
        user_type: str = "User",
        prefix: str = "",
        log: Path | None = None,
    ) -> None:
        """``login`` is the token's user as ``GET /user`` reports it; ``None`` answers
        that call with 403, as GitHub does for the Actions token (an app installation).
        """
        self.state = State(token=token, login=login, user_type=user_type)
        self.prefix = prefix.rstrip("/")
        self.log = log
        self.requests: list[dict[str, Any]] = []
        self.max_listed_files = MAX_LISTED_FILES
        """GitHub's cap on a pull request's file list; lower it to test the cut cheaply."""
        self.server_log: list[str] = []
        """http.server's access log lines, for debugging a failing test."""
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- life cycle ---------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeGitHub:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        # Join the request threads on close instead of leaving them to die with the
        # process: a test that ends must not leave a half-answered socket behind.
        server.daemon_threads = False
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}{self.prefix}"
        # A short poll interval: stop() waits for the serving loop to notice, once a test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-github"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def web(self) -> str:
        """Where html_url links point: the server's root, as github.com is to the API."""
        return self.url[: len(self.url) - len(self.prefix)] if self.prefix else self.url

    # -- seeding ------------------------------------------------------------------------

    def add_repo(self, full_name: str, *, private: bool = False) -> dict[str, Any]:
        with self._lock:
            if full_name not in self.state.repos:
                owner, name = full_name.split("/")
                self.state.repos[full_name] = {
                    "id": self.state.next_id(),
                    "owner": owner,
                    "name": name,
                    "private": private,
                    "default_branch": "main",
                    "branches": {},
                }
            return self.state.repos[full_name]

    def add_pull(
        self,
        repo: str,
        number: int,
        *,
        base_ref: str = "main",
        head_ref: str = "feature",
        base_sha: str | None = None,
        head_sha: str | None = None,
        head_repo: str | None = None,
        user: str = "alice",
        title: str = "A change",
        body: str = "",
        files: list[str | dict[str, Any]] | None = None,
        state: str = "open",
        draft: bool = False,
    ) -> dict[str, Any]:
        """Seed a pull request; ``head_repo`` other than ``repo`` makes it a fork PR.
        ``files`` are paths or GitHub file objects (``{"filename", "status",
        "previous_filename"}``)."""
        with self._lock:
            self.add_repo(repo)
            head_repo = head_repo or repo
            self.add_repo(head_repo)
            pull = {
                "id": self.state.next_id(),
                "number": number,
                "repo": repo,
                "base_ref": base_ref,
                "base_sha": base_sha or fake_sha(f"{repo}:{base_ref}"),
                "head_ref": head_ref,
                "head_sha": head_sha or fake_sha(f"{head_repo}:{head_ref}"),
                "head_repo": head_repo,
                "user": user,
                "title": title,
                "body": body,
                "state": state,
                "draft": draft,
                "files": [f if isinstance(f, dict) else {"filename": f} for f in files or []],
                "created": self.state.next_id(),
            }
            self.state.pulls[(repo, number)] = pull
            return pull

    def add_comment(
        self, repo: str, number: int, body: str, *, user: str = "bob", user_type: str = "User"
    ) -> dict[str, Any]:
        with self._lock:
            comment = {
                "id": self.state.next_id(),
                "repo": repo,
                "number": number,
                "body": body,
                "user": user,
                "user_type": user_type,
                "created": self.state.seq,
                "updated": self.state.seq,
            }
            self.state.comments.append(comment)
            return comment

    def add_review(
        self, repo: str, number: int, user: str, state: str, *, commit_id: str | None = None
    ) -> dict[str, Any]:
        """``state``: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING."""
        with self._lock:
            pull = self.state.pulls[(repo, number)]
            review = {
                "id": self.state.next_id(),
                "user": user,
                "state": state,
                "commit_id": commit_id or pull["head_sha"],
                "submitted": self.state.seq,
            }
            self.state.reviews.setdefault((repo, number), []).append(review)
            return review

    def set_permission(self, repo: str, user: str, permission: str) -> None:
        """``permission``: admin, maintain, write, triage, read or none (as role names)."""
        with self._lock:
            self.state.permissions[(repo, user)] = permission

    def set_branch(self, repo: str, ref: str, sha: str) -> None:
        with self._lock:
            self.add_repo(repo)["branches"][ref] = sha

    def set_read_only(self, read_only: bool = True) -> None:
        """Answer every write with 403, as GitHub does for a fork PR's token."""
        with self._lock:
            self.state.read_only = read_only

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
        *,
        body: dict[str, Any] | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` requests whose method and path (relative to the API
        root, without the query) match with ``status``. ``after=True`` performs the
        request first and then answers the error, as a GitHub that created a comment and
        then timed out does: a client that retries blindly would duplicate it."""
        with self._lock:
            self._faults.append(
                Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    dict(headers or {}),
                    times,
                    body,
                    after,
                )
            )

    def load_state(self, data: dict[str, Any]) -> None:
        """Seed from JSON (the ``--state`` file): ``{"token", "login", "user_type",
        "read_only", "repos": [names], "pulls": [{repo, number, ...add_pull kwargs}],
        "comments": [{repo, number, body, user?, user_type?}], "reviews": [{repo,
        number, user, state, commit_id?}], "permissions": [{repo, user, permission}],
        "branches": [{repo, ref, sha}], "faults": [{method, path, status, headers?,
        times?, body?, after?}]}``."""
        with self._lock:
            self.state.token = data.get("token", self.state.token)
            self.state.login = data.get("login", self.state.login)
            self.state.user_type = data.get("user_type", self.state.user_type)
            self.state.read_only = data.get("read_only", self.state.read_only)
            for name in data.get("repos", []):
                self.add_repo(name)
            for pull in data.get("pulls", []):
                self.add_pull(**pull)
            for c in map(dict, data.get("comments", [])):
                self.add_comment(c.pop("repo"), c.pop("number"), c.pop("body"), **c)
            for r in map(dict, data.get("reviews", [])):
                self.add_review(r.pop("repo"), r.pop("number"), r.pop("user"), r.pop("state"), **r)
            for p in data.get("permissions", []):
                self.set_permission(p["repo"], p["user"], p["permission"])
            for b in data.get("branches", []):
                self.set_branch(b["repo"], b["ref"], b["sha"])
            for f in data.get("faults", []):
                self.fail_next(
                    f["method"],
                    f["path"],
                    f["status"],
                    f.get("headers"),
                    f.get("times", 1),
                    body=f.get("body"),
                    after=f.get("after", False),
                )

    # -- inspection ---------------------------------------------------------------------

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(c) for c in self.state.comments if c["repo"] == repo and c["number"] == number
            ]

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self.state.statuses.get((repo, sha), [])]

    def pulls(self, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(p) for (r, _), p in sorted(self.state.pulls.items()) if r == repo]

    def requests_matching(self, method: str, path_regex: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r["method"] == method.upper() and re.fullmatch(path_regex, r["path"])
            ]

    # -- JSON shapes, with the fields PyGithub reads --------------------------------------

    def _user(self, login: str, user_type: str = "User") -> dict[str, Any]:
        return {
            "login": login,
            "id": sum(map(ord, login)),
            "node_id": f"U_{login}",
            "type": user_type,
            "site_admin": False,
            "url": f"{self.url}/users/{login}",
            "html_url": f"{self.web}/{login}",
            "avatar_url": f"{self.web}/avatars/{login}",
        }

    def _repo(self, full_name: str) -> dict[str, Any]:
        repo = self.state.repos[full_name]
        return {
            "id": repo["id"],
            "node_id": f"R_{repo['id']}",
            "name": repo["name"],
            "full_name": full_name,
            "owner": self._user(repo["owner"], "Organization"),
            "private": repo["private"],
            "fork": False,
            "default_branch": repo["default_branch"],
            "html_url": f"{self.web}/{full_name}",
            "url": f"{self.url}/repos/{full_name}",
        }

    def _pull(self, pull: dict[str, Any]) -> dict[str, Any]:
        repo, number = pull["repo"], pull["number"]

        def part(which: str) -> dict[str, Any]:
            part_repo = pull["repo"] if which == "base" else pull["head_repo"]
            owner = part_repo.split("/")[0]
            return {
                "label": f"{owner}:{pull[which + '_ref']}",
                "ref": pull[which + "_ref"],
                "sha": pull[which + "_sha"],
                "user": self._user(owner, "Organization"),
                "repo": self._repo(part_repo) if part_repo in self.state.repos else None,
            }

        return {
            "id": pull["id"],
            "node_id": f"PR_{pull['id']}",
            "number": number,
            "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"],
            "draft": pull["draft"],
            "merged": False,
            "user": self._user(pull["user"]),
            "head": part("head"),
            "base": part("base"),
            "changed_files": len(pull["files"]),
            "created_at": stamp(pull["created"]),
            "updated_at": stamp(pull["created"]),
            "url": f"{self.url}/repos/{repo}/pulls/{number}",
            "html_url": f"{self.web}/{repo}/pull/{number}",
            "issue_url": f"{self.url}/repos/{repo}/issues/{number}",
            "comments_url": f"{self.url}/repos/{repo}/issues/{number}/comments",
        }

    def _comment(self, c: dict[str, Any]) -> dict[str, Any]:
        repo, number = c["repo"], c["number"]
        return {
            "id": c["id"],
            "node_id": f"IC_{c['id']}",
            "body": c["body"],
            "user": self._user(c["user"], c["user_type"]),
            "author_association": "NONE",
            "created_at": stamp(c["created"]),
            "updated_at": stamp(c["updated"]),
            "url": f"{self.url}/repos/{repo}/issues/comments/{c['id']}",
            "html_url": f"{self.web}/{repo}/pull/{number}#issuecomment-{c['id']}",
            "issue_url": f"{self.url}/repos/{repo}/issues/{number}",
        }

    def _review(self, repo: str, number: int, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "node_id": f"PRR_{r['id']}",
            "user": self._user(r["user"]),
            "body": "",
            "state": r["state"],
            "commit_id": r["commit_id"],
            "submitted_at": None if r["state"] == "PENDING" else stamp(r["submitted"]),
            "author_association": "CONTRIBUTOR",
            "html_url": f"{self.web}/{repo}/pull/{number}#pullrequestreview-{r['id']}",
            "pull_request_url": f"{self.url}/repos/{repo}/pulls/{number}",
        }

    def _file(self, repo: str, pull: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
        name = f["filename"]
        out = {
            "sha": fake_sha(name),
            "filename": name,
            "status": f.get("status", "modified"),
            "additions": 1,
            "deletions": 0,
            "changes": 1,
            "blob_url": f"{self.web}/{repo}/blob/{pull['head_sha']}/{name}",
            "raw_url": f"{self.web}/{repo}/raw/{pull['head_sha']}/{name}",
            "contents_url": f"{self.url}/repos/{repo}/contents/{name}?ref={pull['head_sha']}",
            "patch": "@@ -1 +1 @@\n-old\n+new",
        }
        if "previous_filename" in f:
            out["previous_filename"] = f["previous_filename"]
        return out

    def _status(self, repo: str, sha: str, s: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": s["id"],
            "node_id": f"SC_{s['id']}",
            "state": s["state"],
            "description": s["description"],
            "target_url": s["target_url"],
            "context": s["context"],
            "created_at": stamp(s["created"]),
            "updated_at": stamp(s["created"]),
            "creator": self._user(s["creator"]),
            "url": f"{self.url}/repos/{repo}/statuses/{sha}",
        }

    # -- routes -------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, re.Pattern[str], Any]]:
        r = r"/repos/(?P<repo>[^/]+/[^/]+)"
        table = [
            ("GET", r"/user", self._get_user),
            ("GET", rf"{r}", self._get_repo),
            ("GET", rf"{r}/pulls", self._list_pulls),
            ("POST", rf"{r}/pulls", self._create_pull),
            ("GET", rf"{r}/pulls/(?P<n>\d+)", self._get_pull),
            ("GET", rf"{r}/pulls/(?P<n>\d+)/files", self._list_files),
            ("GET", rf"{r}/pulls/(?P<n>\d+)/reviews", self._list_reviews),
            ("GET", rf"{r}/issues/(?P<n>\d+)/comments", self._list_comments),
            ("POST", rf"{r}/issues/(?P<n>\d+)/comments", self._create_comment),
            ("PATCH", rf"{r}/issues/comments/(?P<id>\d+)", self._edit_comment),
            ("POST", rf"{r}/statuses/(?P<sha>[0-9a-fA-F]{{4,40}})", self._create_status),
            ("GET", rf"{r}/commits/(?P<sha>[^/]+)/statuses", self._list_statuses),
            ("GET", rf"{r}/collaborators/(?P<user>[^/]+)/permission", self._permission),
        ]
        return [(m, re.compile(p), f) for m, p, f in table]

    def _known_repo(self, repo: str) -> str:
        if repo not in self.state.repos:
            raise Reply(404, "Not Found")
        return repo

    def _known_pull(self, repo: str, n: str) -> dict[str, Any]:
        pull = self.state.pulls.get((self._known_repo(repo), int(n)))
        if pull is None:
            raise Reply(404, "Not Found")
        return pull

    def _get_user(self, query: dict[str, str], body: Any) -> Any:
        if self.state.login is None:
            raise Reply(403, NOT_ACCESSIBLE)
        return self._user(self.state.login, self.state.user_type)

    def _get_repo(self, query: dict[str, str], body: Any, repo: str) -> Any:
        return self._repo(self._known_repo(repo))

    def _get_pull(self, query: dict[str, str], body: Any, repo: str, n: str) -> Any:
        return self._pull(self._known_pull(repo, n))

    def _list_pulls(self, query: dict[str, str], body: Any, repo: str) -> Any:
        self._known_repo(repo)
        state = query.get("state", "open")
        items = []
        for p in self.pulls(repo):
            owner = p["head_repo"].split("/")[0]
            if state != "all" and p["state"] != state:
                continue
            if "head" in query and query["head"] != f"{owner}:{p['head_ref']}":
                continue
            if "base" in query and query["base"] != p["base_ref"]:
                continue
            items.append(self._pull(p))
        return Page(items)

    def _create_pull(self, query: dict[str, str], body: Any, repo: str) -> Any:
        self._known_repo(repo)
        self._refuse_writes()
        head, base = body.get("head"), body.get("base")
        if not head or not base or not body.get("title"):
            raise Reply(422, "Validation Failed", errors=[{"code": "missing_field"}])
        owner, _, ref = head.rpartition(":")
        head_repo = f"{owner}/{repo.split('/')[1]}" if owner else repo
        owner = owner or repo.split("/")[0]
        for p in self.pulls(repo):
            if (
                p["state"] == "open"
                and p["base_ref"] == base
                and p["head_ref"] == ref
                and p["head_repo"].split("/")[0] == owner
            ):
                message = f"A pull request already exists for {owner}:{ref}."
                raise Reply(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "PullRequest", "code": "custom", "message": message}],
                )
        number = max([n for (r, n) in self.state.pulls if r == repo] + [0]) + 1
        branches = self.add_repo(head_repo)["branches"]
        pull = self.add_pull(
            repo,
            number,
            base_ref=base,
            head_ref=ref,
            head_sha=branches.get(ref),
            base_sha=self.state.repos[repo]["branches"].get(base),
            head_repo=head_repo,
            user=self.state.login or "github-actions[bot]",
            title=body["title"],
            body=body.get("body") or "",
            draft=bool(body.get("draft", False)),
        )
        return 201, self._pull(pull)

    def _list_files(self, query: dict[str, str], body: Any, repo: str, n: str) -> Any:
        pull = self._known_pull(repo, n)
        files = pull["files"][: self.max_listed_files]
        return Page([self._file(repo, pull, f) for f in files])

    def _list_reviews(self, query: dict[str, str], body: Any, repo: str, n: str) -> Any:
        self._known_pull(repo, n)
        reviews = self.state.reviews.get((repo, int(n)), [])
        return Page([self._review(repo, int(n), r) for r in reviews])

    def _list_comments(self, query: dict[str, str], body: Any, repo: str, n: str) -> Any:
        self._known_pull(repo, n)
        return Page([self._comment(c) for c in self.comments(repo, int(n))])

    def _create_comment(self, query: dict[str, str], body: Any, repo: str, n: str) -> Any:
        self._known_pull(repo, n)
        self._refuse_writes()
        text = self._comment_body(body)
        if self.state.login is None:
            user, user_type = "github-actions[bot]", "Bot"
        else:
            user, user_type = self.state.login, self.state.user_type
        comment = self.add_comment(repo, int(n), text, user=user, user_type=user_type)
        return 201, self._comment(comment)

    def _edit_comment(self, query: dict[str, str], body: Any, repo: str, id: str) -> Any:
        self._known_repo(repo)
        self._refuse_writes()
        for c in self.state.comments:
            if c["repo"] == repo and c["id"] == int(id):
                c["body"] = self._comment_body(body)
                c["updated"] = self.state.next_id()
                return self._comment(c)
        raise Reply(404, "Not Found")

    def _comment_body(self, body: Any) -> str:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise Reply(422, "Validation Failed", errors=[{"field": "body", "code": "missing"}])
        if len(text) > MAX_COMMENT:
            message = f"Body is too long (maximum is {MAX_COMMENT} characters)"
            raise Reply(422, "Validation Failed", errors=[{"code": "custom", "message": message}])
        return text

    def _create_status(self, query: dict[str, str], body: Any, repo: str, sha: str) -> Any:
        self._known_repo(repo)
        self._refuse_writes()
        state, description = body.get("state"), body.get("description")
        if state not in STATES:
            raise Reply(422, "Validation Failed", errors=[{"field": "state", "code": "invalid"}])
        if description is not None and len(description) > MAX_STATUS_DESCRIPTION:
            errors = [{"field": "description", "code": "custom", "message": "is too long"}]
            raise Reply(422, "Validation Failed", errors=errors)
        status = {
            "id": self.state.next_id(),
            "state": state,
            "description": description,
            "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "creator": self.state.login or "github-actions[bot]",
            "created": self.state.seq,
        }
        self.state.statuses.setdefault((repo, sha), []).append(status)
        return 201, self._status(repo, sha, status)

    def _list_statuses(self, query: dict[str, str], body: Any, repo: str, sha: str) -> Any:
        self._known_repo(repo)
        newest_first = reversed(self.state.statuses.get((repo, sha), []))
        return Page([self._status(repo, sha, s) for s in newest_first])

    def _permission(self, query: dict[str, str], body: Any, repo: str, user: str) -> Any:
        self._known_repo(repo)
        role = self.state.permissions.get((repo, user), "read")
        # The "permission" field folds maintain into write and triage into read.
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        return {"permission": legacy, "role_name": role, "user": self._user(user)}

    def _refuse_writes(self) -> None:
        if self.state.read_only:
            raise Reply(403, NOT_ACCESSIBLE)

    # -- dispatch -----------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Answer one request: (status, extra headers, JSON body or None)."""
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        path = split.path
        mounted = path.startswith(self.prefix + "/") or path == self.prefix
        rel = path[len(self.prefix) :] if mounted else path
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        auth = headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        authorized = scheme.lower() in ("token", "bearer") and given == self.state.token
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": rel,
                    "raw_path": path,
                    "query": query,
                    "json": body,
                    "headers": {k: v for k, v in headers.items() if k != "authorization"},
                    "authorization": f"{scheme} ***" if auth else None,
                    "authorized": authorized,
                }
            )
            try:
                return self._answer(method, rel, mounted, query, body, authorized, auth)
            finally:
                self._write_log()

    def _answer(
        self,
        method: str,
        rel: str,
        mounted: bool,
        query: dict[str, str],
        body: Any,
        authorized: bool,
        auth: str,
    ) -> tuple[int, dict[str, str], Any]:
        if not mounted:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        if not authorized:
            message = "Bad credentials" if auth else "Requires authentication"
            return 401, {}, {"message": message, "documentation_url": DOCS}
        fault = self._take_fault(method, rel)
        if fault is not None and not fault.after:
            return fault.status, fault.headers, fault.body or _fault_body(fault)
        try:
            status, headers, answer = self._route(method, rel, query, body)
        except Reply as reply:
            status, headers, answer = reply.status, {}, reply.body
        except Exception as bug:  # a bug here: say so in the answer the test will see
            self.server_log.append(f"{method} {rel}: {bug!r}")
            status, headers, answer = 500, {}, {"message": f"fake_github bug: {bug!r}"}
        if fault is not None:
            return fault.status, fault.headers, fault.body or _fault_body(fault)
        return status, headers, answer

    def _route(
        self, method: str, rel: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if method in ("POST", "PATCH") and not isinstance(body, dict):
            raise Reply(400, "Problems parsing JSON")
        for route_method, pattern, func in self._routes():
            match = pattern.fullmatch(rel)
            if match and route_method == method:
                answer = func(query, body, **match.groupdict())
                if isinstance(answer, Page):
                    return self._paginate(rel, query, answer.items)
                if isinstance(answer, tuple):
                    return answer[0], {}, answer[1]
                return 200, {}, answer
        raise Reply(404, "Not Found")

    def _paginate(
        self, rel: str, query: dict[str, str], items: list[dict[str, Any]]
    ) -> tuple[int, dict[str, str], Any]:
        per_page = max(1, min(100, int(query.get("per_page", 30))))
        page = max(1, int(query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        links = []

        def link(n: int, rel_name: str) -> str:
            params = {**query, "per_page": str(per_page), "page": str(n)}
            return f'<{self.url}{rel}?{urlencode(params)}>; rel="{rel_name}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, headers, items[(page - 1) * per_page : page * per_page]

    def _take_fault(self, method: str, rel: str) -> Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.path.fullmatch(rel):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _write_log(self) -> None:
        if self.log is None:
            return
        fd, tmp = tempfile.mkstemp(dir=self.log.parent, prefix=".requests-")
        with os.fdopen(fd, "w") as out:
            json.dump(self.requests, out, indent=1)
        os.replace(tmp, self.log)


def _fault_body(fault: Fault) -> dict[str, Any]:
    rate_limited = fault.status == 429 or fault.headers.get("X-RateLimit-Remaining") == "0"
    if fault.status in (403, 429) and rate_limited:
        message = "API rate limit exceeded for installation ID 1."
    elif fault.status == 403 and "Retry-After" in fault.headers:
        message = "You have exceeded a secondary rate limit. Please wait a few minutes."
    elif fault.status >= 500:
        message = "Server Error"
    else:
        message = NOT_ACCESSIBLE if fault.status == 403 else "Injected failure"
    return {"message": message, "documentation_url": DOCS}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive socket outlives a
        # test and the server can join every request thread when it stops.
        protocol_version = "HTTP/1.0"
        server_version = "FakeGitHub/1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = fake.handle(self.command, self.path, headers, raw)
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RateLimit-Limit", "5000")
            if "X-RateLimit-Remaining" not in extra:
                self.send_header("X-RateLimit-Remaining", "4999")
                self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # Kept off stderr, where it would mix with the output the tests read.
            fake.server_log.append(format % args)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="", help="mount the API under a path: /api/v3")
    parser.add_argument("--state", type=Path, help="JSON seed, see FakeGitHub.load_state")
    parser.add_argument("--log", type=Path, help="JSON list of requests, rewritten per request")
    args = parser.parse_args(argv)
    fake = FakeGitHub(prefix=args.prefix, log=args.log)
    if args.state:
        fake.load_state(json.loads(args.state.read_text()))
    stopped = threading.Event()
    # SIGTERM (Popen.terminate) and Ctrl-C both end the wait and stop the server cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    fake.start(args.port)
    print(fake.url, flush=True)
    try:
        while not stopped.wait(0.1):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

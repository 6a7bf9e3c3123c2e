"""The GitHub REST calls convergio-gate makes, with retries and errors a user can act on.

The Action needs a handful of calls: read the pull request, its files and reviews, post
one sticky comment, set a commit status, and (for dispatch) open a pull request. They
go through PyGithub; this module adds what a CI job needs around it: the API address of
GitHub Enterprise (``GITHUB_API_URL``), retries that never post a comment twice, and
errors that say which permission the workflow is missing.

Why the retries are ours and not PyGithub's. PyGithub can retry inside urllib3
(``Github(retry=GithubRetry())``), but a urllib3 ``Retry`` sees one HTTP request and
knows only its method, so it cannot tell a POST that is safe to repeat (a status) from
one that is not (a comment: GitHub may have stored it before answering 502).
``GithubRetry`` retries POST but not PATCH, which is backwards for us; it spots a 403
rate limit by the wording of the message, not by the documented ``X-RateLimit-Remaining:
0``; it does not retry a 429 without ``Retry-After``. So PyGithub runs with
``retry=None`` and every public method runs a *unit of work* through ``GitHub._call``,
which repeats the whole unit, chosen so that repeating it cannot duplicate an effect:

- GET (pull request, files, reviews, permissions, comments): repeated as is.
- PATCH (edit the sticky comment): idempotent, repeated as is.
- POST a commit status: a repeat sets the same state on the same context; harmless.
- POST a pull request: a repeat of a create that went through is refused with 422
  "already exists", and ``create_pull`` answers that by looking the pull request up.
- POST a comment: the unit is "list the comments, find the marker, edit it or create
  it", so the retry after an answer that leaves it unknown whether the comment was
  stored (5xx, timeout, dropped connection) lists again first and edits what it finds.

Rate limits (403 or 429 with ``Retry-After``, or ``X-RateLimit-Remaining: 0``, or
GitHub's rate limit message) and 500/502/503/504 and network errors are retried
``retries`` times. Waits: what GitHub names (``Retry-After``; ``X-RateLimit-Reset`` plus
one ``backoff`` of slack for clock skew); 60 ``backoff`` for a secondary rate limit that
names nothing (GitHub asks for at least a minute); otherwise ``backoff * 2**attempt``.
A wait longer than ``max_wait`` is not waited: the call fails at once and says when the
limit resets, because a CI job idling for an hour helps no one.

Every other failure is a ``GitHubError`` (a ``FatalError``) naming the call and the fix.
A 403 on a write sets ``read_only``: pull requests from forks get a read-only token, and
the caller reports "comment not posted" and carries on instead of failing the check.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github
from github.GithubException import GithubException
from github.GithubObject import NotSet
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest as _GhPull
from github.PullRequestReview import PullRequestReview
from github.Requester import Requester

from convergio_gate import __version__
from convergio_gate.errors import FatalError

__all__ = [
    "MAX_COMMENT",
    "MAX_DESCRIPTION",
    "STATES",
    "Approval",
    "CommentResult",
    "GitHub",
    "GitHubError",
    "PullRequest",
    "retry_wait",
]

DEFAULT_API_URL = "https://api.github.com"
MAX_COMMENT = 65_536
"""GitHub refuses a comment body longer than this many characters."""
MAX_DESCRIPTION = 140
"""GitHub refuses a commit status description longer than this."""
STATES = ("error", "failure", "pending", "success")
MAX_WAIT = 300.0
"""Seconds: a rate limit that resets later than this fails the call instead."""
SECONDARY_WAIT = 60
"""Backoff units to wait on a secondary rate limit that names no time."""
MAX_LISTED_FILES = 3000
"""GitHub lists at most this many files of a pull request."""
PER_PAGE = 100
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
DECISIVE_REVIEWS = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
REPO_NAME = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
ENTERPRISE_HINT = "for GitHub Enterprise Server set GITHUB_API_URL to https://HOST/api/v3"

T = TypeVar("T")


class GitHubError(FatalError):
    """A GitHub API call failed for a reason the user can act on.

    ``status`` is GitHub's HTTP status, or ``None`` when GitHub could not be reached.
    ``read_only`` is true when GitHub refused a write with 403: the token may read but
    not write, as on a pull request from a fork. ``rate_limited`` is true when the rate
    limit was still exhausted after the retries (or resets later than ``max_wait``).
    """

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        status: int | None = None,
        read_only: bool = False,
        rate_limited: bool = False,
    ) -> None:
        self.status = status
        self.read_only = read_only
        self.rate_limited = rate_limited
        super().__init__(message, fix=fix)


@dataclass(frozen=True)
class PullRequest:
    number: int
    base_sha: str
    head_sha: str
    base_ref: str
    head_ref: str
    head_repo: str
    """``owner/name`` of the head; empty when the fork it came from was deleted."""
    base_repo: str
    fork: bool
    author: str


@dataclass(frozen=True)
class Approval:
    login: str
    commit_id: str
    """The head commit the reviewer approved: an approval of an older head is stale."""
    submitted_at: str
    """ISO 8601 in UTC, as GitHub writes it: ``2024-01-01T00:00:00Z``."""
    permission: str


@dataclass(frozen=True)
class CommentResult:
    id: int
    created: bool
    url: str


@dataclass(frozen=True)
class _Call:
    """What a unit of work does, for the messages when it fails."""

    what: str
    needs: str
    """The workflow permission it takes, as written under ``permissions:``."""
    write: bool = False
    invalid: str | None = None
    """The fix for a 422 (GitHub found the request invalid)."""
    refused: str = ""
    """Added to the fix for a 403."""


def retry_wait(
    status: int,
    headers: Mapping[str, str],
    message: str,
    *,
    attempt: int,
    backoff: float,
    now: float,
) -> float | None:
    """Seconds to wait before repeating a call that got this answer, or ``None`` if
    repeating it cannot help. ``attempt`` counts from 0; ``now`` is a Unix time."""
    lower = {k.lower(): str(v) for k, v in headers.items()}
    least = backoff * 2.0**attempt
    if status in RETRIED_STATUSES:
        return least
    if status not in (403, 429):
        return None
    after = lower.get("retry-after", "").strip()
    if after.isdigit():
        return max(float(after), least)
    reset = lower.get("x-ratelimit-reset", "").strip()
    if lower.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
        return max(int(reset) - now + backoff, least)
    if status == 429 or Requester.isRateLimitError(message):
        return max(SECONDARY_WAIT * backoff, least)
    return None


class GitHub:
    """One repository on one GitHub (github.com or an Enterprise Server).

    ``backoff`` is the unit of every pause the client picks itself: the first retry
    waits that long, and PyGithub keeps that gap between two writes (GitHub asks
    integrations for a second). Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        repo: str,
        token: str | None,
        api_url: str | None = None,
        *,
        backoff: float = 1.0,
        retries: int = 5,
        timeout: float = 30,
        max_wait: float = MAX_WAIT,
    ) -> None:
        if not REPO_NAME.fullmatch(repo):
            raise GitHubError(
                f"`{repo}` is not a GitHub repository name",
                fix="pass it as owner/name, e.g. octo-org/app (in a workflow: "
                "${{ github.repository }})",
            )
        url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GitHubError(
                f"`{url}` is not a GitHub API address",
                fix=f"set GITHUB_API_URL to {DEFAULT_API_URL}, or to https://HOST/api/v3 for "
                "GitHub Enterprise Server",
            )
        if backoff < 0 or retries < 0 or timeout <= 0 or max_wait < 0:
            raise ValueError("backoff, retries and max_wait must be >= 0, timeout > 0")
        self.repo = repo
        self.api_url = url
        self._token = token or None
        self._backoff = backoff
        self._retries = retries
        self._max_wait = max_wait
        self._login: str | None = None
        self._login_known = False
        self._gh = Github(
            auth=Auth.Token(self._token) if self._token else None,
            base_url=url,
            # PyGithub insists on whole seconds.
            timeout=max(1, math.ceil(timeout)),
            user_agent=f"convergio-gate/{__version__}",
            per_page=PER_PAGE,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=backoff,
            # No request until a value is needed: get_repo, get_pull and get_issue
            # cost nothing, and every request made is one a unit of work needs.
            lazy=True,
        )
        self._repo = self._gh.get_repo(repo)

    def close(self) -> None:
        self._gh.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the calls ----------------------------------------------------------------------

    def pull(self, number: int) -> PullRequest:
        call = _Call(f"read pull request #{number} of {self.repo}", "pull-requests: read")
        return self._call(call, lambda: _pull_request(self._repo.get_pull(number)))

    def changed_files(self, number: int) -> list[str]:
        """The paths the pull request touches; a rename gives both its old and new path,
        so a rule file moved away is still seen as changed."""
        call = _Call(f"list the files of pull request #{number}", "pull-requests: read")

        def unit() -> tuple[list[str], int, int]:
            pull = self._repo.get_pull(number)
            paths: list[str] = []
            listed = 0
            for file in pull.get_files():
                listed += 1
                if file.previous_filename:
                    paths.append(file.previous_filename)
                paths.append(file.filename)
            return paths, listed, pull.changed_files

        paths, listed, total = self._call(call, unit)
        if listed < total:
            raise GitHubError(
                f"pull request #{number} changes {total} files, but GitHub lists only the "
                f"first {min(listed, MAX_LISTED_FILES)}",
                fix="judge it from git instead: `convergio-gate check --diff BASE..HEAD`",
            )
        return list(dict.fromkeys(paths))

    def approvals(self, number: int) -> list[Approval]:
        """Approvals that count: each reviewer's latest decisive review (a comment does
        not undo an approval; changes requested or a dismissal does) is APPROVED, and
        the reviewer may write to the repository (admin, maintain or write)."""
        call = _Call(f"read the reviews of pull request #{number}", "pull-requests: read")

        def unit() -> list[tuple[str, str, str]]:
            latest: dict[str, PullRequestReview] = {}
            for review in self._repo.get_pull(number).get_reviews():
                if review.user is not None and review.state in DECISIVE_REVIEWS:
                    latest[review.user.login] = review
            return [
                (review.user.login, review.commit_id, _utc(review.submitted_at))
                for review in latest.values()
                if review.state == "APPROVED"
            ]

        approved = []
        for login, commit_id, when in self._call(call, unit):
            permission = self._permission(login)
            if permission in WRITE_PERMISSIONS:
                approved.append(Approval(login, commit_id, when, permission))
        return sorted(approved, key=lambda a: (a.submitted_at, a.login))

    def upsert_comment(self, number: int, marker: str, body: str) -> CommentResult:
        """Post ``body`` as the one comment carrying ``marker``: edit it if it is there
        (written by the token's own user, or by a bot when the token has no user, as the
        Actions token has not), else create it. ``body`` must contain the marker and
        fit in ``MAX_COMMENT`` characters: cutting it is the caller's job."""
        if not marker.strip():
            raise ValueError("the marker must not be empty")
        if marker not in body:
            raise ValueError("the body must contain the marker, or no later run can find it")
        if len(body) > MAX_COMMENT:
            raise ValueError(
                f"the comment is {len(body)} characters; GitHub takes at most {MAX_COMMENT}"
            )
        login = self._own_login()
        issue = self._repo.get_issue(number)
        call = _Call(
            f"post the comment on pull request #{number}",
            "pull-requests: write",
            write=True,
            invalid=f"GitHub refused the body; keep it under {MAX_COMMENT} characters",
        )
        tried_create = False

        def unit() -> CommentResult:
            nonlocal tried_create
            for comment in issue.get_comments():
                if marker in (comment.body or "") and _is_own(comment, login):
                    if comment.body != body:
                        comment.edit(body)
                    # Found after our own create was attempted: that create went through.
                    return CommentResult(comment.id, tried_create, comment.html_url)
            tried_create = True
            comment = issue.create_comment(body)
            return CommentResult(comment.id, True, comment.html_url)

        return self._call(call, unit)

    def set_status(
        self,
        sha: str,
        state: str,
        description: str,
        *,
        context: str = "convergio-gate",
        target_url: str | None = None,
    ) -> None:
        """Set the commit status ``context`` on ``sha``; the description is cut to
        GitHub's 140 characters, with an ellipsis to show it was."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        if not SHA.fullmatch(sha):
            raise ValueError(f"a status needs a full commit id, not {sha!r}")
        if len(description) > MAX_DESCRIPTION:
            description = description[: MAX_DESCRIPTION - 1] + "…"
        call = _Call(
            f"set the commit status {context!r} on {sha[:12]}",
            "statuses: write",
            write=True,
            invalid=f"the commit {sha} must exist in {self.repo}: push it first",
        )

        def unit() -> None:
            self._repo.get_commit(sha).create_status(
                state,
                target_url=NotSet if target_url is None else target_url,
                description=description,
                context=context,
            )

        self._call(call, unit)

    def create_pull(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> int:
        """Open a pull request from ``head`` (a branch, or ``owner:branch`` for a fork)
        into ``base``; if one is already open for that pair, return its number."""
        call = _Call(
            f"open a pull request from {head} into {base}",
            "pull-requests: write",
            write=True,
            invalid=f"push {head} first; it must differ from {base} and share its history",
            refused="; also allow Actions to open pull requests: Settings > Actions > "
            "General > Allow GitHub Actions to create and approve pull requests",
        )
        owner = self.repo.split("/")[0]
        qualified = head if ":" in head else f"{owner}:{head}"

        def unit() -> int:
            try:
                created = self._repo.create_pull(
                    base=base, head=head, title=title, body=body, draft=draft
                )
            except GithubException as error:
                if error.status == 422 and "already exists" in _details(error.data):
                    for pull in self._repo.get_pulls(state="open", head=qualified, base=base):
                        return pull.number
                raise
            return created.number

        return self._call(call, unit)

    # -- helpers ------------------------------------------------------------------------

    def _permission(self, login: str) -> str:
        call = _Call(f"read the permission of {login} on {self.repo}", "metadata: read")
        try:
            return self._call(call, lambda: self._repo.get_collaborator_permission(login))
        except GitHubError as error:
            if error.status == 404:  # the account is gone
                return "none"
            raise

    def _own_login(self) -> str | None:
        """The token's user, or None when it has none (an app installation token, such
        as the Actions token, is refused ``GET /user``)."""
        if not self._login_known:
            # Only an app token is refused (403/404), and that is handled here.
            call = _Call("read the token's own user", needs="")
            try:
                self._login = self._call(call, lambda: self._gh.get_user().login)
            except GitHubError as error:
                if error.status not in (403, 404) or error.rate_limited:
                    raise
                self._login = None
            self._login_known = True
        return self._login

    def _call(self, call: _Call, unit: Callable[[], T]) -> T:
        """Run ``unit``, repeating it after rate limits, 5xx and network errors."""
        attempt = 0
        while True:
            try:
                return unit()
            except GithubException as error:
                wait = retry_wait(
                    error.status,
                    error.headers or {},
                    _message(error.data),
                    attempt=attempt,
                    backoff=self._backoff,
                    now=time.time(),
                )
                if wait is None or wait > self._max_wait or attempt >= self._retries:
                    raise self._error(call, error, attempt + 1, wait) from error
            except NETWORK_ERRORS as error:
                wait = self._backoff * 2.0**attempt
                if attempt >= self._retries:
                    raise GitHubError(
                        f"could not {call.what}: {self.api_url} did not answer "
                        f"({type(error).__name__}) in {attempt + 1} attempts",
                        fix=f"check the network and GITHUB_API_URL ({ENTERPRISE_HINT}); "
                        "GitHub's own state is at https://www.githubstatus.com",
                    ) from error
            time.sleep(wait)
            attempt += 1

    def _error(
        self, call: _Call, error: GithubException, attempts: int, wait: float | None
    ) -> GitHubError:
        status = error.status
        said = f"{status} {_message(error.data)}".strip()
        if status == 401:
            fix = (
                "set GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)"
                if self._token is None
                else "the token in GITHUB_TOKEN is wrong or expired: pass a valid one "
                "(in a workflow: `${{ github.token }}`)"
            )
            return GitHubError(
                f"could not {call.what}: GitHub rejected the token ({said})",
                fix=fix,
                status=status,
            )
        if status in (403, 429) and wait is not None:
            return GitHubError(
                f"could not {call.what}: the GitHub API rate limit is exhausted "
                f"({said}){_resets(error.headers or {})}",
                fix="re-run the job after the reset, or use a token with its own limit "
                "(a GitHub App's)"
                if self._token
                else "set GITHUB_TOKEN: calls without a token get 60 an hour",
                status=status,
                rate_limited=True,
            )
        if status == 403:
            fork = (
                "; on a pull request from a fork GitHub gives a read-only token, whatever "
                "the workflow asks"
                if call.write
                else ""
            )
            return GitHubError(
                f"could not {call.what}: GitHub refused ({said})",
                fix=f"the token lacks {call.needs}; add `permissions: {call.needs}` to the "
                f"workflow job{call.refused}{fork}",
                status=status,
                read_only=call.write,
            )
        if status == 404:
            return GitHubError(
                f"could not {call.what}: GitHub answered {said}",
                fix=f"check that {self.repo} and the number exist and that the token can see "
                f"them ({call.needs}); the API address is {self.api_url}: {ENTERPRISE_HINT}",
                status=status,
            )
        if status == 422:
            details = _details(error.data)
            return GitHubError(
                f"could not {call.what}: GitHub found the request invalid ({said}"
                f"{': ' + details if details else ''})",
                fix=call.invalid,
                status=status,
            )
        if status in RETRIED_STATUSES:
            return GitHubError(
                f"could not {call.what}: GitHub answered {said} {attempts} times",
                fix="GitHub is failing: see https://www.githubstatus.com (or your GitHub "
                "Enterprise Server's health) and re-run the job later",
                status=status,
            )
        docs = error.data.get("documentation_url") if isinstance(error.data, dict) else None
        return GitHubError(
            f"could not {call.what}: GitHub answered {said}",
            fix=f"see {docs}" if docs else None,
            status=status,
        )


def _pull_request(pull: _GhPull) -> PullRequest:
    head_repo = pull.head.repo.full_name if pull.head.repo is not None else ""
    base_repo = pull.base.repo.full_name
    return PullRequest(
        number=pull.number,
        base_sha=pull.base.sha,
        head_sha=pull.head.sha,
        base_ref=pull.base.ref,
        head_ref=pull.head.ref,
        head_repo=head_repo,
        base_repo=base_repo,
        fork=head_repo != base_repo,
        author=pull.user.login,
    )


def _is_own(comment: IssueComment, login: str | None) -> bool:
    user = comment.user
    if user is None:
        return False
    return user.login == login if login is not None else user.type == "Bot"


def _utc(when: datetime | None) -> str:
    if when is None:
        return ""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(data: Any) -> str:
    """GitHub's message, on one short line (a proxy's error page can be long HTML)."""
    text = str(data.get("message") or "") if isinstance(data, dict) else str(data or "")
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def _details(data: Any) -> str:
    """GitHub's ``errors`` list of a 422, as one line."""
    if not isinstance(data, dict):
        return ""
    parts = []
    for item in data.get("errors") or []:
        if isinstance(item, dict):
            text = item.get("message") or " ".join(
                str(item[k]) for k in ("resource", "field", "code") if item.get(k)
            )
            parts.append(str(text))
        else:
            parts.append(str(item))
    return "; ".join(parts)


def _resets(headers: Mapping[str, str]) -> str:
    reset = {k.lower(): str(v) for k, v in headers.items()}.get("x-ratelimit-reset", "")
    if not reset.isdigit():
        return ""
    return "; it resets at " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(reset)))

"""The GitHub client against a real local HTTP server, through real PyGithub.

No mocks: what is under test is how real answers are handled (pagination, rate-limit
headers, 5xx, 401/403/404/422), and that a retried create never posts a comment twice.
Waits are scaled down with ``backoff=0.01``; every reset time the server names is in
the past, so no test sleeps for long.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import TOKEN, FakeGitHub

from convergio_gate.errors import FatalError
from convergio_gate.github.api import (
    MAX_COMMENT,
    Approval,
    GitHub,
    GitHubError,
    retry_wait,
)

REPO = "octo/app"
MARKER = "<!-- convergio-gate -->"
COMMENTS = r"/repos/octo/app/issues/7/comments"
HEAD = "b" * 40


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_pull(REPO, 7, head_sha=HEAD, user="alice", files=["app.py"])
        yield server


@pytest.fixture
def gh(fake: FakeGitHub) -> Iterator[GitHub]:
    with GitHub(REPO, TOKEN, fake.url, backoff=0.01, retries=3) as client:
        yield client


def body(text: str) -> str:
    return f"{MARKER}\n{text}"


# -- reads ----------------------------------------------------------------------------


def test_pull_reads_refs_shas_and_author(fake: FakeGitHub, gh: GitHub) -> None:
    pull = gh.pull(7)
    assert (pull.number, pull.head_sha, pull.author) == (7, HEAD, "alice")
    assert (pull.base_ref, pull.head_ref) == ("main", "feature")
    assert (pull.base_repo, pull.head_repo, pull.fork) == (REPO, REPO, False)


def test_a_pull_from_another_repository_is_a_fork(fake: FakeGitHub, gh: GitHub) -> None:
    fake.add_pull(REPO, 8, head_repo="mallory/app")
    pull = gh.pull(8)
    assert (pull.head_repo, pull.fork) == ("mallory/app", True)


def test_changed_files_gives_both_paths_of_a_rename(fake: FakeGitHub, gh: GitHub) -> None:
    renamed = {"filename": "docs/rules.yaml", "previous_filename": ".convergio/config.yaml"}
    fake.add_pull(REPO, 9, files=["a.py", renamed, "b.py"])
    assert gh.changed_files(9) == ["a.py", ".convergio/config.yaml", "docs/rules.yaml", "b.py"]


def test_changed_files_refuses_a_list_github_cut(fake: FakeGitHub, gh: GitHub) -> None:
    fake.max_listed_files = 150  # GitHub's is 3000; the client learns it from the count
    fake.add_pull(REPO, 9, files=[f"f{i}.py" for i in range(151)])
    with pytest.raises(GitHubError, match=r"changes 151 files.*first 150") as caught:
        gh.changed_files(9)
    assert "--diff" in str(caught.value)


def test_approvals_take_each_reviewers_latest_decision_and_write_access(
    fake: FakeGitHub, gh: GitHub
) -> None:
    for user, permission in [
        ("alice", "write"),
        ("bob", "admin"),
        ("carol", "read"),
        ("dave", "admin"),
        ("erin", "maintain"),
        ("frank", "write"),
    ]:
        fake.set_permission(REPO, user, permission)
    fake.add_review(REPO, 7, "alice", "APPROVED")
    fake.add_review(REPO, 7, "bob", "APPROVED")
    fake.add_review(REPO, 7, "bob", "CHANGES_REQUESTED")  # the approval is withdrawn
    fake.add_review(REPO, 7, "carol", "APPROVED")  # may only read: does not count
    fake.add_review(REPO, 7, "dave", "CHANGES_REQUESTED")
    fake.add_review(REPO, 7, "dave", "APPROVED", commit_id="c" * 40)
    fake.add_review(REPO, 7, "erin", "APPROVED")
    fake.add_review(REPO, 7, "erin", "COMMENTED")  # a comment does not undo it
    fake.add_review(REPO, 7, "frank", "DISMISSED")
    fake.add_review(REPO, 7, "frank", "PENDING")

    approvals = gh.approvals(7)

    assert [(a.login, a.permission) for a in approvals] == [
        ("alice", "write"),
        ("dave", "admin"),
        ("erin", "write"),  # GitHub's permission field folds maintain into write
    ]
    assert approvals[1] == Approval("dave", "c" * 40, approvals[1].submitted_at, "admin")
    assert approvals[0].submitted_at.endswith("Z")
    asked = {r["path"].split("/")[-2] for r in fake.requests_matching("GET", r".*/permission")}
    assert asked == {"alice", "carol", "dave", "erin"}


# -- the sticky comment ---------------------------------------------------------------


def test_first_upsert_creates_and_the_second_edits_the_same_comment(
    fake: FakeGitHub, gh: GitHub
) -> None:
    fake.add_comment(REPO, 7, "LGTM", user="bob")
    first = gh.upsert_comment(7, MARKER, body("one"))
    second = gh.upsert_comment(7, MARKER, body("two"))

    assert first.created and not second.created
    assert first.id == second.id
    assert first.url.endswith(f"#issuecomment-{first.id}")
    ours = [c for c in fake.comments(REPO, 7) if MARKER in c["body"]]
    assert [c["body"] for c in ours] == [body("two")]
    assert len(fake.requests_matching("POST", COMMENTS)) == 1
    assert len(fake.requests_matching("PATCH", r".*/issues/comments/\d+")) == 1


def test_an_unchanged_body_is_not_written_again(fake: FakeGitHub, gh: GitHub) -> None:
    gh.upsert_comment(7, MARKER, body("same"))
    gh.upsert_comment(7, MARKER, body("same"))
    assert fake.requests_matching("PATCH", r".*") == []


def test_the_marker_search_walks_every_page(fake: FakeGitHub, gh: GitHub) -> None:
    for i in range(140):
        fake.add_comment(REPO, 7, f"comment {i}", user="bob")
    ours = fake.add_comment(REPO, 7, body("old"), user="gate-bot")
    for i in range(20):
        fake.add_comment(REPO, 7, f"later {i}", user="bob")

    result = gh.upsert_comment(7, MARKER, body("new"))

    assert (result.id, result.created) == (ours["id"], False)
    assert fake.requests_matching("POST", COMMENTS) == []
    pages = [r["query"].get("page", "1") for r in fake.requests_matching("GET", COMMENTS)]
    assert pages == ["1", "2"]
    assert len(fake.comments(REPO, 7)) == 161


def test_a_marker_comment_by_someone_else_is_not_taken_over(fake: FakeGitHub, gh: GitHub) -> None:
    theirs = fake.add_comment(REPO, 7, body("quoted by a human"), user="mallory")
    result = gh.upsert_comment(7, MARKER, body("ours"))
    assert result.created and result.id != theirs["id"]
    assert fake.comments(REPO, 7)[0]["body"] == body("quoted by a human")


def test_without_a_user_for_the_token_a_bot_comment_is_ours() -> None:
    # The Actions token is an app installation: GET /user is refused, and its
    # comments are written by github-actions[bot].
    with FakeGitHub(login=None) as fake:
        fake.add_pull(REPO, 7)
        fake.add_comment(REPO, 7, body("human"), user="mallory")
        bot = fake.add_comment(REPO, 7, body("old"), user="github-actions[bot]", user_type="Bot")
        with GitHub(REPO, TOKEN, fake.url, backoff=0.01) as gh:
            result = gh.upsert_comment(7, MARKER, body("new"))
            gh.upsert_comment(7, MARKER, body("newer"))
        assert (result.id, result.created) == (bot["id"], False)
        assert len(fake.requests_matching("GET", "/user")) == 1  # asked once, remembered
        assert [c["body"] for c in fake.comments(REPO, 7)] == [body("human"), body("newer")]


def test_the_body_must_fit_and_carry_the_marker(fake: FakeGitHub, gh: GitHub) -> None:
    with pytest.raises(ValueError, match="at most 65536"):
        gh.upsert_comment(7, MARKER, body("x" * MAX_COMMENT))
    with pytest.raises(ValueError, match="must contain the marker"):
        gh.upsert_comment(7, MARKER, "no marker here")
    longest = body("x" * (MAX_COMMENT - len(body(""))))
    assert gh.upsert_comment(7, MARKER, longest).created
    assert fake.requests_matching("POST", COMMENTS)[0]["json"] == {"body": longest}


# -- statuses and pull requests -------------------------------------------------------


def test_set_status_posts_state_context_url_and_a_cut_description(
    fake: FakeGitHub, gh: GitHub
) -> None:
    gh.set_status(HEAD, "failure", "x" * 200, target_url="https://ci.example/run/1")
    gh.set_status(HEAD, "success", "all gates passed", context="convergio-gate/pr")

    first, second = fake.statuses(REPO, HEAD)
    assert (first["state"], first["context"], first["target_url"]) == (
        "failure",
        "convergio-gate",
        "https://ci.example/run/1",
    )
    assert len(first["description"]) == 140 and first["description"].endswith("…")
    assert (second["state"], second["context"], second["description"]) == (
        "success",
        "convergio-gate/pr",
        "all gates passed",
    )
    with pytest.raises(ValueError, match="state must be one of"):
        gh.set_status(HEAD, "green", "nope")


def test_create_pull_returns_the_open_one_the_second_time(fake: FakeGitHub, gh: GitHub) -> None:
    fake.set_branch(REPO, "task/t1", "d" * 40)
    number = gh.create_pull(head="task/t1", base="main", title="Task t1", body="b", draft=True)
    again = gh.create_pull(head="task/t1", base="main", title="Task t1", body="b")

    assert number == again == 8
    created = [p for p in fake.pulls(REPO) if p["number"] == number]
    assert [(p["head_ref"], p["head_sha"], p["draft"]) for p in created] == [
        ("task/t1", "d" * 40, True)
    ]
    assert len(fake.pulls(REPO)) == 2


# -- retries --------------------------------------------------------------------------


def test_a_403_rate_limit_is_waited_out_and_retried(fake: FakeGitHub, gh: GitHub) -> None:
    reset = str(int(time.time()) - 5)  # already past: retry at once
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    fake.fail_next("GET", r"/repos/octo/app/pulls/7", 403, limited)
    assert gh.pull(7).number == 7
    assert len(fake.requests_matching("GET", r"/repos/octo/app/pulls/7")) == 2


def test_a_429_with_retry_after_is_retried_also_on_post(fake: FakeGitHub, gh: GitHub) -> None:
    fake.fail_next("POST", COMMENTS, 429, {"Retry-After": "0"})
    assert gh.upsert_comment(7, MARKER, body("x")).created
    assert len(fake.requests_matching("POST", COMMENTS)) == 2
    assert len(fake.comments(REPO, 7)) == 1


def test_a_secondary_rate_limit_named_only_by_retry_after_is_retried(
    fake: FakeGitHub, gh: GitHub
) -> None:
    fake.fail_next("POST", r".*/statuses/.*", 403, {"Retry-After": "0"})
    gh.set_status(HEAD, "success", "ok")
    assert len(fake.statuses(REPO, HEAD)) == 1


def test_a_rate_limit_resetting_too_late_fails_at_once(fake: FakeGitHub) -> None:
    reset = str(int(time.time()) + 3600)
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    fake.fail_next("GET", r".*", 403, limited)
    started = time.monotonic()
    with (
        GitHub(REPO, TOKEN, fake.url, backoff=0.01, max_wait=60) as gh,
        pytest.raises(GitHubError, match=r"rate limit is exhausted.*resets at") as caught,
    ):
        gh.pull(7)
    assert time.monotonic() - started < 5
    error = caught.value
    assert (error.status, error.read_only, error.rate_limited) == (403, False, True)
    assert len(fake.requests) == 1


def test_a_rate_limited_user_lookup_is_not_taken_for_an_app_token(fake: FakeGitHub) -> None:
    reset = str(int(time.time()) + 3600)
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    fake.fail_next("GET", "/user", 403, limited)
    with (
        GitHub(REPO, TOKEN, fake.url, backoff=0.01, max_wait=60) as gh,
        pytest.raises(GitHubError, match="rate limit") as caught,
    ):
        gh.upsert_comment(7, MARKER, body("x"))
    assert caught.value.rate_limited
    assert fake.comments(REPO, 7) == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_get_is_retried(fake: FakeGitHub, gh: GitHub, status: int) -> None:
    fake.fail_next("GET", r".*/pulls/7/files", status, times=2)
    assert gh.changed_files(7) == ["app.py"]
    assert len(fake.requests_matching("GET", r".*/pulls/7/files")) == 3


def test_a_5xx_on_patch_is_retried(fake: FakeGitHub, gh: GitHub) -> None:
    gh.upsert_comment(7, MARKER, body("one"))
    fake.fail_next("PATCH", r".*/issues/comments/\d+", 502)
    gh.upsert_comment(7, MARKER, body("two"))
    assert [c["body"] for c in fake.comments(REPO, 7)] == [body("two")]


def test_a_500_on_a_comment_create_is_retried_once_stored(fake: FakeGitHub, gh: GitHub) -> None:
    fake.fail_next("POST", COMMENTS, 500)  # refused before storing: create again
    assert gh.upsert_comment(7, MARKER, body("x")).created
    assert len(fake.comments(REPO, 7)) == 1
    assert len(fake.requests_matching("POST", COMMENTS)) == 2


def test_a_comment_stored_before_a_500_is_found_not_posted_again(
    fake: FakeGitHub, gh: GitHub
) -> None:
    # GitHub stored the comment and then failed to answer: a blind retry would make two.
    fake.fail_next("POST", COMMENTS, 502, after=True)
    result = gh.upsert_comment(7, MARKER, body("x"))
    assert result.created
    assert [c["id"] for c in fake.comments(REPO, 7)] == [result.id]
    assert len(fake.requests_matching("POST", COMMENTS)) == 1
    assert fake.requests_matching("PATCH", r".*") == []


def test_a_pull_created_before_a_500_is_found_not_opened_again(
    fake: FakeGitHub, gh: GitHub
) -> None:
    fake.fail_next("POST", r"/repos/octo/app/pulls", 500, after=True)
    number = gh.create_pull(head="task/t2", base="main", title="t2", body="")
    assert [p["number"] for p in fake.pulls(REPO)] == [7, number]


def test_a_persistent_500_fails_after_the_configured_retries(fake: FakeGitHub) -> None:
    fake.fail_next("POST", r".*/statuses/.*", 500, times=100)
    with (
        GitHub(REPO, TOKEN, fake.url, backoff=0.01, retries=2) as gh,
        pytest.raises(GitHubError, match="500 Server Error 3 times") as caught,
    ):
        gh.set_status(HEAD, "success", "ok")
    assert caught.value.status == 500 and isinstance(caught.value, FatalError)
    assert "githubstatus.com" in str(caught.value)
    assert len(fake.requests_matching("POST", r".*/statuses/.*")) == 3


def test_an_unreachable_server_fails_after_the_retries() -> None:
    with FakeGitHub() as fake:
        url = fake.url
    with (
        GitHub(REPO, TOKEN, url, backoff=0.01, retries=1) as gh,
        pytest.raises(GitHubError, match=r"did not answer.*in 2 attempts") as caught,
    ):
        gh.pull(7)
    assert caught.value.status is None and "GITHUB_API_URL" in str(caught.value)


# -- errors ---------------------------------------------------------------------------


def test_a_bad_token_is_named(fake: FakeGitHub) -> None:
    with (
        GitHub(REPO, "wrong", fake.url, backoff=0.01) as gh,
        pytest.raises(GitHubError, match="rejected the token") as caught,
    ):
        gh.pull(7)
    assert caught.value.status == 401
    assert "GITHUB_TOKEN is wrong or expired" in str(caught.value)
    assert len(fake.requests) == 1  # a 401 is not retried


def test_no_token_says_to_set_one(fake: FakeGitHub) -> None:
    with (
        GitHub(REPO, None, fake.url, backoff=0.01) as gh,
        pytest.raises(GitHubError, match="to fix: set GITHUB_TOKEN"),
    ):
        gh.upsert_comment(7, MARKER, body("x"))
    assert fake.requests[0]["authorization"] is None


def test_a_read_only_token_is_told_apart(fake: FakeGitHub, gh: GitHub) -> None:
    fake.add_pull(REPO, 8, head_repo="mallory/app")
    fake.set_read_only()
    with pytest.raises(GitHubError) as comment:
        gh.upsert_comment(8, MARKER, body("x"))
    with pytest.raises(GitHubError) as status:
        gh.set_status(HEAD, "failure", "refused")
    for caught in (comment, status):
        assert (caught.value.status, caught.value.read_only) == (403, True)
        assert "fork" in str(caught.value)
    assert "add `permissions: pull-requests: write` to the workflow job" in str(comment.value)
    assert "statuses: write" in str(status.value)
    assert len(fake.requests_matching("POST", r".*")) == 2  # refusals are not retried
    assert gh.pull(8).fork  # reading still works


def test_a_403_on_a_read_is_not_read_only(fake: FakeGitHub, gh: GitHub) -> None:
    fake.fail_next("GET", r".*/reviews", 403)
    with pytest.raises(GitHubError, match="refused") as caught:
        gh.approvals(7)
    assert (caught.value.status, caught.value.read_only) == (403, False)
    assert "pull-requests: read" in str(caught.value)


def test_a_missing_pull_request_names_the_repository_and_api(fake: FakeGitHub, gh: GitHub) -> None:
    with pytest.raises(GitHubError, match="404 Not Found") as caught:
        gh.pull(99)
    assert REPO in str(caught.value) and fake.url in str(caught.value)
    assert "GITHUB_API_URL" in str(caught.value)


def test_a_422_carries_githubs_reasons_and_the_fix(fake: FakeGitHub, gh: GitHub) -> None:
    errors = {"message": "Validation Failed", "errors": [{"message": "No commit found for SHA"}]}
    fake.fail_next("POST", r".*/statuses/.*", 422, body=errors)
    with pytest.raises(GitHubError, match="No commit found for SHA") as caught:
        gh.set_status("e" * 40, "success", "ok")
    assert "push it first" in str(caught.value)


def test_constructor_refuses_a_bad_repository_or_api_address() -> None:
    with pytest.raises(GitHubError, match="not a GitHub repository name"):
        GitHub("just-a-name", TOKEN, "https://api.github.com")
    with pytest.raises(GitHubError, match="not a GitHub API address"):
        GitHub(REPO, TOKEN, "ftp://example.com")


# -- GitHub Enterprise ----------------------------------------------------------------


def test_github_api_url_is_honoured_under_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeGitHub(prefix="/api/v3") as fake:
        fake.add_pull(REPO, 7)
        for i in range(120):
            fake.add_comment(REPO, 7, f"comment {i}")
        monkeypatch.setenv("GITHUB_API_URL", fake.url + "/")
        with GitHub(REPO, TOKEN, backoff=0.01) as gh:
            assert gh.api_url == fake.url
            gh.upsert_comment(7, MARKER, body("x"))
            assert gh.pull(7).number == 7
    assert fake.url.endswith("/api/v3")
    assert {r["raw_path"][:8] for r in fake.requests} == {"/api/v3/"}
    pages = [r["query"].get("page", "1") for r in fake.requests_matching("GET", COMMENTS)]
    assert pages == ["1", "2"]


# -- the retry policy, as a pure function ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (500, {}, "", 0.04),
        (502, {}, "", 0.04),
        (404, {}, "", None),
        (422, {}, "", None),
        (403, {}, "Resource not accessible by integration", None),
        (403, {"Retry-After": "7"}, "", 7.0),
        (429, {"retry-after": "0"}, "", 0.04),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}, "", 30.01),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "900"}, "", 0.04),
        (429, {}, "", 0.6),
        (403, {}, "You have exceeded a secondary rate limit.", 0.6),
        (403, {}, "API rate limit exceeded for 1.2.3.4.", 0.6),
    ],
)
def test_retry_wait(
    status: int, headers: dict[str, str], message: str, expected: float | None
) -> None:
    wait = retry_wait(status, headers, message, attempt=2, backoff=0.01, now=1000.0)
    assert wait == (None if expected is None else pytest.approx(expected))


# -- the fake server as a subprocess --------------------------------------------------


def test_fake_server_runs_as_a_subprocess_with_state_and_log(tmp_path: Path) -> None:
    state = {
        "pulls": [{"repo": REPO, "number": 3, "head_sha": HEAD}],
        "comments": [{"repo": REPO, "number": 3, "body": body("old"), "user": "gate-bot"}],
        "faults": [{"method": "GET", "path": ".*/comments", "status": 503}],
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    log = tmp_path / "requests.json"
    script = Path(__file__).resolve().parents[1] / "fake_github.py"
    argv = [sys.executable, str(script), "--port", "0", "--prefix", "/api/v3"]
    argv += ["--state", str(tmp_path / "state.json"), "--log", str(log)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v3")
            with GitHub(REPO, TOKEN, url, backoff=0.01) as gh:
                result = gh.upsert_comment(3, MARKER, body("new"))
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0
    assert not result.created
    logged = json.loads(log.read_text())
    assert [(r["method"], r["path"]) for r in logged] == [
        ("GET", "/user"),
        ("GET", "/repos/octo/app/issues/3/comments"),
        ("GET", "/repos/octo/app/issues/3/comments"),
        ("PATCH", f"/repos/octo/app/issues/comments/{result.id}"),
    ]
    assert all(r["authorized"] and r["authorization"] == "token ***" for r in logged)
    assert TOKEN not in log.read_text()

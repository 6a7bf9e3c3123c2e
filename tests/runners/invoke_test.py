"""Building and reading vendor CLI runs.

Every argv the builder makes is read against the flags the real CLI's --help listed (the
same reader the fake CLIs use); the prompt reaches the fakes through stdin, a flag or a
positional, run for real; each vendor's output is read, cost and usage included; garbage
never raises; and the recorded argv hides the prompt and every credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fake_vendors import fakecli
from fake_vendors.fakecli import ArgvError, load_flags, parse_argv
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_gate.errors import UsageError
from convergio_gate.runners import (
    AgentOutput,
    Invocation,
    VendorSpec,
    build,
    load_registry,
    parse_output,
    prompt_digest,
    redact_argv,
    redact_text,
    secret_values,
)
from convergio_gate.runners.registry import PROFILES

FAKES = Path(__file__).resolve().parents[1] / "fake_vendors"
VENDORS = ("claude", "codex", "gemini", "copilot", "qwen")
MODEL = {"claude": "sonnet", "codex": "gpt-5-codex", "gemini": "gemini-2.5-pro"}
#: The flag (and value) that makes each vendor's read_only profile unable to write.
NO_WRITE = {
    "claude": ("--permission-mode", "plan"),
    "codex": ("--sandbox", "read-only"),
    "gemini": ("--approval-mode", "plan"),
    "copilot": ("--deny-tool", "write"),
    "qwen": ("--approval-mode", "plan"),
}
PROMPT = 'Fix the refusal: debt/todo at app.py:3.\nKeep "quotes", $HOME and ünïcode.'


def spec_of(vendor: str) -> VendorSpec:
    return load_registry(None, env={}).get(vendor)


def model_of(vendor: str) -> str:
    return MODEL.get(vendor, "some-model")


def invocation(vendor: str, profile: str = "standard", **kw: Any) -> Invocation:
    options: dict[str, Any] = {
        "model": model_of(vendor),
        "profile": profile,
        "prompt": PROMPT,
        "workdir": Path("/work/tree"),
    }
    options.update(kw)
    return build(spec_of(vendor), **options)


# --------------------------------------------------------------------------------------
# argv: only recorded flags, only allowed values


@pytest.mark.parametrize("budget", [None, 2.5])
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("vendor", VENDORS)
def test_argv_uses_only_flags_the_cli_recorded(
    vendor: str, profile: str, budget: float | None
) -> None:
    spec = spec_of(vendor)
    built = invocation(vendor, profile, budget_usd=budget)
    parsed = parse_argv(load_flags(vendor, spec.version), built.argv[1:])
    assert parsed.command == (spec.prompt.args[0] if spec.prompt.args else "")
    assert parsed.value(spec.model_flag) == model_of(vendor)
    expected_positionals = {
        "stdin": [spec.prompt.stdin_arg] if spec.prompt.stdin_arg else [],
        "flag": [],
        "positional": [PROMPT],
    }[spec.prompt.via]
    assert parsed.positionals == expected_positionals
    if spec.prompt.via == "flag":
        assert parsed.value(spec.prompt.flag or "") == PROMPT
    assert built.stdin == (PROMPT if spec.prompt.via == "stdin" else None)
    has_budget = budget is not None and spec.budget_flag is not None
    assert parsed.has(spec.budget_flag or "--none") == has_budget
    if has_budget:
        assert parsed.value(spec.budget_flag or "") == "2.5"


def test_the_checker_rejects_what_the_real_cli_rejects() -> None:
    claude = load_flags("claude", "2.1.197")
    with pytest.raises(ArgvError, match="unknown option '--max-turns'"):
        parse_argv(claude, ["-p", "--max-turns", "3"])
    with pytest.raises(ArgvError, match="Allowed choices are acceptEdits"):
        parse_argv(claude, ["-p", "--permission-mode", "yolo"])
    codex = load_flags("codex", "0.169.0")
    with pytest.raises(ArgvError, match="invalid value 'full' for '--sandbox <SANDBOX_MODE>'"):
        parse_argv(codex, ["exec", "-s", "full", "-"])
    with pytest.raises(ArgvError, match="unexpected argument '--ask-for-approval'"):
        parse_argv(codex, ["exec", "--ask-for-approval", "never", "-"])
    assert parse_argv(codex, ["-a", "never", "exec", "-"]).command == "exec"
    gemini = load_flags("gemini", "0.61.0")
    with pytest.raises(ArgvError, match='Given: "auto-edit"'):
        parse_argv(gemini, ["--approval-mode", "auto-edit", "-p", "x"])
    with pytest.raises(ArgvError, match="Not enough arguments following: model"):
        parse_argv(gemini, ["-p", "x", "--model"])
    copilot = load_flags("copilot", "1.0.102")
    with pytest.raises(ArgvError, match="unexpected argument '--max-budget-usd'"):
        parse_argv(copilot, ["-p", "x", "--max-budget-usd", "1"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_read_only_is_a_no_write_mode(vendor: str) -> None:
    table = load_flags(vendor, spec_of(vendor).version)
    for profile in PROFILES:
        parsed = parse_argv(table, invocation(vendor, profile).argv[1:])
        flag, value = NO_WRITE[vendor]
        assert (value in parsed.values(flag)) == (profile == "read_only"), profile
        assert fakecli.may_write(vendor, parsed) == (profile != "read_only"), profile


def test_build_refuses_what_it_cannot_build() -> None:
    with pytest.raises(UsageError, match="unknown profile 'yolo'"):
        invocation("claude", "yolo")
    with pytest.raises(UsageError, match="does not accept model"):
        invocation("claude", model="gpt-5")
    with pytest.raises(UsageError, match="positive amount"):
        invocation("claude", budget_usd=0.0)
    with pytest.raises(UsageError, match="NUL"):
        invocation("claude", prompt="a\x00b")
    with pytest.raises(UsageError, match="command-line argument"):
        invocation("gemini", prompt="x" * 200_000)
    assert invocation("claude", prompt="x" * 200_000).stdin == "x" * 200_000


def test_a_prompt_that_looks_like_an_option_stays_a_prompt() -> None:
    for vendor in ("gemini", "qwen"):
        built = invocation(vendor, prompt="--help me")
        parsed = parse_argv(load_flags(vendor), built.argv[1:])
        assert not parsed.has("--help")
        text = parsed.value("--prompt") or " ".join(parsed.positionals)
        assert text.strip() == "--help me"


def test_budget_amounts_are_written_plainly() -> None:
    argv = invocation("claude", budget_usd=0.125).argv
    assert argv[argv.index("--max-budget-usd") + 1] == "0.125"
    argv = invocation("claude", budget_usd=3.0).argv
    assert argv[argv.index("--max-budget-usd") + 1] == "3"


def test_env_holds_only_what_to_set_over_the_callers_environment() -> None:
    built = invocation("claude", extra_env={"CONVERGIO_CLAUDE_BIN": "/x/claude", "A": "1"})
    assert built.argv[0] == "/x/claude"
    assert built.env == {"CONVERGIO_CLAUDE_BIN": "/x/claude", "A": "1", "PWD": "/work/tree"}


# --------------------------------------------------------------------------------------
# The prompt reaches the fake CLIs, run for real


def run(built: Invocation, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        built.argv,
        input=built.stdin,
        stdin=None if built.stdin is not None else subprocess.DEVNULL,
        env={**os.environ, **built.env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fake_env(vendor: str, script: Path) -> dict[str, str]:
    return {
        f"CONVERGIO_{vendor.upper()}_BIN": str(FAKES / vendor),
        "FAKE_VENDOR_SCRIPT": str(script),
    }


def script(tmp_path: Path, rounds: list[dict[str, Any]]) -> Path:
    path = tmp_path / "script" / "rounds.json"
    path.parent.mkdir()
    path.write_text(json.dumps(rounds))
    return path


@pytest.mark.parametrize("vendor", VENDORS)
def test_two_rounds_through_each_fake_cli(vendor: str, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    rounds = script(
        tmp_path,
        [
            {
                "write": {"src/app.py": "x = 1  # debt\n"},
                "message": "wrote app.py",
                "cost_usd": 0.25,
                "usage": {"input_tokens": 1000, "output_tokens": 50},
            },
            {
                "expect_prompt_contains": "debt/todo",
                "write": {"src/app.py": "x = 1\n"},
                "append": {"NOTES.md": "fixed\n"},
                "message": "removed the marker",
                "cost_usd": 0.5,
            },
        ],
    )
    spec = spec_of(vendor)
    env = fake_env(vendor, rounds)
    first = invocation(vendor, prompt="Implement x", workdir=tree, extra_env=env)
    proc = run(first, tree)
    result = parse_output(spec, proc.stdout, proc.stderr, proc.returncode)
    assert result.error is None, (result, proc.stderr)
    assert result.message == "wrote app.py"
    assert result.cost_usd == (0.25 if vendor == "claude" else None)
    assert result.usage["output_tokens"] == 50
    assert result.raw_format == spec.output.format
    assert (tree / "src/app.py").read_text() == "x = 1  # debt\n"

    second = invocation(vendor, workdir=tree, extra_env=env)
    proc = run(second, tree)
    result = parse_output(spec, proc.stdout, proc.stderr, proc.returncode)
    assert result.error is None, (result, proc.stderr)
    assert result.message == "removed the marker"
    assert (rounds.parent / "prompt-2.txt").read_text().strip() == PROMPT
    assert (tree / "NOTES.md").read_text() == "fixed\n"
    recorded = json.loads((rounds.parent / "argv-2.json").read_text())
    assert recorded["cwd"] == str(tree) and recorded["may_write"] is True


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_prompt_without_the_refusal_fails_the_round(vendor: str, tmp_path: Path) -> None:
    rounds = script(tmp_path, [{"expect_prompt_contains": ["debt/todo"]}])
    built = invocation(vendor, prompt="something else", extra_env=fake_env(vendor, rounds))
    proc = run(built, tmp_path)
    assert proc.returncode == 3
    assert "does not contain 'debt/todo'" in proc.stderr
    result = parse_output(spec_of(vendor), proc.stdout, proc.stderr, proc.returncode)
    assert result.error is not None and "exit code 3" in result.error


@pytest.mark.parametrize("vendor", VENDORS)
def test_read_only_runs_write_nothing(vendor: str, tmp_path: Path) -> None:
    rounds = script(tmp_path, [{"write": {"new.txt": "x"}, "message": "looked"}])
    built = invocation(vendor, "read_only", workdir=tmp_path, extra_env=fake_env(vendor, rounds))
    proc = run(built, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "new.txt").exists()
    assert json.loads((rounds.parent / "argv-1.json").read_text())["may_write"] is False


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failing_round_is_read_as_an_error(vendor: str, tmp_path: Path) -> None:
    rounds = script(tmp_path, [{"error": "quota exhausted for today"}])
    proc = run(invocation(vendor, extra_env=fake_env(vendor, rounds)), tmp_path)
    assert proc.returncode == 1
    result = parse_output(spec_of(vendor), proc.stdout, proc.stderr, proc.returncode)
    assert result.error == "quota exhausted for today (exit code 1)"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_flag_the_cli_does_not_have_is_refused_by_the_fake(vendor: str, tmp_path: Path) -> None:
    built = invocation(vendor)
    argv = [str(FAKES / vendor), *built.argv[1:-1], "--max-turns", "3", built.argv[-1]]
    proc = subprocess.run(
        argv, input=built.stdin or "", cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "max-turns" in proc.stderr


def test_the_fake_sleeps_with_a_child_and_dies_with_its_group(tmp_path: Path) -> None:
    rounds = script(tmp_path, [{"sleep": 30, "spawn_sleeper": True}])
    built = invocation("codex", extra_env=fake_env("codex", rounds))
    proc = subprocess.Popen(
        built.argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **built.env},
        cwd=tmp_path,
        start_new_session=True,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(PROMPT)
    proc.stdin.close()
    pid_file = rounds.parent / "child-1.pid"
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(pid_file.read_text())
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


# --------------------------------------------------------------------------------------
# Reading each vendor's output


# What the real CLIs printed on this machine with no account signed in (not logged in,
# no network): the error shapes are observed, not guessed.
OBSERVED = {
    "claude": (
        '{"type":"result","subtype":"success","is_error":true,"api_error_status":null,'
        '"duration_ms":404,"duration_api_ms":0,"num_turns":1,'
        '"result":"Not logged in · Please run /login","stop_reason":"stop_sequence",'
        '"session_id":"3f66abf9","total_cost_usd":0,"usage":{"input_tokens":0,'
        '"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,'
        '"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},'
        '"service_tier":"standard"},"modelUsage":{},"permission_denials":[]}\n',
        "",
        1,
        "Not logged in · Please run /login (exit code 1)",
    ),
    "codex": (
        '{"type":"thread.started","thread_id":"01a1fe4c"}\n{"type":"turn.started"}\n'
        '{"type":"error","message":"Reconnecting... 2/5 (stream disconnected)"}\n'
        '{"type":"item.completed","item":{"id":"item_0","type":"error",'
        '"message":"Falling back from WebSockets to HTTPS transport."}}\n'
        '{"type":"turn.failed","error":{"message":"stream disconnected: no network"}}\n',
        "2026-11-21T13:29:24Z ERROR codex_api: failed to connect\n",
        1,
        "stream disconnected: no network (exit code 1)",
    ),
    "gemini": (
        "",
        '{\n  "session_id": "c01b6ed6",\n  "error": {\n    "type": "Error",\n'
        '    "message": "Please set an Auth method",\n    "code": 41\n  }\n}',
        41,
        "Please set an Auth method (exit code 41)",
    ),
    "copilot": (
        "",
        "Error: No authentication information found.\n\nTo authenticate, use /login\n",
        1,
        "no jsonl output from copilot (stdout: nothing); stderr: Error: No authentication "
        "information found. | To authenticate, use /login (exit code 1)",
    ),
    "qwen": (
        '[{"type":"result","subtype":"error_during_execution","uuid":"2d10827b",'
        '"session_id":"6d5ecede","is_error":true,"duration_ms":0,"duration_api_ms":0,'
        '"num_turns":0,"usage":{"input_tokens":0,"output_tokens":0},"permission_denials":[],'
        '"error":{"message":"No auth type is selected."}}]\n',
        "",
        1,
        "No auth type is selected. (exit code 1)",
    ),
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_what_the_real_cli_printed_without_an_account_is_an_error(vendor: str) -> None:
    stdout, stderr, code, error = OBSERVED[vendor]
    result = parse_output(spec_of(vendor), stdout, stderr, code)
    assert result.error == error
    assert result.cost_usd in (0.0, None)


def test_claude_result_with_cost_and_usage() -> None:
    out = json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "All tests pass.",
            "total_cost_usd": 0.0421,
            "usage": {
                "input_tokens": 12,
                "cache_creation_input_tokens": 3000,
                "cache_read_input_tokens": 9000,
                "output_tokens": 400,
                "server_tool_use": {"web_search_requests": 0},
            },
        }
    )
    result = parse_output(spec_of("claude"), "warming up\n" + out + "\n", "", 0)
    assert result == AgentOutput(
        message="All tests pass.",
        cost_usd=0.0421,
        usage={
            "input_tokens": 12,
            "output_tokens": 400,
            "cache_read_tokens": 9000,
            "cache_write_tokens": 3000,
        },
        error=None,
        raw_format="json",
    )


def test_claude_budget_stop_is_an_error_with_its_cost() -> None:
    out = json.dumps(
        {
            "type": "result",
            "subtype": "error_max_budget_usd",
            "is_error": True,
            "errors": ["Reached maximum budget ($1)"],
            "total_cost_usd": 1.02,
            "usage": {"input_tokens": 5, "output_tokens": 7},
        }
    )
    result = parse_output(spec_of("claude"), out, "", 1)
    assert result.cost_usd == 1.02
    assert result.error == "Reached maximum budget ($1) (exit code 1)"


def test_codex_sums_usage_over_turns_and_keeps_the_last_message() -> None:
    events = [
        {"type": "item.completed", "item": {"type": "agent_message", "text": "Looking."}},
        {"type": "turn.completed", "usage": {"input_tokens": 100, "output_tokens": 10}},
        {"type": "item.completed", "item": {"type": "reasoning", "text": "hm"}},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "Done."}},
        {"type": "turn.completed", "usage": {"input_tokens": 50, "cached_input_tokens": 40}},
    ]
    text = "\x1b]0;codex\x07" + "\n".join(json.dumps(e) for e in events) + "\nnot json\n"
    result = parse_output(spec_of("codex"), text, "", 0)
    assert result.message == "Done."
    assert result.usage == {"input_tokens": 150, "output_tokens": 10, "cache_read_tokens": 40}
    assert result.cost_usd is None and result.error is None


def test_gemini_sums_tokens_over_its_models() -> None:
    stats = {
        "models": {
            "gemini-2.5-pro": {"tokens": {"prompt": 900, "candidates": 80, "cached": 100}},
            "gemini-2.5-flash": {"tokens": {"prompt": 100, "candidates": 20, "cached": 0}},
        }
    }
    doc = {"session_id": "s", "response": "Refactored.", "stats": stats}
    result = parse_output(spec_of("gemini"), json.dumps(doc, indent=2), "", 0)
    assert result.message == "Refactored."
    assert result.usage == {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 100}


def test_copilot_takes_the_last_message_with_text() -> None:
    events = [
        {"type": "assistant.message", "data": {"content": "Reading.", "outputTokens": 4}},
        {"type": "assistant.message", "data": {"content": "", "outputTokens": 3}},
        {"type": "result", "exitCode": 0, "usage": {"premiumRequests": 2}},
    ]
    out = "\n".join(json.dumps(e) for e in events)
    result = parse_output(spec_of("copilot"), out, "", 0)
    assert result.message == "Reading."
    assert result.usage == {"output_tokens": 7, "premium_requests": 2}
    assert result.error is None


def test_copilot_session_error_with_exit_zero_is_still_an_error() -> None:
    events = [
        {"type": "session.error", "data": {"errorType": "quota", "message": "Out of credits"}},
        {"type": "result", "exitCode": 0},
    ]
    out = "\n".join(json.dumps(e) for e in events)
    assert parse_output(spec_of("copilot"), out, "", 0).error == "Out of credits"


def test_a_killed_run_says_which_signal() -> None:
    result = parse_output(spec_of("codex"), '{"type":"turn.started"}\n', "", -9)
    assert result.error == "codex failed (killed by signal 9)"


GARBAGE = [
    "",
    "not json at all",
    "{",
    "[1, 2",
    '{"type": "result", "result": {"nested": true}}',
    '{"type": "result", "total_cost_usd": "lots", "usage": {"input_tokens": "many"}}',
    '{"type": "result", "total_cost_usd": NaN}',
    "[" * 50_000,
    "\x00\x01\x02\xff",
    '{"a": ' * 3000 + "1" + "}" * 3000,
    "\n".join(["{}"] * 1000),
]


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(vendor: str, garbage: str) -> None:
    for code in (0, 1):
        result = parse_output(spec_of(vendor), garbage, garbage, code)
        assert isinstance(result.message, str)
        assert result.cost_usd is None or result.cost_usd == result.cost_usd
        assert all(isinstance(v, int) for v in result.usage.values())
        if code:
            assert result.error


@settings(max_examples=150, deadline=None)
@given(st.text(), st.text(), st.integers(min_value=-64, max_value=255))
def test_arbitrary_output_never_raises(stdout: str, stderr: str, code: int) -> None:
    for vendor in VENDORS:
        result = parse_output(spec_of(vendor), stdout, stderr, code)
        assert (result.error is None) <= (code == 0)


# --------------------------------------------------------------------------------------
# Redaction


def fake_key(prefix: str, n: int = 40) -> str:
    body = hashlib.sha256(prefix.encode()).hexdigest()
    return prefix + (body * 2)[:n]


def test_display_hides_the_prompt_and_keeps_its_digest() -> None:
    for vendor in VENDORS:
        built = invocation(vendor)
        shown = " ".join(built.display)
        assert "debt/todo" not in shown
        if spec_of(vendor).prompt.via != "stdin":
            assert prompt_digest(PROMPT) in shown
    digest = hashlib.sha256(PROMPT.encode()).hexdigest()[:12]
    assert prompt_digest(PROMPT) == f"<prompt: {len(PROMPT)} chars, sha256 {digest}>"


def test_display_hides_api_keys_found_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_key("sk-live-")
    token = fake_key("tok", 32)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    (tmp_path / ".convergio").mkdir()
    (tmp_path / ".convergio/runners.yaml").write_text(
        "version: 1\nvendors:\n  qwen:\n    base_args: [--output-format, json, "
        f"--openai-api-key, {key}, --proxy, 'https://u:{token}@proxy.example']\n"
    )
    spec = load_registry(tmp_path, env={}).get("qwen")
    built = build(
        spec,
        model="qwen3-coder",
        profile="standard",
        prompt=f"use {key} nowhere",
        workdir=tmp_path,
        extra_env={"INTERNAL_SERVICE_TOKEN": token},
    )
    assert key in built.argv
    shown = "\n".join(built.display)
    assert key not in shown and token not in shown
    assert "[secret " in shown
    assert key in secret_values(spec, {"OPENAI_API_KEY": key})


def test_redact_argv_and_redact_text() -> None:
    key = fake_key("AKIA", 16).upper()
    assert redact_argv(["--key", key, "--x=" + key], [key]) == [
        "--key",
        "[secret AKIA…(20 chars)]",
        "--x=[secret AKIA…(20 chars)]",
    ]
    assert redact_argv(["--flag", "short"], ["short", ""]) == ["--flag", "short"]
    github = "ghp_" + fake_key("", 36)
    assert github not in redact_argv([f"--token={github}"], [])[0]
    assert redact_text(f"error: bad key {key}", [key]) == "error: bad key [secret AKIA…(20 chars)]"


def test_a_credential_the_cli_echoes_in_its_error_is_redacted() -> None:
    github = "ghp_" + fake_key("", 36)
    events = [{"type": "turn.failed", "error": {"message": f"401 for token {github}"}}]
    result = parse_output(spec_of("codex"), json.dumps(events[0]), "", 1)
    assert result.error is not None
    assert github not in result.error and "401 for token [secret" in result.error

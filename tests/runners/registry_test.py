"""The vendor registry: built-ins load, files merge by vendor id, a new vendor needs no
code, and every mistake in a runners.yaml is reported with its file, line and key."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_vendors.fakecli import recorded_versions
from helpers import make_repo

from convergio_gate.errors import InputError, UsageError
from convergio_gate.runners import build, load_registry, parse_output
from convergio_gate.runners.registry import PROFILES, REPO_FILE, VendorSpec

BUILTIN = ("claude", "codex", "gemini", "copilot", "qwen")


def write_repo_file(repo: Path, text: str) -> Path:
    path = repo / REPO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_the_five_builtin_vendors_load_with_every_profile() -> None:
    registry = load_registry(None, env={})
    assert set(registry.vendors) == set(BUILTIN)
    assert registry.sources == ("rules/runners.yaml",)
    for spec in registry.vendors.values():
        assert set(spec.profiles) == set(PROFILES), spec.id
        assert spec.output.format in ("json", "jsonl")
        assert spec.output.message, spec.id


@pytest.mark.parametrize("vendor", BUILTIN)
def test_each_builtin_version_has_its_flags_recorded(vendor: str) -> None:
    spec = load_registry(None, env={}).get(vendor)
    assert spec.version in recorded_versions(vendor), (
        f"rules/runners.yaml names {vendor} {spec.version}; record its flags with "
        f"tests/data/vendor_flags/refresh.py --vendor {vendor} --version {vendor}={spec.version}"
    )


@pytest.mark.parametrize(
    "runner_kind",
    [
        "claude:sonnet",
        "claude:claude-opus-4-5",
        "claude:us.anthropic.claude-sonnet-4-5-v1",
        "codex:gpt-5-codex",
        "gemini:gemini-2.5-pro",
        "gemini:flash",
        "copilot:claude-sonnet-4.6",
        "qwen:qwen3-coder-plus",
    ],
)
def test_known_vendor_and_model_resolve(runner_kind: str) -> None:
    spec, model = load_registry(None, env={}).resolve(runner_kind)
    assert (spec.id, model) == tuple(runner_kind.split(":", 1))


def test_an_unknown_vendor_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        load_registry(None, env={}).resolve("cursor:auto")
    message = caught.value.render()
    assert "unknown runner vendor 'cursor'" in message
    assert "claude, codex, copilot, gemini, qwen" in message
    assert REPO_FILE in message


def test_a_model_the_vendor_does_not_accept_is_refused_listing_what_it_accepts() -> None:
    with pytest.raises(UsageError) as caught:
        load_registry(None, env={}).resolve("gemini:gpt-5")
    message = caught.value.render()
    assert "gemini does not accept model 'gpt-5'" in message
    assert "gemini-*" in message and "flash" in message


@pytest.mark.parametrize(
    "runner_kind", ["codex:--dangerously-bypass-approvals-and-sandbox", "codex:a b", "codex"]
)
def test_a_runner_kind_that_is_no_model_name_is_refused(runner_kind: str) -> None:
    with pytest.raises(UsageError):
        load_registry(None, env={}).resolve(runner_kind)


def test_the_bin_env_var_overrides_the_executable() -> None:
    spec = load_registry(None, env={}).get("claude")
    assert spec.bin_env == "CONVERGIO_CLAUDE_BIN"
    assert spec.executable_for({}) == "claude"
    assert spec.executable_for({"CONVERGIO_CLAUDE_BIN": "/opt/claude"}) == "/opt/claude"


def test_locate_says_how_to_install_a_missing_cli(tmp_path: Path) -> None:
    spec = load_registry(None, env={}).get("codex")
    with pytest.raises(UsageError) as caught:
        spec.locate({"PATH": str(tmp_path)})
    assert "npm install -g @openai/codex@0.169.0" in caught.value.render()
    assert "CONVERGIO_CODEX_BIN" in caught.value.render()


# --------------------------------------------------------------------------------------
# A vendor described in the repository, with no code change

ACME = """\
    #!{python}
    import json, sys
    args = sys.argv[1:]
    prompt = sys.stdin.read()
    open("acme-wrote.txt", "w").write(prompt)
    print("acme warming up")
    print(json.dumps({{"answer": {{"text": "did: " + prompt}}, "spend": 0.75,
                      "tokens": {{"in": 11, "out": 3}}, "failed": False, "argv": args}}))
"""


def test_a_vendor_from_the_repository_runs_without_code_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tool = repo / "tools" / "acme"
    tool.parent.mkdir()
    tool.write_text(textwrap.dedent(ACME.format(python=sys.executable)))
    tool.chmod(0o755)
    write_repo_file(
        repo,
        """\
        version: 1
        vendors:
          acme:
            description: an in-house agent
            executable: tools/acme
            version: 1.0.0
            prompt: {via: stdin}
            base_args: [--quiet]
            model_flag: --engine
            models: ["acme-*"]
            budget_flag: --max-usd
            profiles:
              read_only: [--read-only]
              standard: [--edit]
              sandbox: [--anything, --root, "{workdir}"]
            secret_env: [ACME_KEY]
            output:
              format: json
              message: answer.text
              cost_usd: spend
              usage: {input_tokens: tokens.in, output_tokens: tokens.out}
              error: failed
        """,
    )
    registry = load_registry(repo, env={})
    assert registry.sources == ("rules/runners.yaml", REPO_FILE)
    spec, model = registry.resolve("acme:acme-large")
    invocation = build(
        spec, model=model, profile="sandbox", prompt="add tests", workdir=repo, budget_usd=2
    )
    assert invocation.argv == [
        str(tool),
        "--quiet",
        "--engine",
        "acme-large",
        "--anything",
        "--root",
        str(repo),
        "--max-usd",
        "2",
    ]
    proc = subprocess.run(
        invocation.argv, input=invocation.stdin, cwd=repo, capture_output=True, text=True
    )
    result = parse_output(spec, proc.stdout, proc.stderr, proc.returncode)
    assert result.error is None, result
    assert result.message == "did: add tests"
    assert result.cost_usd == 0.75
    assert result.usage == {"input_tokens": 11, "output_tokens": 3}
    assert (repo / "acme-wrote.txt").read_text() == "add tests"
    with pytest.raises(UsageError, match="acme does not accept model 'gpt-5'"):
        registry.resolve("acme:gpt-5")


def test_the_repository_replaces_a_builtin_profile_key_by_key(tmp_path: Path) -> None:
    write_repo_file(
        tmp_path,
        """\
        version: 1
        vendors:
          claude:
            profiles:
              standard: [--permission-mode, acceptEdits, --allowed-tools, "Bash(make test)"]
            models: [sonnet]
        """,
    )
    spec = load_registry(tmp_path, env={}).get("claude")
    assert spec.profiles["standard"][-1] == "Bash(make test)"
    assert spec.profiles["read_only"] == ("--permission-mode", "plan")
    assert spec.executable == "claude"
    assert spec.models == ("sonnet",)
    assert spec.source == REPO_FILE


def test_repository_over_user_over_builtin(tmp_path: Path) -> None:
    config = tmp_path / "xdg"
    user = config / "convergio-gate" / "runners.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(
        "version: 1\nvendors:\n  claude:\n    executable: /opt/user/claude\n"
        "  mine:\n    executable: mine\n    version: '2'\n    prompt: {via: positional}\n"
        "    model_flag: -m\n    profiles: {read_only: [], standard: [], sandbox: []}\n"
        "    output: {format: text}\n"
    )
    env = {"XDG_CONFIG_HOME": str(config)}
    assert load_registry(tmp_path, env=env).get("claude").executable == "/opt/user/claude"
    write_repo_file(tmp_path, "version: 1\nvendors:\n  claude:\n    executable: repo-claude\n")
    registry = load_registry(tmp_path, env=env)
    assert registry.get("claude").executable == "repo-claude"
    assert registry.get("mine").prompt.via == "positional"
    assert registry.sources == ("rules/runners.yaml", str(user), REPO_FILE)


# --------------------------------------------------------------------------------------
# Every mistake names the file, the line and the key

BAD = [
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    exectuable: claude-beta\n",
        4,
        "vendors.claude.exectuable",
        "did you mean 'executable'",
        id="misspelt-key",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    models: sonnet\n",
        4,
        "vendors.claude.models",
        "expected a list of a string",
        id="wrong-type",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    prompt:\n      via: stdn\n",
        5,
        "vendors.claude.prompt.via",
        "did you mean 'stdin'",
        id="bad-enum",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    profiles:\n      standrd: []\n",
        5,
        "vendors.claude.profiles.standrd",
        "did you mean 'standard'",
        id="misspelt-profile",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    output:\n      format: json\n"
        "      message: result..text\n",
        6,
        "vendors.claude.output.message",
        "a dotted path",
        id="bad-path",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    model_flag: model\n",
        4,
        "vendors.claude.model_flag",
        "a flag such as --model",
        id="flag-without-dash",
    ),
    pytest.param(
        "version: 1\nvendors:\n  Claude Code: {}\n",
        3,
        "vendors.Claude Code",
        "a vendor id",
        id="bad-vendor-id",
    ),
    pytest.param(
        "version: 1\nvendors:\n  newcomer:\n    executable: newcomer\n",
        3,
        "vendors.newcomer",
        "missing required key 'version'",
        id="new-vendor-incomplete",
    ),
    pytest.param(
        "version: 1\nvendors:\n  newcomer:\n    executable: x\n    version: '1'\n"
        "    prompt: {via: flag}\n    model_flag: -m\n"
        "    profiles: {read_only: [], standard: [], sandbox: []}\n    output: {format: text}\n",
        3,
        "vendors.newcomer",
        "prompt `via: flag` needs `flag:`",
        id="flag-prompt-without-flag",
    ),
    pytest.param(
        "version: 1\nvendors:\n  claude:\n    executable: [claude\n",
        5,
        None,
        "not valid YAML",
        id="syntax",
    ),
    pytest.param("vendors: {}\n", 1, None, "missing required key 'version'", id="no-version"),
]


@pytest.mark.parametrize(("text", "line", "key", "says"), BAD)
def test_a_bad_repository_file_is_reported_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, says: str
) -> None:
    write_repo_file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_registry(tmp_path, env={})
    error = caught.value
    assert error.path == REPO_FILE
    assert error.line == line, error.render()
    if key is not None:
        assert error.key == key, error.render()
    assert says in error.render()


def test_a_bad_user_file_is_reported_with_its_path(tmp_path: Path) -> None:
    user = tmp_path / "convergio-gate" / "runners.yaml"
    user.parent.mkdir()
    user.write_text("version: 1\nvendors:\n  qwen:\n    secret_env: [NOT-A-NAME]\n")
    with pytest.raises(InputError) as caught:
        load_registry(None, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert caught.value.path == str(user)
    assert caught.value.line == 4
    assert caught.value.key == "vendors.qwen.secret_env[0]"


def test_the_builtin_spec_objects_are_complete() -> None:
    for spec in load_registry(None, env={}).vendors.values():
        assert isinstance(spec, VendorSpec)
        assert spec.package and spec.description and spec.secret_env, spec.id
        assert spec.model_flag.startswith("--"), spec.id

"""Test doubles of the five vendor coding CLIs, and the argv checker they share with tests.

``parse_argv`` reads an argv the way the vendor's argument parser (commander, clap or
yargs) would, against the flags recorded from the real CLI's ``--help``
(tests/data/vendor_flags/<vendor>-<version>.json), and raises ``ArgvError`` with the
message the real CLI prints for an unknown flag, a value outside an enum, or a missing
value. The executables beside this file (claude, codex, gemini, copilot, qwen) call
``main(vendor)``: they check argv like that (exit 2 on error), read the prompt the way
the real CLI does, and then play one round of a script.

The script is a JSON file named by ``FAKE_VENDOR_SCRIPT``: a list of rounds. The state
file ``<script>.state`` counts the calls, so call 1 plays round 1, call 2 round 2, and so
on (the last round repeats); a script that is a JSON object holds one such list per task
(keyed by the working directory's name, which dispatch makes the task id), each counted
on its own. Each call leaves ``prompt-<n>.txt`` (the prompt received)
and ``argv-<n>.json`` (argv, cwd, whether the run could write) beside the script. A
round may hold:

``expect_prompt_contains``  text (or a list) the prompt must contain, else exit 3
``write`` / ``append``      {path: text}, relative to the working directory
``delete``                  [path, ...]
``message``                 the final message (default ``done``)
``cost_usd``                the cost to report (claude only reports one; default 0.01)
``usage``                   {input_tokens, output_tokens} to report
``sleep``                   seconds to sleep before answering
``spawn_sleeper``           start a child that sleeps as long (its pid goes to
                            ``child-<n>.pid``), to check a whole process group is killed
``error``                   fail the vendor's way with this message (exit 1 unless
                            ``exit_code`` says otherwise)
``exit_code``               the exit status
``ignore_mode``             write even in a no-write mode (a CLI whose sandbox failed)
``stderr``                  text to print on standard error
``raw_stdout``              print this instead of the vendor's output format

In a no-write mode (claude ``--permission-mode plan``, codex ``--sandbox read-only``,
gemini and qwen ``--approval-mode plan``, copilot ``--deny-tool write``) the writes,
appends and deletes are not done, as the real CLI would refuse its tools.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS_DIR = Path(__file__).resolve().parents[1] / "data" / "vendor_flags"
VENDORS = ("claude", "codex", "gemini", "copilot", "qwen")
VERSION_LINE = {
    "claude": "{} (Claude Code)",
    "codex": "codex-cli {}",
    "gemini": "{}",
    "copilot": "GitHub Copilot CLI {}.",
    "qwen": "{}",
}


# --------------------------------------------------------------------------------------
# The recorded flags, and argv read against them


class ArgvError(Exception):
    """argv the real CLI would refuse; ``str()`` is what it prints."""


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    value: str  # none, required, optional or list
    placeholder: str
    choices: tuple[str, ...]

    @property
    def long(self) -> str:
        longs = [n for n in self.names if n.startswith("--")]
        return longs[-1] if longs else self.names[0]

    @property
    def shown(self) -> str:
        return f"{', '.join(self.names)} {self.placeholder}".strip()


@dataclass(frozen=True)
class FlagTable:
    vendor: str
    version: str
    parser: str
    path: Path
    commands: dict[str, dict[str, Flag]]
    aliases: dict[str, str]

    def flags(self, command: str = "") -> list[Flag]:
        return list({id(f): f for f in self.commands[command].values()}.values())


def recorded_versions(vendor: str) -> list[str]:
    found = [p.stem.split("-", 1)[1] for p in FLAGS_DIR.glob(f"{vendor}-*.json")]
    return sorted(found, key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")])


def load_flags(vendor: str, version: str | None = None) -> FlagTable:
    """The flags recorded for ``vendor`` at ``version`` (default: the newest recorded)."""
    version = version or os.environ.get("FAKE_VENDOR_VERSION") or recorded_versions(vendor)[-1]
    path = FLAGS_DIR / f"{vendor}-{version}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    commands: dict[str, dict[str, Flag]] = {}
    aliases: dict[str, str] = {}
    for name, entry in data["commands"].items():
        table: dict[str, Flag] = {}
        for raw in entry["flags"]:
            flag = Flag(
                tuple(raw["names"]), raw["value"], raw["placeholder"], tuple(raw["choices"])
            )
            for alias in flag.names:
                table[alias] = flag
        commands[name] = table
        if name:
            aliases[name] = name
            for alias in entry.get("aliases", []):
                aliases[alias] = name
    return FlagTable(vendor, data["version"], data["parser"], path, commands, aliases)


@dataclass
class ParsedArgs:
    """argv as the CLI understood it: subcommand, options (by long name), positionals."""

    command: str = ""
    options: list[tuple[str, str | None]] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.options)

    def values(self, name: str) -> list[str]:
        return [v for key, v in self.options if key == name and v is not None]

    def value(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None

    def flags_used(self) -> list[str]:
        return [key for key, _ in self.options]


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-\d+(\.\d+)?", arg)


class _Reader:
    def __init__(self, table: FlagTable, args: list[str]) -> None:
        self.table = table
        self.args = args
        self.i = 0
        self.command = ""
        self.out = ParsedArgs()

    def parse(self) -> ParsedArgs:
        while self.i < len(self.args):
            arg = self.args[self.i]
            self.i += 1
            if arg == "--":
                self.out.positionals += self.args[self.i :]
                break
            if arg.startswith("--") and len(arg) > 2:
                self._long(arg)
            elif _is_option(arg):
                self._short(arg)
            elif not self.out.positionals and not self.command and arg in self.table.aliases:
                self.command = self.out.command = self.table.aliases[arg]
            else:
                self.out.positionals.append(arg)
        return self.out

    @property
    def flags(self) -> dict[str, Flag]:
        return self.table.commands[self.command]

    def _long(self, arg: str) -> None:
        name, eq, attached = arg.partition("=")
        flag = self.flags.get(name)
        if flag is None:
            raise self._unknown(name)
        if flag.value == "none":
            if eq:
                raise self._no_value(flag, attached)
            self._boolean(flag)
            return
        self._store(flag, [attached] if eq else self._take(flag))

    def _short(self, arg: str) -> None:
        j = 1
        while j < len(arg):
            name = "-" + arg[j]
            flag = self.flags.get(name)
            if flag is None:
                raise self._unknown(name if self.table.parser != "commander" else arg)
            if flag.value == "none":
                self._boolean(flag)
                j += 1
                continue
            rest = arg[j + 1 :]
            self._store(flag, [rest.removeprefix("=")] if rest else self._take(flag))
            return

    def _boolean(self, flag: Flag) -> None:
        nxt = self.args[self.i] if self.i < len(self.args) else None
        if self.table.parser == "yargs" and nxt in ("true", "false"):
            self.i += 1
            self.out.options.append((flag.long, nxt))
        else:
            self.out.options.append((flag.long, None))

    def _take(self, flag: Flag) -> list[str]:
        rest = self.args[self.i :]
        if flag.value == "list":
            taken: list[str] = []
            while self.i < len(self.args) and not _is_option(self.args[self.i]):
                if self.args[self.i] == "--":
                    break
                taken.append(self.args[self.i])
                self.i += 1
            if not taken and flag.placeholder.startswith("<"):
                raise self._missing(flag)
            return taken
        if flag.value == "optional":
            if rest and not _is_option(rest[0]):
                self.i += 1
                return [rest[0]]
            return []
        if not rest or (self.table.parser != "commander" and _is_option(rest[0])):
            raise self._missing(flag)
        self.i += 1
        return [rest[0]]

    def _store(self, flag: Flag, values: list[str]) -> None:
        for value in values:
            if flag.choices and value not in flag.choices:
                raise self._invalid(flag, value)
        if not values:
            self.out.options.append((flag.long, None))
        for value in values:
            self.out.options.append((flag.long, value))

    # The messages each parser prints.

    def _usage(self) -> str:
        words = [self.table.vendor, self.command] if self.command else [self.table.vendor]
        return f"Usage: {' '.join(words)} [OPTIONS] [PROMPT]"

    def _unknown(self, name: str) -> ArgvError:
        if self.table.parser == "commander":
            return ArgvError(f"error: unknown option '{name}'")
        if self.table.parser == "clap":
            return ArgvError(
                f"error: unexpected argument '{name}' found\n\n{self._usage()}\n\n"
                "For more information, try '--help'."
            )
        bare = name.lstrip("-")
        camel = re.sub(r"-([a-z])", lambda m: m.group(1).upper(), bare)
        return ArgvError(f"Unknown arguments: {bare}" + (f", {camel}" if camel != bare else ""))

    def _invalid(self, flag: Flag, value: str) -> ArgvError:
        if self.table.parser == "commander":
            return ArgvError(
                f"error: option '{flag.shown}' argument '{value}' is invalid. "
                f"Allowed choices are {', '.join(flag.choices)}."
            )
        if self.table.parser == "clap":
            return ArgvError(
                f"error: invalid value '{value}' for '{flag.long} {flag.placeholder}'\n"
                f"  [possible values: {', '.join(flag.choices)}]\n\n"
                "For more information, try '--help'."
            )
        choices = ", ".join(f'"{c}"' for c in flag.choices)
        return ArgvError(
            f'Invalid values:\n  Argument: {flag.long.lstrip("-")}, Given: "{value}", '
            f"Choices: {choices}"
        )

    def _missing(self, flag: Flag) -> ArgvError:
        if self.table.parser == "commander":
            return ArgvError(f"error: option '{flag.shown}' argument missing")
        if self.table.parser == "clap":
            return ArgvError(
                f"error: a value is required for '{flag.long} {flag.placeholder}' "
                "but none was supplied\n\nFor more information, try '--help'."
            )
        return ArgvError(f"Not enough arguments following: {flag.long.lstrip('-')}")

    def _no_value(self, flag: Flag, value: str) -> ArgvError:
        if self.table.parser == "clap":
            return ArgvError(
                f"error: unexpected value '{value}' for '{flag.long}' found; no more were expected"
            )
        if self.table.parser == "commander":
            return ArgvError(f"error: option '{flag.long}' does not take an argument")
        return ArgvError(f"Unknown arguments: {flag.long.lstrip('-')}={value}")


def parse_argv(table: FlagTable, args: list[str]) -> ParsedArgs:
    """``args`` (argv without the executable) read as the vendor's parser would."""
    return _Reader(table, args).parse()


# --------------------------------------------------------------------------------------
# How each CLI takes its prompt, and whether the run may write


class UsageProblem(Exception):
    """The CLI would not run non-interactively with this argv."""


def _stdin_text() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.read()


def _prompt_claude(p: ParsedArgs) -> str:
    if not p.has("--print"):
        raise UsageProblem("without -p/--print claude starts an interactive session")
    return " ".join(p.positionals) if p.positionals else _stdin_text()


def _prompt_codex(p: ParsedArgs) -> str:
    if p.command != "exec":
        raise UsageProblem("only `codex exec` runs without a terminal")
    if not p.positionals or p.positionals == ["-"]:
        return _stdin_text()
    return p.positionals[0]


def _prompt_gemini(p: ParsedArgs) -> str:
    flag = p.value("--prompt")
    if flag is None:
        raise UsageProblem("without -p/--prompt gemini starts an interactive session")
    piped = _stdin_text()
    return f"{piped}\n\n{flag}" if piped else flag


def _prompt_copilot(p: ParsedArgs) -> str:
    prompt = p.value("--prompt")
    if prompt is None:
        raise UsageProblem("without -p/--prompt copilot starts an interactive session")
    allowed = ("--allow-all-tools", "--allow-all", "--yolo", "--allow-tool")
    if not any(p.has(flag) for flag in allowed):
        raise UsageProblem(
            "in prompt mode copilot needs --allow-all-tools or --allow-tool; it would wait "
            "for an approval no one can give"
        )
    return prompt


def _prompt_qwen(p: ParsedArgs) -> str:
    prompt = " ".join(p.positionals) or p.value("--prompt") or ""
    piped = _stdin_text()
    prompt = f"{piped}\n\n{prompt}" if piped and prompt else piped or prompt
    if not prompt:
        raise UsageProblem("no prompt: give it as the positional argument")
    return prompt


PROMPTS: dict[str, Callable[[ParsedArgs], str]] = {
    "claude": _prompt_claude,
    "codex": _prompt_codex,
    "gemini": _prompt_gemini,
    "copilot": _prompt_copilot,
    "qwen": _prompt_qwen,
}


def may_write(vendor: str, p: ParsedArgs) -> bool:
    """False in the vendor's no-write mode."""
    if vendor == "claude":
        return p.value("--permission-mode") != "plan"
    if vendor == "codex":
        return p.value("--sandbox") not in (None, "read-only")
    if vendor in ("gemini", "qwen"):
        return p.value("--approval-mode") != "plan"
    if vendor == "copilot":
        return "write" not in p.values("--deny-tool")
    return True


# --------------------------------------------------------------------------------------
# Output in each vendor's format


@dataclass(frozen=True)
class Answer:
    message: str
    cost_usd: float
    input_tokens: int
    output_tokens: int
    model: str
    error: str | None


def _line(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _claude(a: Answer, fmt: str) -> tuple[str, str]:
    if fmt == "text":
        return ("" if a.error else a.message + "\n"), (a.error + "\n" if a.error else "")
    usage = {
        "input_tokens": a.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": a.output_tokens,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
    }
    result: dict[str, Any] = {
        "type": "result",
        "subtype": "error_during_execution" if a.error else "success",
        "is_error": a.error is not None,
        "duration_ms": 1200,
        "duration_api_ms": 1000,
        "num_turns": 2,
        "stop_reason": "end_turn",
        "session_id": str(uuid.uuid4()),
        "total_cost_usd": a.cost_usd,
        "usage": usage,
        "modelUsage": {},
        "permission_denials": [],
        "uuid": str(uuid.uuid4()),
    }
    if a.error:
        result["errors"] = [a.error]
    else:
        result["result"] = a.message
    if fmt == "stream-json":
        init = {"type": "system", "subtype": "init", "model": a.model, "tools": []}
        said = {
            "type": "assistant",
            "message": {"role": "assistant", "content": [{"type": "text", "text": a.message}]},
        }
        return "\n".join(_line(x) for x in (init, said, result)) + "\n", ""
    return _line(result) + "\n", ""


def _codex(a: Answer, as_json: bool) -> tuple[str, str]:
    if not as_json:
        return ("" if a.error else a.message + "\n"), (f"ERROR: {a.error}\n" if a.error else "")
    events: list[dict[str, Any]] = [
        {"type": "thread.started", "thread_id": str(uuid.uuid4())},
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "ok"}},
    ]
    if a.error:
        events += [
            {"type": "error", "message": a.error},
            {"type": "turn.failed", "error": {"message": a.error}},
        ]
    else:
        events += [
            {
                "type": "item.completed",
                "item": {"id": "item_1", "type": "agent_message", "text": a.message},
            },
            {
                "type": "turn.completed",
                "usage": {
                    "input_tokens": a.input_tokens,
                    "cached_input_tokens": 0,
                    "output_tokens": a.output_tokens,
                    "reasoning_output_tokens": 0,
                },
            },
        ]
    return "".join(_line(e) + "\n" for e in events), ""


def _gemini(a: Answer, fmt: str) -> tuple[str, str]:
    if fmt == "text":
        return ("" if a.error else a.message + "\n"), (a.error + "\n" if a.error else "")
    session = str(uuid.uuid4())
    if a.error:
        doc = {"session_id": session, "error": {"type": "Error", "message": a.error, "code": 1}}
        return "", json.dumps(doc, indent=2) + "\n"
    tokens = {
        "input": a.input_tokens,
        "prompt": a.input_tokens,
        "candidates": a.output_tokens,
        "total": a.input_tokens + a.output_tokens,
        "cached": 0,
        "thoughts": 0,
        "tool": 0,
    }
    stats = {
        "models": {
            a.model: {
                "api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 900},
                "tokens": tokens,
            }
        },
        "tools": {"totalCalls": 0, "totalSuccess": 0, "totalFail": 0, "byName": {}},
        "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0},
    }
    doc = {"session_id": session, "response": a.message, "stats": stats}
    return json.dumps(doc, indent=2) + "\n", ""


def _copilot(a: Answer, fmt: str) -> tuple[str, str]:
    if fmt == "text":
        return ("" if a.error else a.message + "\n"), (f"Error: {a.error}\n" if a.error else "")

    def event(kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"type": kind, "data": data, "id": str(uuid.uuid4()), "timestamp": "t", **extra}

    events = [
        event("session.tools_updated", {"model": a.model}, ephemeral=True),
        event("assistant.turn_start", {"turnId": "0"}),
    ]
    if a.error:
        events.append(event("session.error", {"errorType": "error", "message": a.error}))
    else:
        first = min(5, a.output_tokens)
        tool_call = {"messageId": "m0", "content": "", "toolRequests": [{"name": "bash"}]}
        final = {"messageId": "m1", "model": a.model, "content": a.message, "toolRequests": []}
        events += [
            event("assistant.message", {**tool_call, "outputTokens": first}),
            event("assistant.message_delta", {"messageId": "m1", "deltaContent": a.message}),
            event("assistant.message", {**final, "outputTokens": a.output_tokens - first}),
        ]
    events.append(event("assistant.turn_end", {"turnId": "0"}))
    events.append(
        {
            "type": "result",
            "timestamp": "t",
            "sessionId": str(uuid.uuid4()),
            "exitCode": 1 if a.error else 0,
            "usage": {"premiumRequests": 1, "totalApiDurationMs": 900, "sessionDurationMs": 1500},
        }
    )
    return "".join(_line(e) + "\n" for e in events), ""


def _qwen(a: Answer, fmt: str) -> tuple[str, str]:
    if fmt == "text":
        return ("" if a.error else a.message + "\n"), (a.error + "\n" if a.error else "")
    session = str(uuid.uuid4())
    init = {"type": "system", "subtype": "init", "session_id": session, "model": a.model}
    usage = {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens}
    result: dict[str, Any] = {
        "type": "result",
        "subtype": "error_during_execution" if a.error else "success",
        "uuid": str(uuid.uuid4()),
        "session_id": session,
        "is_error": a.error is not None,
        "duration_ms": 1200,
        "duration_api_ms": 1000,
        "num_turns": 1,
        "usage": usage,
        "permission_denials": [],
    }
    messages: list[dict[str, Any]] = [init]
    if a.error:
        result["error"] = {"message": a.error}
    else:
        result["result"] = a.message
        messages.append(
            {
                "type": "assistant",
                "session_id": session,
                "message": {"role": "assistant", "content": [{"type": "text", "text": a.message}]},
            }
        )
    messages.append(result)
    if fmt == "stream-json":
        return "".join(_line(m) + "\n" for m in messages), ""
    return _line(messages) + "\n", ""


def render(vendor: str, p: ParsedArgs, a: Answer) -> tuple[str, str]:
    """(stdout, stderr) as ``vendor`` prints them for argv ``p``."""
    if vendor == "codex":
        return _codex(a, p.has("--json"))
    fmt = p.value("--output-format") or "text"
    return {"claude": _claude, "gemini": _gemini, "copilot": _copilot, "qwen": _qwen}[vendor](
        a, fmt
    )


# --------------------------------------------------------------------------------------
# The script


@contextlib.contextmanager
def _locked(path: Path) -> Any:
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def next_round(script: Path, key: str = "") -> tuple[int, dict[str, Any]]:
    """The call number (1-based) and the round it plays. A script that is a JSON object
    holds one list of rounds per key (dispatch: the worktree's name, i.e. the task id),
    each counted on its own."""
    rounds = json.loads(script.read_text(encoding="utf-8"))
    state = script.name + ".state"
    if isinstance(rounds, dict):
        if key not in rounds:
            raise UsageProblem(f"{script}: no rounds for {key!r}")
        rounds, state = rounds[key], f"{script.name}.{key}.state"
    if not isinstance(rounds, list) or not rounds:
        raise UsageProblem(f"{script}: expected a non-empty JSON list of rounds")
    with _locked(script.with_name(state)) as fh:
        fh.seek(0)
        text = fh.read().strip()
        calls = int(text) + 1 if text else 1
        fh.seek(0)
        fh.truncate()
        fh.write(str(calls))
    return calls, rounds[min(calls, len(rounds)) - 1]


def _inside(cwd: Path, rel: str) -> Path:
    target = (cwd / rel).resolve()
    if cwd.resolve() not in (target, *target.parents):
        raise UsageProblem(f"script path {rel!r} is outside the working directory")
    return target


def apply_files(step: dict[str, Any], cwd: Path) -> None:
    for rel, text in (step.get("write") or {}).items():
        target = _inside(cwd, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for rel, text in (step.get("append") or {}).items():
        target = _inside(cwd, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text)
    for rel in step.get("delete") or []:
        _inside(cwd, rel).unlink(missing_ok=True)


def main(vendor: str) -> int:
    table = load_flags(vendor)
    args = sys.argv[1:]
    try:
        parsed = parse_argv(table, args)
    except ArgvError as exc:
        print(exc, file=sys.stderr)
        return 2
    if parsed.has("--version"):
        print(VERSION_LINE[vendor].format(table.version))
        return 0
    if parsed.has("--help"):
        print(f"fake {vendor} {table.version}: accepts the flags in {table.path}")
        return 0
    try:
        prompt = PROMPTS[vendor](parsed)
        return play(vendor, parsed, prompt, args)
    except UsageProblem as exc:
        print(f"fake {vendor}: {exc}", file=sys.stderr)
        return 2


def play(vendor: str, parsed: ParsedArgs, prompt: str, args: list[str]) -> int:
    cwd = Path.cwd()
    writable = may_write(vendor, parsed)
    script_env = os.environ.get("FAKE_VENDOR_SCRIPT")
    step: dict[str, Any] = {}
    if script_env:
        script = Path(script_env)
        keyed = isinstance(json.loads(script.read_text(encoding="utf-8")), dict)
        call, step = next_round(script, cwd.name if keyed else "")
        tag = f"{cwd.name}-{call}" if keyed else str(call)
        (script.parent / f"prompt-{tag}.txt").write_text(prompt, encoding="utf-8")
        record = {"argv": [vendor, *args], "cwd": str(cwd), "may_write": writable}
        (script.parent / f"argv-{tag}.json").write_text(json.dumps(record), encoding="utf-8")
        wanted = step.get("expect_prompt_contains") or []
        for text in [wanted] if isinstance(wanted, str) else wanted:
            if text not in prompt:
                print(f"fake {vendor}: the prompt does not contain {text!r}", file=sys.stderr)
                return 3
        if step.get("spawn_sleeper"):
            child = subprocess.Popen(
                [sys.executable, "-c", f"import time; time.sleep({float(step.get('sleep', 60))})"]
            )
            pid_file = script.parent / f"child-{tag}.pid"
            pid_file.with_suffix(".tmp").write_text(str(child.pid), encoding="utf-8")
            pid_file.with_suffix(".tmp").replace(pid_file)
    if writable or step.get("ignore_mode"):
        apply_files(step, cwd)
    if step.get("sleep"):
        time.sleep(float(step["sleep"]))
    if step.get("stderr"):
        sys.stderr.write(str(step["stderr"]) + "\n")
    error = step.get("error")
    usage = step.get("usage") or {}
    answer = Answer(
        message=str(step.get("message", "done")),
        cost_usd=float(step.get("cost_usd", 0.01)),
        input_tokens=int(usage.get("input_tokens", 100)),
        output_tokens=int(usage.get("output_tokens", 20)),
        model=parsed.value("--model") or "default",
        error=str(error) if error else None,
    )
    if "raw_stdout" in step:
        out, err = str(step["raw_stdout"]), ""
    else:
        out, err = render(vendor, parsed, answer)
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.stdout.flush()
    return int(step.get("exit_code", 1 if error else 0))

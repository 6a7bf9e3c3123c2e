"""Build a vendor CLI's invocation, read its output, and redact what gets recorded.

``build`` turns a vendor spec, a model, a permission profile and a prompt into the argv,
the standard input and the environment to run; ``Invocation.display`` is the argv as it
may be shown and recorded: the prompt replaced by its length and hash, secrets by a
redacted preview. ``parse_output`` reads the final message, the cost in USD (where the
vendor reports one), the token usage and any failure out of what the CLI printed, and
never raises: output it cannot read becomes ``AgentOutput.error``.

Running the invocation is the caller's: in ``workdir``, in its own process group, with
standard input from ``Invocation.stdin`` or, when that is None, from /dev/null (several
CLIs append piped input to the prompt).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convergio_gate.errors import UsageError
from convergio_gate.runners.registry import Probe, VendorSpec, check_model

#: The most a prompt passed in argv may be, in UTF-8 bytes; Linux refuses one argument
#: over 128 KiB (MAX_ARG_STRLEN), and the rest of argv and the environment need room.
PROMPT_ARG_LIMIT = 100_000
#: Environment values shorter than this are never treated as secrets: they would match
#: all over the argv, and no API key is that short.
MIN_SECRET_LEN = 8
#: Environment variables whose name says they hold a credential, whatever the vendor.
SECRET_NAME = re.compile(
    r"(^|_)(API_?KEY|ACCESS_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)(_|$)",
    re.IGNORECASE,
)
WORKDIR_PLACEHOLDER = "{workdir}"

_ESCAPES = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]")
_MAX_SCAN = 16 << 20


@dataclass(frozen=True)
class Invocation:
    """What to run: argv; the text for standard input (None: give it /dev/null); the
    variables to set over the environment the caller runs it with (the vendor's ``env``,
    ``extra_env`` and ``PWD``); and the argv as it may be displayed and recorded."""

    argv: list[str]
    stdin: str | None
    env: dict[str, str]
    display: list[str]


@dataclass(frozen=True)
class AgentOutput:
    """What one round of a vendor CLI produced.

    ``message`` is the agent's final message ("" when none could be read); ``cost_usd``
    is None when the vendor reports no cost; ``usage`` holds token (and request) counts
    under the names the vendor spec gives them; ``error`` says why the round failed, or
    is None; ``raw_format`` is the format actually read (``text`` when the structured
    output the vendor should print was not there).
    """

    message: str
    cost_usd: float | None
    usage: dict[str, int]
    error: str | None
    raw_format: str


# --------------------------------------------------------------------------------------
# Building


def build(
    spec: VendorSpec,
    *,
    model: str,
    profile: str,
    prompt: str,
    workdir: Path,
    budget_usd: float | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Invocation:
    """The invocation of ``spec``'s CLI for one round; UsageError when it cannot be built.

    argv is: the executable, the prompt's fixed args (a subcommand), the base args, the
    model flag and model, the profile's flags, the budget flag and amount (when the
    vendor has one and a budget is given), then the prompt (or the marker that says
    "read standard input"). ``{workdir}`` in an arg becomes ``workdir``. The executable
    is ``$CONVERGIO_<VENDOR>_BIN`` when that is set (in the environment or ``extra_env``).
    """
    flags = spec.profiles.get(profile)
    if flags is None:
        raise UsageError(
            f"runner {spec.id}: unknown profile {profile!r}; known: {', '.join(spec.profiles)}"
        )
    check_model(spec, model)
    if "\x00" in prompt:
        raise UsageError(f"runner {spec.id}: the prompt holds a NUL character")
    env = {**spec.env, **(extra_env or {}), "PWD": str(workdir)}
    seen = {**os.environ, **env}
    argv = [spec.executable_for(seen), *spec.prompt.args]
    argv += _fill(spec.base_args, workdir)
    argv += [spec.model_flag, model]
    argv += _fill(flags, workdir)
    if budget_usd is not None:
        if not math.isfinite(budget_usd) or budget_usd <= 0:
            raise UsageError(f"budget {budget_usd!r} USD: expected a positive amount")
        if spec.budget_flag:
            argv += [spec.budget_flag, _money(budget_usd)]
    stdin: str | None = None
    shown: dict[int, str] = {}
    digest = prompt_digest(prompt)
    if spec.prompt.via == "stdin":
        stdin = prompt
        if spec.prompt.stdin_arg is not None:
            argv.append(spec.prompt.stdin_arg)
    elif spec.prompt.via == "flag" and spec.prompt.flag:
        _check_arg_size(spec, prompt)
        flag = spec.prompt.flag
        if flag.startswith("--"):
            shown[len(argv)] = f"{flag}={digest}"
            argv.append(f"{flag}={prompt}")
        else:
            shown[len(argv) + 1] = digest
            argv += [flag, prompt]
    else:
        _check_arg_size(spec, prompt)
        shown[len(argv)] = digest
        argv.append(" " + prompt if prompt.startswith("-") else prompt)
    display = redact_argv(
        [shown.get(i, arg) for i, arg in enumerate(argv)], secret_values(spec, seen)
    )
    return Invocation(argv=argv, stdin=stdin, env=env, display=display)


def _fill(args: Sequence[str], workdir: Path) -> list[str]:
    return [a.replace(WORKDIR_PLACEHOLDER, str(workdir)) for a in args]


def _money(amount: float) -> str:
    text = f"{amount:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "0") else "0.0001"


def _check_arg_size(spec: VendorSpec, prompt: str) -> None:
    size = len(prompt.encode("utf-8", "surrogatepass"))
    if size > PROMPT_ARG_LIMIT:
        raise UsageError(
            f"runner {spec.id}: the prompt is {size} bytes, over the {PROMPT_ARG_LIMIT} that "
            f"can be passed as a command-line argument ({spec.id} takes it via "
            f"{spec.prompt.via})",
            fix="shorten the task's description, or use a vendor that reads the prompt "
            "from standard input",
        )


def prompt_digest(prompt: str) -> str:
    """How a prompt is shown: its length and the start of its sha256."""
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"<prompt: {len(prompt)} chars, sha256 {digest}>"


# --------------------------------------------------------------------------------------
# Redaction


def secret_values(spec: VendorSpec, env: Mapping[str, str]) -> list[str]:
    """The values in ``env`` that are credentials: the vendor's ``secret_env`` and any
    variable whose name says it holds a key, token, secret or password."""
    names = set(spec.secret_env) | {n for n in env if SECRET_NAME.search(n)}
    values = {env[n] for n in names if len(env.get(n, "")) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact_argv(argv: Sequence[str], secret_env_values: Iterable[str]) -> list[str]:
    """``argv`` with every given secret value, and every secret the secret gate's rules
    recognise, replaced by a redacted preview (``[secret sk-a…(51 chars)]``)."""
    from convergio_gate.gates.secret import redact, scrub

    values = sorted(
        {v for v in secret_env_values if len(v) >= MIN_SECRET_LEN}, key=len, reverse=True
    )
    out: list[str] = []
    for arg in argv:
        for value in values:
            if value in arg:
                arg = arg.replace(value, f"[secret {redact(value)}]")
        out.append(scrub(arg, "argv")[0])
    return out


def redact_text(text: str, secret_env_values: Iterable[str]) -> str:
    """``text`` (a CLI's output) with the given secret values and recognised secrets
    replaced by a redacted preview, for keeping in a record."""
    return redact_argv([text], secret_env_values)[0]


# --------------------------------------------------------------------------------------
# Reading the output


def parse_output(spec: VendorSpec, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
    """What the CLI printed, read as ``spec.output`` says. Never raises.

    Any credential the secret gate's rules recognise in the error text is redacted; the
    message is left as the agent wrote it.
    """
    try:
        return _parse(spec, stdout, stderr, exit_code)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError, OverflowError) as exc:
        return AgentOutput(
            message="",
            cost_usd=None,
            usage={},
            error=f"could not read {spec.id}'s output ({type(exc).__name__}: {exc})",
            raw_format="text",
        )


def _parse(spec: VendorSpec, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
    out = spec.output
    records: list[dict[str, Any]] = []
    if out.format == "json":
        records = _json_records(stdout) or _json_records(stderr)
    elif out.format == "jsonl":
        records = _jsonl_records(stdout) or _jsonl_records(stderr)
    structured = out.format != "text" and bool(records)
    raw_format = out.format if structured else "text"
    if structured:
        message = _text_of(out.message, records) or ""
        cost = _number_of(out.cost_usd, records)
        usage = {
            name: round(value)
            for name, probes in out.usage.items()
            if (value := _number_of(probes, records)) is not None
        }
        flagged, flag_text = _error_of(out.error, records)
        error_text = _text_of(out.error_message, records)
    else:
        message = _strip(stdout).strip() if out.format == "text" else ""
        cost, usage, flagged, flag_text, error_text = None, {}, False, None, None
    error = _explain(
        spec,
        exit_code,
        stdout,
        stderr,
        structured or out.format == "text",
        flagged,
        error_text or flag_text or (message if flagged else None),
    )
    if error is not None:
        from convergio_gate.gates.secret import scrub

        error = scrub(error, "error")[0]
    return AgentOutput(message, cost, usage, error, raw_format)


def _explain(
    spec: VendorSpec,
    exit_code: int,
    stdout: str,
    stderr: str,
    readable: bool,
    flagged: bool,
    said: str | None,
) -> str | None:
    if exit_code == 0 and readable and not flagged:
        return None
    reason = said or _tail(stderr)
    if not readable:
        shown = _tail(stdout) or "nothing"
        reason = f"no {spec.output.format} output from {spec.id} (stdout: {shown})" + (
            f"; stderr: {_tail(stderr)}" if _tail(stderr) else ""
        )
    if exit_code < 0:
        status = f"killed by signal {-exit_code}"
    elif exit_code > 0:
        status = f"exit code {exit_code}"
    else:
        status = ""
    if reason and status:
        return f"{reason} ({status})"
    return reason or f"{spec.id} failed ({status or 'reported an error'})"


def _tail(text: str, limit: int = 500) -> str:
    lines = [ln.strip() for ln in _strip(text).splitlines() if ln.strip()]
    tail = " | ".join(lines[-5:])
    return tail if len(tail) <= limit else "…" + tail[-limit:]


def _strip(text: str) -> str:
    return _ESCAPES.sub("", text)


def _json_records(text: str) -> list[dict[str, Any]]:
    """The objects of the JSON document(s) in ``text``: a document's own object, or the
    objects of a top-level array. Lines that are not JSON (a warning, a banner) before,
    between or after the documents are skipped; a document starts a line."""
    text = _strip(text[-_MAX_SCAN:])
    try:
        return _flatten([json.loads(text)])
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    values: list[Any] = []
    resume = pos = 0
    for line in text.splitlines(keepends=True):
        start = pos + len(line) - len(line.lstrip(" \t"))
        pos += len(line)
        if start < resume or start >= len(text) or text[start] not in "{[":
            continue
        try:
            value, resume = decoder.raw_decode(text, start)
        except ValueError:
            continue
        values.append(value)
    return _flatten(values)


def _jsonl_records(text: str) -> list[dict[str, Any]]:
    values: list[Any] = []
    for line in _strip(text[-_MAX_SCAN:]).splitlines():
        line = line.strip()
        if line[:1] in ("{", "["):
            try:
                values.append(json.loads(line))
            except ValueError:
                continue
    return _flatten(values)


def _flatten(values: list[Any]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, dict):
            records.append(value)
        elif isinstance(value, list):
            records.extend(item for item in value if isinstance(item, dict))
    return records


def lookup(record: Any, path: str) -> list[Any]:
    """Every value at dotted ``path`` in ``record`` (``*`` fans out; a number indexes)."""
    current = [record]
    for part in path.split("."):
        nxt: list[Any] = []
        for node in current:
            if part == "*":
                if isinstance(node, dict):
                    nxt.extend(node.values())
                elif isinstance(node, list):
                    nxt.extend(node)
            elif isinstance(node, dict):
                if part in node:
                    nxt.append(node[part])
            elif isinstance(node, list) and re.fullmatch(r"-?\d+", part):
                index = int(part)
                if -len(node) <= index < len(node):
                    nxt.append(node[index])
        current = nxt
    return current


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _matching(probe: Probe, records: list[dict[str, Any]]) -> list[list[Any]]:
    """For each record ``probe.when`` admits and where ``probe.path`` is, its values."""
    out: list[list[Any]] = []
    for record in records:
        admitted = all(
            any(_same(found, want) for found in lookup(record, key) for want in wanted)
            for key, wanted in probe.when
        )
        if admitted:
            found = lookup(record, probe.path)
            if found:
                out.append(found)
    return out


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, list):
        parts = [t for item in value if (t := _as_text(item))]
        return "\n".join(parts) if parts else None
    if isinstance(value, dict):
        return _as_text(value.get("message"))
    return None


def _text_of(probes: Sequence[Probe], records: list[dict[str, Any]]) -> str | None:
    """The first probe that finds text gives its last non-empty text."""
    for probe in probes:
        texts = [t for found in _matching(probe, records) if (t := _as_text(found))]
        if texts:
            return texts[-1]
    return None


def _number(values: list[Any]) -> float | None:
    numbers = [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]
    return sum(numbers) if numbers else None


def _number_of(probes: Sequence[Probe], records: list[dict[str, Any]]) -> float | None:
    """The first probe that finds a number: the last, or the sum, over its records."""
    for probe in probes:
        per_record = [n for found in _matching(probe, records) if (n := _number(found)) is not None]
        if per_record:
            return sum(per_record) if probe.combine == "sum" else per_record[-1]
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _error_of(probes: Sequence[Probe], records: list[dict[str, Any]]) -> tuple[bool, str | None]:
    """Whether any probe finds a failure (true, non-zero, non-empty), and its text."""
    flagged = False
    said: str | None = None
    for probe in probes:
        for found in _matching(probe, records):
            for value in found:
                if _truthy(value):
                    flagged = True
                    said = _as_text(value) or said
    return flagged, said

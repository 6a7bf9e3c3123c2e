#!/usr/bin/env python3
"""Record the flags of the five vendor coding CLIs, read off their own ``--help``.

Installs each CLI from npm into a temporary prefix at the version asked for, runs its
``--help`` (and, for codex, ``codex exec --help``) with an empty temporary $HOME, and
writes ``<vendor>-<version>.json`` beside this script: every long and short flag, whether
it takes a value (none, one, an optional one, or a list), and, where the help lists them,
the values an enum flag allows (``(choices: ...)``, ``[choices: ...]``, ``[possible
values: ...]`` or a ``Possible values:`` block).

The files carry no date, so recording an unchanged CLI again leaves them byte for byte
the same. The tests check every argv convergio-gate builds against these lists, and the
fake CLIs in tests/fake_vendors/ reject any flag missing from them.

Examples::

    python tests/data/vendor_flags/refresh.py                      # the pinned versions
    python tests/data/vendor_flags/refresh.py --vendor codex --version codex=0.170.0
    python tests/data/vendor_flags/refresh.py --prefix /tmp/clis   # reuse an npm prefix

Needs node and npm (the versions pinned here install on Node 20) and the npm registry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FORMAT = 1


@dataclass(frozen=True)
class Vendor:
    """How to install one CLI and read its help."""

    package: str
    bin: str
    version: str
    parser: str  # the argument parser the CLI is built on: commander, clap or yargs
    commands: tuple[tuple[str, tuple[str, ...]], ...]


#: The versions seen on Node 20 (shared/vendor-clis.md), and the help each CLI is read from.
VENDORS: dict[str, Vendor] = {
    "claude": Vendor(
        "@anthropic-ai/claude-code", "claude", "2.1.197", "commander", (("", ("--help",)),)
    ),
    "codex": Vendor(
        "@openai/codex",
        "codex",
        "0.169.0",
        "clap",
        (("", ("--help",)), ("exec", ("exec", "--help"))),
    ),
    "gemini": Vendor("@google/gemini-cli", "gemini", "0.61.0", "yargs", (("", ("--help",)),)),
    "copilot": Vendor("@github/copilot", "copilot", "1.0.102", "clap", (("", ("--help",)),)),
    "qwen": Vendor("@qwen-code/qwen-code", "qwen", "0.15.10", "yargs", (("", ("--help",)),)),
}

#: Subcommand aliases the help names (``exec ... [aliases: e]``), kept with the flags.
ALIASES = {"codex": {"exec": ["e"]}}

_FLAG_LINE = re.compile(
    r"^ {1,8}(-{1,2}[A-Za-z0-9?][\w.-]*(?:,\s*-{1,2}[A-Za-z0-9?][\w.-]*)*)(.*)$"
)
_VALUE_SPEC = re.compile(r"^[ =]((?:<[^>]*>|\[[^\]]*\])(?:\.\.\.)?)")
_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_QUOTED = re.compile(r'"([^"]*)"')


def parse_help(text: str, parser: str) -> list[dict[str, Any]]:
    """Every option the help text lists, in order, as recorded in the JSON files."""
    flags: list[dict[str, Any]] = []
    for head, rest, body in _entries(text):
        names = [n.strip() for n in head.split(",")]
        spec_match = _VALUE_SPEC.match(rest)
        placeholder = spec_match.group(1) if spec_match else ""
        flags.append(
            {
                "names": names,
                "value": _value_kind(placeholder, body, parser),
                "placeholder": placeholder,
                "choices": _choices(body),
            }
        )
    return flags


def _entries(text: str) -> list[tuple[str, str, str]]:
    """(names, the rest of the first line, the whole entry text) for each option."""
    out: list[tuple[str, str, str]] = []
    in_options = False
    current: list[str] | None = None
    head = rest = ""
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            if current is not None:
                out.append((head, rest, "\n".join(current)))
                current = None
            in_options = section.group(1).strip().lower() == "options"
            continue
        if not in_options:
            continue
        match = _FLAG_LINE.match(line)
        if match:
            if current is not None:
                out.append((head, rest, "\n".join(current)))
            head, rest = match.group(1), match.group(2)
            current = [line]
        elif current is not None and (line.startswith(" ") or not line.strip()):
            current.append(line)
        elif current is not None:
            out.append((head, rest, "\n".join(current)))
            current = None
    if current is not None:
        out.append((head, rest, "\n".join(current)))
    return out


def _value_kind(placeholder: str, body: str, parser: str) -> str:
    if placeholder:
        if "..." in placeholder:
            return "list"
        return "optional" if placeholder.startswith("[") else "required"
    if parser == "yargs":
        types = re.findall(r"\[(boolean|string|number|array|count)\]", body)
        kind = types[-1] if types else "boolean"
        return {"string": "required", "number": "required", "array": "list"}.get(kind, "none")
    return "none"


def _choices(body: str) -> list[str]:
    flat = " ".join(body.split())
    for pattern in (r"\(choices: (.*?)\)", r"\[choices: (.*?)\]"):
        match = re.search(pattern, flat)
        if match:
            listed = re.split(r"\b(?:preset|default):", match.group(1))[0]
            return _unique(_QUOTED.findall(listed))
    match = re.search(r"\[possible values: (.*?)\]", flat)
    if match:
        return _unique(v.strip() for v in match.group(1).split(","))
    _, found, block = body.partition("Possible values:")
    if found:
        return _unique(re.findall(r"^\s+- ([\w.-]+):", block, re.MULTILINE))
    return []


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def record(vendor: str, spec: Vendor, version: str, prefix: Path) -> dict[str, Any]:
    """Run the installed CLI's help and build the JSON document for it."""
    exe = prefix / "node_modules" / ".bin" / spec.bin
    if not exe.exists():
        raise SystemExit(f"refresh: {exe} is missing; the npm install did not provide it")
    commands: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vendor-help-home-") as home:
        env = _clean_env(home)
        installed = _run([str(exe), "--version"], env).strip().splitlines()
        if not installed or version not in installed[0]:
            raise SystemExit(f"refresh: {vendor} --version says {installed!r}, expected {version}")
        for name, argv in spec.commands:
            text = _run([str(exe), *argv], env)
            entry: dict[str, Any] = {
                "help": list(argv),
                "help_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "flags": parse_help(text, spec.parser),
            }
            if name and name in ALIASES.get(vendor, {}):
                entry["aliases"] = ALIASES[vendor][name]
            commands[name] = entry
    return {
        "format": FORMAT,
        "vendor": vendor,
        "package": spec.package,
        "version": version,
        "parser": spec.parser,
        "recorded_by": "tests/data/vendor_flags/refresh.py",
        "commands": commands,
    }


def dump(document: dict[str, Any]) -> str:
    """The JSON text: one flag a line, so a refresh's diff shows flags added and removed."""
    head = {k: v for k, v in document.items() if k != "commands"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "commands": {')
    commands = document["commands"]
    for n, (name, entry) in enumerate(commands.items()):
        lines.append(f"    {json.dumps(name)}: {{")
        for key, value in entry.items():
            if key != "flags":
                lines.append(f"      {json.dumps(key)}: {json.dumps(value)},")
        flags = [f"        {json.dumps(flag, ensure_ascii=False)}" for flag in entry["flags"]]
        lines.append('      "flags": [')
        lines.append(",\n".join(flags))
        lines.append("      ]")
        lines.append("    }" + ("," if n < len(commands) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _clean_env(home: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=home, XDG_CONFIG_HOME=str(Path(home) / ".config"), NO_COLOR="1", CI="1")
    env["COLUMNS"] = "100"
    return env


def _run(argv: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise SystemExit(f"refresh: {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout or proc.stderr


def install(packages: list[str], prefix: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("refresh: npm is not on PATH; install Node.js 20 or newer")
    cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([*cmd, *packages], check=True, timeout=1800)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="refresh.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes <vendor>-<version>.json files; commit them with the registry change "
        "(rules/runners.yaml `version:`) that uses them.",
    )
    parser.add_argument(
        "--vendor",
        action="append",
        choices=sorted(VENDORS),
        help="record only this vendor (repeatable; default: all five)",
    )
    parser.add_argument(
        "--version",
        action="append",
        default=[],
        metavar="VENDOR=VERSION",
        help="record this version instead of the pinned one (repeatable)",
    )
    parser.add_argument(
        "--prefix",
        type=Path,
        help="npm prefix to install into and keep (default: a temporary one, removed after)",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="use the CLIs already installed under --prefix",
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    args = parser.parse_args(argv)
    chosen = args.vendor or list(VENDORS)
    versions = {v: VENDORS[v].version for v in chosen}
    for item in args.version:
        name, _, version = item.partition("=")
        if name not in VENDORS or not version:
            parser.error(f"--version {item!r}: expected VENDOR=VERSION with one of {list(VENDORS)}")
        versions[name] = version
    if args.no_install and args.prefix is None:
        parser.error("--no-install needs --prefix")
    with tempfile.TemporaryDirectory(prefix="vendor-clis-") as scratch:
        prefix = args.prefix or Path(scratch)
        if not args.no_install:
            install([f"{VENDORS[v].package}@{versions[v]}" for v in chosen], prefix)
        args.out.mkdir(parents=True, exist_ok=True)
        for vendor in chosen:
            document = record(vendor, VENDORS[vendor], versions[vendor], prefix)
            target = args.out / f"{vendor}-{versions[vendor]}.json"
            target.write_text(dump(document))
            count = sum(len(c["flags"]) for c in document["commands"].values())
            print(f"{target.name}: {count} flags")
    return 0


if __name__ == "__main__":
    sys.exit(main())

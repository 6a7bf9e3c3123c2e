"""The vendor coding CLIs as data: load, validate and merge ``runners.yaml`` files.

Three layers, merged by vendor id, later over earlier::

    rules/runners.yaml                                 built in (shipped in the wheel)
    $XDG_CONFIG_HOME/convergio-gate/runners.yaml       the user's (~/.config/...)
    <repository>/.convergio/runners.yaml               the repository's

A layer that names a vendor either adds it (then every required key must be there, in
the layers together) or replaces the keys it gives; ``profiles`` are replaced one profile
at a time. Each file is validated on its own, so an error names the file, the line and
the key path; a vendor left incomplete by the merge is reported at the last file that
named it.

``Registry.resolve("claude:sonnet")`` gives the vendor's spec and the model, or a
UsageError listing the vendors (or the models) that are known.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from convergio_gate.errors import InputError, UsageError
from convergio_gate.model import yamlio
from convergio_gate.model.schema import (
    Enum,
    Field,
    Kind,
    ListOf,
    Loc,
    MapOf,
    Str,
    Struct,
    Version,
    root_loc,
    validate_document,
)

PROFILES = ("read_only", "standard", "sandbox")
PROMPT_MODES = ("stdin", "flag", "positional")
OUTPUT_FORMATS = ("text", "json", "jsonl")
COMBINE = ("last", "sum")

REPO_FILE = ".convergio/runners.yaml"
BUILTIN_LABEL = "rules/runners.yaml"

VENDOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
VENDOR_ID_DOC = "a vendor id: lower-case letters, digits, '_' or '-', at most 32"
#: A model name as it may appear in argv: never an option, never whitespace.
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@:+\[\]-]{0,127}$")
_FLAG = re.compile(r"^-{1,2}[A-Za-z0-9][\w.-]*$")
_ARG = re.compile(r"^[^\x00\n\r]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^(\*|-?\d+|[A-Za-z_$@][\w$@-]*)(\.(\*|-?\d+|[A-Za-z_$@][\w$@-]*))*$")
_VERSION = re.compile(r"^\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Probe:
    """Where a value sits in the vendor's output.

    ``path`` is dotted (``usage.input_tokens``; ``*`` sums or joins over every child;
    an integer indexes a list). ``when`` narrows the records it is read from: each key
    is a dotted path and the value the record must hold there (one of several, for a
    list). ``combine`` says what several matching records give: the last value, or the
    sum (numbers only).
    """

    path: str
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    combine: str = "last"


@dataclass(frozen=True)
class OutputSpec:
    """How to read the final message, cost, usage and failure out of the output."""

    format: str
    message: tuple[Probe, ...] = ()
    cost_usd: tuple[Probe, ...] = ()
    usage: Mapping[str, tuple[Probe, ...]] = field(default_factory=dict)
    error: tuple[Probe, ...] = ()
    error_message: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class PromptSpec:
    """How the prompt reaches the CLI.

    ``via``: ``stdin`` (optionally with ``stdin_arg``, the positional that means "read
    standard input", e.g. codex's ``-``), ``flag`` (``flag`` names it; a long flag is
    passed as ``--flag=PROMPT`` so a prompt starting with ``-`` stays a value), or
    ``positional`` (last in argv). ``args`` come first of all, e.g. a subcommand.
    """

    via: str
    args: tuple[str, ...] = ()
    flag: str | None = None
    stdin_arg: str | None = None


@dataclass(frozen=True)
class VendorSpec:
    """One vendor CLI, fully merged and validated."""

    id: str
    description: str
    executable: str
    version: str
    package: str | None
    prompt: PromptSpec
    model_flag: str
    models: tuple[str, ...] | None
    base_args: tuple[str, ...]
    budget_flag: str | None
    profiles: Mapping[str, tuple[str, ...]]
    output: OutputSpec
    secret_env: tuple[str, ...]
    env: Mapping[str, str]
    source: str

    @property
    def bin_env(self) -> str:
        """The environment variable that overrides the executable."""
        return "CONVERGIO_" + re.sub(r"[^A-Z0-9]", "_", self.id.upper()) + "_BIN"

    def executable_for(self, env: Mapping[str, str]) -> str:
        """The executable to run: ``$CONVERGIO_<VENDOR>_BIN`` when set, else ours."""
        return env.get(self.bin_env) or self.executable

    def accepts_model(self, model: str) -> bool:
        if not MODEL_NAME.match(model):
            return False
        if self.models is None:
            return True
        return any(_glob(pattern).match(model) for pattern in self.models)

    def locate(self, env: Mapping[str, str]) -> str:
        """The absolute path of the executable, or UsageError saying how to install it."""
        exe = self.executable_for(env)
        found = shutil.which(exe, path=env.get("PATH"))
        if found:
            return found
        install = f"npm install -g {self.package}@{self.version}" if self.package else None
        fix = f"install it ({install}) or" if install else "install it or"
        raise UsageError(
            f"runner {self.id}: executable {exe!r} not found on PATH",
            fix=f"{fix} point {self.bin_env} at it",
        )


def _glob(pattern: str) -> re.Pattern[str]:
    """A model pattern: ``*`` and ``?`` are wildcards, every other character is literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("^" + "".join(parts) + "$")


# --------------------------------------------------------------------------------------
# The schema of one file. Every vendor key is optional here; completeness is checked
# after the layers are merged.


class _ProbeKind(Kind):
    """A probe: a dotted path, or ``{path, when, combine}``; or a list of them."""

    expected = "a dotted path, a mapping {path, when, combine}, or a list of them"

    def convert(self, value: Any, loc: Loc) -> list[dict[str, Any]]:
        if isinstance(value, list):
            if not value:
                raise loc.error(f"expected {self.expected}, got an empty list")
            return [self._one(item, loc.at_item(value, i)) for i, item in enumerate(value)]
        return [self._one(value, loc)]

    def _one(self, value: Any, loc: Loc) -> dict[str, Any]:
        if isinstance(value, str):
            return {"path": _PATH_KIND.convert(value, loc), "when": {}, "combine": "last"}
        if isinstance(value, Mapping):
            return dict(_PROBE_STRUCT.convert(value, loc))
        raise self.wrong(value, loc)


class _Scalars(Kind):
    """A scalar a record must hold, or a list of allowed scalars."""

    expected = "a string, number or boolean, or a list of them"

    def convert(self, value: Any, loc: Loc) -> list[Any]:
        items = value if isinstance(value, list) else [value]
        out: list[Any] = []
        for index, item in enumerate(items):
            if item is None or not isinstance(item, (str, int, float, bool)):
                where = loc.at_item(value, index) if isinstance(value, list) else loc
                raise self.wrong(item, where)
            out.append(str(item) if isinstance(item, str) else item)
        return out


_PATH_KIND = Str(_PATH, expected="a dotted path such as usage.input_tokens (`*` for all)")
_PROBE_STRUCT = Struct(
    fields=(
        Field("path", _PATH_KIND),
        Field("when", MapOf(_Scalars(), key=_PATH_KIND), required=False, default=dict),
        Field("combine", Enum(choices=COMBINE), required=False, default="last"),
    ),
    expected="a probe {path, when, combine}",
)
_FLAG_KIND = Str(_FLAG, expected="a flag such as --model or -m")
_ARG_KIND = Str(_ARG, expected="a command-line argument (one line)", allow_empty=True)
_ARGS = ListOf(_ARG_KIND, max_items=200)

_PROMPT = Struct(
    fields=(
        Field("via", Enum(choices=PROMPT_MODES)),
        Field("args", _ARGS, required=False, default=list),
        Field("flag", _FLAG_KIND, required=False),
        Field("stdin_arg", _ARG_KIND, required=False),
    ),
    expected="a mapping {via, args, flag, stdin_arg}",
)
_OUTPUT = Struct(
    fields=(
        Field("format", Enum(choices=OUTPUT_FORMATS)),
        Field("message", _ProbeKind(), required=False, default=list),
        Field("cost_usd", _ProbeKind(), required=False, default=list),
        Field(
            "usage",
            MapOf(_ProbeKind(), key=Str(VENDOR_ID, expected="a usage name such as input_tokens")),
            required=False,
            default=dict,
        ),
        Field("error", _ProbeKind(), required=False, default=list),
        Field("error_message", _ProbeKind(), required=False, default=list),
    ),
    expected="a mapping {format, message, cost_usd, usage, error, error_message}",
)
_PROFILES = Struct(
    fields=tuple(Field(name, _ARGS, required=False) for name in PROFILES),
    expected="a mapping of profile (read_only, standard, sandbox) to a list of flags",
)
#: Keys a vendor must have once the layers are merged, and what each one is.
REQUIRED = {
    "executable": "the CLI's name on PATH, or a path",
    "version": "the CLI version its flags were recorded at",
    "prompt": "how the prompt goes in: {via: stdin|flag|positional}",
    "model_flag": "the flag that names the model, e.g. --model",
    "profiles": "the flags of each profile: read_only, standard, sandbox",
    "output": "the output format and where the message is: {format: json, message: ...}",
}
_VENDOR = Struct(
    fields=(
        Field("description", Str(max_len=200), required=False),
        Field("package", Str(max_len=200), required=False),
        Field("executable", Str(_ARG, expected="an executable name or path"), required=False),
        Field("version", Str(_VERSION, expected="a version such as '1.2.3'"), required=False),
        Field("prompt", _PROMPT, required=False),
        Field("base_args", _ARGS, required=False),
        Field("model_flag", _FLAG_KIND, required=False),
        Field("models", ListOf(Str(max_len=128), unique=True), required=False),
        Field("budget_flag", _FLAG_KIND, required=False),
        Field("profiles", _PROFILES, required=False),
        Field("output", _OUTPUT, required=False),
        Field("secret_env", ListOf(Str(_ENV_NAME, expected="an env var name")), required=False),
        Field("env", MapOf(Str(allow_empty=True), key=Str(_ENV_NAME)), required=False),
    ),
    expected="a vendor mapping",
)
_FILE = Struct(
    fields=(
        Field("version", Version(what="runners file")),
        Field("vendors", MapOf(_VENDOR, key=Str(VENDOR_ID, expected=VENDOR_ID_DOC))),
    ),
    expected="a mapping with `version: 1` and `vendors:`",
)


# --------------------------------------------------------------------------------------
# Loading and merging


@dataclass(frozen=True)
class Layer:
    label: str
    base: Path | None  # where a relative executable path is resolved from
    vendors: dict[str, dict[str, Any]]
    lines: dict[str, int | None]


@dataclass(frozen=True)
class Registry:
    """The merged vendors, and the files they came from (lowest layer first)."""

    vendors: Mapping[str, VendorSpec]
    sources: tuple[str, ...]

    def get(self, vendor: str) -> VendorSpec:
        spec = self.vendors.get(vendor)
        if spec is None:
            raise UsageError(
                f"unknown runner vendor {vendor!r}; known: {', '.join(sorted(self.vendors))}",
                fix=f"use one of those, or describe {vendor!r} in {REPO_FILE} "
                "(see docs/runners.md)",
            )
        return spec

    def resolve(self, runner_kind: str) -> tuple[VendorSpec, str]:
        """``vendor:model`` to the vendor's spec and the model, checking both."""
        vendor, sep, model = runner_kind.partition(":")
        if not sep or not vendor or not model:
            raise UsageError(
                f"runner_kind {runner_kind!r}: expected vendor:model, e.g. claude:sonnet",
                fix=f"known vendors: {', '.join(sorted(self.vendors))}",
            )
        spec = self.get(vendor)
        check_model(spec, model)
        return spec, model


def check_model(spec: VendorSpec, model: str) -> None:
    """UsageError unless ``spec`` accepts ``model``."""
    if spec.accepts_model(model):
        return
    if not MODEL_NAME.match(model):
        raise UsageError(
            f"runner {spec.id}: {model!r} is not a model name (letters, digits and ._/@:+-, "
            "not starting with '-')"
        )
    known = ", ".join(spec.models or ())
    raise UsageError(
        f"runner {spec.id} does not accept model {model!r}; it accepts: {known}",
        fix=f"use one of those, or add the model to `models:` of {spec.id} in {REPO_FILE}",
    )


def load_registry(root: Path | None = None, env: Mapping[str, str] | None = None) -> Registry:
    """The built-in vendors, merged with the user's and ``root``'s runners.yaml."""
    env = os.environ if env is None else env
    layers = [_builtin_layer()]
    user = user_file(env)
    if user is not None and user.is_file():
        layers.append(_read_layer(user, str(user), user.parent))
    if root is not None:
        repo = root / REPO_FILE
        if repo.is_file():
            layers.append(_read_layer(repo, REPO_FILE, root))
    return merge(layers)


def user_file(env: Mapping[str, str]) -> Path | None:
    config = env.get("XDG_CONFIG_HOME") or (
        str(Path(env["HOME"]) / ".config") if env.get("HOME") else ""
    )
    return Path(config) / "convergio-gate" / "runners.yaml" if config else None


@cache
def _builtin_layer() -> Layer:
    source = resources.files("convergio_gate.rules") / "runners.yaml"
    if not source.is_file():
        raise InputError("file missing from the installation", path=BUILTIN_LABEL, fix="reinstall")
    text = yamlio.decode(source.read_bytes(), BUILTIN_LABEL)
    return _layer(yamlio.parse(text, BUILTIN_LABEL), BUILTIN_LABEL, None)


def _read_layer(path: Path, label: str, base: Path) -> Layer:
    return _layer(yamlio.load(path, label), label, base)


def _layer(doc: Any, label: str, base: Path | None) -> Layer:
    data = validate_document(doc, _FILE, label)
    loc = root_loc(doc, label)
    vendors_node = doc["vendors"]
    lines = {name: loc.at_key(vendors_node, name).line for name in data["vendors"]}
    vendors = {
        name: {k: v for k, v in entry.items() if v is not None}
        for name, entry in data["vendors"].items()
    }
    return Layer(label, base, vendors, lines)


def merge(layers: Sequence[Layer]) -> Registry:
    merged: dict[str, dict[str, Any]] = {}
    where: dict[str, tuple[str, int | None]] = {}
    bases: dict[str, Path | None] = {}
    for layer in layers:
        for name, entry in layer.vendors.items():
            into = merged.setdefault(name, {})
            for key, value in entry.items():
                if key == "profiles" and isinstance(into.get(key), dict):
                    into[key] = {
                        **into[key],
                        **{k: v for k, v in value.items() if v is not None},
                    }
                else:
                    into[key] = value
                if key == "executable":
                    bases[name] = layer.base
            where[name] = (layer.label, layer.lines.get(name))
    vendors = {
        name: _spec(name, entry, where[name], bases.get(name)) for name, entry in merged.items()
    }
    return Registry(vendors, tuple(layer.label for layer in layers))


def _spec(
    name: str, entry: dict[str, Any], where: tuple[str, int | None], base: Path | None
) -> VendorSpec:
    label, line = where

    def fail(message: str, fix: str) -> InputError:
        return InputError(message, path=label, line=line, key=f"vendors.{name}", fix=fix)

    for key, doc in REQUIRED.items():
        if key not in entry:
            raise fail(f"missing required key '{key}' ({doc})", f"add `{key}:` to {name}")
    profiles = {k: tuple(v) for k, v in entry["profiles"].items() if v is not None}
    missing = [p for p in PROFILES if p not in profiles]
    if missing:
        raise fail(
            f"profiles {', '.join(missing)} missing",
            "give the flags of every profile: read_only, standard, sandbox ([] for none)",
        )
    prompt = entry["prompt"]
    if prompt["via"] == "flag" and not prompt.get("flag"):
        raise fail("prompt `via: flag` needs `flag:`, e.g. `flag: -p`", "add `flag:` to prompt")
    output = entry["output"]
    if output["format"] != "text" and not output["message"]:
        raise fail(
            f"output format {output['format']} needs `message:` (the path of the final message)",
            "add `message:` to output, e.g. `message: result`",
        )
    executable = entry["executable"]
    if base is not None and "/" in executable and not Path(executable).is_absolute():
        executable = str((base / executable).resolve())
    return VendorSpec(
        id=name,
        description=entry.get("description", name),
        executable=executable,
        version=entry["version"],
        package=entry.get("package"),
        prompt=PromptSpec(
            via=prompt["via"],
            args=tuple(prompt.get("args") or ()),
            flag=prompt.get("flag"),
            stdin_arg=prompt.get("stdin_arg"),
        ),
        model_flag=entry["model_flag"],
        models=tuple(entry["models"]) if "models" in entry else None,
        base_args=tuple(entry.get("base_args", ())),
        budget_flag=entry.get("budget_flag"),
        profiles=profiles,
        output=OutputSpec(
            format=output["format"],
            message=_probes(output["message"]),
            cost_usd=_probes(output["cost_usd"]),
            usage={k: _probes(v) for k, v in output["usage"].items()},
            error=_probes(output["error"]),
            error_message=_probes(output["error_message"]),
        ),
        secret_env=tuple(entry.get("secret_env", ())),
        env=dict(entry.get("env", {})),
        source=label,
    )


def _probes(raw: list[dict[str, Any]]) -> tuple[Probe, ...]:
    return tuple(
        Probe(
            path=item["path"],
            when=tuple((k, tuple(v)) for k, v in item["when"].items()),
            combine=item["combine"],
        )
        for item in raw
    )

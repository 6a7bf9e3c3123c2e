"""Reading and writing the YAML files under ``.convergio/``.

Every file goes through ruamel.yaml in round-trip mode, so comments and key order that a
person wrote survive the tool's edits. Input is treated as hostile: a size cap, no binary,
strict UTF-8, one document, no aliases (alias bombs), no explicit tags, bounded nesting.
Writes go to a temporary file in the same directory and are renamed into place, so a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    NodeEvent,
    SequenceEndEvent,
)

from convergio_gate.errors import InputError

MAX_BYTES = 1 << 20
MAX_DEPTH = 32


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def decode(data: bytes, label: str) -> str:
    """Bytes of a YAML file to text, refusing binary and invalid UTF-8 with a line."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            "this is a binary file (it holds a NUL byte), expected YAML text",
            path=label,
            line=line,
            fix=f"restore {label} from git (`git checkout -- {label}`) or delete it",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path=label,
            line=line,
            fix="save the file as UTF-8",
        ) from None


def _screen(text: str, label: str) -> None:
    """Walk the event stream once, refusing what a data file has no business holding."""
    depth = 0
    documents = 0
    try:
        for event in _yaml().parse(io.StringIO(text)):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise InputError(
                        "more than one YAML document (a second `---`)",
                        path=label,
                        line=line,
                        fix="keep one document per file",
                    )
            if isinstance(event, AliasEvent):
                raise InputError(
                    f"YAML alias `*{event.anchor}` is not allowed here",
                    path=label,
                    line=line,
                    fix="write the value out in full instead of using anchors and aliases",
                )
            tag = getattr(event, "tag", None) if isinstance(event, NodeEvent) else None
            if tag:
                raise InputError(
                    f"explicit YAML tag `{tag}` is not allowed here",
                    path=label,
                    line=line,
                    fix="remove the tag; plain strings, numbers, lists and mappings suffice",
                )
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(
                        f"nested more than {MAX_DEPTH} levels deep",
                        path=label,
                        line=line,
                        fix="flatten the structure",
                    )
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
    except MarkedYAMLError as exc:
        raise _from_yaml_error(exc, label) from None
    except YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", path=label, fix=_SYNTAX_FIX) from None


_SYNTAX_FIX = "correct the YAML syntax (a linter such as `yamllint` shows the spot)"


def _from_yaml_error(exc: MarkedYAMLError, label: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "not valid YAML"
    return InputError(f"not valid YAML: {problem}", path=label, line=line, fix=_SYNTAX_FIX)


def parse(text: str, label: str) -> Any:
    """Text to a round-trip document, or InputError. Never any other exception."""
    _screen(text, label)
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        raise _from_yaml_error(exc, label) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise InputError(f"not valid YAML: {exc}", path=label, fix=_SYNTAX_FIX) from None


def load(path: Path, label: str, *, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse one YAML file, refusing oversized, binary or undecodable input."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"file is {size} bytes; files under .convergio/ are limited to {max_bytes}",
                path=label,
                fix="shrink the file, or check that it is the file you meant",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=label) from None
    except IsADirectoryError:
        raise InputError("expected a file, found a directory", path=label) from None
    except PermissionError:
        raise InputError("permission denied", path=label, fix=f"chmod u+r {label}") from None
    if len(data) > max_bytes:
        raise InputError(f"file is over {max_bytes} bytes", path=label)
    return parse(decode(data, label), label)


def dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def new_map(items: dict[str, Any]) -> CommentedMap:
    cm = CommentedMap()
    for key, value in items.items():
        cm[key] = value
    return cm


def _written_temp(path: Path, text: str) -> str:
    """A temporary file beside ``path`` holding ``text``, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically: temp file, fsync, rename."""
    tmp = _written_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: Path, text: str) -> None:
    """Write a command's output (``--output``) to ``path``: a file atomically, as
    :func:`write_atomic` does; anything else that is there (``/dev/null``,
    ``/dev/stdout``, a named pipe) is written to as it is, since a rename would put a
    file in its place."""
    try:
        mode: int | None = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    write_atomic(path, text)


def create_atomic(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` unless it exists; False when it already did."""
    tmp = _written_temp(path, text)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)

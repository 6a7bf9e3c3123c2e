"""The wire gate: a definition the change brings in that nothing in the repository uses.

Coding agents write helpers for callers they never wire up, and leave behind the code of
an approach they dropped. Such code passes every test (nothing runs it) and every review
that reads the diff alone. This gate reads the rest of the repository instead: a
function, method or class defined in the checked files is *dead on arrival* when its
name appears nowhere else in the repository.

Why a name search and not a call graph. Real repositories wire code by name through
channels no call graph follows: a handler named in YAML, ``getattr(obj, "x")``, a
template's ``{{ obj.method }}``, a console script in pyproject.toml, a shell script that
runs ``python -c``. So a definition is referenced when its name occurs as an identifier
token in any tracked file (every language, comments, strings, configs and docs
included) outside the definition's own span. That errs towards "used": a name shared by
two unrelated things keeps both alive. It is the right way to err, because a false
refusal makes people switch the gate off, while a missed dead helper costs little.

What a name search cannot see is exempted by rules in ``rules/wire.yaml`` (data, each
with samples the tests judge): tests, entry points, exported API, special methods,
overrides of bases outside the repository, registration by decorators, framework
conventions, and what the configuration declares ``public``.

Definitions come from tree-sitter queries (``rules/queries/<language>/definitions.scm``)
for Python, JavaScript, TypeScript/TSX, Go, Rust, Java, C, C++, Ruby and Bash.

The reference index is cheap on purpose (the gate runs serially on every commit): one
regex pass per file into a token count, cached by the sha1 of the file's content under
``<git dir>/convergio/cache/wire/``. A warm run reads and hashes the files, loads one
aggregate count and corrects it for the files that changed since; it re-tokenises only
those. Nothing in the cache is trusted blindly: every entry is keyed by content, and a
cache that is missing, foreign or damaged is rebuilt.

Known limitations (pinned by the tests): a name built at run time
(``obj[name]()``, ``getattr(obj, "on_" + kind)``) is invisible, so such a method is
refused; waive it inline with ``convergio: allow unused-method -- called by name`` or
list it under ``public:``.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import marshal
import os
import re
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from convergio_gate import afterwards, lang, lazyre
from convergio_gate.errors import InputError
from convergio_gate.gates import rules as rules_data
from convergio_gate.gates._base import Context, Finding, SourceFile, blob_oid, normalise

if TYPE_CHECKING:
    from tree_sitter import Node

GATE = "wire"
KINDS = ("function", "method", "class")
LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby", "bash"}
)
MESSAGE = "`{name}` is defined here but nothing in the repository uses it"

#: An identifier token, as every language the gate reads spells one (ASCII).
TOKEN = lazyre.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
TOKEN_TEXT = lazyre.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Bumped when the index's content changes meaning (tokeniser, class extraction).
INDEX_FORMAT = 7  # 2: tokens kept as hashes; 3: git blob ids, packed; 4: C++ headers named .h
# 5: Ruby classes that register their subclasses; 6: the modules Ruby classes mix in;
# 7: Ruby classes named with the modules they are nested in
SHARDS = 256


# --------------------------------------------------------------------------- policy


def _family(language: str) -> str:
    """The key a language's per-language rule data is listed under."""
    return "typescript" if language == "tsx" else language


@dataclass(frozen=True)
class Policy:
    """``rules/wire.yaml`` as the gate uses it: finding rules and exemption data."""

    findings: dict[str, dict[str, Any]]  # kind -> finding rule
    test_paths: tuple[str, ...]
    test_names: dict[str, dict[str, tuple[str, ...]]]
    test_markers: dict[str, tuple[str, ...]]
    test_blocks: dict[str, frozenset[str]]
    main_names: dict[str, tuple[str, ...]]
    export_paths: tuple[str, ...]
    header_paths: tuple[str, ...]
    special_names: dict[str, tuple[str, ...]]
    override_markers: dict[str, tuple[str, ...]]
    closed_bases: dict[str, dict[str, frozenset[str]]]
    pure: dict[str, tuple[str, ...]]
    convention_paths: tuple[str, ...]
    convention_names: dict[str, dict[str, tuple[str, ...]]]
    convention_path_names: dict[str, tuple[str, ...]]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("expected a list of strings", path="rules/wire.yaml", key=where)
    return tuple(value)


def _per_language(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(
            "expected a mapping of language -> list", path="rules/wire.yaml", key=where
        )
    return {str(k): _strings(v, f"{where}.{k}") for k, v in value.items()}


def _per_language_kind(value: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(
            "expected a mapping of language -> kind -> list", path="rules/wire.yaml", key=where
        )
    return {str(k): _per_language(v, f"{where}.{k}") for k, v in value.items()}


@cache
def policy() -> Policy:
    by_id = {rule["id"]: rule for rule in rules_data.rules("wire")}
    findings: dict[str, dict[str, Any]] = {}
    for rule in by_id.values():
        if rule.get("role") == "refuse":
            findings[str(rule.get("kind"))] = rule
        elif rule.get("role") != "exempt":
            raise InputError(
                f"{rule['id']}: `role` must be refuse or exempt",
                path="rules/wire.yaml",
                key=f"{rule['id']}.role",
            )
    missing = [k for k in KINDS if k not in findings]
    expected = {
        "exempt-tests",
        "exempt-main",
        "exempt-entry-points",
        "exempt-exports",
        "exempt-special-methods",
        "exempt-overrides",
        "exempt-registered",
        "exempt-conventions",
        "exempt-public",
    }
    if missing or not expected <= by_id.keys():
        absent = sorted({f"unused-{k}" for k in missing} | (expected - by_id.keys()))
        raise InputError(
            "rules missing: " + ", ".join(absent),
            path="rules/wire.yaml",
            fix="reinstall convergio-gate",
        )
    tests, main, exports = by_id["exempt-tests"], by_id["exempt-main"], by_id["exempt-exports"]
    special, overrides = by_id["exempt-special-methods"], by_id["exempt-overrides"]
    registered, conventions = by_id["exempt-registered"], by_id["exempt-conventions"]
    closed: dict[str, dict[str, frozenset[str]]] = {}
    for language, bases in (overrides.get("closed_bases") or {}).items():
        closed[str(language)] = {
            str(base): frozenset(_strings(names, f"exempt-overrides.closed_bases.{base}"))
            for base, names in bases.items()
        }
    return Policy(
        findings=findings,
        test_paths=_strings(tests.get("paths"), "exempt-tests.paths"),
        test_names=_per_language_kind(tests.get("names"), "exempt-tests.names"),
        test_markers=_per_language(tests.get("markers"), "exempt-tests.markers"),
        test_blocks={
            k: frozenset(v)
            for k, v in _per_language(tests.get("blocks"), "exempt-tests.blocks").items()
        },
        main_names=_per_language(main.get("names"), "exempt-main.names"),
        export_paths=_strings(exports.get("paths"), "exempt-exports.paths"),
        header_paths=_strings(exports.get("header_paths"), "exempt-exports.header_paths"),
        special_names=_per_language(special.get("names"), "exempt-special-methods.names"),
        override_markers=_per_language(overrides.get("markers"), "exempt-overrides.markers"),
        closed_bases=closed,
        pure=_per_language(registered.get("pure"), "exempt-registered.pure"),
        convention_paths=_strings(conventions.get("paths"), "exempt-conventions.paths"),
        convention_names=_per_language_kind(conventions.get("names"), "exempt-conventions.names"),
        convention_path_names=_per_language(
            conventions.get("path_names"), "exempt-conventions.path_names"
        ),
    )


def _any_match(name: str, patterns: Iterable[str]) -> bool:
    return _globs(tuple(patterns)).match(name) is not None


def _marker_match(marker: str, patterns: Iterable[str]) -> bool:
    """A decorator/annotation/attribute matches by its full name or its last part."""
    compiled = _globs(tuple(patterns))
    if compiled.match(marker) is not None:
        return True
    return compiled.match(re.split(r"\.|::", marker)[-1]) is not None


@cache
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """fnmatch ``patterns`` as one regex (fnmatch's own translation, as alternatives)."""
    if not patterns:
        return re.compile("(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


# ---------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Container:
    """The class (or impl block, or receiver type) a method belongs to."""

    name: str
    bases: tuple[str, ...] = ()  # "?" stands for a base the gate cannot name
    markers: tuple[str, ...] = ()
    exported: bool = False
    trait_impl: bool = False


@dataclass(frozen=True)
class Definition:
    """One function, method or class found in a checked file, with what exempts it."""

    name: str
    token: bytes  # the identifier token references are counted by
    kind: str
    qualname: str
    path: str
    language: str
    line: int
    column: int
    start: int  # byte span of the whole definition: its own occurrences are not uses
    end: int
    top_level: bool
    markers: tuple[str, ...] = ()
    exported: bool = False
    private: bool = False
    override: bool = False
    in_tests: bool = False
    in_main: bool = False
    container: Container | None = None
    bases: tuple[str, ...] = ()  # a class's own bases, qualified through the imports


def module_name(path: str) -> str:
    """``src/pkg/mod.py`` -> ``src.pkg.mod``; a package's ``__init__`` is the package."""
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    if stem.endswith("/__init__"):
        stem = stem[: -len("/__init__")]
    return stem.replace("/", ".").strip(".")


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _compact(text: str) -> str:
    return "".join(text.split())


def _dotted(text: str) -> str:
    """A base or decorator expression reduced to a dotted name, or "?" when it is not one."""
    text = _compact(text)
    while True:  # drop type arguments: Generic[T], List<String>, Base<T, U>
        stripped = re.sub(r"\[[^\[\]]*\]|<[^<>]*>", "", text)
        if stripped == text:
            break
        text = stripped
    text = text.replace("::", ".")
    return text if re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", text) else "?"


def _decorator_name(node: Node) -> str:
    """``@app.get("/")`` -> ``app.get``; ``@pytest.fixture`` -> ``pytest.fixture``."""
    expr = next((c for c in node.named_children if c.type != "comment"), None)
    while expr is not None and expr.type in ("call", "call_expression"):
        expr = expr.child_by_field_name("function")
    return _dotted(_text(expr))


class _Extractor:
    """Walks one parsed file and turns query matches into Definitions."""

    def __init__(self, source: SourceFile, language: str, policy: Policy) -> None:
        self.source = source
        self.language = language
        self.family = _family(language)
        self.policy = policy
        self.module = module_name(source.path)
        self.header = _any_match(source.path, policy.header_paths)
        self.package = ""
        self.imports: dict[str, str] = {}  # local name -> qualified name, "?" if outside
        self._tests_memo: dict[int, bool] = {}  # node id -> inside a test block

    def run(self) -> list[Definition]:
        found, spans = self._found()
        out = []
        for node, name_node, kind in found.values():
            definition = self._definition(node, name_node, kind, spans)
            if definition is not None:
                out.append(definition)
        return out

    def candidates(self, ranges: Sequence[tuple[int, int]] | None = None) -> list[Candidate]:
        """What :func:`candidates` says: the definitions nothing else in their own file
        refers to (only those can be unreferenced), each with its token's count inside
        it. The rest are never built: most definitions are used where they are defined.
        ``ranges``: only the definitions that overlap these byte ranges (and those that
        enclose them, for their scopes)."""
        found, spans = self._found(ranges)
        data = self.source.data
        size = len(data)
        out = []
        for node, name_node, kind in found.values():
            if node.has_error:
                continue  # where the parser had to guess, its end may be anywhere
            token = TOKEN_TEXT.search(_text(name_node))
            if token is None:
                continue
            name = token.group().encode()
            start, end = node.start_byte, node.end_byte
            if _first_token(data, name, 0, start) >= 0 or _first_token(data, name, end, size) >= 0:
                continue  # used elsewhere in its own file
            inside = len(_token_starts(data, name, start, end))
            definition = self._definition(node, name_node, kind, spans)
            if definition is not None:
                out.append((definition, inside))
        return out

    def _found(
        self, ranges: Sequence[tuple[int, int]] | None = None
    ) -> tuple[dict[int, tuple[Node, Node, str]], dict[int, Node]]:
        """The definitions' nodes by node id (node, name node, kind), and their names;
        with ``ranges``, those that overlap them (a match enclosing a range overlaps it)."""
        compiled = lang.query(self.language, "definitions")
        if compiled is None:
            return {}, {}
        tree = lang.parse(self.language, self.source.data)
        if self.language == "go":
            clause = next((c for c in tree.root_node.children if c.type == "package_clause"), None)
            self.package = _text(clause).split()[-1] if clause is not None else ""
        self.imports = _imports(tree.root_node, self.language, self.source.path)
        found: dict[int, tuple[Node, Node, str]] = {}
        root = tree.root_node
        hits = (
            lang.matches(compiled, root)
            if ranges is None
            else lang.matches_in(compiled, root, ranges)
        )
        for _, caps in hits:
            names = caps.get("name", [])
            for capture, nodes in caps.items():
                if not capture.startswith("definition.") or not names:
                    continue
                kind = capture.split(".", 1)[1]
                for node in nodes:
                    key = node.id
                    if key not in found or kind == "method":
                        found[key] = (node, names[0], kind)
        return found, {key: name for key, (_, name, _) in found.items()}

    # -- the generic part

    def _definition(
        self, node: Node, name_node: Node, kind: str, spans: Mapping[int, Node]
    ) -> Definition | None:
        name = _text(name_node)
        token = TOKEN_TEXT.search(name)
        if token is None:
            return None
        scopes: list[str] = []
        enclosing_kind = ""
        ancestor = node.parent
        while ancestor is not None:
            key = ancestor.id
            if key in spans:
                scopes.append(_text(spans[key]))
                if not enclosing_kind:
                    enclosing_kind = _kind_of(ancestor, self.language)
            ancestor = ancestor.parent
        container = self._container(node, name_node)
        if kind == "function" and (enclosing_kind == "class" or container is not None):
            kind = "method"
        if kind == "method" and container is not None and self._is_constructor(name, container):
            return None
        if container is not None and (not scopes or scopes[0] != container.name):
            scopes.insert(0, container.name)
        qualname = ".".join([self.module, *reversed(scopes), name]) if self.module else name
        row, col = name_node.start_point
        return Definition(
            name=name,
            token=token.group().encode(),
            kind=kind,
            qualname=qualname,
            path=self.source.path,
            language=self.language,
            line=row + 1,
            column=col + 1,
            start=node.start_byte,
            end=node.end_byte,
            top_level=not scopes,
            markers=self._markers(node),
            exported=self._exported(node, name, kind, container),
            private=self._private(node, name),
            override=self._override(node, container),
            in_tests=self._in_tests(node),
            in_main=self._in_main(node),
            container=container,
            bases=self._qualify(_class_bases(node, self.language)) if kind == "class" else (),
        )

    def _qualify(self, bases: Iterable[str]) -> tuple[str, ...]:
        """Bases named through the file's imports: ``models.Model`` -> ``django.db...``."""
        out = []
        for base in bases:
            first, dot, rest = base.partition(".")
            target = self.imports.get(first)
            if target is None:
                out.append(base)
            elif target == "?":
                out.append("?")
            else:
                out.append(target + dot + rest)
        return tuple(out)

    def _is_constructor(self, name: str, container: Container) -> bool:
        return self.language == "cpp" and name == container.name.rsplit(".", 1)[-1]

    # -- per-language facts

    def _markers(self, node: Node) -> tuple[str, ...]:
        lang_ = self.language
        out: list[str] = []
        if lang_ == "python":
            parent = node.parent
            if parent is not None and parent.type == "decorated_definition":
                out = [_decorator_name(d) for d in parent.children if d.type == "decorator"]
        elif self.family in ("javascript", "typescript"):
            out = [_decorator_name(d) for d in node.children if d.type == "decorator"]
            sibling = node.prev_named_sibling
            while sibling is not None and sibling.type in ("decorator", "comment"):
                if sibling.type == "decorator":
                    out.append(_decorator_name(sibling))
                sibling = sibling.prev_named_sibling
            if node.parent is not None and node.parent.type == "export_statement":
                out.extend(
                    _decorator_name(d) for d in node.parent.children if d.type == "decorator"
                )
        elif lang_ == "java":
            out = [_java_annotation(a) for a in _java_annotations(node)]
        elif lang_ == "rust":
            out = _rust_attributes(node)
        elif lang_ in ("c", "cpp"):
            out = _c_attributes(node)
        return tuple(m for m in out if m)

    def _exported(self, node: Node, name: str, kind: str, container: Container | None) -> bool:
        lang_, family = self.language, self.family
        if family in ("javascript", "typescript"):
            if kind == "method":  # the class's API, but not what it keeps private
                exported = container is not None and container.exported
                return exported and not self._private(node, name)
            return _js_exported(node)
        if lang_ == "go":
            return name[:1].isupper() and self.package != "main"
        if lang_ == "rust":
            if _rust_pub(node):
                return True
            parent = _parent_of_type(node, ("trait_item", "impl_item"))
            return parent is not None and parent.type == "trait_item" and _rust_pub(parent)
        if lang_ == "java":
            mods = _java_modifiers(node)
            if "public" in mods or "protected" in mods:
                return True
            body = node.parent
            return body is not None and body.type in ("interface_body", "annotation_type_body")
        if lang_ in ("c", "cpp"):
            return self.header and _c_header_api(node)
        return False

    def _private(self, node: Node, name: str) -> bool:
        if self.family in ("javascript", "typescript"):
            if name.startswith("#"):
                return True
            return any(
                c.type == "accessibility_modifier" and _text(c) == "private" for c in node.children
            )
        if self.language == "java":
            return "private" in _java_modifiers(node)
        return False

    def _override(self, node: Node, container: Container | None) -> bool:
        if self.family == "typescript":
            return any(c.type == "override_modifier" for c in node.children)
        if self.language == "cpp":
            if any(c.type == "virtual" for c in node.children):
                return True
            return any(d.type == "virtual_specifier" for d in _descendants(node, "body"))
        if self.language == "rust":
            return container is not None and container.trait_impl
        if container is not None and self.family in SUPER_CALLS:
            return _calls_super(self.family, node)
        return False

    def _in_tests(self, node: Node) -> bool:
        """Whether an enclosing call is a test block (``describe(...)``) or an enclosing
        Rust module is ``#[cfg(test)]``.

        The answer for each ancestor is kept, so the walk up stops at the first ancestor
        seen before: a file wrapped in one big function (a UMD bundle) would otherwise
        have the wrapper's whole text decoded and reduced once per definition inside it.
        """
        memo = self._tests_memo
        chain: list[Node] = []
        ancestor = node.parent
        found = False
        while ancestor is not None:
            known = memo.get(ancestor.id)
            if known is not None:
                found = known
                break
            chain.append(ancestor)
            ancestor = ancestor.parent
        for item in reversed(chain):
            found = found or self._is_test_block(item)
            memo[item.id] = found
        return found

    def _is_test_block(self, node: Node) -> bool:
        blocks = self.policy.test_blocks.get(self.family, frozenset())
        if blocks and node.type == "call_expression":
            callee = _dotted(_text(node.child_by_field_name("function")))
            if callee.split(".", 1)[0] in blocks:
                return True
        return (
            self.language == "rust"
            and node.type == "mod_item"
            and "cfg(test)" in _rust_attributes(node)
        )

    def _in_main(self, node: Node) -> bool:
        if self.language != "python":
            return False
        ancestor = node.parent
        while ancestor is not None:
            if ancestor.type == "if_statement":
                condition = _compact(_text(ancestor.child_by_field_name("condition")))
                if "__name__" in condition and "__main__" in condition:
                    return True
            ancestor = ancestor.parent
        return False

    def _container(self, node: Node, name_node: Node) -> Container | None:
        lang_, family = self.language, self.family
        parent = node.parent
        if lang_ == "python":
            if parent is not None and parent.type == "decorated_definition":
                parent = parent.parent
            if parent is None or parent.type != "block":
                return None
            owner = parent.parent
            if owner is None or owner.type != "class_definition":
                return None
            return Container(
                _text(owner.child_by_field_name("name")),
                self._qualify(_python_bases(owner)),
                self._markers(owner),
            )
        if family in ("javascript", "typescript"):
            if parent is None or parent.type != "class_body" or parent.parent is None:
                return None
            owner = parent.parent
            return Container(
                _text(owner.child_by_field_name("name")) or "<anonymous>",
                self._qualify(_heritage_bases(owner)),
                self._markers(owner),
                exported=_js_exported(owner),
            )
        if lang_ == "java":
            if parent is None or parent.type not in ("class_body", "interface_body", "enum_body"):
                return None
            owner = parent.parent
            if owner is not None and owner.type == "enum_body_declarations":
                owner = owner.parent
            if owner is None:
                return None
            if owner.type == "object_creation_expression":  # an anonymous class
                base = _dotted(_text(owner.child_by_field_name("type")))
                return Container("<anonymous>", self._qualify((base,)))
            return Container(
                _text(owner.child_by_field_name("name")),
                self._qualify(_java_bases(owner)),
                self._markers(owner),
            )
        if lang_ == "go" and node.type == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            names = [n for n in _descendants(receiver) if n.type == "type_identifier"]
            return Container(_text(names[0]) if names else "?")
        if lang_ == "rust":
            owner = _parent_of_type(node, ("impl_item", "trait_item"), stop=("function_item",))
            if owner is None:
                return None
            if owner.type == "trait_item":
                return Container(_text(owner.child_by_field_name("name")))
            type_name = _dotted(_text(owner.child_by_field_name("type")))
            return Container(type_name, trait_impl=owner.child_by_field_name("trait") is not None)
        if lang_ == "cpp":
            scope = name_node.parent
            if scope is not None and scope.type == "qualified_identifier":
                owner_name = _dotted(_text(scope.child_by_field_name("scope")))
                return Container(owner_name, ("@repo",))
            if parent is not None and parent.type == "template_declaration":
                parent = parent.parent
            if parent is None or parent.type != "field_declaration_list" or parent.parent is None:
                return None
            owner = parent.parent
            return Container(_text(owner.child_by_field_name("name")), _cpp_bases(owner))
        if lang_ == "ruby":
            owner = _parent_of_type(node, ("class", "module"), stop=("method", "singleton_method"))
            if owner is None:
                return None
            return Container(_text(owner.child_by_field_name("name")), _ruby_bases(owner))
        return None


def _class_bases(node: Node, language: str) -> tuple[str, ...]:
    family = _family(language)
    if language == "python":
        return _python_bases(node)
    if family in ("javascript", "typescript"):
        return _heritage_bases(node)
    if language == "java":
        return _java_bases(node)
    if language == "cpp":
        return _cpp_bases(node)
    if language == "ruby":
        return _ruby_bases(node)
    return ()


def _ruby_bases(owner: Node) -> tuple[str, ...]:
    """A Ruby class's superclass and the modules its body includes, extends or prepends
    (``include LibXML::XML::SaxParser::Callbacks``: its methods are that module's)."""
    bases: list[str] = []
    superclass = owner.child_by_field_name("superclass")
    if superclass is not None:
        bases.append(_dotted(_text(superclass).lstrip("<").strip()))
    body = next((c for c in owner.named_children if c.type == "body_statement"), None)
    for call in body.named_children if body is not None else ():
        if call.type != "call" or call.child_by_field_name("receiver") is not None:
            continue
        if _text(call.child_by_field_name("method")) not in RUBY_MIXINS:
            continue
        arguments = call.child_by_field_name("arguments")
        for argument in arguments.named_children if arguments is not None else ():
            name = _dotted(_text(argument).lstrip(":"))  # `include ::Comparable` too
            if argument.type in ("constant", "scope_resolution") and name != "?":
                bases.append(MIXIN + name)
    return tuple(bases)


#: Marks a base that is a Ruby module a class mixes in (``include Concern::Logging``),
#: looked up as any base is (a dotted name only where the repository nests it so).
MIXIN = "+"
#: What a Ruby class body calls to take a module's methods as its own.
RUBY_MIXINS = frozenset({"include", "extend", "prepend"})


def _imports(root: Node, language: str, path: str) -> dict[str, str]:
    """Local name -> what it imports, for Python, JS/TS and Java; "?" = a package."""
    out: dict[str, str] = {}
    family = _family(language)
    for node in root.children:
        if language == "python" and node.type == "import_from_statement":
            module = _python_module(node.child_by_field_name("module_name"), path)
            for index, child in enumerate(node.children):
                if node.field_name_for_child(index) != "name":
                    continue
                if child.type == "aliased_import":
                    name = _text(child.child_by_field_name("name"))
                    out[_text(child.child_by_field_name("alias"))] = f"{module}.{name}"
                else:
                    name = _text(child)
                    out[name.rsplit(".", 1)[-1]] = f"{module}.{name}"
        elif language == "python" and node.type == "import_statement":
            for child in node.named_children:
                if child.type == "aliased_import":
                    target = _text(child.child_by_field_name("name"))
                    out[_text(child.child_by_field_name("alias"))] = target
        elif language == "python" and node.type == "expression_statement":
            assign = node.named_children[0] if node.named_children else None
            if assign is not None and assign.type == "assignment":
                left = assign.child_by_field_name("left")
                if left is not None and left.type == "identifier":
                    out[_text(left)] = "?"
        elif family in ("javascript", "typescript") and node.type == "import_statement":
            out.update(_js_imports(node, path))
        elif language == "java" and node.type == "import_declaration":
            text = _compact(_text(node))
            match = re.fullmatch(r"import([\w.]+)\.(\w+);", text)
            if match:
                out[match.group(2)] = f"{match.group(1)}.{match.group(2)}"
    return out


def _python_module(node: Node | None, path: str) -> str:
    if node is None:
        return "?"
    if node.type != "relative_import":
        return _text(node)
    text = _compact(_text(node))
    dots = len(text) - len(text.lstrip("."))
    package = module_name(path).split(".")
    if not path.endswith("/__init__.py"):
        package = package[:-1]
    package = package[: len(package) - (dots - 1)] if dots > 1 else package
    rest = text.lstrip(".")
    return ".".join([*package, rest] if rest else package)


def _js_imports(node: Node, path: str) -> dict[str, str]:
    source = _text(node.child_by_field_name("source")).strip("\"'`")
    if source.startswith("."):
        target = os.path.normpath(os.path.join(path.rpartition("/")[0], source))
        module = module_name(target.replace(os.sep, "/") + ".js")
    else:
        module = "?"
    out: dict[str, str] = {}
    clause = next((c for c in node.children if c.type == "import_clause"), None)
    for item in _descendants(clause):
        if item.type == "import_specifier":
            name = _text(item.child_by_field_name("name"))
            alias = item.child_by_field_name("alias")
            out[_text(alias) if alias is not None else name] = (
                "?" if module == "?" else f"{module}.{name}"
            )
        elif item.type == "identifier" and item.parent is not None:
            if item.parent.type == "import_clause":  # a default import
                out[_text(item)] = "?" if module == "?" else f"{module}.{_text(item)}"
            elif item.parent.type == "namespace_import":
                out[_text(item)] = module
    return out


def _kind_of(node: Node, language: str) -> str:
    if node.type in (
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "class_specifier",
        "struct_specifier",
        "class",
        "module",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
    ):
        return "class"
    return "function"


def _descendants(node: Node | None, skip_field: str | None = None) -> Iterator[Node]:
    if node is None:
        return
    for index, child in enumerate(node.children):
        if skip_field is not None and node.field_name_for_child(index) == skip_field:
            continue
        yield child
        yield from _descendants(child)


def _parent_of_type(node: Node, types: tuple[str, ...], stop: tuple[str, ...] = ()) -> Node | None:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in types:
            return ancestor
        if ancestor.type in stop:
            return None
        ancestor = ancestor.parent
    return None


def _python_bases(owner: Node) -> tuple[str, ...]:
    args = owner.child_by_field_name("superclasses")
    if args is None:
        return ()
    bases: list[str] = []
    for arg in args.named_children:
        if arg.type == "comment":
            continue
        if arg.type == "keyword_argument":
            key = _text(arg.child_by_field_name("name"))
            value = _dotted(_text(arg.child_by_field_name("value")))
            if key == "metaclass" and value in ("ABCMeta", "abc.ABCMeta", "type"):
                continue
            bases.append("?")
        elif arg.type in ("identifier", "attribute", "subscript"):
            bases.append(_dotted(_text(arg)))
        else:
            bases.append("?")
    return tuple(bases)


def _heritage_bases(owner: Node) -> tuple[str, ...]:
    bases: list[str] = []
    for child in owner.children:
        if child.type != "class_heritage":
            continue
        for part in child.named_children:
            if part.type in ("extends_clause", "implements_clause"):
                values = [c for c in part.named_children if c.type != "type_arguments"]
                bases.extend(_dotted(_text(v)) for v in values)
            elif part.type != "comment":
                bases.append(_dotted(_text(part)))
    return tuple(bases)


def _java_bases(owner: Node) -> tuple[str, ...]:
    bases: list[str] = []
    for child in owner.children:
        if child.type in ("superclass", "super_interfaces", "extends_interfaces"):
            for item in _descendants(child):
                if item.parent is not None and item.parent.type in ("type_arguments",):
                    continue
                if item.type in ("type_identifier", "scoped_type_identifier", "generic_type"):
                    if item.parent is not None and item.parent.type in (
                        "scoped_type_identifier",
                        "generic_type",
                    ):
                        continue
                    bases.append(_dotted(_text(item)))
    return tuple(bases)


def _cpp_bases(owner: Node) -> tuple[str, ...]:
    clause = next((c for c in owner.children if c.type == "base_class_clause"), None)
    if clause is None:
        return ()
    return tuple(
        _dotted(_text(c))
        for c in clause.named_children
        if c.type in ("type_identifier", "qualified_identifier", "template_type")
    )


def _js_exported(node: Node) -> bool:
    parent = node.parent
    if node.type == "variable_declarator" and parent is not None:
        parent = parent.parent
    return parent is not None and parent.type == "export_statement"


def _java_annotations(node: Node) -> list[Node]:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    if mods is None:
        return []
    return [c for c in mods.children if c.type in ("marker_annotation", "annotation")]


def _java_annotation(node: Node) -> str:
    return _dotted(_text(node.child_by_field_name("name")))


def _java_modifiers(node: Node) -> set[str]:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    if mods is None:
        return set()
    return {c.type for c in mods.children if not c.is_named}


def _rust_attributes(node: Node) -> list[str]:
    """The names of a Rust item's outer attributes (``cfg(test)`` whole)."""
    out: list[str] = []
    for item in lang.rust_attributes(node):
        attribute = next((c for c in item.named_children if c.type == "attribute"), None)
        text = _compact(_text(attribute))
        if text == "cfg(test)":
            out.append(text)
        elif attribute is not None and attribute.named_children:
            out.append(_dotted(_text(attribute.named_children[0])))
    return out


def _rust_pub(node: Node) -> bool:
    return any(c.type == "visibility_modifier" and _text(c) == "pub" for c in node.children)


def _c_attributes(node: Node) -> list[str]:
    out: list[str] = []
    for child in node.children:
        if child.type == "attribute_specifier":  # __attribute__((a, b(x)))
            args = next((c for c in child.named_children if c.type == "argument_list"), None)
            for arg in args.named_children if args is not None else ():
                target = (
                    arg.child_by_field_name("function") if arg.type == "call_expression" else arg
                )
                out.append(_dotted(_text(target)))
        elif child.type == "attribute_declaration":  # [[a, b]]
            for attribute in child.named_children:
                name = attribute.child_by_field_name("name")
                out.append(_dotted(_text(name if name is not None else attribute)))
    return out


#: How a method calls the method of the same name in a base class, by language: a
#: method that does is an override, wherever the base is (a mixin's ``callproc``
#: calling ``super().callproc``). ``{0}`` is the method's name; Ruby's bare ``super``
#: names no method: it always calls the overridden one.
SUPER_CALLS = {
    "python": r"\bsuper\([^()]*\)\s*\.\s*{0}\b",
    "javascript": r"\bsuper\s*\.\s*{0}\b",
    "typescript": r"\bsuper\s*\.\s*{0}\b",
    "java": r"\bsuper\s*\.\s*{0}\s*\(",
    "ruby": r"\bsuper\b",
}


#: The nodes :func:`_calls_super` reads: methods, not the classes that hold them.
SUPER_CALLERS = frozenset(
    {"function_definition", "method_definition", "method_declaration", "method", "singleton_method"}
)


def _calls_super(family: str, method: Node) -> bool:
    """Whether ``method``'s body calls the base class's method of the same name."""
    if method.type not in SUPER_CALLERS:
        return False
    name = method.child_by_field_name("name")
    body = method.child_by_field_name("body")
    text = (body.text or b"") if body is not None else b""
    if name is None or b"super" not in text:
        return False
    pattern = SUPER_CALLS[family].format(re.escape(_text(name)))
    return re.search(pattern.encode(), text) is not None


def _c_storage(node: Node) -> set[str]:
    return {_text(c) for c in node.children if c.type == "storage_class_specifier"}


def _c_header_api(node: Node) -> bool:
    """Whether a definition in a C/C++ header is the header's API: all but a ``static``
    function that is neither inline (``static inline``, ``static JSON_INLINE``: how a C
    header defines the functions its includers call) nor a class's static member (in
    C++, ``static`` there means "of the class", not "of this file")."""
    if "static" not in _c_storage(node):
        return True
    head = (c for c in node.children if c.type not in ("function_declarator", "compound_statement"))
    if any("inline" in _text(c).lower() for c in head):
        return True
    return _parent_of_type(node, ("field_declaration_list",)) is not None


def definitions(source: SourceFile) -> list[Definition]:
    """Every function, method and class ``source`` defines, with its exemption facts."""
    extractor = _extractor(source)
    return [] if extractor is None else extractor.run()


def _extractor(source: SourceFile) -> _Extractor | None:
    """The extractor for ``source``; None for a language the gate does not read."""
    language = source.language or lang.detect(source.path, source.data)
    if language not in LANGUAGES or source.is_binary:
        return None
    return _Extractor(source, language, policy())


# ---------------------------------------------------------------- reference index

#: Class headers per language, for telling a base defined in the repository from one
#: that is not. group 1: the class name; group 2: what follows it up to the body.
#: (Ruby's are read with what nests them and what they mix in: :data:`_RUBY_LINES`.)
CLASS_HEADERS: dict[str, re.Pattern[bytes]] = {
    # Literal first, so the regex engine can skip ahead; the line start is checked after.
    "python": lazyre.compile(
        rb"class[ \t]+([A-Za-z_]\w*)[ \t]*(\[[^\]\n]*\])?[ \t]*(?:\(([^)]*)\))?[ \t]*:"
    ),
    "ecmascript": lazyre.compile(
        rb"\b(?:class|interface|enum|record)[ \t]+([A-Za-z_$][\w$]*)([^{;]*)\{"
    ),
    "cpp": lazyre.compile(
        rb"\b(?:class|struct)[ \t]+(?:[A-Z_]+[ \t]+)?([A-Za-z_]\w*)[ \t]*"
        rb"(?:final[ \t]*)?(:[^{;]*)?\{"
    ),
}
#: The words a header of ``CLASS_HEADERS`` starts with where its regex starts with
#: ``\b``, which keeps the regex engine from skipping ahead: it is tried only where one
#: of them is (:func:`_led_matches`).
CLASS_LEADS: dict[str, tuple[bytes, ...]] = {
    "ecmascript": (b"class", b"interface", b"enum", b"record"),
    "cpp": (b"class", b"struct"),
}
CLASS_FAMILY = {
    "python": "python",
    "javascript": "ecmascript",
    "typescript": "ecmascript",
    "tsx": "ecmascript",
    "java": "ecmascript",
    "ruby": "ruby",
    "cpp": "cpp",
}
ClassEntry = tuple[str, tuple[str, ...]]

#: Code that finds classes by walking subclasses (plugin discovery): group 1 names the
#: base. Recorded as a pseudo-class entry, so it travels with the per-file class list.
DISCOVERY = (
    lazyre.compile(rb"issubclass\(\s*[^,()]+,\s*([A-Za-z_][\w.]*)\s*\)"),
    lazyre.compile(rb"ServiceLoader\.load\(\s*([A-Za-z_][\w.]*)\.class"),
)
SUBCLASSES = b".__subclasses__("
NAME_BEFORE = lazyre.compile(rb"([A-Za-z_][\w.]*)$")
DISCOVERS = "@discovers"
#: The base a Ruby class that registers its subclasses is given (:func:`_ruby_registers`):
#: a subclass is reached through the registry, but its methods are still its own.
REGISTERS = "@registers"
Reader = Callable[[str], "bytes | None"]


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([<{":
            depth += 1
        elif char in ")]>}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _python_header_bases(raw: str) -> tuple[str, ...]:
    bases: list[str] = []
    for part in _split_top(raw):
        if "=" in part:
            key, _, value = part.partition("=")
            if key.strip() == "metaclass" and _dotted(value) in ("ABCMeta", "abc.ABCMeta", "type"):
                continue
            bases.append("?")
        else:
            bases.append(_dotted(part))
    return tuple(bases)


def _ecma_header_bases(raw: str) -> tuple[str, ...]:
    text = re.sub(r"\([^)]*\)", " ", raw)  # record components, mixin call arguments
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"<[^<>]*>", "", text)
    bases: list[str] = []
    for clause in re.finditer(r"\b(?:extends|implements)\b(.*?)(?=\bimplements\b|$)", text, re.S):
        bases.extend(_dotted(p) for p in _split_top(clause.group(1)))
    return tuple(bases)


def _cpp_header_bases(raw: str) -> tuple[str, ...]:
    bases = []
    for part in _split_top(raw.lstrip(":")):
        words = [w for w in part.split() if w not in ("public", "private", "protected", "virtual")]
        bases.append(_dotted(" ".join(words)))
    return tuple(bases)


def _group(match: re.Match[bytes], index: int) -> str:
    value = match.group(index)
    return value.decode("utf-8", "replace") if value else ""


def extract_classes(path: str, data: bytes) -> list[ClassEntry]:
    """Classes a file defines and their bases, by a cheap regex over its class headers."""
    language = lang.detect(path)  # by its name; a .h file reads as C by its name alone
    if language == "c" and b"class" in data:
        language = lang.detect(path, data)  # a .h file that shows C++ is C++
    family = CLASS_FAMILY.get(language or "")
    if family is None or (
        b"class" not in data
        and family != "ecmascript"
        and not (family == "ruby" and b"module" in data)
    ):
        return []
    out = _ruby_classes(data) if family == "ruby" else _header_classes(data, family)
    found = [
        _group(match, 1)
        for pattern in DISCOVERY
        if pattern.pattern[:10] in data  # the literal it starts with: a cheap pre-filter
        for match in pattern.finditer(data)
    ]
    at = data.find(SUBCLASSES)
    while at >= 0:
        before = NAME_BEFORE.search(data, max(0, at - 200), at)
        if before:
            found.append(_group(before, 1))
        at = data.find(SUBCLASSES, at + 1)
    if found:
        out.append((DISCOVERS, tuple(found)))
    return out


def _header_classes(data: bytes, family: str) -> list[ClassEntry]:
    """The classes of a Python, JS/TS/Java or C++ file, by :data:`CLASS_HEADERS`."""
    pattern = CLASS_HEADERS[family]
    out: list[ClassEntry] = []
    registering = family == "python" and b"__init_subclass__" in data
    leads = CLASS_LEADS.get(family)
    matches = pattern.finditer(data) if leads is None else _led_matches(pattern, leads, data)
    for match in matches:
        if family == "python":
            line_start = data.rfind(b"\n", 0, match.start()) + 1
            if data[line_start : match.start()].strip(b" \t"):
                continue
        name = _group(match, 1)
        if family == "python":
            bases = _python_header_bases(_group(match, 3))
        elif family == "ecmascript":
            bases = _ecma_header_bases(_group(match, 2))
        else:
            bases = _cpp_header_bases(_group(match, 2))
        if registering:  # `__init_subclass__` registers subclasses: treat as outside
            bases = (*bases, "?")
        out.append((name.rsplit(".", 1)[-1], bases))
    return out


#: The lines of a Ruby file that say what its classes and modules are: a header (group
#: 2 the name, 3 the superclass), a mixin of the body (4: ``include A, B``), one a hook
#: gives whoever includes the module (5: ``base.extend ClassMethods`` in ``def
#: self.included(base)``), and an ``end`` (6), which closes the header of its indent.
_RUBY_LINES = lazyre.compile(
    rb"(?m)^([ \t]*)(?:"
    rb"(?:class|module)[ \t]+((?:::)?[A-Z][\w:]*)(?:[ \t]*<[ \t]*(?:::)?([A-Z][\w:]*))?"
    rb"|(?:include|extend|prepend)\b[ \t(]*((?:::)?[A-Z][^\n#;)]*)"
    rb"|[a-z_]\w*\.(?:(?:include|extend|prepend)\b|send[ \t]*\([ \t]*:(?:include|extend|prepend)"
    rb"[ \t]*,)[ \t(]*((?:::)?[A-Z][^\n#;)]*)"
    rb"|(end)\b)"
)
_RUBY_ONE_LINE = lazyre.compile(rb"[^\n]*?;[ \t]*end\b")
_RUBY_MODIFIER = lazyre.compile(r"\s(?:if|unless)\b")
_RUBY_CONSTANT = lazyre.compile(r"(?:::)?[A-Z]\w*(?:::[A-Z]\w*)*")


def _ruby_classes(data: bytes) -> list[ClassEntry]:
    """The classes and modules of a Ruby file, with their superclass and the modules
    they mix in, each given to the header it is indented under (an ``end`` at a
    header's indent closes it). A module a hook extends its includers with
    (``base.extend ClassMethods``), and a nested ``module ClassMethods`` (the
    ``ActiveSupport::Concern`` way), count as mixed into the enclosing module: a class
    that includes it gets their methods. Classes that keep a registry of their
    subclasses (:func:`_ruby_registers`) also get :data:`REGISTERS`. Each is named
    with the modules it is nested in (``ActiveSupport.Callbacks``), which is how a
    dotted name finds it (:meth:`ReferenceIndex.classes`)."""
    registry = _ruby_registers(data)
    entries: list[tuple[str, list[str]]] = []
    open_: list[tuple[int, int]] = []  # (indent, index in entries) of the open headers
    for match in _RUBY_LINES.finditer(data):
        indent = len(match.group(1).expandtabs(2))
        if match.group(6):
            if open_ and open_[-1][0] == indent:
                open_.pop()
            continue
        name = _group(match, 2)
        if not name:
            listed = _group(match, 4) or _group(match, 5)
            while open_ and open_[-1][0] >= indent:
                open_.pop()  # a header whose `end` was not at its indent
            if open_:
                listed = _RUBY_MODIFIER.split(listed, 1)[0]  # `include X if defined?(X)`
                bases = entries[open_[-1][1]][1]
                for part in (p.strip() for p in listed.split(",")):
                    if _RUBY_CONSTANT.fullmatch(part):
                        bases.append(MIXIN + _dotted(part.lstrip(":")))
            continue
        while open_ and open_[-1][0] >= indent:
            open_.pop()
        qualified = name.replace("::", ".")
        if qualified.startswith("."):  # `class ::Top`
            qualified = qualified[1:]
        elif open_:
            qualified = entries[open_[-1][1]][0] + "." + qualified
        if qualified.endswith(".ClassMethods") and open_:
            entries[open_[-1][1]][1].append(MIXIN + "ClassMethods")
        entries.append((qualified, [_dotted(_group(match, 3))] if match.group(3) else []))
        if _RUBY_ONE_LINE.match(data, match.end()) is None:
            open_.append((indent, len(entries) - 1))
    if registry:  # the subclasses are registered, their methods are their own
        return [(name, (*bases, REGISTERS)) for name, bases in entries]
    return [(name, tuple(bases)) for name, bases in entries]


#: Ruby code that keeps a registry of subclasses: an ``inherited`` hook, or a class method
#: that stores ``self`` (rouge's ``tag 'ada'`` runs ``Lexer.register(@tag, self)``;
#: ``REGISTRY[tag] = self``).
_RUBY_REGISTERS = lazyre.compile(
    rb"def[ \t]+(?:self\.)?inherited\b|\][ \t]*=[ \t]*self\b"
    rb"|\bregister\w*[ \t]*\([^()\n]*,[ \t]*self[ \t]*\)"
)


def _ruby_registers(data: bytes) -> bool:
    """Whether a Ruby file's classes register their subclasses (:data:`_RUBY_REGISTERS`)."""
    return b"self" in data and _RUBY_REGISTERS.search(data) is not None


def _led_matches(
    pattern: re.Pattern[bytes], leads: Sequence[bytes], data: bytes
) -> Iterator[re.Match[bytes]]:
    """``pattern.finditer(data)`` for a pattern that can match only where one of
    ``leads`` starts: it is tried there alone (``bytes.find`` runs at memory speed), in
    order, and none is tried inside a match."""
    starts = []
    for lead in leads:
        at = data.find(lead)
        while at >= 0:
            starts.append(at)
            at = data.find(lead, at + 1)
    taken = 0
    for at in sorted(starts):
        if at < taken:
            continue
        match = pattern.match(data, at)
        if match is not None:
            taken = max(match.end(), at + 1)
            yield match


def token_key(token: bytes) -> bytes:
    """What the index keeps of a token: a short hash, never the token itself.

    Any identifier-shaped string counts as a token, and some secrets are identifier-shaped
    (``ghp_...``); the cache on disk must never hold one, so it holds these hashes.
    """
    return hashlib.blake2b(token, digest_size=8).digest()


def _key_of(token: bytes) -> bytes:
    """``token_key(token)``, remembered (see :data:`_KEYS`)."""
    key = _KEYS.get(token)
    if key is None:
        if len(_KEYS) > MAX_KEYS:
            _KEYS.clear()
        key = _KEYS[token] = token_key(token)
    return key


def tokenise(data: bytes, total: Counter[bytes] | None = None) -> dict[bytes, int]:
    """Hashed identifier tokens of ``data`` and how often each occurs; nothing for a
    binary. ``total``: each token (not hashed) is also counted into it, at C speed (adding
    the per-file result to a total instead is a Python loop over every entry)."""
    if b"\0" in data[:8192]:
        return {}
    keys = _KEYS
    if len(keys) > MAX_KEYS:
        keys.clear()
    out: dict[bytes, int] = {}
    tokens = TOKEN.findall(data)
    if total is not None:
        total.update(tokens)
    for token, n in Counter(tokens).items():
        key = keys.get(token)
        if key is None:
            key = keys[token] = token_key(token)
        out[key] = n
    return out


#: token -> token_key(token), kept across files: most tokens recur, and hashing each
#: again is a third of the cost of tokenising (in memory only; never stored).
_KEYS: dict[bytes, bytes] = {}
MAX_KEYS = 1 << 20


@dataclass
class IndexState:
    """What the index stores: each file's content id, the token total, the classes.

    The token total is kept packed, as it is on disk: ``keys`` holds the 8-byte token
    hashes in sorted order and ``values`` their counts, so loading it is one read, and
    the few tokens a commit defines are found by binary search. The full mapping is
    built only when many tokens are asked for (a whole-repository run).
    """

    files: dict[str, bytes] = field(default_factory=dict)  # path -> git blob id (20 bytes)
    keys: bytes = b""
    values: array[int] = field(default_factory=lambda: array("I"))
    classes: dict[str, list[ClassEntry]] = field(default_factory=dict)
    #: Names this state as stored (random, set when it is written); "" for one never
    #: written. Results worked out against a stored state are cached under its stamp.
    stamp: str = field(default="", compare=False)
    _lookups: int = field(default=0, repr=False, compare=False)
    _mapping: dict[bytes, int] | None = field(default=None, repr=False, compare=False)
    _numbers: array[int] | None = field(default=None, repr=False, compare=False)
    #: The counts by the tokens themselves, in a state that is never stored (``check
    #: --no-cache``): hashing every distinct token is then work for nothing. ``keys``
    #: and ``values`` are empty; look tokens up through :class:`ReferenceIndex`.
    raw: dict[bytes, int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls, files: dict[str, bytes], counts: Mapping[bytes, int], classes: dict[str, Any]
    ) -> IndexState:
        ordered = sorted(k for k, n in counts.items() if n > 0)
        values = array("I", [counts[k] for k in ordered])
        return cls(files, b"".join(ordered), values, classes)

    def folded(
        self, delta: Mapping[bytes, int], files: dict[str, bytes], classes: dict[str, Any]
    ) -> IndexState:
        """This state with ``delta`` added to its counts (a key whose count falls to zero
        goes), for ``files`` and ``classes``: one pass over the packed keys, with a
        binary search for each key of ``delta``."""
        numbers = _as_numbers(self.keys)
        values = array("I", self.values)
        inserted: list[tuple[int, int, int]] = []  # (position, key, count)
        emptied = False
        for key, n in sorted((int.from_bytes(k, "big"), n) for k, n in delta.items() if n):
            at = bisect_left(numbers, key)
            if at < len(numbers) and numbers[at] == key:
                total = values[at] + n
                values[at] = max(total, 0)
                emptied = emptied or total <= 0
            elif n > 0:
                inserted.append((at, key, n))
        if not inserted and not emptied:
            return IndexState(files, self.keys, values, classes)
        out_keys: list[bytes] = []
        out_values = array("I")
        start = 0
        for at, key, n in inserted:
            out_keys.append(self.keys[start * 8 : at * 8])
            out_values.extend(values[start:at])
            out_keys.append(key.to_bytes(8, "big"))
            out_values.append(n)
            start = at
        out_keys.append(self.keys[start * 8 :])
        out_values.extend(values[start:])
        keys = b"".join(out_keys)
        if emptied:
            zeros, at = [], -1
            while True:
                try:
                    at = out_values.index(0, at + 1)
                except ValueError:
                    break
                zeros.append(at)
            bounds = zip([-1, *zeros], [*zeros, len(out_values)], strict=True)
            kept_keys, kept_values = [], array("I")
            for before, after in bounds:
                kept_keys.append(keys[(before + 1) * 8 : after * 8])
                kept_values.extend(out_values[before + 1 : after])
            keys, out_values = b"".join(kept_keys), kept_values
        return IndexState(files, keys, out_values, classes)

    def get(self, key: bytes) -> int:
        if self._mapping is not None:
            return self._mapping.get(key, 0)
        self._lookups += 1
        if self._lookups > BISECT_LOOKUPS:
            return self.mapping().get(key, 0)
        if self._numbers is None:
            self._numbers = _as_numbers(self.keys)
        wanted = int.from_bytes(key, "big")
        at = bisect_left(self._numbers, wanted)
        if at < len(self._numbers) and self._numbers[at] == wanted:
            return self.values[at]
        return 0

    def mapping(self) -> dict[bytes, int]:
        """Every token's count as a dict (built once; callers must not change it)."""
        if self._mapping is None:
            keys = self.keys
            pairs = zip((keys[i : i + 8] for i in range(0, len(keys), 8)), self.values, strict=True)
            self._mapping = dict(pairs)
        return self._mapping


def _as_numbers(keys: bytes) -> array[int]:
    """The packed 8-byte keys as unsigned integers, in the same (sorted) order: a C-level
    binary search then finds one in about a microsecond."""
    numbers = array("Q")
    numbers.frombytes(keys)
    if sys.byteorder == "little":
        numbers.byteswap()  # keys sort as big-endian numbers
    return numbers


#: Fewer files than this are parsed without asking the index whether they may define
#: something unreferenced (the question costs about what the parse does).
FILTER_MIN_FILES = 32
#: Past this many lookups in one index, a dict of every token is built instead.
BISECT_LOOKUPS = 4096


class BlobStore:
    """Per-content token counts, so a changed file's old counts can be taken back out.

    Kept in ``SHARDS`` files by the first byte of the content id: a run touches only the
    shards of the files that changed. Entries for content no longer in the repository
    are dropped whenever their shard is rewritten.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.loaded: dict[int, dict[bytes, dict[bytes, int]]] = {}
        self.dirty: set[int] = set()

    @staticmethod
    def shard(digest: bytes) -> int:
        return digest[0] % SHARDS

    def _load(self, shard: int) -> dict[bytes, dict[bytes, int]]:
        if shard not in self.loaded:
            self.loaded[shard] = _read_marshal(self._path(shard), "blobs") or {}
        return self.loaded[shard]

    def _path(self, shard: int) -> Path | None:
        return None if self.directory is None else self.directory / f"blobs-{shard:02x}.bin"

    def get(self, digest: bytes) -> dict[bytes, int] | None:
        return self._load(self.shard(digest)).get(digest)

    def put(self, digest: bytes, counts: dict[bytes, int]) -> None:
        shard = self.shard(digest)
        self._load(shard)[digest] = counts
        self.dirty.add(shard)

    def save(self, live: set[bytes]) -> None:
        """Write the shards that changed, keeping only content still in the repository.

        With a directory, the loaded shards are then let go: the next run in this
        process reads the few it needs again rather than holding every file's counts.
        """
        for shard in sorted(self.dirty):
            entries = {k: v for k, v in self.loaded[shard].items() if k in live}
            self.loaded[shard] = entries
            _write_marshal(self._path(shard), "blobs", entries)
        self.dirty = set()
        if self.directory is not None:
            self.loaded = {}


def _read_marshal(path: Path | None, kind: str) -> Any:
    if path is None:
        return None
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("version") != INDEX_FORMAT
        or data.get("kind") != kind
        or not isinstance(data.get("data"), dict)
    ):
        return None
    return data["data"]


def _write_marshal(path: Path | None, kind: str, payload: dict[Any, Any]) -> None:
    """Store ``payload`` at ``path`` (once the verdict is out: see ``afterwards``); the
    caller hands it over and changes it no more."""
    if path is not None:
        afterwards.later(lambda: _write_now(path, kind, payload))


def _write_now(path: Path, kind: str, payload: dict[Any, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps({"version": INDEX_FORMAT, "kind": kind, "data": payload}))
        os.replace(tmp, path)
    except OSError:
        return


def cache_dir(root: Path) -> Path | None:
    """``<git dir>/convergio/cache/wire``; a worktree's ``.git`` file is followed."""
    dot_git = root / ".git"
    try:
        if dot_git.is_dir():
            return dot_git / "convergio" / "cache" / "wire"
        if dot_git.is_file():
            line = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if line.startswith("gitdir:"):
                gitdir = Path(line[len("gitdir:") :].strip())
                gitdir = gitdir if gitdir.is_absolute() else (root / gitdir)
                if gitdir.is_dir():
                    return gitdir / "convergio" / "cache" / "wire"
    except OSError:
        return None
    return None


#: The last index stored or loaded in this process, per cache location.
_MEMORY: dict[str, tuple[IndexState, BlobStore]] = {}


@dataclass
class IndexStats:
    files: int = 0
    tokenised: int = 0
    rebuilt: bool = False


class ReferenceIndex:
    """How often each identifier token occurs across the repository's files.

    Always a whole state: what changed since the stored one is folded into it as the
    index is built (:meth:`build`).
    """

    def __init__(self, state: IndexState, stats: IndexStats) -> None:
        self.state = state
        self.stats = stats
        self._classes: dict[str, list[tuple[str, tuple[str, ...]]]] | None = None
        #: Where per-content token counts are kept (by git blob id), for
        #: :meth:`may_define_dead`.
        self.blobs: BlobStore | None = None

    def key(self, token: bytes) -> bytes:
        """What :meth:`lookup` and :meth:`file_counts` know ``token`` by: its hash, or
        the token itself in a state never stored."""
        return token if self.state.raw is not None else _key_of(token)

    def lookup(self) -> Mapping[bytes, int]:
        """Every token's repository-wide count, by :meth:`key`."""
        return self.state.raw if self.state.raw is not None else self.state.mapping()

    def file_counts(self, source: SourceFile) -> dict[bytes, int]:
        """``source``'s own token counts, as the index counted them (by :meth:`key`)."""
        if self.state.raw is not None:
            data = source.data
            return {} if b"\0" in data[:8192] else Counter(TOKEN.findall(data))
        found = self.kept_counts(source)
        return tokenise(source.data) if found is None else found

    def kept_counts(self, source: SourceFile) -> dict[bytes, int] | None:
        """``source``'s own token counts if the index kept them (not under ``--no-cache``)."""
        return None if self.blobs is None else self.blobs.get(bytes.fromhex(source.oid))

    def may_define_dead(self, sources: Sequence[SourceFile]) -> list[SourceFile]:
        """Those of ``sources`` that may define something unreferenced.

        A definition is unreferenced when every occurrence of its token in the
        repository is inside it, so all of them are in its file: the repository-wide
        count of that token equals the file's own. A file with no such token cannot
        define anything unreferenced and need not be parsed. (A file the tokeniser
        skips as binary has no counts, so it is always parsed.)
        """
        if len(sources) < FILTER_MIN_FILES:
            return list(sources)  # parsing a few files costs less than looking them up
        counts = self.lookup()
        out = []
        for source in sources:
            own = self.file_counts(source)
            if not own:
                out.append(source)
                continue
            for key, n in own.items():
                if counts.get(key, 0) == n:
                    out.append(source)
                    break
        return out

    def count(self, token: bytes) -> int:
        if self.state.raw is not None:
            return self.state.raw.get(token, 0)
        return self.count_key(token_key(token))

    def counter(self, lookups: int) -> Callable[[bytes], int]:
        """``count`` for about ``lookups`` tokens: many build the full mapping at once."""
        if lookups <= BISECT_LOOKUPS or self.state.raw is not None:
            return self.count
        counts = self.state.mapping()

        def count(token: bytes) -> int:
            return counts.get(token_key(token), 0)

        return count

    def count_key(self, key: bytes) -> int:
        """The count of the token whose hash is ``key`` (not in a state never stored)."""
        if self.state.raw is not None:
            raise ValueError("this index keeps tokens, not their hashes: use count()")
        return self.state.get(key)

    def totals(self) -> Counter[bytes]:
        """Every token's count (hashed), as one mapping: for tests and tools."""
        if self.state.raw is not None:
            return +Counter({token_key(t): n for t, n in self.state.raw.items()})
        return +Counter(self.state.mapping())

    def class_lists(self) -> dict[str, list[ClassEntry]]:
        """Path -> the classes it defines, for every file of the repository."""
        return self.state.classes

    def classes(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Class name -> (module, bases) of every class of that name in the repository.
        The module is the file's, or for a Ruby class the modules it is nested in and
        its own name (``ActiveSupport.Callbacks``): Ruby's file names do not say."""
        if self._classes is None:
            merged: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
            for path, entries in self.class_lists().items():
                module = module_name(path)
                for name, bases in entries:
                    if "." in name:  # a nested Ruby class
                        merged.setdefault(name.rsplit(".", 1)[-1], []).append((name, tuple(bases)))
                        continue
                    merged.setdefault(name, []).append((module, tuple(bases)))
            self._classes = merged
        return self._classes

    @classmethod
    def build(
        cls,
        root: Path,
        paths: Iterable[str],
        read: Reader,
        overrides: Mapping[str, bytes],
        known: Mapping[str, str] | None = None,
        cached: bool = True,
        workers: int = 1,
    ) -> ReferenceIndex:
        """The index of ``paths`` (read with ``read``; ``overrides`` win), cache-backed
        unless ``cached`` is false (then built from the files alone, and not stored).
        ``workers``: how many processes a rebuild may tokenise in (see :func:`_rebuild`).

        ``known`` maps paths to the git blob id of their content as ``overrides`` or
        ``read`` give it (the selection knows it without reading, from a stat cache or a
        tree): such a file is neither read nor hashed unless its content is new to the
        index.
        """
        directory = cache_dir(root) if cached else None
        memo = str(directory or root.resolve())
        if not cached:
            memo = f"uncached:{memo}"
            _MEMORY.pop(memo, None)
        state, store = _MEMORY.get(memo) or (None, None)
        if state is None or store is None:
            store = BlobStore(directory)
            state = _load_state(directory) or IndexState()
        known = known or {}
        stats = IndexStats()
        current: dict[str, bytes] = {}
        changed: dict[str, bytes] = {}
        stored = state.files
        for path in dict.fromkeys([*paths, *overrides]):
            oid = known.get(path)
            if oid is not None:
                digest = bytes.fromhex(oid)
                if stored.get(path) == digest:
                    current[path] = digest
                    continue
            data = overrides.get(path)
            if data is None:
                data = read(path)
                if data is None:
                    continue
            digest = bytes.fromhex(oid if path in overrides and oid else blob_oid(data))
            current[path] = digest
            if stored.get(path) != digest:
                changed[path] = data
        stats.files = len(current)
        gone = [p for p in stored if p not in current]
        _MEMORY[memo] = (state, store)
        if not changed and not gone:
            return cls(state, stats)._with(store)
        if not stored or len(changed) + len(gone) > len(current) // 2:
            state = _rebuild(current, changed, state, read, overrides, store, stats, workers)
            return cls(_keep(directory, memo, state, store, current), stats)._with(store)
        delta: Counter[bytes] = Counter()
        unkept: list[bytes] = []  # old contents whose counts the cache lost: git may have them
        for path in [*gone, *changed]:
            digest_was = stored.get(path)
            if digest_was is None:
                continue
            old = store.get(digest_was)
            if old is None:
                unkept.append(digest_was)
            else:
                delta.subtract(old)
        olds = _git_contents(root, unkept) if unkept else {}
        if len(olds) < len(set(unkept)):  # lost: start over rather than guess
            empty = IndexState()
            state = _rebuild(current, changed, empty, read, overrides, store, stats, workers)
            return cls(_keep(directory, memo, state, store, current), stats)._with(store)
        for digest_was in unkept:
            delta.subtract(tokenise(olds[digest_was]))
        classes = {p: c for p, c in state.classes.items() if p in current}
        for path, data in changed.items():
            digest = current[path]
            new = store.get(digest)
            if new is None:
                new = tokenise(data)
                stats.tokenised += 1
                store.put(digest, new)
            delta.update(new)
            classes[path] = extract_classes(path, data)
        # Folded into the stored state at once (a merge of the sorted keys, about a
        # millisecond), so the next run starts from here: left on top in memory, the
        # change would be read and counted again by every run until a big one.
        folded = state.folded(delta, dict(current), classes)
        return cls(_keep(directory, memo, folded, store, current), stats)._with(store)

    def _with(self, blobs: BlobStore) -> ReferenceIndex:
        self.blobs = blobs
        return self


def _keep(
    directory: Path | None,
    memo: str,
    state: IndexState,
    store: BlobStore,
    current: Mapping[str, bytes],
) -> IndexState:
    """Store ``state`` on disk and in this process's memory; return it."""
    _save_state(directory, state)
    store.save(set(current.values()))
    _MEMORY[memo] = (state, store)
    return state


def _load_state(directory: Path | None) -> IndexState | None:
    data = _read_marshal(None if directory is None else directory / "index.bin", "index")
    if data is None:
        return None
    files, keys, values, classes = (
        data.get("files"),
        data.get("keys"),
        data.get("values"),
        data.get("classes"),
    )
    if not (
        isinstance(files, dict)
        and isinstance(keys, bytes)
        and isinstance(values, bytes)
        and isinstance(classes, dict)
    ):
        return None
    counts = array("I")
    try:
        counts.frombytes(values)
    except ValueError:
        return None
    if len(keys) != 8 * len(counts):
        return None
    stamp = data.get("stamp")
    return IndexState(
        files,
        keys,
        counts,
        {p: [(n, tuple(b)) for n, b in v] for p, v in classes.items()},
        stamp if isinstance(stamp, str) else "",
    )


def _save_state(directory: Path | None, state: IndexState) -> None:
    if directory is None:
        return
    state.stamp = stamp = os.urandom(12).hex()
    files, keys, values, classes = state.files, state.keys, state.values, state.classes

    def write() -> None:  # (the state is not changed once made: nothing here moves)
        payload = {
            "files": files,
            "keys": keys,
            "values": values.tobytes(),
            "classes": {p: [(n, list(b)) for n, b in v] for p, v in classes.items()},
            "stamp": stamp,
        }
        _write_now(directory / "index.bin", "index", payload)

    afterwards.later(write)


def _rebuild(
    current: Mapping[str, bytes],
    changed: Mapping[str, bytes],
    old: IndexState,
    read: Reader,
    overrides: Mapping[str, bytes],
    store: BlobStore,
    stats: IndexStats,
    workers: int = 1,
) -> IndexState:
    """The index of ``current`` counted afresh (what ``store`` keeps is reused).

    Each file's own counts are kept, to take them back out on a later run and to tell
    which files may define something unreferenced (:meth:`ReferenceIndex.may_define_dead`:
    after any change, a whole-repository run asks it of every file). With nowhere to
    keep them (``--no-cache``) only the total is counted: a third less work.

    When the files to tokenise outweigh the ones being checked (a pull request's or a
    commit's run with no index yet: nothing else keeps the cores busy), they are
    tokenised in up to ``workers`` forked children.
    """
    stats.rebuilt = True
    counts: Counter[bytes] = Counter()  # by token hash, from the store
    classes: dict[str, list[ClassEntry]] = {}
    keeping = store.directory is not None
    todo: list[tuple[bytes, bytes]] = []  # (digest, content) to tokenise
    for path, digest in current.items():
        data = changed.get(path)
        if data is None:
            data = overrides[path] if path in overrides else read(path)
        if data is None:
            continue
        classes[path] = _classes_of(path, data, old, digest)
        found = store.get(digest)
        if found is not None:
            counts.update(found)
            continue
        stats.tokenised += 1
        if b"\0" in data[:8192]:
            store.put(digest, {})
        else:
            todo.append((digest, data))
    fresh: Counter[bytes] = Counter()  # by token, from the files tokenised now
    for totals, kept in _tokenised(todo, keeping, _rebuild_workers(todo, overrides, workers)):
        if keeping:
            counts.update(totals)  # by token hash
        else:
            fresh.update(totals)
        for digest, own in kept:
            store.put(digest, own)
    if not keeping and not counts:
        return IndexState(dict(current), classes=classes, raw=fresh)
    for token, n in fresh.items():
        counts[_key_of(token)] += n
    return IndexState.of(dict(current), counts, classes)


#: Below this many bytes to tokenise, a rebuild does not fork (a fork is not free).
PARALLEL_MIN_BYTES = 4 << 20


def _rebuild_workers(
    todo: Sequence[tuple[bytes, bytes]], overrides: Mapping[str, bytes], workers: int
) -> int:
    """How many processes to tokenise ``todo`` in: 1 unless there is much of it, much
    more than the files being checked (whose gates' work would compete for the cores),
    and this process may fork."""
    size = sum(len(data) for _, data in todo)
    if workers < 2 or size < PARALLEL_MIN_BYTES:
        return 1
    checked = sum(len(overrides[path]) for path in overrides)
    if checked * 4 > size:
        return 1
    from convergio_gate.gates import engine

    return workers if engine.alone() else 1


def _tokenised(
    todo: Sequence[tuple[bytes, bytes]], keeping: bool, workers: int
) -> list[tuple[Counter[bytes], list[tuple[bytes, dict[bytes, int]]]]]:
    """The tokens of ``todo``'s contents, in parts: each part's total and, when
    ``keeping``, each file's own counts (see :func:`_tokenise_part`). In ``workers`` forked children
    when more than one, each given a share of about the same size."""
    if workers < 2:
        return [_tokenise_part(todo, keeping)]
    from convergio_gate.gates import engine

    shares: list[list[tuple[bytes, bytes]]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for item in sorted(todo, key=lambda item: -len(item[1])):
        smallest = sizes.index(min(sizes))
        shares[smallest].append(item)
        sizes[smallest] += len(item[1])
    waits = [
        engine.forked(functools.partial(_tokenise_share, share, keeping))
        for share in shares
        if share
    ]
    return [part for wait in waits for part in wait()]


def _tokenise_share(
    share: Sequence[tuple[bytes, bytes]], keeping: bool
) -> list[tuple[Counter[bytes], list[tuple[bytes, dict[bytes, int]]]]]:
    return [_tokenise_part(share, keeping)]


def _tokenise_part(
    todo: Sequence[tuple[bytes, bytes]], keeping: bool
) -> tuple[Counter[bytes], list[tuple[bytes, dict[bytes, int]]]]:
    """The total of ``todo``'s tokens, and when ``keeping`` each file's own counts: then
    both by token hash (each token is hashed once, where it was counted)."""
    fresh: Counter[bytes] = Counter()
    if not keeping:
        for _, data in todo:
            fresh.update(TOKEN.findall(data))
        return fresh, []
    kept = [(digest, tokenise(data, fresh)) for digest, data in todo]
    hashed: Counter[bytes] = Counter()
    for token, n in fresh.items():
        hashed[_key_of(token)] += n
    return hashed, kept


def _git_contents(root: Path, digests: Sequence[bytes]) -> dict[bytes, bytes]:
    """The content of those of ``digests`` (blob ids) that git holds at ``root``; what it
    lacks, or cannot read, is left out."""
    from convergio_gate.errors import GitError
    from convergio_gate.gates.select import read_blobs

    try:
        found = read_blobs(root, [d.hex() for d in digests])
    except (GitError, OSError):
        return {}
    return {bytes.fromhex(oid): data for oid, data in found.items()}


def _classes_of(path: str, data: bytes, old: IndexState, digest: bytes) -> list[ClassEntry]:
    if old.files.get(path) == digest and path in old.classes:
        return old.classes[path]
    return extract_classes(path, data)


# ------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class EntryPoints:
    """What packaging metadata names: modules (with an attribute or not) and files."""

    modules: frozenset[tuple[str, str]] = frozenset()  # (module, attr or "")
    files: frozenset[str] = frozenset()  # paths without extension

    def covers(self, definition: Definition) -> bool:
        if _strip_ext(definition.path) in self.files:
            return True
        module = module_name(definition.path)
        local = definition.qualname[len(module) + 1 :] if module else definition.qualname
        for target, attr in self.modules:
            if module != target and not module.endswith("." + target):
                continue
            if not attr or local == attr or local.startswith(attr + "."):
                return True
        return False


PYPROJECT_SECTIONS = lazyre.compile(
    r"^(project\.(scripts|gui-scripts|entry-points(\..+)?)|tool\.poetry\.(scripts|plugins(\..+)?))$"
)
TARGET = lazyre.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?::\s*([A-Za-z_][\w.]*))?\s*(\[[^\]]*\])?\s*$")


def _strip_ext(path: str) -> str:
    head, _, name = path.rpartition("/")
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    return f"{head}/{stem}" if head else stem


def _pyproject_targets(text: str) -> Iterator[tuple[str, str]]:
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]").replace('"', "").replace("'", "").strip()
            continue
        if not PYPROJECT_SECTIONS.match(section):
            continue
        for value in re.findall(r"=\s*[\"']([^\"']+)[\"']", line):
            match = TARGET.match(value)
            if match:
                yield match.group(1), match.group(2) or ""


def _setup_cfg_targets(text: str) -> Iterator[tuple[str, str]]:
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if section != "options.entry_points" or "=" not in stripped:
            continue
        value = stripped.rsplit("=", 1)[1]
        match = TARGET.match(value)
        if match and value.strip():
            yield match.group(1), match.group(2) or ""


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _package_json_files(path: str, text: str) -> Iterator[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    base = path.rpartition("/")[0]
    for key in ("main", "module", "browser", "bin", "exports"):
        for target in _json_strings(data.get(key)):
            target = os.path.normpath(os.path.join(base, target)).replace(os.sep, "/")
            if not target.startswith(".."):
                yield _strip_ext(target)


def entry_points(paths: Iterable[str], read: Reader) -> EntryPoints:
    modules: set[tuple[str, str]] = set()
    files: set[str] = set()
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        if name not in ("pyproject.toml", "setup.cfg", "package.json"):
            continue
        data = read(path)
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        if name == "pyproject.toml":
            modules.update(_pyproject_targets(text))
        elif name == "setup.cfg":
            modules.update(_setup_cfg_targets(text))
        else:
            files.update(_package_json_files(path, text))
    return EntryPoints(frozenset(modules), frozenset(files))


# ----------------------------------------------------------------------- exemptions


#: What follows a prefix in a string that builds names from it: ``%`` or ``{`` inside
#: the string, or the string's end (the closing quote, group 1) and a ``+``.
_QUOTED_BUILD = re.compile(rb"""[%{]|(['"])\s*\+""")
#: What follows a prefix that a shell, a JS template or Ruby expands a name after.
_EXPANDED_BUILD = re.compile(rb"\$[{(\w]|#\{")


def builds_from(data: bytes, prefix: bytes) -> bool:
    """Whether a string of ``data`` builds names from ``prefix``: the prefix in quotes
    followed by ``+``, or followed by ``%`` or ``{`` inside the string (``"on_%s"``,
    ``f"visit_{k}"``); or the prefix, where a word starts, followed by an expansion: a
    shell's ``$x``, ``${x}`` or ``$(cmd)`` (``"cmd_$command"``, ``edit_patch_$SYSTEM``),
    a JS template's ``${x}``, Ruby's ``#{x}``. Each occurrence of the prefix is looked
    at where it is (one pass of ``bytes.find``, no pattern per prefix)."""
    size = len(prefix)
    at = data.find(prefix)
    while at >= 0:
        end = at + size
        before = data[at - 1] if at else -1
        if before in (0x22, 0x27):  # ' or "
            tail = _QUOTED_BUILD.match(data, end)
            if tail is not None and (tail.start(1) < 0 or data[tail.start(1)] == before):
                return True
        if before not in _WORD_BYTES and _EXPANDED_BUILD.match(data, end) is not None:
            return True
        at = data.find(prefix, at + 1)
    return False


def builds_to(data: bytes, suffix: bytes) -> bool:
    """Whether a string of ``data`` builds names that end in ``suffix`` (which starts
    with ``_``): the suffix right after an interpolation (``"#{state}_state"``,
    ``f"{kind}_handler"``, `` `${x}_done` ``) or a ``%s``, and before the string's end."""
    size = len(suffix)
    at = data.find(suffix)
    while at >= 0:
        end = at + size
        if (
            end < len(data)
            and data[end] in _QUOTES
            and (data[at - 1 : at] == b"}" or data[max(0, at - 2) : at] == b"%s")
        ):
            return True
        at = data.find(suffix, at + 1)
    return False


_QUOTES = frozenset(b"\"'`")


#: A Ruby string that builds a name from a prefix: ``"parse_#{name}"`` (group 1: ``parse_``).
_RUBY_TEMPLATE = lazyre.compile(rb"(?<![\w$])([A-Za-z_]\w*_)#\{")
RUBY_SUFFIXES = (".rb", ".rake")


def _names_symbol(data: bytes, word: bytes) -> bool:
    """Whether ``data`` has the Ruby symbol ``:word`` (a whole word, not ``::word``)."""
    symbol = b":" + word
    at = data.find(symbol)
    while at >= 0:
        end = at + len(symbol)
        if (at == 0 or data[at - 1] != 0x3A) and (end == len(data) or data[end] not in _WORD_BYTES):
            return True
        at = data.find(symbol, at + 1)
    return False


@dataclass
class Judge:
    """Decides which rule, if any, exempts an unreferenced definition."""

    policy: Policy
    index: ReferenceIndex
    entries: EntryPoints
    public: tuple[str, ...]
    read: Reader = field(default=lambda path: None)
    #: Every file of the repository (for what Ruby files build names from).
    paths: Sequence[str] = ()
    #: (path, what) -> whether a string of that file builds names from a prefix or to a
    #: suffix (see :meth:`is_dispatched`).
    _builds: dict[tuple[str, bytes], bool] = field(default_factory=dict)
    _data: dict[str, bytes] = field(default_factory=dict)
    _ruby_prefixes: frozenset[bytes] | None = None

    def exemption(self, d: Definition) -> str | None:
        checks = (
            ("exempt-public", self.is_public),
            ("exempt-tests", self.is_test),
            ("exempt-main", self.is_main),
            ("exempt-special-methods", self.is_special),
            ("exempt-conventions", self.is_convention),
            ("exempt-entry-points", self.entries.covers),
            ("exempt-exports", self.is_exported),
            ("exempt-overrides", self.is_override),
            ("exempt-registered", self.is_registered),
            ("exempt-dispatch", self.is_dispatched),
        )
        for rule_id, check in checks:
            if check(d):
                return rule_id
        return None

    def is_public(self, d: Definition) -> bool:
        for pattern in self.public:
            if fnmatch.fnmatchcase(d.path, pattern) or fnmatch.fnmatchcase(d.qualname, pattern):
                return True
            if fnmatch.fnmatchcase(d.qualname, "*." + pattern):
                return True
        return False

    def is_test(self, d: Definition) -> bool:
        p, family = self.policy, _family(d.language)
        if d.in_tests or _any_match(d.path, p.test_paths):
            return True
        if _any_match(d.name, p.test_names.get(family, {}).get(d.kind, ())):
            return True
        return any(_marker_match(m, p.test_markers.get(family, ())) for m in d.markers)

    def is_main(self, d: Definition) -> bool:
        names = (*self.policy.main_names.get("*", ()), *self.policy.main_names.get(d.language, ()))
        return d.in_main or (d.kind == "function" and d.top_level and d.name in names)

    def is_special(self, d: Definition) -> bool:
        if d.kind == "class":
            return False
        return _any_match(d.name, self.policy.special_names.get(_family(d.language), ()))

    def is_convention(self, d: Definition) -> bool:
        p, family = self.policy, _family(d.language)
        if _any_match(d.path, p.convention_paths):
            return True
        if _any_match(d.name, p.convention_names.get(family, {}).get(d.kind, ())):
            return True
        return any(
            fnmatch.fnmatchcase(d.path, glob) and d.name in names
            for glob, names in p.convention_path_names.items()
        )

    def is_exported(self, d: Definition) -> bool:
        return d.exported or _any_match(d.path, self.policy.export_paths)

    def is_override(self, d: Definition) -> bool:
        family = _family(d.language)
        if d.override or any(
            _marker_match(m, self.policy.override_markers.get(family, ())) for m in d.markers
        ):
            return True
        if d.kind != "method" or d.container is None or d.private:
            return False
        if d.language == "go":
            return d.name[:1].isupper()
        bases = d.container.bases
        if bases == ("@repo",):  # C++ `Class::method`: the class is found by name
            found = self.index.classes().get(d.container.name, [])
            bases = tuple(b for _, entry in found for b in entry) if found else ("?",)
        return self.leaves_repo(bases, d.name, family)

    def is_registered(self, d: Definition) -> bool:
        pure = self.policy.pure.get(_family(d.language), ())
        markers = list(d.markers)
        if d.container is not None:
            markers.extend(d.container.markers)
        if any(not _marker_match(m, pure) for m in markers if m != "cfg(test)"):
            return True
        if d.kind != "class":
            return False
        return self.leaves_repo(d.bases, None, _family(d.language)) or self.discovered(d.bases)

    def is_dispatched(self, d: Definition) -> bool:
        """Whether a string of ``d``'s own file builds its name at run time from a
        prefix of it that ends in ``_``: ``getattr(self, "do_" + command)``,
        ``f"visit_{kind}"``, ``"on_%s" % event``, ``"handle_{}".format(kind)``; or from
        a suffix that starts with one: ``__send__("#{state}_state")``. (Only its own
        file: in a large repository, some file builds names from ``get_`` or ``is_``, and
        that says nothing about this one's.) In Ruby, also when a Ruby file of the
        repository interpolates the prefix (``"parse_#{name}"``; the index's count of
        ``parse_`` as a token of its own spares reading them when none does) and this file
        names the rest as a symbol: kramdown's ``define_parser(:autolink, ...)`` beside
        ``def parse_autolink``."""
        name = d.name
        for i in range(1, len(name) - 1):
            if name[i] != "_" or name[i - 1] == "_":
                continue
            prefix, suffix = name[: i + 1].encode(), name[i:].encode()
            if self._built(d.path, b"<" + prefix, functools.partial(builds_from, prefix=prefix)):
                return True
            if self._built(d.path, b">" + suffix, functools.partial(builds_to, suffix=suffix)):
                return True
            symbol = functools.partial(_names_symbol, word=suffix[1:])
            if (
                d.language == "ruby"
                and self.index.count(prefix) > 0
                and prefix in self.ruby_prefixes()
                and self._built(d.path, b":" + suffix[1:], symbol)
            ):
                return True
        return False

    def ruby_prefixes(self) -> frozenset[bytes]:
        """The prefixes the repository's Ruby files build names from by interpolation
        (``"parse_#{name}"``), read once, when first asked."""
        if self._ruby_prefixes is None:
            found: set[bytes] = set()
            for path in self.paths:
                if path.endswith(RUBY_SUFFIXES):
                    data = self.read(path) or b""
                    if b"_#{" in data:
                        found.update(_RUBY_TEMPLATE.findall(data))
            self._ruby_prefixes = frozenset(found)
        return self._ruby_prefixes

    def _built(self, path: str, key: bytes, test: Callable[[bytes], bool]) -> bool:
        """``test`` of the file at ``path``, once per file and ``key`` (definitions
        share prefixes and suffixes); the file is read only when asked."""
        found = self._builds.get((path, key))
        if found is None:
            data = self._data.get(path)
            if data is None:
                data = self._data[path] = self.read(path) or b""
            found = self._builds[(path, key)] = test(data)
        return found

    def discovered(self, bases: Sequence[str], seen: set[str] | None = None) -> bool:
        """Whether an ancestor is one the repository finds subclasses of by walking them
        (``issubclass(x, Base)``, ``Base.__subclasses__()``, ``ServiceLoader.load``)."""
        seen = set() if seen is None else seen
        targets = {
            name.rsplit(".", 1)[-1]
            for _, names in self.index.classes().get(DISCOVERS, [])
            for name in names
        }
        if not targets:
            return False
        for base in bases:
            if base.rsplit(".", 1)[-1] in targets:
                return True
            if base in seen:
                continue
            seen.add(base)
            if any(self.discovered(b, seen) for b in self.defined(base)):
                return True
        return False

    def leaves_repo(
        self, bases: Sequence[str], method: str | None, family: str, seen: set[str] | None = None
    ) -> bool:
        """Whether some ancestor through ``bases`` is not defined in the repository.

        A closed base (``closed_bases``) is known: it stops the walk unless ``method``
        is one of the names it can be overridden by.
        """
        seen = set() if seen is None else seen
        closed = self.policy.closed_bases.get(family, {})
        for base in bases:
            if base == "?":
                return True
            if base == REGISTERS:
                if method is None:
                    return True
                continue
            base = base.removeprefix(MIXIN)  # a Ruby module, found as a class is
            last = base.rsplit(".", 1)[-1]
            known = closed.get(base, closed.get(last))
            if known is not None:
                if method is not None and method in known:
                    return True
                continue
            if base in seen:
                continue
            seen.add(base)
            defined = self.defined(base)
            if not defined:
                return True
            if any(self.leaves_repo(b, method, family, seen) for b in defined):
                return True
        return False

    def defined(self, base: str) -> list[tuple[str, ...]]:
        """The base lists of the repository's classes ``base`` can name.

        A bare name matches a class of that name anywhere; a dotted one
        (``app.models.Base``, ``models.Base``, ``com.acme.Base``) only one whose file's
        module ends with the prefix, so ``React.Component`` or ``django...Model`` never
        match a class of the repository that happens to share the last name.
        """
        prefix, _, last = base.rpartition(".")
        found = self.index.classes().get(last, [])
        if not prefix:
            return [bases for _, bases in found]
        return [
            bases
            for module, bases in found
            if module in (prefix, base)
            or module.endswith("." + prefix)
            or module.endswith("." + base)
        ]


# ---------------------------------------------------------------------- the gate


def _public_setting(settings: Mapping[str, Any]) -> tuple[str, ...]:
    value = settings.get("public", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(
            "expected a list of glob patterns (qualified names or paths)",
            path=".convergio/config.yaml",
            key="gates.wire.public",
            fix='write e.g. `public: ["mypkg.api.*", "plugins/*"]`',
        )
    return tuple(value)


WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
#: A word's bytes where a name may hold ``$`` (a shell's or JavaScript's).
_WORD_BYTES = WORD_BYTES | frozenset(b"$")
DIGIT_BYTES = frozenset(b"0123456789")


def _token_starts(data: bytes, token: bytes, lo: int, hi: int, first: bool = False) -> list[int]:
    """Where ``token`` starts in ``data`` as a whole identifier token, at offsets in
    [``lo``, ``hi``) (judged by the bytes around it, in or out of that range); with
    ``first``, only the first such offset.

    Each is found with ``bytes.find`` (C speed; definitions are few, tokens many), then
    checked to be a token the way ``TOKEN`` splits them: not followed by an identifier
    character, and not preceded by one but for a run of digits (``9abc`` holds the
    token ``abc``; ``x9abc`` does not).
    """
    found: list[int] = []
    size = len(data)
    stop = min(size, hi + len(token) - 1)  # an occurrence starting before hi may end past it
    at = data.find(token, lo, stop)
    while at >= 0:
        end = at + len(token)
        if end < size and data[end] in WORD_BYTES:
            at = data.find(token, end, stop)
            continue
        start = at
        while start > 0 and data[start - 1] in DIGIT_BYTES:
            start -= 1
        if not (start > 0 and data[start - 1] in WORD_BYTES):
            found.append(at)
            if first:
                break
        at = data.find(token, end, stop)
    return found


def _first_token(data: bytes, token: bytes, lo: int, hi: int) -> int:
    """The first offset in [``lo``, ``hi``) where ``token`` starts as a whole token, or -1."""
    found = _token_starts(data, token, lo, hi, first=True)
    return found[0] if found else -1


#: A definition with how often its own token occurs inside its own span.
Candidate = tuple[Definition, int]

# ------------------------------------------------------- reading definitions by text
#
# A whole-repository run must find the definitions nothing references among every
# definition of every file, and parsing every file for them is most of its cost. Where
# a language's definitions can be told from the text alone, the index (token counts)
# rules most of them out first: a definition can be unreferenced only if every
# occurrence of its name's token in the repository is in its own file, none before it,
# and none past the point where it ends at the latest. Only the files left are parsed,
# and their query runs only around the definitions left (lang.matches_in), so the
# result is the whole-tree one for every definition that can be unreferenced.

#: Where a definition's name stands, per language: every name the ``definitions``
#: query captures is group 1 of a match (and more: in strings, ``undef x``...).
DEF_SITES: dict[str, re.Pattern[bytes]] = {
    "python": lazyre.compile(rb"(?:def|class)[ \t]+([A-Za-z_\x80-\xff][\w\x80-\xff]*)"),
}
#: Sites closer than this share one range of the query.
SITE_GAP = 256


def lexical_ranges(
    data: bytes, language: str, count: Callable[[bytes], tuple[int, int | None]]
) -> list[tuple[int, int]]:
    """Byte ranges of ``data`` around the definitions that may be unreferenced, by the
    text and the token counts (``count``: a token's in the repository and in ``data``,
    None when its count in ``data`` is not at hand); [] when there are none.
    ``language`` must be one of :data:`DEF_SITES`."""
    ranges: list[tuple[int, int]] = []
    occurrences: dict[bytes, list[int]] = {}
    counted: dict[bytes, int] = {}  # a name defined again (methods) is counted once
    for m in DEF_SITES[language].finditer(data):
        token = TOKEN.search(m.group(1))
        if token is None:
            continue  # no ASCII token: the query's definition is skipped too
        name = token.group()
        at = m.start(1) + token.start()
        total, own = count(name)
        if own is None:
            own = counted.get(name)
            if own is None:  # as many as the token's occurrences, or more
                own = counted[name] = data.count(name)
            if own < total:
                continue  # some occurrence is in another file
        elif 0 < own < total:
            continue  # some occurrence is in another file
        found = occurrences.get(name)
        if found is None:
            found = occurrences[name] = _token_starts(data, name, 0, len(data))
        if total > len(found):
            continue  # some occurrence is in another file
        if total == len(found) and found:
            if found[0] < at:
                continue  # used before it is defined: outside it
            if found[-1] >= _python_block_end(data, at):
                continue  # used after it ends
        start = data.rfind(b"\n", 0, at) + 1
        end = at + len(name)
        if ranges and start - ranges[-1][1] <= SITE_GAP:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def _python_block_end(data: bytes, at: int) -> int:
    """Where the ``def``/``class`` whose name is at ``at`` ends at the latest: the start
    of the first later line that is indented no deeper than its own, is not blank or a
    comment, does not continue the line before it (a backslash), and has every bracket
    and triple-quoted string opened since the ``def`` line closed (else the line could
    be inside one); the end of ``data`` if there is none. (Python forbids indentation
    whose order depends on the width of a tab, so counting a tab as one column orders
    lines as Python does.) What is open is counted as the lines go, so a long file
    costs one pass."""
    start = data.rfind(b"\n", 0, at) + 1
    indent = len(data[start:at]) - len(data[start:at].lstrip(b" \t"))
    counts = [0] * len(OPENS)
    counted = start
    for line in _dedent(indent).finditer(data, at):
        begin = line.start() + 1
        for i, mark in enumerate(OPENS):
            counts[i] += data.count(mark, counted, begin)
        counted = begin
        last = begin - 2 if data[begin - 2 : begin - 1] != b"\r" else begin - 3
        if data[last : last + 1] == b"\\":
            continue  # the line before runs on into this one
        if (counts[0] + counts[1]) % 2 == 0 and counts[2::2] == counts[3::2]:
            return begin
    return len(data)


@cache
def _dedent(indent: int) -> re.Pattern[bytes]:
    """A newline before a line indented by at most ``indent`` blanks that is not blank
    or a comment."""
    return re.compile(rb"\n[ \t]{0,%d}(?=[^ \t\r\n\f#])" % indent)


#: What can stay open across lines in Python: triple-quoted strings, then each bracket
#: pair (opening, closing).
OPENS = (b'"""', b"'''", b"(", b")", b"[", b"]", b"{", b"}")


def ranged_candidates_packed(
    ranges: Mapping[str, Sequence[tuple[int, int]]], files: Sequence[SourceFile]
) -> list[list[tuple[Any, ...]]]:
    """:func:`candidates_packed`, each file's only around its ``ranges`` (by path)."""
    out: list[list[tuple[Any, ...]]] = []
    for source in files:
        extractor = _extractor(source)
        found = [] if extractor is None else extractor.candidates(ranges[source.path])
        out.append([_pack(c) for c in found])
    return out


def candidates(source: SourceFile) -> list[Candidate]:
    """``source``'s definitions that may be unreferenced, each with the count of its
    token inside itself.

    A definition is unreferenced when the repository-wide count of its token equals
    that count: every occurrence is inside the definition. So one its own file refers to
    elsewhere is not a candidate. All of it depends only on the file's content and path,
    so it is cached by them.
    """
    extractor = _extractor(source)
    return [] if extractor is None else extractor.candidates()


def _pack(item: Candidate) -> tuple[Any, ...]:
    d, inside = item
    c = d.container
    box = None if c is None else (c.name, c.bases, c.markers, c.exported, c.trait_impl)
    return (
        d.name, d.token, d.kind, d.qualname, d.language, d.line, d.column, d.start, d.end,
        d.top_level, d.markers, d.exported, d.private, d.override, d.in_tests, d.in_main,
        box, d.bases, inside,
    )  # fmt: skip


def _unpack(path: str, row: Sequence[Any]) -> Candidate:
    box = row[16]
    container = None if box is None else Container(*box)
    definition = Definition(
        name=row[0],
        token=row[1],
        kind=row[2],
        qualname=row[3],
        path=path,
        language=row[4],
        line=row[5],
        column=row[6],
        start=row[7],
        end=row[8],
        top_level=row[9],
        markers=row[10],
        exported=row[11],
        private=row[12],
        override=row[13],
        in_tests=row[14],
        in_main=row[15],
        container=container,
        bases=row[17],
    )
    return definition, row[18]


def candidates_packed(files: Sequence[SourceFile]) -> list[list[tuple[Any, ...]]]:
    """:func:`candidates` of each file, packed as the cache stores them (and as a
    worker process sends them back)."""
    return [[_pack(c) for c in candidates(source)] for source in files]


class DefinitionStore:
    """Each file's candidates by path and git blob id, so a file is parsed once.

    Sharded by blob id like :class:`BlobStore`. What it holds is what the file defines
    (names, kinds, positions, decorators and bases: what a finding would show), never a
    string's content. Keyed by the gate's version and the digest of every rule file
    too: a change of either empties it.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.kind = f"defs:{WireGate.version}:{rules_data.digest()}"
        self.loaded: dict[int, dict[str, list[tuple[Any, ...]]]] = {}
        self.dirty: set[int] = set()

    @staticmethod
    def key(path: str, oid: str) -> str:
        return f"{oid}\0{path}"

    def _load(self, shard: int) -> dict[str, list[tuple[Any, ...]]]:
        if shard not in self.loaded:
            path = None if self.directory is None else self.directory / f"defs-{shard:02x}.bin"
            self.loaded[shard] = _read_marshal(path, self.kind) or {}
        return self.loaded[shard]

    def get(self, path: str, oid: str) -> list[tuple[Any, ...]] | None:
        return self._load(int(oid[:2], 16)).get(self.key(path, oid))

    def put(self, path: str, oid: str, rows: list[tuple[Any, ...]]) -> None:
        shard = int(oid[:2], 16)
        self._load(shard)[self.key(path, oid)] = rows
        self.dirty.add(shard)

    def save(self, live: set[str]) -> None:
        """Write the changed shards, keeping the entries of files still in the repository
        (``live``: their keys) and those written in this run."""
        if self.directory is None:
            return
        for shard in sorted(self.dirty):
            entries = self.loaded[shard]
            path = self.directory / f"defs-{shard:02x}.bin"
            _write_marshal(path, self.kind, {k: v for k, v in entries.items() if k in live})
        self.dirty = set()


class Submit(Protocol):
    """What the engine hands a repository-wide gate to spread per-file work over its
    worker processes: ``submit(function, files, parses=...)`` starts ``function`` on
    chunks of ``files`` and returns a wait() that gives the results in the order of
    ``files``; ``parses`` lets the engine parse each file once for it and the file gates."""

    def __call__(
        self,
        function: Callable[[Sequence[SourceFile]], list[Any]],
        files: Sequence[SourceFile],
        *,
        parses: bool = False,
    ) -> Callable[[], list[Any]]: ...


def _serial(
    function: Callable[[Sequence[SourceFile]], list[Any]],
    files: Sequence[SourceFile],
    *,
    parses: bool = False,
) -> Callable[[], list[Any]]:
    results = function(files)
    return lambda: results


def file_candidates(
    files: Sequence[SourceFile], ctx: Context, store: DefinitionStore
) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Start finding the candidates of ``files`` (from the store, the rest in the
    engine's worker processes when it has them); the returned wait() gives them packed
    (unpack with :func:`_unpack`)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    todo: list[SourceFile] = []
    for source in files:
        found = store.get(source.path, source.oid)
        if found is None:
            todo.append(source)
        else:
            rows[source.path] = found
    submit: Submit = ctx.extra.get("submit") or _serial
    wait = submit(candidates_packed, todo, parses=True) if todo else (lambda: [])

    def result() -> dict[str, list[tuple[Any, ...]]]:
        for source, packed in zip(todo, wait(), strict=True):
            rows[source.path] = packed
            store.put(source.path, source.oid, packed)
        return rows

    return result


def unreferenced(
    files: Sequence[SourceFile], paths: Sequence[str], ctx: Context
) -> tuple[list[Definition], ReferenceIndex]:
    """The definitions of ``files`` whose name occurs nowhere outside themselves."""
    store = DefinitionStore(_cache_dir(ctx))
    pending = file_candidates(files, ctx, store)
    index = _index(files, paths, ctx)
    return _dead(files, pending(), index, store), index


def repository_index(files: Sequence[SourceFile], ctx: Context) -> ReferenceIndex:
    """The reference index of the repository as the run sees it (``files`` as given,
    the other tracked files as ``ctx`` reads them), built once per run: every gate of
    the run that asks for it gets the one the first built."""
    return _index(files, list(ctx.repo_files()), ctx)


#: Where a run's gates share the reference index (``Context.extra["shared"]``).
SHARED_INDEX = "wire.index"


def _index(files: Sequence[SourceFile], paths: Sequence[str], ctx: Context) -> ReferenceIndex:
    shared: dict[str, Any] | None = ctx.extra.get("shared")
    if shared is not None and SHARED_INDEX in shared:
        built: ReferenceIndex = shared[SHARED_INDEX]
        return built
    overrides = _Contents(files)
    rest = [p for p in paths if p not in overrides]
    known = dict(ctx.known_oids(rest)) if rest else {}
    known.update((f.path, f.oid) for f in files)
    index = ReferenceIndex.build(
        ctx.root,
        paths,
        ctx.read,
        overrides,
        known,
        cached=not ctx.extra.get("no_cache"),
        workers=ctx.extra.get("workers") or 1,
    )
    if shared is not None:
        shared[SHARED_INDEX] = index
    return index


#: Where a run's gates share the repository's subclasses (``Context.extra["shared"]``).
SHARED_SUBCLASSES = "wire.subclasses"


def subclasses(files: Sequence[SourceFile], ctx: Context) -> dict[str, list[tuple[str, str]]]:
    """Class name -> (path, name) of every class of the repository that names it as a
    base (the last part of a dotted base: ``abc.ABC`` names ``ABC``), from the class
    headers of :func:`extract_classes`: the run's reference index has them when it is
    built or stored; else only the headers are read, which costs a read of the files
    in the languages with classes, not a tokenising of all of them."""
    given = ctx.extra.get("shared")
    shared: dict[str, Any] = given if isinstance(given, dict) else {}  # ({} is shared too)
    found: dict[str, list[tuple[str, str]]] | None = shared.get(SHARED_SUBCLASSES)
    if found is not None:
        return found
    if SHARED_INDEX in shared or _index_kept(_cache_dir(ctx)):
        lists: Mapping[str, list[ClassEntry]] = repository_index(files, ctx).class_lists()
    else:
        read = reader(ctx, files)
        lists = {}
        for path in ctx.repo_files():
            if CLASS_FAMILY.get(lang.detect(path) or "") is not None:
                data = read(path)
                lists[path] = extract_classes(path, data) if data else []
    found = {}
    for path, entries in lists.items():
        for qualified, bases in entries:
            if qualified == DISCOVERS:
                continue
            name = qualified.rsplit(".", 1)[-1]  # a nested Ruby class's own name
            for base in bases:  # a Ruby module mixed in counts as a base
                last = re.split(r"[.:]", base.removeprefix(MIXIN))[-1]
                found.setdefault(last, []).append((path, name))
    shared[SHARED_SUBCLASSES] = found
    return found


def overridden_elsewhere(
    children: Mapping[str, Sequence[tuple[str, str]]],
    read: Reader,
    path: str,
    owner: str,
    method: str,
) -> bool:
    """Whether a class of another file than ``path`` that descends from a class named
    ``owner`` (``children``: :func:`subclasses`, followed to any depth) has a method
    named ``method`` in its file (:data:`METHOD_SITES`). By name, as the rest of this
    gate: a subclass of another class of the same name counts too, which errs towards
    "overridden"."""
    seen = {owner}
    todo = [owner]
    while todo:
        for child_path, child in children.get(todo.pop(), ()):
            if child_path != path:
                language = lang.detect(child_path) or ""
                data = read(child_path) if language in METHOD_SITES else None
                if data and _defines_method(data, language, method.encode()):
                    return True
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return False


_JS_METHOD = (
    rb"(?m)^[ \t]*(?:(?:static|async|get|set|override|public|protected|private|readonly)"
    rb"[ \t]+|\*[ \t]*)*{}[ \t]*(?:<[^>\n]*>[ \t]*)?[(=]"
)
#: A method's definition by its name, per language (``{}`` is the name): Python's and
#: Ruby's by their ``def``; a JavaScript or TypeScript class member at the start of a
#: line (a call there would need ``this.``); a Java method by the type before its name.
METHOD_SITES: dict[str, bytes] = {
    "python": rb"(?m)^[ \t]+(?:async[ \t]+)?def[ \t]+{}\b",
    "ruby": rb"\bdef[ \t]+(?:self\.)?{}(?![\w?!=])",
    "javascript": _JS_METHOD,
    "typescript": _JS_METHOD,
    "tsx": _JS_METHOD,
    "java": (
        rb"(?m)^[ \t]*(?:(?:public|protected|private|static|final|synchronized|abstract"
        rb"|native|default|@\w+(?:\([^)\n]*\))?)[ \t]+)*(?:<[^>\n]*>[ \t]+)?"
        rb"[\w$.?]+(?:<[^>\n]*>)?(?:\[\])*[ \t]+{}[ \t]*\("
    ),
}
#: Words that start a statement, not a definition, where a Java type would stand.
_STATEMENT_WORDS = frozenset({b"return", b"throw", b"new", b"else", b"case", b"yield", b"await"})


def _defines_method(data: bytes, language: str, method: bytes) -> bool:
    pattern = METHOD_SITES[language].replace(b"{}", re.escape(method))
    for match in re.finditer(pattern, data):
        words = match.group().split()
        if not words or words[0] not in _STATEMENT_WORDS:
            return True
    return False


def _cache_dir(ctx: Context) -> Path | None:
    """Where this run keeps the gate's caches: nowhere under ``check --no-cache``."""
    return None if ctx.extra.get("no_cache") else cache_dir(ctx.root)


def _dead(
    files: Sequence[SourceFile],
    found: Mapping[str, list[tuple[Any, ...]]],
    index: ReferenceIndex,
    store: DefinitionStore,
) -> list[Definition]:
    if store.dirty:
        live = {DefinitionStore.key(p, d.hex()) for p, d in index.state.files.items()}
        live.update(DefinitionStore.key(f.path, f.oid) for f in files)
        store.save(live)
    rows = [(source.path, row) for source in files for row in found.get(source.path, ())]
    counts = index.counter(len(rows))
    return [_unpack(path, row)[0] for path, row in rows if counts(row[1]) == row[-1]]


class VerdictStore:
    """Each checked file's verdicts (its unreferenced definitions, each with the rule that
    exempts it or none), valid for one stored index state.

    A verdict depends on the file (path and content), on the rest of the repository
    (through the index: token counts, classes, the packaging files), on the rules and
    on the ``public`` setting. So entries are kept by path and blob id, under the stamp
    of the index state they were worked out against and a key of the rest, and used
    only when the repository is exactly that state (nothing changed since it was
    stored): a re-run over an unchanged tree then parses, counts and judges nothing.
    """

    def __init__(self, directory: Path | None, public: Sequence[str]) -> None:
        self.path = None if directory is None else directory / "verdicts.bin"
        self.kind = f"verdicts:{WireGate.version}:{rules_data.digest()}:{json.dumps(public)}"
        data = _read_marshal(self.path, self.kind) or {}
        stamp, entries = data.get("stamp"), data.get("files")
        self.stamp = stamp if isinstance(stamp, str) else ""
        self.entries: dict[str, list[tuple[Any, ...]]] = (
            entries if isinstance(entries, dict) else {}
        )

    def lookup(self, files: Sequence[SourceFile]) -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        for source in files:
            found = self.entries.get(DefinitionStore.key(source.path, source.oid))
            if found is not None:
                out[source.path] = found
        return out

    def save(self, stamp: str, fresh: Mapping[str, list[tuple[Any, ...]]]) -> None:
        if self.path is None or not stamp or not fresh:
            return
        entries = self.entries if stamp == self.stamp else {}
        entries.update(fresh)
        _write_marshal(self.path, self.kind, {"stamp": stamp, "files": entries})


def _index_kept(directory: Path | None) -> bool:
    """Whether an index is stored (on disk or in this process) to update."""
    if directory is None:
        return False
    return str(directory) in _MEMORY or (directory / "index.bin").is_file()


def _unchanged(index: ReferenceIndex) -> bool:
    """Whether ``index`` is a state as stored (one that was not is not named)."""
    return bool(index.state.stamp)


def verdicts(files: Sequence[SourceFile], ctx: Context) -> list[tuple[Definition, str | None]]:
    """Every unreferenced definition of ``files``, with the rule that exempts it (or None)."""
    public = _public_setting(ctx.settings)
    paths = list(ctx.repo_files())
    directory = _cache_dir(ctx)
    kept = VerdictStore(directory, public)
    covered = kept.lookup(files) if kept.stamp else {}
    store = DefinitionStore(directory)
    if covered or _index_kept(directory):
        # The index first (it is on disk: little to tokenise): it tells which files may
        # define something unreferenced, and only those are parsed. Too few files to be
        # worth filtering are parsed at once, while the index loads.
        rest = [f for f in files if f.path not in covered]
        early = file_candidates(rest, ctx, store) if 0 < len(rest) < FILTER_MIN_FILES else None
        index = _index(files, paths, ctx)
        if covered and not (_unchanged(index) and index.state.stamp == kept.stamp):
            covered = {}  # usable only against the very state they were worked out against
        if early is None:
            rest = [f for f in files if f.path not in covered]
            todo = _to_parse(index.may_define_dead(rest), index, store)
            pending = file_candidates(todo, ctx, store) if todo else dict
        else:
            started = {f.path for f in rest}
            dropped = [] if covered else [f for f in files if f.path not in started]
            more = _to_parse(index.may_define_dead(dropped), index, store) if dropped else []
            pending = _merged(early, file_candidates(more, ctx, store) if more else dict)
            rest = [f for f in files if f.path not in covered]
    else:  # no index yet: parse (in the workers, when there are many) while it is built
        rest = list(files)
        textual = _by_text(rest)
        chosen = {id(f) for f in textual}
        hold: Callable[[Sequence[SourceFile]], None] | None = ctx.extra.get("hold")
        if hold is not None and textual:
            hold(textual)  # the file gates parse them with the ranged work, once
        early = file_candidates([f for f in rest if id(f) not in chosen], ctx, store)
        start: Callable[[], None] | None = ctx.extra.get("start")
        if start is not None:
            start()  # the file gates' queued work too: it need not wait for the index
        index = _index(files, paths, ctx)
        pending = _merged(early, _ranged(textual, index, ctx)) if textual else early
    dead = _dead(rest, pending(), index, store)
    judged: list[tuple[Definition, str | None]] = []
    if dead:
        read = reader(ctx, files)
        judge = Judge(policy(), index, entry_points(paths, read), public, read, paths)
        judged = [(d, judge.exemption(d)) for d in dead]
    if _unchanged(index):
        fresh: dict[str, list[tuple[Any, ...]]] = {
            DefinitionStore.key(f.path, f.oid): [] for f in rest
        }
        oids = {f.path: f.oid for f in rest}
        for d, exemption in judged:
            fresh[DefinitionStore.key(d.path, oids[d.path])].append((*_pack((d, 0)), exemption))
        kept.save(index.state.stamp, fresh)
    by_path = {f.path: i for i, f in enumerate(files)}
    for path, rows in covered.items():
        judged.extend((_unpack(path, row[:-1])[0], row[-1]) for row in rows)
    return sorted(judged, key=lambda item: by_path[item[0].path])


def _by_text(files: Sequence[SourceFile]) -> list[SourceFile]:
    """Those of ``files`` whose definitions :func:`lexical_ranges` reads (none when
    there are too few for it to be worth waiting for the index)."""
    out = [f for f in files if _language_of(f) in DEF_SITES and not f.is_binary]
    return out if len(out) >= FILTER_MIN_FILES else []


def _language_of(source: SourceFile) -> str:
    return source.language or lang.detect(source.path, source.data) or ""


def _ranged(
    files: Sequence[SourceFile], index: ReferenceIndex, ctx: Context
) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Start finding the candidates of ``files`` only where :func:`lexical_ranges` says
    they may be, by ``index``: a file with none is not parsed at all. What is found is
    not stored (it is not every candidate of the file)."""
    ranges = _text_ranges(files, index)
    todo = [f for f in files if f.path in ranges]
    if not todo:
        return dict
    submit: Submit = ctx.extra.get("submit") or _serial
    wait = submit(functools.partial(ranged_candidates_packed, ranges), todo, parses=True)
    return lambda: {f.path: rows for f, rows in zip(todo, wait(), strict=True)}


def _text_ranges(
    files: Sequence[SourceFile], index: ReferenceIndex
) -> dict[str, list[tuple[int, int]]]:
    """:func:`lexical_ranges` of each of ``files`` by ``index``, for those with any."""
    totals = index.lookup()
    key_of = index.key
    ranges: dict[str, list[tuple[int, int]]] = {}
    for source in files:
        own = index.kept_counts(source)

        def count(token: bytes, own: Mapping[bytes, int] | None = own) -> tuple[int, int | None]:
            key = key_of(token)
            return totals.get(key, 0), None if own is None else own.get(key, 0)

        found = lexical_ranges(source.data, _language_of(source), count)
        if found:
            ranges[source.path] = found
    return ranges


def _to_parse(
    files: Sequence[SourceFile], index: ReferenceIndex, store: DefinitionStore
) -> list[SourceFile]:
    """Those of ``files`` (each may define something unreferenced, by its token counts)
    to find the candidates of, from the store or by parsing. A file the store has
    nothing for, whose definitions :func:`lexical_ranges` reads, is left out when it
    finds none there that may be unreferenced against ``index``: it has no candidate
    that matters now. (The rest are parsed whole, so what they give is stored.)"""
    if len(files) < FILTER_MIN_FILES:
        return list(files)  # as may_define_dead: a few files cost little to parse
    textual = [
        f
        for f in files
        if _language_of(f) in DEF_SITES and not f.is_binary and store.get(f.path, f.oid) is None
    ]
    if not textual:
        return list(files)
    ranges = _text_ranges(textual, index)
    dropped = {id(f) for f in textual if f.path not in ranges}
    return [f for f in files if id(f) not in dropped]


def _merged(
    *waits: Callable[[], Mapping[str, list[tuple[Any, ...]]]],
) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    return lambda: {path: rows for wait in waits for path, rows in wait().items()}


class WireGate:
    """Refuses functions, methods and classes that nothing in the repository uses."""

    id = GATE
    description = "code the change defines that nothing in the repository references"
    scope: Literal["file", "repo"] = "repo"
    version = "5"  # 2: a .h file that shows C++ is parsed as C++; 3: no guessed definitions
    # 4: a Ruby class's included modules are among its bases; 5: the class index's too
    parses = True  # its per-file work goes out with the file gates' (engine.py)

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        findings = []
        for d, exemption in verdicts(files, ctx):
            if exemption is not None:
                continue
            rule = policy().findings[d.kind]
            findings.append(
                Finding(
                    gate=GATE,
                    rule=rule["id"],
                    path=d.path,
                    line=d.line,
                    column=d.column,
                    message=MESSAGE.format(name=d.name),
                    fix=" ".join(rule["fix"].split()),
                    key=normalise(d.qualname),
                    preview=d.qualname,
                )
            )
        return sorted(findings, key=lambda f: (f.path, f.line, f.column))


def reader(ctx: Context, files: Sequence[SourceFile]) -> Reader:
    """What ``files`` hold, and the repository's other files as ``ctx`` reads them."""
    given = _Contents(files)

    def read(path: str) -> bytes | None:
        return given[path] if path in given else ctx.read(path)

    return read


class _Contents(Mapping[str, bytes]):
    """The bytes of ``files`` by path, each read only when asked for (a file whose
    blob id the index already holds is never read: see :class:`LazyFile`)."""

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self.files = {f.path: f for f in files}

    def __getitem__(self, path: str) -> bytes:
        return self.files[path].data

    def __contains__(self, path: object) -> bool:
        return path in self.files

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

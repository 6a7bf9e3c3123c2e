"""The stub gate: bodies that only stand in for code, and comments that admit it.

An agent under pressure to finish makes the build pass with functions that do nothing
(``pass``, ``{}``), that only raise "not implemented" (``raise NotImplementedError``,
``todo!()``, ``throw new UnsupportedOperationException()``), or with code that its own
comments admit is a stand-in for the real thing. Each is a claim of work that was not
done. The patterns are tree-sitter queries
(``rules/queries/<language>/stubs.scm``), the names and phrases are data
(``rules/stub.yaml``); this module decides what the patterns cannot see.

What is not a stub, because the language says the body is meant to be absent or empty:
abstract methods (``@abstractmethod``), ``typing.Protocol`` members, ``@overload``
signatures, anything under ``if TYPE_CHECKING:``, ``.pyi`` files, and declarations
without a body (interfaces, traits, prototypes, TS ``abstract`` / ``declare``). An
*empty* body is also not a stub when the language gives it a job: constructors and
destructors (TS parameter properties, C++ member initialisers, private constructors),
overrides (``@Override``, ``override``, methods of a Rust ``impl Trait for``), default
methods of a Rust trait or a Java interface, C++ ``virtual`` hooks, Go marker methods
(``func (T) isNode() {}``: unexported, or a known exported marker such as
``ProtoMessage``; an exported ``func (s *T) Flush() {}`` is a stub), Ruby's
``initialize`` and a JRuby class's camelCase methods (a Java interface's), Python
``__exit__``/``__aexit__``/``__del__`` (nothing to undo), JS/TS setters, Python
``@override``, functions named for doing nothing (``noop``, ``noop_handler``,
``noopHandler``) and Go methods of types so named (``nopCloser``), and functions whose
every parameter is named unused (``_``, ``_event``, ``unused_x``: the signature says the
arguments are ignored on purpose).
A class hierarchy in the file gives a method a job too (see :class:`_Family`): a method
that a subclass overrides is its base's default or abstract method, even when it is
empty or only raises ``NotImplementedError``, and an empty method that overrides one of
a base class turns that behaviour off. So do (:meth:`StubGate._given_a_job`) a class
named as a base to subclass (``AbstractExecutorService``, ``Converter::Base``), a doc
comment or docstring (the method's or its class's) that says the method is there to be
overridden (or, for an empty body, that it does nothing on purpose), and a function
that is one build's version: another branch of the same Python ``if`` or ``try`` that
defines or imports the same name (the fallback where an optional module is missing, or
the class of a platform the code does not support), a Rust ``#[cfg(...)]``, a Go file
built under a constraint. Java's optional collection operations throw
``UnsupportedOperationException`` by contract. Null objects (``NullLogger``), Rust
functions named unused (``_dummy``) or that only carry bounds for the compiler (``fn
is_unpin<T: Unpin>() {}``), Go methods whose parameters have no names, and an exported
Go method the file gives, empty, to several types (a marker) are empty by design, and
so is a JS/TS function the file uses as a constructor's shell (its ``prototype`` set).
Each of these was found in real, widely used code (``docs/gates.md``, Quality).
Class bodies (``class Error(Exception): pass``), ``except: pass``, function literals
passed as callbacks, and a Python function whose body is only a docstring (a hook
specification, documented on purpose) are not bodies this gate judges. A comment inside
an empty body makes it meant only when it says so in the rules' words (it does nothing,
is there to be overridden, has nothing to do here, declines; not "for now"); any other
reason belongs in a waiver (``convergio: allow empty-body -- ...``), which the audit
chain records.

Some comment rules (``within: constant-return``: fake-return) judge a comment only
inside a function that computes nothing, whose body (comments aside) at most logs or
waits and returns a constant (``convergio_gate.lang.bodies``): there "mock data", "dummy
user" or "pretend we synced" admits a fake, where elsewhere the words name a mock
library, a simulator or a placeholder attribute. A function named as a fake
(``fake_names``: ``fake_rates``, ``MockTransport``), a Python dunder, and a hook that a
subclass defines again are not judged.

Test files (``test_paths`` in the rule file) are judged differently: test doubles are
meant to be fakes, so there the structural rules apply only to the tests themselves (a
test with an empty body proves nothing, and so does one that only asserts that a literal
is itself or is true: ``assert True``, ``expect(true).toBe(true)``; hollow-test), and
the comment rules not at all ("a stub server for the tests" is a description, not an
admission). Nor are the comment rules
applied to example code (``example_paths``) or to the code examples of documentation (a
fenced block or ``@example`` section of a doc comment, a doctest line, a comment inside a
comment).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from convergio_gate import lazyre
from convergio_gate.errors import InputError
from convergio_gate.gates import rules as rule_files
from convergio_gate.gates._base import SEVERITIES, Context, Finding, SourceFile, normalise
from convergio_gate.gates.debt import MarkerRule, compile_rule, judge, marker_windows
from convergio_gate.lang import (
    bodies,
    captures,
    matches,
    matches_in,
    parse,
    query,
    query_source,
    rust_attributes,
    skips,
)
from convergio_gate.lang.comments import (
    PREVIEW_WIDTH,
    Keywords,
    captures_in,
    comment_regions,
    comments,
    excerpt,
    from_spans,
    is_comment,
    positions,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

RULE_FILE = "stub"
EMPTY = "empty-body"
NOT_IMPLEMENTED = "not-implemented"
HOLLOW = "hollow-test"
SKIPPED = "skipped-test"
FOCUSED = "focused-test"
#: The structural rules: judged on the parse tree, not on comment text.
STRUCTURAL_RULES = (EMPTY, NOT_IMPLEMENTED, HOLLOW, SKIPPED, FOCUSED)
#: Test fixtures: the files a test runner's own tests run (mocha's
#: ``fixtures/options/only/*.spec.js``), skipped and focused on purpose.
_FIXTURES = lazyre.compile(r"(?:^|/)_*fixtures?_*/")
#: The languages whose tests the hollow-test rule judges (a Go test fails through
#: ``t``, so one that asserts nothing is a smoke test, not a hollow one).
HOLLOW_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "java", "rust", "ruby"})
#: An assertion whose first argument is a literal: where a hollow test may be.
_HOLLOW_HINT = lazyre.compile(
    rb"\b(?:assert\w*|refute\w*)\s+(?:True|False|true|false|None|nil|\d|[\"'])"
    rb"|\b(?:assert\w*|expect|refute\w*)!?\s*\(\s*(?:true|false|True|False|None|null|nil|\d|[\"'])"
)
#: The RSpec calls whose block is a test.
RSPEC_TESTS = frozenset({"it", "specify", "example", "scenario", "its"})
#: What ``within:`` may say of a comment rule: ``constant-return``, judged only inside a
#: function whose body returns a constant (:func:`lang.bodies.returns_constant`).
WITHIN = frozenset({"constant-return"})

#: Languages whose comments the stub gate reads; the structural rules need a
#: ``stubs.scm`` query as well (bash has none: a shell function cannot be empty).
CODE_LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby", "bash"}
)
JS_LIKE = frozenset({"javascript", "typescript", "tsx"})
JS_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "generator_function"})
JS_TEST_CALLS = frozenset({"it", "test"})
PYTHON_DECLARATIONS = frozenset(
    {
        "abstractmethod",
        "abstractproperty",
        "abstractclassmethod",
        "abstractstaticmethod",
        "overload",
    }
)
TYPE_CHECKING_NAMES = frozenset({"TYPE_CHECKING", "typing.TYPE_CHECKING"})
#: Python's destructor and context-exit methods: empty when there is nothing to undo.
PYTHON_CLEANUPS = frozenset({"__exit__", "__aexit__", "__del__"})
#: Languages where a parameter named ``_x`` is unused on purpose.
UNUSED_CONVENTION = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "ruby", "c", "cpp"}
)
#: C++ coroutine hooks the compiler calls, empty when there is nothing to do then.
CPP_COROUTINE_HOOKS = frozenset({"await_suspend", "await_resume", "return_void"})
SELF_NAMES = frozenset({"self", "cls", "this"})
#: Ruby parameters that may go without a name (``*``, ``**``, ``&``).
RUBY_ANONYMOUS = frozenset({"splat_parameter", "hash_splat_parameter", "block_parameter"})

#: Where a stand-in can be, per language. Every match of a language's ``stubs.scm``
#: captures a stand-in that contains a match of its anchor: an empty body starts with
#: ``{`` and only blanks (any non-ASCII byte counts as one) before a comment or ``}``;
#: ``pass``, ``...``, ``raise``, ``throw``, ``panic``, ``todo!``, ``unimplemented!`` are
#: spelled out. So the query looks only around the anchors (:func:`anchor_ranges`), and a
#: file with none (and no admission either) is not parsed for this gate. A language
#: without an anchor (Ruby: ``def x; end`` has nothing to look for) gets the whole tree.
#: (No ``\b`` before a word: ``bypass`` is one anchor too many, and a pattern that starts
#: with a literal is searched for four times as fast.)
_EMPTY_BODY = rb"\{[\s\\\x80-\xff]*[}/]"
ANCHORS: dict[str, re.Pattern[bytes]] = {
    language: lazyre.compile(pattern)
    for languages, pattern in (
        (("python",), rb"pass\b|raise\b|\.\.\."),
        (("javascript", "typescript", "tsx", "java", "cpp"), _EMPTY_BODY + rb"|throw\b"),
        (("go",), _EMPTY_BODY + rb"|panic\b"),
        (("rust",), _EMPTY_BODY + rb"|unimplemented\b|todo\b"),
        (("c",), _EMPTY_BODY),
    )
    for language in languages
}


def _python_opens_body(line: bytes) -> bool:
    """Whether ``line`` (one physical line) may be the last before a body's first
    statement: it ends a header (``:``) or a docstring (a quote), or runs on (``;``,
    ``\\``), with or without a trailing comment (each ``#`` is tried: one may be in a
    string). A header of a statement that is not a function (``except:``, ``else:``,
    ``if x:``, ``class A:``) does not count, unless the line closes a bracket it did not
    open (then it is the end of a longer header, which may be a ``def``)."""
    ends = [line.rstrip()]
    at = line.find(b"#")
    while at >= 0:
        ends.append(line[:at].rstrip())
        at = line.find(b"#", at + 1)
    if any(end.endswith((b'"', b"'", b";", b"\\")) for end in ends):
        return True
    if not any(end.endswith(b":") for end in ends):
        return False
    if _PY_NOT_FUNCTION.match(line) is None:
        return True
    return any(line.count(close) > line.count(open_) for open_, close in _PY_BRACKETS)


def _python_first_in_body(data: bytes, at: int) -> bool:
    """Whether the stand-in at ``at`` may be the first statement of a body (or the first
    after a docstring): past blank and comment lines, the line before it opens one.
    ``except ...:\n    pass`` is the common case this rules out."""
    start = data.rfind(b"\n", 0, at) + 1
    if data[start:at].strip():  # on the header's line: def f(): pass
        return _python_opens_body(data[start:at])
    end = start - 1
    while end > 0:
        begin = data.rfind(b"\n", 0, end) + 1
        line = data[begin:end]
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#"):
            return _python_opens_body(line)
        end = begin - 1
    return False


def _js_first_in_body(data: bytes, at: int) -> bool:
    """Whether the anchor at ``at`` (an empty ``{}`` or a ``throw``) may be a function's
    body or the first statement in one: an empty body follows a parameter list
    (``)``) or an arrow (``=>``), a ``throw`` follows the body's ``{``. A comment just
    before it could hide either, so it counts too."""
    before = data[max(0, at - CONTEXT_BYTES) : at].rstrip()
    if data.startswith(b"{", at):
        if before.endswith((b")", b"=>")):
            return True
    elif before.endswith(b"{"):
        return True
    if before.endswith(b"*/"):
        return True
    return b"//" in before[before.rfind(b"\n") + 1 :]


_PY_NOT_FUNCTION = lazyre.compile(
    rb"[ \t]*(?:el(?:se|if)|except|finally|try|if|for|while|with|class|match|case"
    rb"|async[ \t]+(?:for|with))\b"
)
_PY_BRACKETS = ((b"(", b")"), (b"[", b"]"), (b"{", b"}"))
#: How far back :func:`_js_first_in_body` looks.
CONTEXT_BYTES = 256
#: Per language, where an anchor must stand to be one (a stand-in is a whole body, or
#: its first statement): checked on each match, so ``except ImportError: pass`` or an
#: object literal ``{}`` does not make a file worth parsing.
ANCHOR_CONTEXT: dict[str, Callable[[bytes, int], bool]] = {
    "python": _python_first_in_body,
    "javascript": _js_first_in_body,
}
#: Anchors closer than this share one range; past MAX_RANGES, one pass over the whole
#: tree costs less than a cursor per range.
RANGE_GAP = 512
MAX_RANGES = 64
#: How much of a file's start is read for a generator's header (``generated``).
GENERATED_HEAD = 1024
#: What :func:`anchor_ranges` gives for "the whole tree".
WHOLE: list[tuple[int, int]] = [(0, 1 << 62)]


@dataclass(frozen=True)
class BodyRule:
    """A structural rule: its id, and what its findings say."""

    id: str
    severity: str
    message: str  # may name the function as {name}
    fix: str


@dataclass(frozen=True)
class StubRules:
    """``rules/stub.yaml``, compiled."""

    empty: BodyRule
    not_implemented: BodyRule
    hollow: BodyRule
    skipped: BodyRule
    focused: BodyRule
    #: skipped-test: the reasons that say the test fails or is not done, and those
    #: that say nothing (``"skip"``, ``"testing"``).
    skip_admits: re.Pattern[str]
    skip_blank: re.Pattern[str]
    noop_names: re.Pattern[str]
    null_types: re.Pattern[str]
    noop_docs: re.Pattern[str]
    temporary_docs: re.Pattern[str]
    empty_reasons: re.Pattern[str]
    hook_docs: re.Pattern[str]
    go_marker_methods: re.Pattern[str]
    annotated_hooks: re.Pattern[str]
    exceptions: frozenset[str]
    bare_exceptions: frozenset[str]
    messages: re.Pattern[str]
    abstract_messages: re.Pattern[str]
    declined_messages: re.Pattern[str]
    abstract_types: re.Pattern[str]
    optional_operations: frozenset[str]
    admissions: tuple[MarkerRule, ...]
    #: The ids of the comment rules that judge only a comment inside a function that
    #: returns a constant (``within: constant-return``), and the names that make such a
    #: function a declared fake (``fake_names``).
    constant_only: frozenset[str]
    fake_names: re.Pattern[str]
    test_paths: re.Pattern[str]
    example_paths: re.Pattern[str]
    generated: re.Pattern[str]


@dataclass(frozen=True)
class _Hit:
    """A structural finding before its position is known."""

    offset: int
    rule: BodyRule
    name: str
    key: str
    preview: str
    scope: tuple[str, ...] = ()  # a method's class and name, for refine


class StubGate:
    """Refuses stand-in bodies and comments that admit a stub."""

    id = "stub"
    description = "stand-in bodies (pass, todo!(), not implemented) and admitted stubs"
    scope: Literal["file", "repo"] = "file"
    version = "21"  # 14: generated files, files of test doubles, Ruby comments and splats
    # 15: a Ruby module's methods keep their scope, for the classes that include it
    # 16: a comment inside a comment is an example's; JRuby's Java interface methods
    # 17: comment rules judged only inside a function that returns a constant
    # 18: tests that assert only constants (hollow-test)
    # 19: tests switched off with no reason, or one that admits (skipped-test)
    # 20: focused tests (focused-test); neither judged in test fixtures
    # 21: hollow-test: a sum of numbers asserted equal to a number (template placeholders)
    parses = True  # the engine parses each file once for this gate and wire

    def __init__(self, rules: StubRules | None = None) -> None:
        self.rules = load_rules(lazy=True) if rules is None else rules
        self.keywords = Keywords(w for rule in self.rules.admissions for w in rule.keywords.words)
        only = self.rules.constant_only
        self.anywhere_rules = tuple(r for r in self.rules.admissions if r.id not in only)
        self.body_rules = tuple(r for r in self.rules.admissions if r.id in only)

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        findings: list[Finding] = []
        for source in files:
            findings.extend(self.check_file(source))
        return findings

    def refine(
        self, findings: list[Finding], files: Sequence[SourceFile], ctx: Context
    ) -> list[Finding]:
        """The findings without the empty or not-implemented methods that a subclass in
        another file of the repository defines again: the base's default hook, or its
        abstract method in the pre-``abc`` style (subclasses in the same file were seen
        by :meth:`check_file`). A Ruby module's includers count as its subclasses.
        Called on every run, cached findings included, since it depends on other files;
        the subclasses come from the class headers the wire gate reads
        (:func:`wire.subclasses`), once per run for both gates."""
        methods = [f for f in findings if len(f.scope) == 2]
        if not methods:
            return findings
        from convergio_gate.gates import wire

        children = wire.subclasses(files, ctx)
        read = functools.cache(wire.reader(ctx, files))  # a subclass serves many methods
        dropped = {
            id(f)
            for f in methods
            if wire.overridden_elsewhere(children, read, f.path, f.scope[0], f.scope[1])
        }
        return [f for f in findings if id(f) not in dropped] if dropped else findings

    def check_file(self, source: SourceFile) -> list[Finding]:
        lang = source.language
        if lang not in CODE_LANGUAGES or not source.data or source.is_binary:
            return []
        if source.path.endswith(".pyi"):
            return []
        data = source.data
        is_test = self.rules.test_paths.search(source.path) is not None
        compiled = query(lang, "stubs")
        if compiled is not None and self._generated(data):
            compiled = None  # what a generator leaves empty is its design
        ranges = anchor_ranges(lang, data) if compiled is not None else []
        example = self.rules.example_paths.search(source.path) is not None
        judge_comments = not is_test and not example
        active, windows = self._admission_windows(lang, data) if judge_comments else ([], [])
        hollow: list[int] = []
        if (is_test or lang == "rust") and lang in HOLLOW_LANGUAGES:
            hollow = [m.start() for m in _HOLLOW_HINT.finditer(data)]
        skipping = focusing = False
        if (is_test or lang == "rust") and not _FIXTURES.search(source.path):
            if lang in skips.LANGUAGES:
                skipping = skips.HINTS[lang].search(data) is not None
            if is_test and lang in skips.FOCUS_HINTS:
                focusing = skips.FOCUS_HINTS[lang].search(data) is not None
        if not ranges and not active and not hollow and not skipping and not focusing:
            return []  # nothing here could match: not even parsed for this gate
        tree = parse(lang, data)
        hits: list[_Hit] = []
        if hollow:
            hits.extend(self._hollow_tests(lang, tree, hollow))
        if skipping:
            hits.extend(self._skipped_tests(lang, tree, data))
        if focusing:
            hits.extend(
                self._test_hit(self.rules.focused, skip, None)
                for skip in skips.focused(lang, tree, data)
            )
        if compiled is not None and ranges:
            found = (
                matches(compiled, tree.root_node)
                if ranges is WHOLE
                else matches_in(compiled, tree.root_node, ranges)
            )
            family = _Family(lang, tree.root_node)
            alternative = lang == "go" and _go_constrained(source.path, tree.root_node)
            for _, captured in found:
                hit = self._judge(lang, captured, is_test, family, alternative)
                if hit is not None:
                    hits.append(hit)
        findings = self._located(source, hits)
        if active:
            findings.extend(self._admissions(source, tree, active, windows))
        findings.sort(key=lambda f: (f.line, f.column, f.rule))
        return findings

    def _hollow_tests(self, lang: str, tree: Tree, offsets: Sequence[int]) -> list[_Hit]:
        """The tests around ``offsets`` (assertions of a literal) whose every statement
        asserts about constants only (``lang.bodies.asserts_constants_only``)."""
        hits: list[_Hit] = []
        seen: set[int] = set()
        for at in offsets:
            node = tree.root_node.descendant_for_byte_range(at, at)
            unit = _test_unit(lang, node) if node is not None else None
            if unit is None or unit.start_byte in seen or unit.has_error:
                continue
            seen.add(unit.start_byte)
            if not bodies.asserts_constants_only(lang, unit):
                continue
            found = bodies.statements(lang, unit) or [unit]
            name = _test_name(lang, unit)
            body = " ".join(normalise(_text(s)) for s in found)
            hits.append(
                _Hit(
                    offset=found[0].start_byte,
                    rule=self.rules.hollow,
                    name=name,
                    key=normalise(f"{name}: {body}"),
                    preview=_preview(lang, unit, found[0]),
                )
            )
        return hits

    def _skipped_tests(self, lang: str, tree: Tree, data: bytes) -> list[_Hit]:
        """The tests switched off for good (``lang.skips``) with no reason, or with one
        that says the test fails or is not done (``admits``). Rust's bare ``#[ignore]``
        is its way to keep a slow test for ``cargo test -- --ignored``: judged only by a
        reason that admits."""
        hits: list[_Hit] = []
        for skip in skips.find(lang, tree, data):
            reason = skip.reason
            if reason is not None and self.rules.skip_blank.fullmatch(reason.strip()):
                reason = None
            if not skip.admitted:
                if reason is None and lang == "rust":
                    continue
                if reason is not None and not self.rules.skip_admits.search(reason):
                    continue
            hits.append(self._test_hit(self.rules.skipped, skip, reason))
        return hits

    def _test_hit(self, rule: BodyRule, skip: skips.Skip, reason: str | None) -> _Hit:
        line = _text(skip.node).split("\n", 1)[0]
        return _Hit(
            offset=skip.node.start_byte,
            rule=rule,
            name=skip.name,
            key=normalise(f"{skip.name}: {line} {reason or ''}"),
            preview=excerpt(normalise(line), 0),
        )

    def _generated(self, data: bytes) -> bool:
        """Whether the first lines of ``data`` say a tool wrote it (``generated``)."""
        head = data[:GENERATED_HEAD].decode("utf-8", errors="replace")
        return self.rules.generated.search(head) is not None

    def _admission_windows(
        self, lang: str, data: bytes
    ) -> tuple[list[MarkerRule], list[tuple[int, int]]]:
        """``debt.marker_windows`` of the admission rules: only in comments where the
        language has no docstrings (a Python docstring may admit a stub too), and always
        only in comments for the rules judged inside function bodies."""
        regions = None if _has_docstrings(lang) else comment_regions(lang, data)
        if regions is not None and not regions:
            return [], []
        active, windows = marker_windows(self.anywhere_rules, data, regions)
        if self.body_rules and lang in bodies.FUNCTIONS:
            inner = comment_regions(lang, data) if regions is None else regions
            if inner is None or inner:
                more, near = marker_windows(self.body_rules, data, inner)
                active.extend(more)
                windows.extend(near)
        return active, windows

    # structural rules

    def _judge(
        self,
        lang: str,
        captured: dict[str, list[Node]],
        is_test: bool,
        family: _Family,
        alternative: bool = False,
    ) -> _Hit | None:
        """``alternative``: the file is one build's version of its code (a Go file with a
        build constraint), so what it leaves empty or unsupported is that build's
        behaviour."""
        if "anywhere" in captured:
            stand_in = captured["anywhere"][0]
            unit = _enclosing_function(stand_in)
            if unit is None or not self._judged(lang, unit, is_test):
                return None
            return self._hit(self.rules.not_implemented, lang, unit, stand_in)
        if "function" not in captured:
            return None
        unit = _unit(lang, captured["function"][0], is_test)
        if unit is None or unit.has_error:  # where the parser had to guess, do not judge
            return None
        if not self._judged(lang, unit, is_test) or _declared_only(lang, unit):
            return None
        if lang in ("c", "cpp") and _c_declarator(unit) is None:
            return None  # not a function as the parser read it (a macro around it)
        body = captured["body"][0] if "body" in captured else None
        name = _name(lang, unit)
        if "empty" in captured:
            stand_in = captured["empty"][0]
            if not _only(lang, body, stand_in) or self._meant_empty(lang, unit, name):
                return None
            if family.overridden(unit, name) or family.overrides(unit, name):
                return None  # a default hook, or a base's method turned off on purpose
            if lang in JS_LIKE and unit.type != "method_definition" and name in family.shells():
                return None  # a constructor's shell: its prototype does the work
            if alternative or self._given_a_job(lang, unit, name, empty=True):
                return None
            if self._said_on_purpose(_comments_in(unit, body)):
                return None  # "// Override me to add behavior", "// no-op: only exported"
            return self._hit(self.rules.empty, lang, unit, stand_in)
        if "raise" in captured:
            stand_in = captured["raise"][0]
            if not _only(lang, body, stand_in) or not self._not_implemented(lang, captured):
                return None
            if self._declines("\n".join(_comments_in(unit, body))):
                return None  # "# This method doesn't make sense for our distribution object."
            if family.overridden(unit, name):
                return None  # the pre-`abc` abstract method: its subclasses provide it
            if alternative or self._given_a_job(lang, unit, name, empty=False):
                return None
            return self._hit(self.rules.not_implemented, lang, unit, stand_in)
        return None

    def _judged(self, lang: str, unit: Node, is_test: bool) -> bool:
        """Outside test files every unit; in them, and in a Rust ``#[cfg(test)]``
        module, only the tests themselves."""
        if not is_test and lang == "rust":
            is_test = _in_rust_tests(unit)
        return not is_test or _is_test(lang, unit)

    def _meant_empty(self, lang: str, unit: Node, name: str) -> bool:
        noop = self.rules.noop_names
        if noop.search(name) is not None:
            return True
        owner = _go_receiver(unit) if lang == "go" else _class_name(unit)
        if noop.search(owner) is not None or self.rules.null_types.search(owner) is not None:
            return True  # a method of a type named for doing nothing (nopCloser, NullStore)
        if _ignores_arguments(lang, unit):
            return True
        if lang == "go":
            return _go_marker(unit, name, self.rules.go_marker_methods)
        if lang == "java" and any(
            self.rules.annotated_hooks.search(f"{mark} {name}") for mark in _annotations(unit)
        ):
            return True  # React Native's @ReactMethod addListener: the emitter needs it
        if lang == "rust" and (name.startswith("_") or _rust_bounds_only(unit)):
            return True
        if lang == "ruby" and unit.type == "singleton_method":
            receiver = unit.child_by_field_name("object")
            if receiver is not None and receiver.type != "self":
                return True  # `def Null.complete!; end`: one object made to do nothing
        return _empty_by_design(lang, unit, name)

    def _given_a_job(self, lang: str, unit: Node, name: str, *, empty: bool) -> bool:
        """What around a method says that its empty or "not implemented" body is meant:
        a class named as a base to be subclassed (``AbstractExecutorService``,
        ``Converter::Base``); a doc comment or docstring, the method's or its class's,
        that says it is there to be overridden (the words that make a NotImplementedError
        abstract, ``abstract_messages``: "has to be implemented by sub-classes",
        "@abstract"), or for an empty body that it does nothing on purpose (``noop_docs``:
        "A no-op import hook") or, the method's own, that it is a hook (``hook_docs``: "A
        hook invoked every time ..."); a configuration's version of the function (Rust ``#[cfg]``, a
        Python branch of an ``if`` or ``try``); Java's optional collection operations,
        which throw UnsupportedOperationException by contract."""
        owner = _owner(unit)
        if owner is not None and self.rules.abstract_types.search(_owner_name(owner)):
            return True
        own_doc = _doc(lang, unit)
        docs = [own_doc, _doc(lang, owner)] if owner is not None else [own_doc]
        if any(self.rules.abstract_messages.search(doc) is not None for doc in docs):
            return True
        if empty and self.rules.hook_docs.search(own_doc) is not None:
            return True
        if empty and any(self._on_purpose(doc, self.rules.noop_docs) for doc in docs):
            return True
        if lang == "python":
            return _python_fallback(unit)
        if lang == "rust":
            return _rust_configured(unit)
        if lang == "java" and not empty and name in self.rules.optional_operations:
            return owner is not None and _java_has_supertypes(owner)
        return False

    def _said_on_purpose(self, comments: Sequence[str]) -> bool:
        """Whether the comments in an empty body say it is empty on purpose: that it
        does nothing (``noop_docs``), is there to be overridden (``abstract_messages``:
        "Override me to add behavior"), has nothing to do here (``empty_reasons``: "iOS
        only", "No reason to handle this value here", "ignored") or declines on purpose
        (``declined_messages``: "not supported"), and not that it is so for now."""
        text = "\n".join(comments)
        return any(
            self._on_purpose(text, says)
            for says in (
                self.rules.noop_docs,
                self.rules.abstract_messages,
                self.rules.empty_reasons,
                self.rules.declined_messages,
            )
        )

    def _declines(self, text: str) -> bool:
        """Whether an exception's message or the comments in the body say the method
        declines on purpose (``declined_messages``: "HTTP/2 does not support a tunnel",
        "should never be called", "meaningless for the image formatter"), in a sentence
        that does not say for now, and nothing says "not implemented" or "TODO"."""
        return self.rules.messages.search(text) is None and self._on_purpose(
            text, self.rules.declined_messages
        )

    def _on_purpose(self, text: str, says: re.Pattern[str]) -> bool:
        """``says`` finds what makes an empty body meant in ``text``, in a sentence that
        does not say it is temporary (``temporary_docs``: "does nothing yet", "TODO:
        no-op for now"; the doc's other sentences may say what they like)."""
        temporary = self.rules.temporary_docs
        return any(
            temporary.search(text, *_sentence(text, m.start(), m.end())) is None
            for m in says.finditer(text)
        )

    def _not_implemented(self, lang: str, captured: dict[str, list[Node]]) -> bool:
        if lang == "rust":  # the query only captures todo!() and unimplemented!()
            return True
        args = captured["message"][0] if "message" in captured else None
        kind = _text(captured["type"][0]) if "type" in captured else ""
        words = [c for c in args.named_children if not is_comment(c)] if args else []
        if lang == "ruby" and words and words[0].type in ("constant", "scope_resolution"):
            kind, words = _text(words[0]), words[1:]
        kind = re.split(r"\.|::", kind)[-1]
        message = " ".join(_text(w) for w in words)
        if kind in self.rules.exceptions:
            return self.rules.abstract_messages.search(message) is None and not self._declines(
                message
            )
        if kind in self.rules.bare_exceptions and not words:
            return True
        return bool(message) and self.rules.messages.search(message) is not None

    def _hit(self, rule: BodyRule, lang: str, unit: Node, stand_in: Node) -> _Hit:
        name = _name(lang, unit)
        stand = normalise(_text(stand_in))
        return _Hit(
            offset=stand_in.start_byte,
            rule=rule,
            name=name,
            key=normalise(f"{name}: {stand}"),
            preview=_preview(lang, unit, stand_in),
            scope=_method_scope(lang, unit, name),
        )

    def _located(self, source: SourceFile, hits: list[_Hit]) -> list[Finding]:
        hits.sort(key=lambda h: h.offset)
        places = positions(source.data, [h.offset for h in hits])
        return [
            Finding(
                gate=self.id,
                rule=hit.rule.id,
                path=source.path,
                line=line,
                column=column,
                message=hit.rule.message.format(name=hit.name),
                fix=hit.rule.fix,
                key=hit.key,
                severity=hit.rule.severity,
                preview=hit.preview,
                scope=hit.scope,
            )
            for hit, (line, column) in zip(hits, places, strict=True)
        ]

    # comment rules

    def _admissions(
        self,
        source: SourceFile,
        tree: Tree,
        active: Sequence[MarkerRule],
        windows: Sequence[tuple[int, int]],
    ) -> list[Finding]:
        """Comments and docstrings that admit a stub, looked up only in ``windows``,
        where one of the ``active`` rules' regex matches the raw text (see
        ``debt.marker_windows``)."""
        lang = source.language or ""
        texts = comments(source, tree, keep=self.keywords.found_in, ranges=windows)
        docstrings = query(lang, "docstrings")
        if docstrings is not None:
            found = captures_in(docstrings, tree.root_node, windows).get("docstring", [])
            spans = sorted({(n.start_byte, n.end_byte) for n in found})
            texts.extend(from_spans(source.data, spans))
        findings: list[Finding] = []
        for text in texts:
            findings.extend(judge(self.id, source.path, text, active))
        if findings:
            lines = source.data.decode("utf-8", "replace").split("\n")
            findings = [f for f in findings if not _in_example(lines, f.line)]
            if any(f.rule in self.rules.constant_only for f in findings):
                findings = self._fake_returns(lang, tree, lines, findings)
        return findings

    def _fake_returns(
        self, lang: str, tree: Tree, lines: Sequence[str], findings: list[Finding]
    ) -> list[Finding]:
        """``findings`` without those of a ``within: constant-return`` rule whose comment
        is not inside a function that returns a constant (``lang.bodies``), or is on a
        line another rule already reports; a kept one carries its method's scope, for
        :meth:`refine`. A function named as a fake (``fake_names``), a Python dunder (a
        protocol's answer), a hook (a subclass in the file defines it again, or the
        function turns off its base's) or a function given a job as
        :meth:`_given_a_job` reads it (an abstract base's, a configuration's version) is
        not judged."""
        only = self.rules.constant_only
        said = {f.line for f in findings if f.rule not in only}
        family = _Family(lang, tree.root_node)
        kept: list[Finding] = []
        for found in findings:
            if found.rule not in only:
                kept.append(found)
                continue
            if found.line in said:
                continue
            said.add(found.line)  # one finding for a comment that says it twice
            unit = self._faking(lang, tree, lines, found, family)
            if unit is not None:
                scope = _method_scope(lang, unit, _bound_name(lang, unit))
                kept.append(dataclasses.replace(found, scope=scope))
        return kept

    def _faking(
        self, lang: str, tree: Tree, lines: Sequence[str], found: Finding, family: _Family
    ) -> Node | None:
        """The function whose body holds the comment of ``found`` and returns a
        constant, unless the function is meant to (see :meth:`_fake_returns`)."""
        row = found.line - 1
        column = len(lines[row][: found.column - 1].encode()) if row < len(lines) else 0
        node: Node | None = tree.root_node.descendant_for_point_range((row, column), (row, column))
        while node is not None and not is_comment(node):
            node = node.parent
        if node is None:
            return None
        unit = bodies.enclosing_function(lang, node)
        if unit is None or unit.has_error or not bodies.in_body(unit, node):
            return None
        if not bodies.returns_constant(lang, unit):
            return None
        name = _bound_name(lang, unit)
        owner = _owner(unit)
        fake = self.rules.fake_names
        if fake.search(name) or (owner is not None and fake.search(_owner_name(owner))):
            return None
        if lang == "python" and name.startswith("__") and name.endswith("__"):
            return None
        if family.overridden(unit, name) or family.overrides(unit, name):
            return None
        if self._given_a_job(lang, unit, name, empty=False):
            return None
        return unit


#: A line of a comment block: ``//``, ``///``, ``//!``, ``/*``, ``/**``, `` * ``, ``#``;
#: the group is what follows the delimiter.
_COMMENT_LINE = lazyre.compile(r"\s*(?:/{2,3}!?|/\*\*?|\*(?!/)|#+)\s?(.*)")
#: A comment line whose text is itself a comment of the same kind, past a space:
#: ``#     # the example's own comment``, ``//   // its note``; not ``##`` or ``///``.
_NESTED_COMMENT = lazyre.compile(r"\s*(?:(#)#*|//[/!]?)\s+(?(1)#|//)")
#: A doc tag (JSDoc, YARD, Javadoc): ``@param``, ``@returns`` ...
_DOC_TAG = lazyre.compile(r"@[A-Za-z]")


def _in_example(lines: Sequence[str], line: int) -> bool:
    """Whether ``line`` (1-based) is code that documentation shows: a doctest line
    (``>>> ``), or, in the block of comment lines it is in, inside a fenced block
    (`````) or a JSDoc or YARD ``@example`` section. An example of how to write a
    backend may call its own body a stand-in: that is said of the example, not of the
    code the comment documents. A comment inside a comment (``#   # a note``) is one
    too, or code commented out: either way not about the code below."""
    if lines[line - 1].lstrip().startswith(">>> "):
        return True
    if _NESTED_COMMENT.match(lines[line - 1]) is not None:
        return True
    fences = 0
    tagged = False  # a tag other than @example stands between the line and any above
    for index in range(line - 1, -1, -1):
        found = _COMMENT_LINE.match(lines[index])
        if found is None:
            break
        body = found.group(1).strip()
        if index < line - 1 and body.startswith(("```", "~~~")):
            fences += 1
        elif body.startswith("@example") and not tagged:
            return True
        elif _DOC_TAG.match(body) is not None:
            tagged = True
        if lines[index].lstrip().startswith("/*"):
            break  # the block comment's first line
    return fences % 2 == 1


@functools.cache
def _has_docstrings(lang: str) -> bool:
    """Whether ``lang`` has a docstrings query (asked without compiling it)."""
    return query_source(lang, "docstrings") is not None


def anchor_ranges(lang: str, data: bytes) -> list[tuple[int, int]]:
    """The byte ranges the stubs query of ``lang`` must look at in ``data``: none when
    nothing there could match, :data:`WHOLE` when it must look everywhere."""
    anchor = ANCHORS.get(lang)
    if anchor is None:
        return WHOLE
    ranges: list[tuple[int, int]] = []
    context = ANCHOR_CONTEXT.get(lang)
    for m in anchor.finditer(data):
        start, end = m.span()
        if context is not None and not context(data, start):
            continue
        if ranges and start - ranges[-1][1] <= RANGE_GAP:
            ranges[-1] = (ranges[-1][0], end)
        elif len(ranges) == MAX_RANGES:
            return WHOLE
        else:
            ranges.append((start, end))
    return ranges


# What the queries cannot see: per-language judgement of a candidate.


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _preview(lang: str, unit: Node, stand_in: Node) -> str:
    """The function up to its stand-in, or its signature and the stand-in if too long."""
    start = unit
    if lang in JS_LIKE and unit.type in JS_FUNCTION_VALUES and unit.parent is not None:
        start = unit.parent.parent or unit  # an it(...) callback: show the call
    source = start.text or b""
    end = max(stand_in.end_byte, start.start_byte) - start.start_byte
    whole = normalise(source[:end].decode("utf-8", errors="replace"))
    if len(whole) <= PREVIEW_WIDTH or stand_in == unit:
        return excerpt(whole, 0)
    body = unit.child_by_field_name("body")
    cut = (body or stand_in).start_byte - start.start_byte
    signature = normalise(source[: max(cut, 0)].decode("utf-8", errors="replace"))
    return excerpt(f"{signature} \u2026 {normalise(_text(stand_in))}", 0)


def _unit(lang: str, function: Node, is_test: bool) -> Node | None:
    """The function a candidate body belongs to, or None when it is not judged.

    The JS/TS patterns match any node with a ``body``: declarations and class methods
    are judged; a function expression only when bound to a ``const`` (it is then a named
    function) or, in a test file, when it is an ``it(...)`` / ``test(...)`` callback.
    Object-literal methods and other callbacks are left alone: empty ones are usually
    deliberate (``.catch(() => {})``).
    """
    if lang not in JS_LIKE:
        return function
    kind = function.type
    if kind in ("function_declaration", "generator_function_declaration"):
        return function
    parent = function.parent
    if parent is None:
        return None
    if kind == "method_definition":
        return function if parent.type == "class_body" else None
    if kind not in JS_FUNCTION_VALUES:
        return None
    if parent.type == "variable_declarator":
        declaration = parent.parent
        binding = declaration.child_by_field_name("kind") if declaration else None
        return parent if binding is not None and binding.type == "const" else None
    if is_test and _is_test_call(parent):
        return function
    return None


def _is_test_call(arguments: Node) -> bool:
    call = arguments.parent
    if arguments.type != "arguments" or call is None or call.type != "call_expression":
        return False
    callee = call.child_by_field_name("function")
    return callee is not None and _text(callee) in JS_TEST_CALLS


def _name(lang: str, unit: Node) -> str:
    if lang in JS_LIKE and unit.type in JS_FUNCTION_VALUES:  # an it(...) callback
        call = unit.parent.parent if unit.parent else None
        return excerpt(normalise(_text(call).split("\n", 1)[0]), 0, 60) if call else "test"
    if lang in ("c", "cpp"):
        declarator = _c_declarator(unit)
        inner = declarator.child_by_field_name("declarator") if declarator else None
        return _text(inner) if inner is not None else "function"
    name = unit.child_by_field_name("name")
    return _text(name) if name is not None else "function"


#: Where a JS/TS function value gets its name: the field of its parent that holds it.
_JS_BINDINGS = {
    "variable_declarator": "name",
    "pair": "key",
    "assignment_expression": "left",
    "public_field_definition": "name",
    "field_definition": "property",
}


def _bound_name(lang: str, unit: Node) -> str:
    """The name of ``unit``; for a JS/TS function value, the name it is bound to
    (``const fetchUser = async () => ...``, ``fetchUser: function () ...``, ``this.x =
    () => ...``), or "" if none."""
    if lang not in JS_LIKE or unit.type not in JS_FUNCTION_VALUES:
        return _name(lang, unit)
    own = unit.child_by_field_name("name")
    if own is not None:
        return _text(own)
    parent = unit.parent
    field = _JS_BINDINGS.get(parent.type) if parent is not None else None
    target = parent.child_by_field_name(field) if parent is not None and field else None
    return _text(target).rsplit(".", 1)[-1] if target is not None else ""


def _test_unit(lang: str, node: Node) -> Node | None:
    """The test that holds ``node`` (see ``rules/stub.yaml``, hollow-test), or None: a
    function or method :func:`_is_test` calls a test, an ``it(...)``/``test(...)``
    callback, an RSpec ``it`` block."""
    kinds = bodies.FUNCTIONS.get(lang, frozenset())
    if lang == "ruby":
        kinds = kinds | {"do_block", "block"}
    unit = node.parent
    while unit is not None and unit.type not in kinds:
        unit = unit.parent
    if unit is None:
        return None
    if lang == "ruby" and unit.type in ("do_block", "block"):
        call = unit.parent
        method = call.child_by_field_name("method") if call is not None else None
        return unit if method is not None and _text(method) in RSPEC_TESTS else None
    if lang in JS_LIKE and unit.type in JS_FUNCTION_VALUES:
        parent = unit.parent
        return unit if parent is not None and _is_test_call(parent) else None
    return unit if _is_test(lang, unit) else None


def _test_name(lang: str, unit: Node) -> str:
    """How a finding names a test: its function's name, or the first line of the call
    an RSpec block or a JS callback is given to (``it("fetches a user")``)."""
    if lang == "ruby" and unit.type in ("do_block", "block") and unit.parent is not None:
        return excerpt(normalise(_text(unit.parent).split("\n", 1)[0]), 0, 60)
    return _name(lang, unit)


def _c_declarator(unit: Node) -> Node | None:
    """The ``function_declarator`` of a C/C++ function definition (under pointers and
    references), if any."""
    declarator = unit.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    return declarator


def _is_test(lang: str, unit: Node) -> bool:
    """Is this unit, in a test file, a test (rather than a helper or a test double)?"""
    if lang in JS_LIKE:
        return unit.type in JS_FUNCTION_VALUES  # only it()/test() callbacks get here
    name = _name(lang, unit)
    if lang == "go":  # tests are top-level functions; a method is a helper or a double
        is_function = unit.type == "function_declaration"
        return is_function and re.match(r"(Test|Benchmark|Fuzz|Example)", name) is not None
    if lang == "rust":
        sibling = unit.prev_named_sibling
        while sibling is not None and sibling.type in ("attribute_item", "line_comment"):
            if sibling.type == "attribute_item" and "test" in _text(sibling):
                return True
            sibling = sibling.prev_named_sibling
        return False
    if lang == "java" and _annotations(unit) & {"Test", "ParameterizedTest"}:
        return True
    if lang == "python" and not _python_top_level(unit):
        return False  # a nested function is a helper of a test, not a test
    return name.lower().startswith("test")


def _python_top_level(function: Node) -> bool:
    """Is ``function`` defined in a module, or in a class defined in a module?"""
    owner = _python_owner(function)
    if owner is not None and owner.type == "class_definition":
        owner = _python_owner(owner)
    return owner is not None and owner.type == "module"


def _python_owner(definition: Node) -> Node | None:
    """The module, class or function whose body holds ``definition``."""
    parent = definition.parent
    if parent is not None and parent.type == "decorated_definition":
        parent = parent.parent
    if parent is not None and parent.type == "block":
        parent = parent.parent
    return parent


def _declared_only(lang: str, unit: Node) -> bool:
    """A declaration that has no implementation by design (Python only: the other
    languages say so in their syntax, which the queries already respect)."""
    if lang != "python":
        return False
    if _python_decorators(unit) & PYTHON_DECLARATIONS:
        return True
    if _python_class_bases(unit) & {"Protocol"}:
        return True
    node = unit.parent
    while node is not None:
        if node.type == "if_statement":
            condition = node.child_by_field_name("condition")
            if condition is not None and _text(condition) in TYPE_CHECKING_NAMES:
                return True
        node = node.parent
    return False


def _python_decorators(function: Node) -> set[str]:
    parent = function.parent
    if parent is None or parent.type != "decorated_definition":
        return set()
    names = set()
    for decorator in parent.named_children:
        if decorator.type == "decorator":
            text = _text(decorator).lstrip("@").split("(", 1)[0].strip()
            names.add(text.rsplit(".", 1)[-1])
    return names


def _python_class_bases(function: Node) -> set[str]:
    """The base names (:func:`_base_names`) of the class ``function`` is a method of."""
    cls = _python_owner(function)
    if cls is None or cls.type != "class_definition":
        return set()
    bases = cls.child_by_field_name("superclasses")
    return _base_names(bases) if bases is not None else set()


def _annotations(unit: Node) -> set[str]:
    """Java annotation names on a method (``@Override`` -> ``Override``)."""
    names = set()
    for child in unit.named_children:
        if child.type == "modifiers":
            for mark in child.named_children:
                if mark.type in ("marker_annotation", "annotation"):
                    name = mark.child_by_field_name("name")
                    if name is not None:
                        names.add(_text(name).rsplit(".", 1)[-1])
    return names


def _ignores_arguments(lang: str, unit: Node) -> bool:
    """Are all the parameters named as unused (``_``, ``_event``, ``unused_x``)?

    Where the language has that convention, a function that takes arguments and names
    every one of them unused says in its signature that it ignores them on purpose
    (``set aborted(_) {}``, ``def visit(self, _node): pass``). In Go, C and C++ a
    parameter without a name says so (``void consume(std::size_t) {}``).
    """
    if lang not in UNUSED_CONVENTION:
        return False
    function = unit.child_by_field_name("value") or unit  # a const-bound JS function
    if lang in ("c", "cpp"):
        function = _c_declarator(unit) or unit
    params = function.child_by_field_name("parameters")
    if params is None:
        return False
    given = [p for p in params.named_children if not is_comment(p) and _text(p) != "void"]
    names = [_param_name(p) for p in given]
    names = [n for n in names if n not in SELF_NAMES]
    return bool(names) and all(n.startswith(("_", "unused")) for n in names)


def _param_name(param: Node) -> str:
    """The first identifier in a parameter (its name, in the languages that use it)."""
    if param.type in ("self_parameter", "self"):
        return "self"
    if param.type in RUBY_ANONYMOUS and param.child_by_field_name("name") is None:
        return "_"  # Ruby's `def flush(*) end`: whatever it is given, it ignores
    if param.type in ("parameter_declaration", "variadic_parameter_declaration") and (
        param.child_by_field_name("name") is None and not _declares_a_name(param)
    ):
        return "_"  # Go, C, C++: a parameter with only a type is one the function ignores
    stack = [param]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "_"):
            return _text(node)
        stack.extend(reversed(node.children))
    return _text(param)


def _declares_a_name(param: Node) -> bool:
    """Whether a C/C++ parameter's declarator names it (``const H& h``, not ``const H&``,
    ``int*`` or ``Args...``)."""
    stack = [param.child_by_field_name("declarator")]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type in ("identifier", "field_identifier"):
            return True
        stack.extend(node.children)
    return False


def _empty_by_design(lang: str, unit: Node, name: str) -> bool:
    """Languages where an empty body has a job (see the module docstring); ``name`` is
    the unit's (:func:`_name`)."""
    parent = unit.parent
    if lang in JS_LIKE:
        if unit.type != "method_definition":
            return False
        if name == "constructor" or _for_subclasses(lang, unit):
            return True
        return any(c.type in ("override_modifier", "set") for c in unit.children)
    if lang == "java":
        in_interface = parent is not None and parent.type == "interface_body"
        if in_interface or "Override" in _annotations(unit) or _for_subclasses(lang, unit):
            return True
        body = unit.child_by_field_name("body")
        head = (unit.text or b"")[: (body.start_byte if body else unit.end_byte) - unit.start_byte]
        return _JAVA_EMPTY_ON_PURPOSE.search(head.decode("utf-8", "replace")) is not None
    if lang == "rust":
        owner = parent.parent if parent is not None and parent.type == "declaration_list" else None
        if owner is None:
            return False
        return owner.type == "trait_item" or (
            owner.type == "impl_item" and owner.child_by_field_name("trait") is not None
        )
    if lang == "cpp":
        if unit.child_by_field_name("type") is None or "~" in name:
            return True  # constructor, destructor
        parts = name.split("::")
        if parts[-1] in CPP_COROUTINE_HOOKS:
            return True
        if (len(parts) > 1 and parts[-1] == parts[-2]) or parts[-1] == _class_name(unit):
            return True  # a constructor after a macro the parser took for a type
        declarator = unit.child_by_field_name("declarator")
        specifiers = declarator.children if declarator is not None else []
        return any(c.type == "virtual" for c in unit.children) or any(
            c.type == "virtual_specifier" for c in specifiers
        )
    if lang == "ruby":
        return name == "initialize" or _java_interface_method(unit, name)
    if lang == "python":
        if name in PYTHON_CLEANUPS:
            return True  # nothing to clean up: the context manager's work is in __enter__
        return "override" in _python_decorators(unit)  # typing.override (PEP 698)
    return False


def _java_interface_method(unit: Node, name: str) -> bool:
    """A Ruby method named in Java's camelCase (``getAcceptedIssuers``) of a class that
    includes a module: JRuby's way to implement a Java interface (``include
    X509TrustManager``), whose every method must exist, empty or not. Ruby's own names
    are snake_case."""
    owner = _owner(unit)
    if owner is None or _CAMEL_CASE.fullmatch(name) is None:
        return False
    body = next((c for c in owner.named_children if c.type == "body_statement"), None)
    return body is not None and any(
        c.type == "call"
        and c.child_by_field_name("receiver") is None
        and (c.child_by_field_name("method") or c).text == b"include"
        for c in body.named_children
    )


_CAMEL_CASE = lazyre.compile(r"[a-z][a-z0-9]*[A-Z]\w*")


#: A Java method whose annotations turn off the empty-method inspection (IntelliJ's
#: ``@SuppressWarnings("EmptyMethod")``): its author says the body is empty on purpose.
_JAVA_EMPTY_ON_PURPOSE = lazyre.compile(r"@SuppressWarnings\s*\([^)]*\bEmptyMethod\b")


def _for_subclasses(lang: str, unit: Node) -> bool:
    """A Java or TypeScript method written for subclasses: ``protected``, or in an
    ``abstract`` class (a required one would be abstract too). Empty, it is the default
    of a hook that subclasses may override (``protected void handleOnStart() {}``)."""
    owner = _owner(unit)
    if lang == "java":
        marks = _modifiers(unit)
        in_abstract = owner is not None and "abstract" in _modifiers(owner)
        return "protected" in marks or in_abstract
    accessible = (c for c in unit.children if c.type == "accessibility_modifier")
    protected = any(_text(c) == "protected" for c in accessible)
    return protected or (owner is not None and owner.type == "abstract_class_declaration")


def _modifiers(declaration: Node) -> set[str]:
    """The keyword modifiers of a Java declaration (``public``, ``abstract``, ...)."""
    found = (c for c in declaration.named_children if c.type == "modifiers")
    return {t.type for m in found for t in m.children if not t.is_named}


#: What makes an empty JS/TS function a constructor's shell: its prototype is set or
#: given (``Base.prototype = proto``, ``Object.setPrototypeOf(HttpApi, Proto)``,
#: ``util.inherits(Stream, Emitter)``), or it is cast to a class type (``KeyClass as any
#: as Reference``). Each alternative captures the name.
_JS_SHELL = lazyre.compile(
    rb"\b([A-Za-z_$][\w$]*)\.prototype\b"
    rb"|\b(?:Object|Reflect)\.(?:setPrototypeOf|assign|defineProperty|defineProperties)"
    rb"\(\s*([A-Za-z_$][\w$]*)"
    rb"|\binherits\(\s*([A-Za-z_$][\w$]*)"
    rb"|\b([A-Za-z_$][\w$]*)\s+as\s"
)


def _go_marker(unit: Node, name: str, exported_markers: re.Pattern[str]) -> bool:
    """A Go marker method: no parameters, no results, and a name that says marker.

    ``func (*Ident) exprNode() {}`` and ``func (Cat) isAnimal() {}`` exist only to put a
    type in an interface; with an unexported name the method cannot be part of the
    package's API, so an empty body is the whole point. An exported one such as
    ``func (s *Store) Flush() {}`` is API that callers rely on, and empty it is a stub,
    unless its name is a marker's (``exported_markers``: a predicate without a result
    such as ``IsExpr``/``CanBeAux``, ``ProtoMessage``, ``RuntimeError``, ``Signal``) or
    the file gives the same empty method to more than one type (``func (StructC)
    InterfaceA() {}``, ``func (*StructD) InterfaceA() {}``).
    """
    if not _go_bare(unit):
        return False
    if not name[:1].isupper() or exported_markers.search(name) is not None:
        return True
    root = unit.parent
    same = 0
    for other in root.named_children if root is not None else ():
        named = other.child_by_field_name("name") if other.type == unit.type else None
        if named is not None and _text(named) == name and _go_bare(other):
            body = other.child_by_field_name("body")
            if body is not None and all(is_comment(c) for c in body.named_children):
                same += 1
    return same > 1


def _go_bare(unit: Node) -> bool:
    """A Go method without parameters or results."""
    if unit.type != "method_declaration" or unit.child_by_field_name("result") is not None:
        return False
    params = unit.child_by_field_name("parameters")
    return params is not None and params.named_child_count == 0


#: Nodes that name a class, struct or impl block (the methods' type), by language.
CLASS_NODES = frozenset(
    {
        "class_definition",  # Python
        "class_declaration",  # JavaScript, TypeScript, Java
        "abstract_class_declaration",  # TypeScript
        "class",  # a JavaScript class expression, a Ruby class
        "class_specifier",  # C++
        "struct_specifier",  # C++
        "impl_item",  # Rust
        "module",  # Ruby
    }
)


def _class_name(unit: Node) -> str:
    """The name of the class (struct, impl block, Ruby module) ``unit`` is a method of,
    else ""."""
    owner = _owner(unit)
    return _owner_name(owner) if owner is not None else ""


def _owner(unit: Node) -> Node | None:
    """The class (struct, impl block, Ruby module) ``unit`` is defined in, if any."""
    node = unit.parent
    while node is not None:
        if node.type in CLASS_NODES:
            return node
        node = node.parent
    return None


def _owner_name(owner: Node) -> str:
    """``Store`` for ``class Store``, ``module Cache::Null``, ``impl<T> Store<T>``."""
    name = owner.child_by_field_name("name") or owner.child_by_field_name("type")
    return _last_name(re.sub(r"<.*", "", _text(name), flags=re.S)) if name is not None else ""


#: Nodes between a definition and the comments above it (Ruby's first method of a body).
DOC_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
#: What may stand between a definition and its doc comment.
DOC_SKIPPED = frozenset({"attribute_item", "decorator", "annotation", "marker_annotation"})


def _doc(lang: str, node: Node) -> str:
    """The documentation of a function or class: the comments right above it (one
    block, attributes and decorators between them skipped) and a Python docstring."""
    texts = [_python_docstring(node)] if lang == "python" else []
    if node.parent is not None and node.parent.type in DOC_WRAPPERS:
        node = node.parent
    first = node.prev_named_sibling is None
    if first and node.parent is not None and node.parent.type == "body_statement":
        node = node.parent  # Ruby: the comments above a body's first method are outside it
    top = node.start_point.row
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.end_point.row >= top - 1:
        if is_comment(sibling):
            texts.append(_text(sibling))
        elif sibling.type not in DOC_SKIPPED:
            break
        top = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return "\n".join(texts)


_RUST_CONFIGURED = lazyre.compile(r"#\[\s*(?:cfg|cfg_attr|rustversion::)")
_RUST_TESTS = lazyre.compile(r"#\[\s*cfg\s*\(\s*test\s*\)\s*\]")


def _rust_attributes(item: Node) -> list[str]:
    """The outer attributes of a Rust item (``#[cfg(unix)]``), as written."""
    return [_text(attribute) for attribute in rust_attributes(item)]


def _rust_items(unit: Node) -> list[Node]:
    """``unit`` and the modules and impl blocks it is in."""
    items = []
    node: Node | None = unit
    while node is not None:
        if node.type in ("function_item", "mod_item", "impl_item"):
            items.append(node)
        node = node.parent
    return items


def _rust_configured(unit: Node) -> bool:
    """Whether a Rust function is one configuration's version: it, or a module or impl
    block it is in, has ``#[cfg(...)]``, ``#[cfg_attr(...)]`` or ``#[rustversion::...]``
    (``#[cfg(not(unix))] mod fork { pub fn register_fork_handler() {} }``), other than
    ``#[cfg(test)]``."""
    return any(
        _RUST_CONFIGURED.match(attribute) is not None and _RUST_TESTS.match(attribute) is None
        for item in _rust_items(unit)
        for attribute in _rust_attributes(item)
    )


def _in_rust_tests(unit: Node) -> bool:
    """Whether a Rust function is in a ``#[cfg(test)]`` module: a test file's code."""
    return any(
        _RUST_TESTS.match(attribute) is not None
        for item in _rust_items(unit)
        if item.type == "mod_item"
        for attribute in _rust_attributes(item)
    )


def _rust_bounds_only(unit: Node) -> bool:
    """A Rust function with bounded type parameters and no parameters: it exists for the
    compiler to check the bounds (``fn is_unpin<T: Unpin>() {}``), so it has no body."""
    params = unit.child_by_field_name("parameters")
    generics = unit.child_by_field_name("type_parameters")
    if params is None or generics is None:
        return False
    if any(not is_comment(c) for c in params.named_children):
        return False
    return ":" in _text(generics) or any(c.type == "where_clause" for c in unit.named_children)


_GOOS = (
    "aix|android|darwin|dragonfly|freebsd|hurd|illumos|ios|js|linux|nacl|netbsd|openbsd"
    "|plan9|solaris|wasip1|windows|zos"
)
_GOARCH = (
    "386|amd64|amd64p32|arm|arm64|arm64be|armbe|loong64|mips|mipsle|mips64|mips64le"
    "|mips64p32|mips64p32le|ppc|ppc64|ppc64le|riscv|riscv64|s390|s390x|sparc|sparc64|wasm"
)
_GO_CONSTRAINED_NAME = lazyre.compile(
    rf"_(?:(?:{_GOOS})(?:_(?:{_GOARCH}))?|{_GOARCH})(?:_test)?\.go$"
)


def _go_constrained(path: str, root: Node) -> bool:
    """Whether a Go file is built only under some constraint: a ``//go:build`` (or ``//
    +build``) line before the package clause, or a ``_windows.go``/``_arm64.go`` name.
    Its functions are that build's versions: empty where the build needs nothing."""
    if _GO_CONSTRAINED_NAME.search(path) is not None:
        return True
    for child in root.children:
        if child.type == "package_clause":
            return False
        if child.type == "comment" and _text(child).startswith(("//go:build", "// +build")):
            return True
    return False


def _java_has_supertypes(owner: Node) -> bool:
    """Whether a Java class extends or implements something (a collection type, whose
    optional operations may throw UnsupportedOperationException by contract)."""
    return any(owner.child_by_field_name(f) is not None for f in ("superclass", "interfaces"))


#: What defines a method in a class body, by node type: the field that names it.
MEMBERS = {
    "function_definition": "name",  # Python (also under a decorated_definition)
    "method_definition": "name",  # JavaScript, TypeScript
    "field_definition": "property",  # JavaScript: `run = () => {}`
    "public_field_definition": "name",  # TypeScript
    "abstract_method_signature": "name",  # TypeScript
    "method_signature": "name",  # TypeScript
    "method_declaration": "name",  # Java
    "method": "name",  # Ruby
    "singleton_method": "name",  # Ruby
}
#: Nodes between a method and its class: a body, a decorator list.
CLASS_BODIES = frozenset({"block", "class_body", "body_statement", "decorated_definition"})
#: Parts of a class header that are not its bases.
NOT_BASES = frozenset(
    {"keyword_argument", "type_arguments", "type_parameters", "implements_clause", "comment"}
)


@dataclass(frozen=True)
class _Class:
    name: str
    bases: frozenset[str]
    methods: frozenset[str]


class _Family:
    """The classes of one file (``rules/queries/<language>/classes.scm``), to tell a
    method that stands in from one that a class hierarchy gives a job.

    A method that a subclass in the same file overrides is the base's default (an empty
    hook) or its abstract method written the pre-``abc`` way (``raise
    NotImplementedError``, as the Python documentation recommends for user-defined base
    classes). An empty method that overrides one of a base class in the same file turns
    that behaviour off (``class NoCapture(Capture): def start(self): pass``), as an
    ``@Override`` would say in Java. Classes are matched by name, within the file only: a
    file is judged on its own, so its verdicts can be cached by its content. Read once per
    file, and only if one of its bodies is a candidate.
    """

    def __init__(self, lang: str, root: Node) -> None:
        self.lang = lang
        self.root = root
        self._classes: dict[tuple[int, int], _Class] | None = None
        self._named: dict[str, list[_Class]] = {}  # name -> the classes so named
        self._subclasses: dict[str, list[_Class]] = {}  # base name -> its subclasses
        self._shells: set[str] | None = None

    def classes(self) -> dict[tuple[int, int], _Class]:
        if self._classes is None:
            compiled = query(self.lang, "classes")
            found = captures(compiled, self.root).get("class", []) if compiled else []
            self._classes = {(n.start_byte, n.end_byte): _class_of(n) for n in found}
            for cls in self._classes.values():
                self._named.setdefault(cls.name, []).append(cls)
                for base in cls.bases:
                    self._subclasses.setdefault(base, []).append(cls)
        return self._classes

    def _own(self, unit: Node) -> _Class | None:
        node = unit.parent
        while node is not None and node.type in CLASS_BODIES:
            node = node.parent
        if node is None or node.type not in CLASS_NODES:
            return None
        return self.classes().get((node.start_byte, node.end_byte))

    def shells(self) -> set[str]:
        """The names this JS/TS file uses as constructors or classes rather than as code
        to run (:data:`_JS_SHELL`): an empty function so named is a constructor's shell
        (``function KeyClass() {}`` and then ``Object.setPrototypeOf(KeyClass, Proto)``,
        lodash's ``function baseLodash() {}`` whose prototype its wrappers share): the
        prototype does the work."""
        if self._shells is None:
            self._shells = {
                name.decode()
                for found in _JS_SHELL.finditer(self.root.text or b"")
                for name in found.groups()
                if name
            }
        return self._shells

    def overridden(self, unit: Node, name: str) -> bool:
        """Whether a subclass (at any depth) in the file defines ``name`` again."""
        own = self._own(unit)
        if own is None or not own.name:
            return False
        seen = {own.name}
        todo = [own.name]
        while todo:
            for cls in self._subclasses.get(todo.pop(), ()):
                if cls is own:
                    continue  # class Session(requests.Session): its base is another
                if name in cls.methods:
                    return True
                if cls.name not in seen:
                    seen.add(cls.name)
                    todo.append(cls.name)
        return False

    def overrides(self, unit: Node, name: str) -> bool:
        """Whether a base class (at any depth) in the file defines ``name`` too."""
        own = self._own(unit)
        if own is None:
            return False
        seen = {own.name}
        todo = list(own.bases)
        while todo:
            base = todo.pop()
            if base in seen:
                continue
            seen.add(base)
            for cls in self._named.get(base, ()):
                if name in cls.methods:
                    return True
                todo.extend(cls.bases)
        return False


def _class_of(node: Node) -> _Class:
    name = node.child_by_field_name("name")
    parent = node.parent
    if name is None and parent is not None and parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")  # const Page = class extends Base {}
    bases: set[str] = set()
    for child in node.named_children:
        if child.type in ("argument_list", "class_heritage", "superclass"):
            bases |= _base_names(child)  # Python, JS/TS, Java and Ruby headers
    methods = set()
    body = node.child_by_field_name("body")
    for member in body.named_children if body is not None else ():
        if member.type == "decorated_definition":
            member = member.child_by_field_name("definition") or member
        field = MEMBERS.get(member.type)
        named = member.child_by_field_name(field) if field else None
        if named is not None:
            methods.add(_text(named))
    return _Class(_last_name(_text(name)) if name else "", frozenset(bases), frozenset(methods))


def _base_names(node: Node) -> set[str]:
    """The class names a class header's base expression refers to: ``Base``,
    ``abc.ABC`` (``ABC``), ``Generic[T]`` (``Generic``), ``B<T>``, ``Foo::Base``, and
    the arguments of a mixin call (``mix(A, B)``); not keywords (``metaclass=``) or
    implemented interfaces."""
    kind = node.type
    if kind in NOT_BASES:
        return set()
    if kind in ("identifier", "type_identifier", "constant"):
        return {_text(node)}
    if kind in ("attribute", "member_expression", "scope_resolution", "scoped_type_identifier"):
        return {_last_name(_text(node))}
    if kind in ("subscript", "generic_type"):
        inner = node.child_by_field_name("value") or (
            node.named_children[0] if node.named_children else None
        )
        return _base_names(inner) if inner is not None else set()
    if kind in ("call", "call_expression"):
        arguments = node.child_by_field_name("arguments")
        return _base_names(arguments) if arguments is not None else set()
    names: set[str] = set()
    for child in node.named_children:
        names |= _base_names(child)
    return names


def _last_name(dotted: str) -> str:
    return re.split(r"\.|::", dotted)[-1].strip()


def _go_receiver(unit: Node) -> str:
    """The receiver's type name of a Go method (``T`` for ``(s *T[K])``), else ""."""
    receiver = unit.child_by_field_name("receiver")
    if unit.type != "method_declaration" or receiver is None:
        return ""
    for param in receiver.named_children:
        kind = param.child_by_field_name("type")
        if kind is not None:
            return re.sub(r"\[.*", "", _text(kind)).lstrip("*").rsplit(".", 1)[-1].strip()
    return ""


def _only(lang: str, body: Node | None, stand_in: Node) -> bool:
    """Is ``stand_in`` all there is to ``body``, besides comments and a docstring?"""
    if body is None:  # a pattern that matched the whole bodiless unit (Ruby `def x; end`)
        return True
    statements = [c for c in body.named_children if not is_comment(c)]
    if lang == "go" and len(statements) == 1 and statements[0].type == "statement_list":
        statements = [c for c in statements[0].named_children if not is_comment(c)]
    if body == stand_in:
        return not statements
    if lang == "python" and len(statements) == 2 and bodies.is_docstring(statements[0]):
        statements = statements[1:]
    return statements == [stand_in]


#: What ends a sentence of a doc or comment.
_SENTENCE_END = lazyre.compile(r"[.!?;](?=\s|$)|\n\s*\n")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence of ``text`` that holds ``text[start:end]``."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    after = _SENTENCE_END.search(text, end)
    return (before[-1] if before else 0), (after.end() if after is not None else len(text))


def _comments_in(unit: Node, body: Node | None) -> list[str]:
    """The comments at the top level of a function's body, and those between its
    parameters and its body (where tree-sitter-python puts a comment above a block's
    first statement)."""
    params = unit.child_by_field_name("parameters")
    if params is None:  # Ruby's `def close` with no parameters: after its name
        params = unit.child_by_field_name("name")
    after = params.end_byte if params is not None else unit.end_byte
    found = [c for c in unit.named_children if is_comment(c) and c.start_byte >= after]
    if body is not None:
        found += [c for c in body.named_children if is_comment(c)]
    return [_text(c) for c in found]


def _python_docstring(definition: Node) -> str:
    """The docstring of a Python function or class, with its quotes; "" if none."""
    body = definition.child_by_field_name("body")
    first = next((c for c in body.named_children if not is_comment(c)), None) if body else None
    return _text(first) if first is not None and bodies.is_docstring(first) else ""


#: Python statements whose blocks are branches, and the clauses that hold the others.
PY_COMPOUND = frozenset({"if_statement", "try_statement"})
PY_CLAUSES = frozenset({"elif_clause", "else_clause", "except_clause", "finally_clause"})


def _python_fallback(function: Node) -> bool:
    """Whether ``function`` (or the class it is a method of) is one branch's version of
    a name that another branch of the same ``if`` or ``try`` binds too: the no-op
    fallback where an optional module is missing (``try: from argcomplete import ...
    except ImportError: def autocomplete(parser): pass``), or the class of a platform
    the code does not support (``if sys.platform == "win32": class UnixLock: ...``)."""
    owner = _python_owner(function)
    definition = owner if owner is not None and owner.type == "class_definition" else function
    name = definition.child_by_field_name("name")
    statement = definition.parent
    if statement is None or statement.type != "decorated_definition":
        statement = definition
    block = statement.parent
    branch = block.parent if block is not None and block.type == "block" else None
    if name is None or branch is None:
        return False
    compound = branch if branch.type in PY_COMPOUND else branch.parent
    if compound is None or compound.type not in PY_COMPOUND:
        return False
    blocks = [c for c in compound.children if c.type == "block"]
    for clause in compound.children:
        if clause.type in PY_CLAUSES:
            blocks.extend(c for c in clause.children if c.type == "block")
    return any(_python_binds(other, _text(name)) for other in blocks if other != block)


def _python_binds(block: Node, name: str) -> bool:
    """Whether a statement of ``block`` (at its top) binds ``name``: a ``def``, a
    ``class``, an import or an assignment."""
    for statement in block.named_children:
        if statement.type == "decorated_definition":
            statement = statement.child_by_field_name("definition") or statement
        kind = statement.type
        if kind in ("function_definition", "class_definition"):
            named = statement.child_by_field_name("name")
            if named is not None and _text(named) == name:
                return True
        elif kind in ("import_from_statement", "import_statement"):
            for imported in statement.children_by_field_name("name"):
                alias = imported.child_by_field_name("alias")
                if alias is not None:
                    bound = _text(alias)
                elif kind == "import_statement":
                    bound = _text(imported).split(".", 1)[0]  # import a.b binds a
                else:
                    bound = _text(imported)
                if bound == name:
                    return True
        elif kind == "expression_statement":
            for child in statement.named_children:
                left = child.child_by_field_name("left") if child.type == "assignment" else None
                if left is not None and _text(left) == name:
                    return True
    return False


#: The languages whose methods a subclass in another file may define again, and the
#: node types of such a method (a Ruby module's too: its includers may).
OVERRIDABLE = {
    "python": ("function_definition",),
    "javascript": ("method_definition",),
    "typescript": ("method_definition",),
    "tsx": ("method_definition",),
    "java": ("method_declaration",),
    "ruby": ("method",),
}


def _method_scope(lang: str, unit: Node, name: str) -> tuple[str, ...]:
    """(class, method) for a method of a named class (or Ruby module) that a subclass
    (or includer) in another file may define again (:data:`OVERRIDABLE`), else ()."""
    if unit.type not in OVERRIDABLE.get(lang, ()):
        return ()
    owner = _owner(unit)
    if owner is None or owner.type == "impl_item" or name in ("", "function"):
        return ()
    if owner.type == "module" and lang != "ruby":  # a Ruby module's, for its includers
        return ()
    cls = _owner_name(owner)
    return (cls, name) if cls else ()


def _enclosing_function(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None:
        if parent.type == "function_item":
            return parent
        parent = parent.parent
    return None


# Loading rules/stub.yaml.


def load_rules(name: str = RULE_FILE, *, lazy: bool = False) -> StubRules:
    """``rules/<name>.yaml`` compiled; InputError names the rule and key that are wrong.
    ``lazy``: regexes compile on first use (and a wrong one is reported then)."""
    data = rule_files.load(name)
    label = f"rules/{name}.yaml"
    by_id = {rule["id"]: (index, rule) for index, rule in enumerate(data["rules"])}
    for needed in STRUCTURAL_RULES:
        if needed not in by_id:
            raise InputError(f"the rule `{needed}` is missing", path=label, key="rules")
    empty_index, empty = by_id[EMPTY]
    ni_index, ni = by_id[NOT_IMPLEMENTED]
    skipped_index, skipped = by_id[SKIPPED]
    admissions = tuple(
        compile_rule(rule, index, name, lazy=lazy)
        for rule_id, (index, rule) in by_id.items()
        if rule_id not in STRUCTURAL_RULES
    )
    constant_only: set[str] = set()
    for rule_id, (index, rule) in by_id.items():
        within = rule.get("within")
        if within is None:
            continue
        if within not in WITHIN:
            raise InputError(
                f"{rule_id}: `within` must be one of {', '.join(sorted(WITHIN))}",
                path=label,
                key=_where(rule, index, "within"),
            )
        constant_only.add(rule_id)
    return StubRules(
        empty=_body_rule(empty, empty_index, label),
        not_implemented=_body_rule(ni, ni_index, label),
        hollow=_body_rule(by_id[HOLLOW][1], by_id[HOLLOW][0], label),
        skipped=_body_rule(skipped, skipped_index, label),
        focused=_body_rule(by_id[FOCUSED][1], by_id[FOCUSED][0], label),
        skip_admits=_regex(skipped, skipped_index, "admits", label, lazy),
        skip_blank=_regex(skipped, skipped_index, "blank_reasons", label, lazy),
        noop_names=_regex(empty, empty_index, "noop_names", label, lazy),
        null_types=_regex(empty, empty_index, "null_types", label, lazy),
        noop_docs=_regex(empty, empty_index, "noop_docs", label, lazy),
        temporary_docs=_regex(empty, empty_index, "temporary_docs", label, lazy),
        empty_reasons=_regex(empty, empty_index, "empty_reasons", label, lazy),
        hook_docs=_regex(empty, empty_index, "hook_docs", label, lazy),
        go_marker_methods=_regex(empty, empty_index, "go_marker_methods", label, lazy),
        annotated_hooks=_regex(empty, empty_index, "annotated_hooks", label, lazy),
        exceptions=_names(ni, ni_index, "exceptions", label),
        bare_exceptions=_names(ni, ni_index, "bare_exceptions", label),
        messages=_regex(ni, ni_index, "messages", label, lazy),
        abstract_messages=_regex(ni, ni_index, "abstract_messages", label, lazy),
        declined_messages=_regex(ni, ni_index, "declined_messages", label, lazy),
        abstract_types=_regex(ni, ni_index, "abstract_types", label, lazy),
        optional_operations=_names(ni, ni_index, "optional_operations", label),
        admissions=admissions,
        constant_only=frozenset(constant_only),
        fake_names=_regex(data, None, "fake_names", label, lazy),
        test_paths=_regex(data, None, "test_paths", label, lazy),
        example_paths=_regex(data, None, "example_paths", label, lazy),
        generated=_regex(data, None, "generated", label, lazy),
    )


def _where(rule: Mapping[str, Any], index: int | None, key: str) -> str:
    if index is None:
        return key
    return f"rules[{index}] ({rule['id']}).{key}"


def _body_rule(rule: Mapping[str, Any], index: int, label: str) -> BodyRule:
    severity = rule.get("severity", "error")
    if severity not in SEVERITIES:
        raise InputError(
            f"{rule['id']}: severity must be one of {', '.join(SEVERITIES)}",
            path=label,
            key=_where(rule, index, "severity"),
        )
    message = rule.get("message")
    try:
        if not isinstance(message, str) or not message:
            raise ValueError("missing")
        message.format(name="")
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(
            f"{rule['id']}: `message` must be text that may name {{name}} ({exc})",
            path=label,
            key=_where(rule, index, "message"),
        ) from None
    return BodyRule(
        id=rule["id"], severity=severity, message=message, fix=" ".join(rule["fix"].split())
    )


def _regex(
    rule: Mapping[str, Any], index: int | None, key: str, label: str, lazy: bool = False
) -> re.Pattern[str]:
    value = rule.get(key)
    parts: list[Any] = value if isinstance(value, list) else [value]
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise InputError(
            f"expected `{key}`: a regex or a list of regexes",
            path=label,
            key=_where(rule, index, key),
        )
    joined = str(parts[0]) if len(parts) == 1 else "|".join(f"(?:{p})" for p in parts)

    def wrong(exc: re.error) -> InputError:
        return InputError(
            f"`{key}` does not compile: {exc}", path=label, key=_where(rule, index, key)
        )

    if lazy:
        return lazyre.compile(joined, error=wrong)
    try:
        return re.compile(joined)
    except re.error as exc:
        raise wrong(exc) from None


def _names(rule: Mapping[str, Any], index: int, key: str, label: str) -> frozenset[str]:
    value = rule.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(
            f"expected `{key}`: a list of names", path=label, key=_where(rule, index, key)
        )
    return frozenset(value)

"""Tests switched off for good: where each language's test frameworks skip a test
whatever happens, and the reason the code gives.

The stub gate's ``skipped-test`` rule judges what :func:`find` returns. A skip counts
only when nothing decides it at run time: a decorator or annotation (``@pytest.mark.skip``,
``@unittest.skip("...")``, ``@Disabled``, ``@Ignore``, ``#[ignore]``), a test declared
skipped (``it.skip``, ``xit``, ``describe.skip``, RSpec's ``skip:`` metadata), or a skip
that is the first statement of a test (``pytest.skip(...)``, ``self.skipTest(...)``,
``t.Skip(...)``, RSpec's and minitest's ``skip``). A skip under a condition
(``skipif``, ``skipUnless``, ``if runtime.GOOS == ...``, ``@DisabledOnOs``) is the test
knowing where it cannot run, and is not found here.

The reason is the skip's own message, or else the comments on the lines just above the
skip (annotations and decorators between them aside) or after it on its line. A
message computed at run time (``unittest.skip(msg)``) is not read: such a skip is not
judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convergio_gate import lazyre
from convergio_gate.lang import rust_attributes
from convergio_gate.lang.bodies import enclosing_function, is_docstring
from convergio_gate.lang.comments import is_comment

if TYPE_CHECKING:
    from collections.abc import Callable

    from tree_sitter import Node, Tree

LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "java", "rust", "go", "ruby"})
_JS_HINT = rb"\.(?:skip|fixme)\b|\bx(?:it|test|describe|context|specify)\b"
#: Where a skip may be, per language: the files without one are not parsed for it.
HINTS: dict[str, re.Pattern[bytes]] = {
    "python": lazyre.compile(rb"skip\b|skipTest\b|SkipTest\b"),
    "javascript": lazyre.compile(_JS_HINT),
    "typescript": lazyre.compile(_JS_HINT),
    "tsx": lazyre.compile(_JS_HINT),
    "java": lazyre.compile(rb"@(?:\w+\.)*(?:Disabled|Ignore)\b|\benabled\s*=\s*false"),
    "rust": lazyre.compile(rb"#\[ignore\b"),
    "go": lazyre.compile(rb"\.Skip(?:Now|f)?\("),
    "ruby": lazyre.compile(
        rb"\bx(?:it|specify|example|scenario|describe|context|feature)\b|\bskip\b|\bpending\b"
    ),
}

_JS_FOCUS = rb"\.only\b|\bf(?:it|describe|context)\b"
#: Where a focused test may be: the languages whose frameworks can run one test alone
#: from the code (``it.only``, ``fit``, RSpec's ``focus: true``).
FOCUS_HINTS: dict[str, re.Pattern[bytes]] = {
    "javascript": lazyre.compile(_JS_FOCUS),
    "typescript": lazyre.compile(_JS_FOCUS),
    "tsx": lazyre.compile(_JS_FOCUS),
    "ruby": lazyre.compile(
        rb"\bf(?:it|describe|context|specify|example|scenario|feature)\b|\bfocus\b"
    ),
}

PYTHON_MARKS = frozenset({"pytest.mark.skip", "mark.skip", "unittest.skip", "skip"})
PYTHON_CALLS = frozenset({"pytest.skip", "self.skipTest", "skipTest"})
PYTHON_RAISES = frozenset({"unittest.SkipTest", "SkipTest", "pytest.skip.Exception"})
#: JS/TS suites and tests, and what switches one off: ``it.skip``, Playwright's
#: ``test.fixme`` (which says it is broken), Jasmine's and Mocha's ``xit``.
JS_SUITES = frozenset({"it", "test", "describe", "context", "suite", "specify", "test.describe"})
JS_SKIPS = frozenset({"skip", "fixme"})
JS_X = frozenset({"xit", "xtest", "xdescribe", "xcontext", "xspecify"})
JS_F = frozenset({"fit", "fdescribe", "fcontext"})
RUBY_F = frozenset(
    {"fit", "fspecify", "fexample", "fscenario", "fdescribe", "fcontext", "ffeature"}
)
JAVA_SKIPS = frozenset({"Disabled", "Ignore"})
GO_SKIPS = frozenset({"Skip", "SkipNow", "Skipf"})
RUBY_X = frozenset(
    {"xit", "xspecify", "xexample", "xscenario", "xdescribe", "xcontext", "xfeature"}
)
RUBY_TESTS = frozenset(
    {"it", "specify", "example", "scenario", "describe", "context", "feature", "test"}
)
RUBY_SKIPS = frozenset({"skip", "pending"})
#: What a comment starts with, by language family.
_COMMENT = re.compile(r"\s*(?:#(?![\[!])|//|/\*|\*)")
_ANNOTATION = re.compile(r"\s*(?:@|#\[)")
_TRAILING = re.compile(r"(?:^|[\s{;,(])(?:#|//|/\*)\s*(\S.*)")
#: String literals, by grammar, and the parts of one that are not its text.
_STRINGS = frozenset(
    {
        "string",
        "string_literal",
        "interpreted_string_literal",
        "raw_string_literal",
        "template_string",
        "concatenated_string",
    }
)
_STRING_ENDS = frozenset({"string_start", "string_end"})


@dataclass(frozen=True)
class Skip:
    """A test switched off: where, which test, and why (None: no reason given)."""

    node: Node
    name: str
    reason: str | None
    #: The skip itself says the test is broken (Playwright's ``test.fixme``).
    admitted: bool = False


class _Computed(Exception):
    """The reason is computed at run time: the skip is not judged."""


def find(lang: str, tree: Tree, data: bytes) -> list[Skip]:
    """The unconditional skips of tests in ``tree`` (see the module's docstring)."""
    hint = HINTS.get(lang)
    return [] if hint is None else _found(hint, _FINDERS[lang], tree, data)


def focused(lang: str, tree: Tree, data: bytes) -> list[Skip]:
    """The tests in ``tree`` focused so that the run skips every other one: ``it.only``,
    ``describe.only``, ``fit``, ``fdescribe``, RSpec's ``fit`` and ``focus: true``. Their
    reason is not read: a focus is for a run on a desk, never for a commit."""
    hint = FOCUS_HINTS.get(lang)
    finder = _ruby_focus if lang == "ruby" else _js_focus
    return [] if hint is None else _found(hint, finder, tree, data, reasons=False)


def _found(
    hint: re.Pattern[bytes],
    finder: Callable[[Node], Skip | None],
    tree: Tree,
    data: bytes,
    *,
    reasons: bool = True,
) -> list[Skip]:
    """What ``finder`` makes of each match of ``hint``, once per node; with ``reasons``,
    a skip that gives none takes the comments around it (:func:`_comment_reason`)."""
    lines = data.split(b"\n") if reasons else []
    found: list[Skip] = []
    seen: set[int] = set()
    for match in hint.finditer(data):
        node = tree.root_node.descendant_for_byte_range(match.start(), match.end() - 1)
        if node is None:
            continue
        try:
            skip = finder(node)
        except _Computed:
            continue
        if skip is None or skip.node.start_byte in seen:
            continue
        seen.add(skip.node.start_byte)
        if reasons and skip.reason is None:
            skip = Skip(skip.node, skip.name, _comment_reason(lines, skip.node), skip.admitted)
        found.append(skip)
    return found


def _comment_reason(lines: list[bytes], node: Node) -> str | None:
    """The comments on the lines just above ``node`` (annotation lines between them
    skipped) and after it on its first line, or None."""
    row, column = node.start_point
    said: list[str] = []
    first = lines[row][column:].decode("utf-8", "replace") if row < len(lines) else ""
    trailing = _TRAILING.search(first)
    if trailing is not None:
        said.append(trailing.group(1))
    above = row - 1
    while above >= 0:
        text = lines[above].decode("utf-8", "replace")
        if _COMMENT.match(text):
            said.append(text.strip().lstrip("#/*").strip())
        elif not text.strip() or not _ANNOTATION.match(text):
            break
        above -= 1
    reason = " ".join(s for s in said if s)
    return reason or None


def _text(node: Node | None) -> str:
    return (node.text or b"").decode("utf-8", "replace") if node is not None else ""


def _literal(node: Node | None) -> str:
    """The text of a string literal; raises :class:`_Computed` for anything else (a
    name, a call, an interpolated string)."""
    if node is None or node.type not in _STRINGS:
        raise _Computed
    if node.type == "concatenated_string":
        return " ".join(_literal(c) for c in node.named_children)
    parts = node.named_children
    if any(c.type in ("interpolation", "template_substitution") for c in parts):
        raise _Computed
    return "".join(_text(c) for c in parts if c.type not in _STRING_ENDS)


def _climb(node: Node, kinds: frozenset[str] | set[str], limit: int = 5) -> Node | None:
    found: Node | None = node
    for _ in range(limit):
        if found is None or found.type in kinds:
            return found
        found = found.parent
    return None


def _first_statement(body: Node | None) -> Node | None:
    """The first statement of a block, comments and a Python docstring aside."""
    if body is None:
        return None
    found = [c for c in body.named_children if not is_comment(c)]
    if len(found) == 1 and found[0].type == "statement_list":  # Go
        found = [c for c in found[0].named_children if not is_comment(c)]
    if found and is_docstring(found[0]):
        found = found[1:]
    return found[0] if found else None


# Python


def _python(node: Node) -> Skip | None:
    owner = _climb(node, {"decorator", "expression_statement", "raise_statement"})
    if owner is None:
        return None
    if owner.type == "decorator":
        return _python_decorator(owner)
    return _python_statement(owner)


def _python_mark(expression: Node | None) -> tuple[bool, Node | None]:
    """Whether ``expression`` is a skip mark, and its call's arguments if it is a call."""
    if expression is None:
        return False, None
    if expression.type == "call":
        callee = expression.child_by_field_name("function")
        return _text(callee) in PYTHON_MARKS, expression.child_by_field_name("arguments")
    return _text(expression) == "pytest.mark.skip", None


def _python_reason(arguments: Node | None, keywords: tuple[str, ...]) -> str | None:
    if arguments is None:
        return None
    for argument in arguments.named_children:
        if argument.type == "keyword_argument":
            key = _text(argument.child_by_field_name("name"))
            if key in keywords:
                return _literal(argument.child_by_field_name("value")) or None
        elif not is_comment(argument):
            return _literal(argument) or None
    return None


def _python_decorator(decorator: Node) -> Skip | None:
    expression = decorator.named_children[0] if decorator.named_children else None
    is_skip, arguments = _python_mark(expression)
    if not is_skip:
        return None
    if arguments is None and _text(expression) != "pytest.mark.skip":
        return None
    held = decorator.parent
    definition = held.child_by_field_name("definition") if held is not None else None
    if definition is None:
        return None
    name = _text(definition.child_by_field_name("name"))
    if definition.type == "function_definition" and not name.startswith("test"):
        return None
    if _python_nested(definition):
        return None
    return Skip(decorator, name, _python_reason(arguments, ("reason",)))


def _python_nested(definition: Node) -> bool:
    """Whether a definition is inside a function: a test of the test framework itself
    (``unittest``'s own suite skips the tests it defines inside its tests), or a
    helper's."""
    return enclosing_function("python", definition) is not None


def _python_statement(statement: Node) -> Skip | None:
    parent = statement.parent
    expression = statement.named_children[0] if statement.named_children else None
    if expression is None:
        return None
    if parent is not None and parent.type == "module":
        if expression.type == "assignment":  # pytestmark = pytest.mark.skip(...)
            if _text(expression.child_by_field_name("left")) != "pytestmark":
                return None
            is_skip, arguments = _python_mark(expression.child_by_field_name("right"))
            reason = _python_reason(arguments, ("reason",)) if is_skip else None
            return Skip(statement, "this module", reason) if is_skip else None
        if expression.type == "call" and _text(expression.child_by_field_name("function")) == (
            "pytest.skip"
        ):
            arguments = expression.child_by_field_name("arguments")
            return Skip(statement, "this module", _python_reason(arguments, ("reason", "msg")))
        return None
    function = parent.parent if parent is not None and parent.type == "block" else None
    if function is None or function.type != "function_definition":
        return None
    name = _text(function.child_by_field_name("name"))
    if not name.startswith("test") or _first_statement(parent) != statement:
        return None
    if _python_nested(function):
        return None
    if statement.type == "raise_statement":
        raised = expression
        arguments = None
        if raised.type == "call":
            arguments = raised.child_by_field_name("arguments")
            raised = raised.child_by_field_name("function") or raised
        if _text(raised) not in PYTHON_RAISES:
            return None
        return Skip(statement, name, _python_reason(arguments, ("reason", "msg")))
    if expression.type != "call":
        return None
    if _text(expression.child_by_field_name("function")) not in PYTHON_CALLS:
        return None
    arguments = expression.child_by_field_name("arguments")
    return Skip(statement, name, _python_reason(arguments, ("reason", "msg")))


# JavaScript, TypeScript


def _js(node: Node) -> Skip | None:
    call = _climb(node, {"call_expression"}, 4)
    if call is None:
        return None
    callee = call.child_by_field_name("function")
    if callee is None:
        return None
    admitted = False
    if callee.type == "member_expression":
        prop = _text(callee.child_by_field_name("property"))
        if prop not in JS_SKIPS or _text(callee.child_by_field_name("object")) not in JS_SUITES:
            return None
        admitted = prop == "fixme"
    elif _text(callee) not in JS_X:
        return None
    title = _js_title(call)  # None for Playwright's test.skip(condition, "why")
    if title is None:
        return None
    return Skip(call.parent or call, title, None, admitted)


def _js_title(call: Node) -> str | None:
    """The title of a test or suite declared by ``call`` (a title, then a function), or
    None when ``call`` declares none."""
    arguments = call.child_by_field_name("arguments")
    given = [c for c in arguments.named_children if not is_comment(c)] if arguments else []
    if len(given) < 2 or given[0].type not in ("string", "template_string"):
        return None
    if not any(c.type in ("arrow_function", "function_expression", "function") for c in given):
        return None
    return _text(given[0]).strip("\"'`")


def _js_focus(node: Node) -> Skip | None:
    call = _climb(node, {"call_expression"}, 4)
    callee = call.child_by_field_name("function") if call is not None else None
    if call is None or callee is None:
        return None
    if callee.type == "member_expression":
        if _text(callee.child_by_field_name("property")) != "only":
            return None
        if _text(callee.child_by_field_name("object")) not in JS_SUITES:
            return None
    elif _text(callee) not in JS_F:
        return None
    title = _js_title(call)
    return Skip(call.parent or call, title, None) if title is not None else None


# Java


def _java(node: Node) -> Skip | None:
    annotation = _climb(node, {"annotation", "marker_annotation"}, 4)
    if annotation is None:
        return None
    name = _text(annotation.child_by_field_name("name")).rsplit(".", 1)[-1]
    arguments = annotation.child_by_field_name("arguments")
    reason: str | None = None
    if name == "Test":  # TestNG: @Test(enabled = false)
        pairs = {
            _text(p.child_by_field_name("key")): p.child_by_field_name("value")
            for p in (arguments.named_children if arguments is not None else [])
            if p.type == "element_value_pair"
        }
        if _text(pairs.get("enabled")) != "false":
            return None
        description = pairs.get("description")
        reason = _literal(description) if description is not None else None
    elif name in JAVA_SKIPS:
        reason = _java_reason(arguments)
    else:
        return None
    modifiers = annotation.parent
    declaration = modifiers.parent if modifiers is not None else None
    if declaration is None or declaration.type not in ("method_declaration", "class_declaration"):
        return None
    return Skip(annotation, _text(declaration.child_by_field_name("name")), reason or None)


def _java_reason(arguments: Node | None) -> str | None:
    if arguments is None:
        return None
    for argument in arguments.named_children:
        if argument.type == "element_value_pair":
            if _text(argument.child_by_field_name("key")) == "value":
                return _literal(argument.child_by_field_name("value"))
        elif not is_comment(argument):
            return _literal(argument)
    return None


# Rust


def _rust(node: Node) -> Skip | None:
    item = _climb(node, {"attribute_item"}, 4)
    if item is None:
        return None
    attribute = item.named_children[0] if item.named_children else None
    if (
        attribute is None
        or _text(attribute.named_children[0] if attribute.named_children else None) != "ignore"
    ):
        return None
    given = [c for c in attribute.named_children[1:] if c.type == "string_literal"]
    function = item.next_named_sibling
    while function is not None and function.type in (
        "attribute_item",
        "line_comment",
        "block_comment",
    ):
        function = function.next_named_sibling
    if function is None or function.type != "function_item":
        return None
    if not any("test" in _text(a) for a in rust_attributes(function)):
        return None
    reason = _literal(given[0]) if given else None
    return Skip(item, _text(function.child_by_field_name("name")), reason or None)


# Go


def _go(node: Node) -> Skip | None:
    call = _climb(node, {"call_expression"}, 4)
    callee = call.child_by_field_name("function") if call is not None else None
    if call is None or callee is None or callee.type != "selector_expression":
        return None
    if _text(callee.child_by_field_name("field")) not in GO_SKIPS:
        return None
    statement = call.parent
    function = _climb(statement, {"function_declaration"}, 4) if statement else None
    if function is None or statement is None:
        return None
    name = _text(function.child_by_field_name("name"))
    if (
        not name.startswith("Test")
        or _first_statement(function.child_by_field_name("body")) != statement
    ):
        return None
    arguments = call.child_by_field_name("arguments")
    given = [c for c in arguments.named_children if not is_comment(c)] if arguments else []
    reason = _literal(given[0]) if given else None
    return Skip(statement, name, reason or None)


# Ruby


def _ruby(node: Node) -> Skip | None:
    word = _text(node)
    if node.type == "identifier" and word in RUBY_X:
        call = _ruby_block_call(node)
        return Skip(call, _ruby_title(call), None) if call is not None else None
    if node.type in ("hash_key_symbol", "simple_symbol") and word.lstrip(":") in RUBY_SKIPS:
        found = _ruby_metadata(node)
        if found is None:
            return None
        call, value = found
        if value is not None and value.type in ("false", "nil"):
            return None
        reason = None if value is None or value.type == "true" else _literal(value)
        return Skip(call, _ruby_title(call), reason or None)
    if node.type == "identifier" and word in RUBY_SKIPS:
        return _ruby_statement(node)
    return None


def _ruby_title(call: Node) -> str:
    arguments = call.child_by_field_name("arguments")
    first = arguments.named_children[0] if arguments and arguments.named_children else None
    return (
        _text(first).strip("\"'")
        if first is not None
        else _text(call.child_by_field_name("method"))
    )


def _ruby_block_call(method: Node) -> Node | None:
    """The call ``method`` names, if it is given a block (``xit "x" do ... end``)."""
    call = method.parent
    if call is None or call.type != "call" or call.child_by_field_name("block") is None:
        return None
    return call if call.child_by_field_name("method") == method else None


def _ruby_metadata(symbol: Node) -> tuple[Node, Node | None] | None:
    """For metadata on an example or group (``it "x", skip: "why" do``, ``it "x", :skip
    do``): the call, and the value given (None for a bare symbol)."""
    holder = symbol.parent
    value: Node | None = None
    if holder is not None and holder.type == "pair":
        if holder.child_by_field_name("key") != symbol:
            return None
        value = holder.child_by_field_name("value")
        holder = holder.parent
    if holder is None or holder.type != "argument_list":
        return None
    call = holder.parent
    if (
        call is None
        or call.type != "call"
        or _text(call.child_by_field_name("method")) not in RUBY_TESTS
    ):
        return None
    return call, value


def _ruby_statement(word: Node) -> Skip | None:
    """``skip "why"`` or ``pending`` first in an RSpec example or a minitest test."""
    statement = word.parent if word.parent is not None and word.parent.type == "call" else word
    if statement.type == "call" and statement.child_by_field_name("receiver") is not None:
        return None
    body = statement.parent
    if body is None or body.type != "body_statement" or _first_statement(body) != statement:
        return None
    unit = body.parent
    if unit is None:
        return None
    if unit.type == "method":
        name = _text(unit.child_by_field_name("name"))
        if not name.startswith("test_"):
            return None
    elif unit.type in ("do_block", "block") and unit.parent is not None:
        call = unit.parent
        method = _text(call.child_by_field_name("method"))
        if method not in RUBY_TESTS or method in ("describe", "context", "feature"):
            return None
        name = _ruby_title(call)
    else:
        return None
    arguments = statement.child_by_field_name("arguments") if statement.type == "call" else None
    given = [c for c in arguments.named_children if not is_comment(c)] if arguments else []
    reason = _literal(given[0]) if given else None
    return Skip(statement, name, reason or None)


def _ruby_focus(node: Node) -> Skip | None:
    word = _text(node)
    call: Node | None = None
    if node.type == "identifier" and word in RUBY_F:
        call = _ruby_block_call(node)
    elif node.type in ("hash_key_symbol", "simple_symbol") and word.lstrip(":") == "focus":
        found = _ruby_metadata(node)
        if found is not None and (found[1] is None or found[1].type == "true"):
            call = found[0]
    return Skip(call, _ruby_title(call), None) if call is not None else None


_FINDERS = {
    "python": _python,
    "javascript": _js,
    "typescript": _js,
    "tsx": _js,
    "java": _java,
    "rust": _rust,
    "go": _go,
    "ruby": _ruby,
}

"""What a function's body computes, read from its parse tree.

The stub gate's ``fake-return`` rule asks one question of it: does the function that
holds a comment compute anything? A comment that calls the code fake ("mock data",
"pretend we synced", "replace with the actual database call") is an admission when the
function it sits in computes nothing: comments aside, its body at most logs or waits (as
a fake of a slow service does), then returns a constant. A constant here is a literal
(number, string, boolean, null), a collection or record of constants, a parameter or
other bare name but ``self`` (the function hands back what it was given), or a value
built from literals by a constructor or conversion that does no work
(``String::from("x")``, ``List.of()``, ``Promise.resolve([])``, ``new ArrayList<>()``,
``vec![1, 2]``). The same words in a function that calls the service, reads the
database or computes its result describe something else (a mock library, a simulator,
a placeholder attribute), so they are not judged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from convergio_gate.lang.comments import is_comment

if TYPE_CHECKING:
    from tree_sitter import Node

_JS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)
#: The node types of a function, by language.
FUNCTIONS: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition"}),
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "go": frozenset({"function_declaration", "method_declaration", "func_literal"}),
    "rust": frozenset({"function_item", "closure_expression"}),
    "java": frozenset({"method_declaration", "lambda_expression"}),
    "c": frozenset({"function_definition"}),
    "cpp": frozenset({"function_definition", "lambda_expression"}),
    "ruby": frozenset({"method", "singleton_method"}),
}

#: Literals, in every grammar: they are constants whatever they hold (an f-string or
#: template too: it formats what it is given).
ATOMS = frozenset(
    {
        # Python, JavaScript, Ruby, C
        "integer",
        "float",
        "string",
        "concatenated_string",
        "true",
        "false",
        "none",
        "null",
        "nil",
        "undefined",
        "number",
        "template_string",
        "simple_symbol",
        "hash_key_symbol",
        "delimited_symbol",
        "number_literal",
        "char_literal",
        "nullptr",
        # Go
        "interpreted_string_literal",
        "raw_string_literal",
        "int_literal",
        "float_literal",
        "imaginary_literal",
        "rune_literal",
        "iota",
        # Rust
        "string_literal",
        "integer_literal",
        "boolean_literal",
        "unit_expression",
        # Java
        "decimal_integer_literal",
        "hex_integer_literal",
        "octal_integer_literal",
        "binary_integer_literal",
        "decimal_floating_point_literal",
        "null_literal",
        "character_literal",
        "text_block",
    }
)
#: Bare names: a parameter handed back, a module's constant.
NAMES = frozenset({"identifier", "shorthand_property_identifier", "constant"})
SELF = frozenset({b"self", b"cls", b"this"})
#: Nodes that are constant when every part of them is: collections, records, and the
#: wrappers around a value (parentheses, a cast, a sign).
COMPOSITES = frozenset(
    {
        "list",
        "tuple",
        "dictionary",
        "set",
        "pair",
        "array",
        "object",
        "hash",
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "unary_operator",
        "unary_expression",
        "expression_list",
        "argument_list",
        "composite_literal",
        "literal_value",
        "literal_element",
        "keyed_element",
        "initializer_list",
        "array_expression",
        "tuple_expression",
        "struct_expression",
        "field_initializer_list",
        "field_initializer",
        "shorthand_field_initializer",
        "array_creation_expression",
        "array_initializer",
        "scoped_identifier",
        "compound_literal_expression",
    }
)
#: Parts of a composite that name rather than compute: keys and types.
NAMING = frozenset({"property_identifier", "field_identifier", "type_arguments", "dimensions"})
#: Constructors and conversions that do no work: a call of one of these names with
#: constant arguments is a constant.
CONSTRUCTORS = frozenset(
    {
        "from",
        "new",
        "of",
        "empty",
        "emptyList",
        "emptyMap",
        "emptySet",
        "singletonList",
        "asList",
        "valueOf",
        "completedFuture",
        "resolve",
        "Ok",
        "Some",
        "to_string",
        "to_owned",
        "into",
        "String",
        "Map",
        "Set",
        "Array",
        "Object",
        "dict",
        "list",
        "set",
        "tuple",
        "frozenset",
        "vec",
    }
)
CALLS = frozenset({"call", "call_expression", "method_invocation", "macro_invocation"})
NEWS = frozenset({"new_expression", "object_creation_expression"})
#: A statement that only logs: print, console.log, a logger, fmt.Println, println! ...
_LOGS = re.compile(
    r"(?:await\s+)?(?:print|printf|println!?|eprintln!?|puts|pp?|console\.\w+"
    r"|(?:self\.|this\.)?_?(?:log|logger|logging|LOG|LOGGER|LOG_)(?:\.\w+)?"
    r"|fmt\.(?:Print|Fprint)\w*|System\.(?:out|err)\.print\w*"
    r"|(?:log::|tracing::)?(?:info|debug|warn|trace)!)\s*[(\s]"
)
#: A statement that only waits: ``time.sleep``, ``await asyncio.sleep``, ``await new
#: Promise((r) => setTimeout(r, 500))``, ``Thread.sleep``, ``time.Sleep``,
#: ``thread::sleep``; a function that waits and then returns a constant plays a service.
_WAITS = re.compile(
    r"(?:await\s+)?(?:(?:time|asyncio|Thread|thread|std::thread|tokio::time|TimeUnit\.\w+)"
    r"(?:\.|::))?(?:sleep|Sleep)\s*\(|(?:await\s+)?new\s+Promise\s*\(.*\bsetTimeout\b",
    re.DOTALL,
)
#: How deep a constant is looked into: deeper is data, not a stand-in.
MAX_DEPTH = 12


def enclosing_function(lang: str, node: Node) -> Node | None:
    """The innermost function of ``lang`` that holds ``node``, or None."""
    kinds = FUNCTIONS.get(lang, frozenset())
    parent = node.parent
    while parent is not None:
        if parent.type in kinds:
            return parent
        parent = parent.parent
    return None


def in_body(unit: Node, node: Node) -> bool:
    """Whether ``node`` (a comment) is inside ``unit``'s body: past its parameters (a
    Python or Ruby comment before the first statement is the function's child, not the
    body's) and before its end."""
    signature = (
        unit.child_by_field_name("parameters")
        or unit.child_by_field_name("declarator")
        or unit.child_by_field_name("name")
    )
    start = signature.end_byte if signature is not None else unit.start_byte
    return start <= node.start_byte and node.end_byte <= unit.end_byte


def statements(lang: str, unit: Node) -> list[Node] | None:
    """The statements of ``unit``'s body, comments and a Python docstring aside; an
    arrow function's or a lambda's expression body as its one statement; None when it
    has no body."""
    body = unit.child_by_field_name("body")
    if body is None:
        return None
    if body.type not in _BLOCKS:
        return [body]
    found = [c for c in body.named_children if not is_comment(c)]
    if lang == "go" and len(found) == 1 and found[0].type == "statement_list":
        found = [c for c in found[0].named_children if not is_comment(c)]
    if lang == "python" and found and is_docstring(found[0]):
        found = found[1:]
    return found


def returns_constant(lang: str, unit: Node) -> bool:
    """Whether ``unit``'s body, comments aside, at most logs and then returns a constant
    (see the module's docstring)."""
    body = unit.child_by_field_name("body")
    if body is not None and body.type not in _BLOCKS:  # an expression body
        return constant(body)
    found = statements(lang, unit)
    if not found:
        return False
    last = found[-1]
    values = _returned(lang, last)
    if not values and last.type not in ("return_statement", "return"):
        return False  # a bare return hands back nothing: a constant too
    if not all(constant(v) for v in values):
        return False
    return all(_idle(_text(s)) for s in found[:-1])


def _idle(statement: str) -> bool:
    """Whether ``statement`` only logs or waits."""
    return _LOGS.match(statement) is not None or _WAITS.match(statement) is not None


_BLOCKS = frozenset(
    {"block", "statement_block", "compound_statement", "body_statement", "block_body"}
)


def _returned(lang: str, last: Node) -> list[Node]:
    """What the last statement of a body returns: the value of a ``return``, or the
    last expression of a Rust block or a Ruby method; [] for anything else."""
    kind = last.type
    if kind == "return_statement":
        values = [c for c in last.named_children if not is_comment(c)]
        if len(values) == 1 and values[0].type == "expression_list":
            return [c for c in values[0].named_children if not is_comment(c)]
        return values
    if lang == "rust":
        if kind == "expression_statement":
            inner = last.named_children
            if len(inner) == 1 and inner[0].type == "return_expression":
                return list(inner[0].named_children)
            return []
        return [last] if not kind.endswith(("_declaration", "_item")) else []
    if lang == "ruby":
        if kind == "return":
            return [c for c in last.named_children if not is_comment(c)]
        return [last]  # its last expression, which :func:`constant` judges
    return []


def constant(node: Node, depth: int = 0, *, names: bool = True) -> bool:
    """Whether ``node`` is a constant (see the module's docstring). ``names``: whether a
    bare name counts; not in a constructor's arguments, where ``list(rows)`` copies what
    it is given, which is work."""
    if depth > MAX_DEPTH:
        return False
    kind = node.type
    if kind in ATOMS:
        return True
    if kind in NAMES:
        return names and node.text not in SELF  # a method handing back its object is fluent
    if kind in COMPOSITES:
        return all(constant(c, depth + 1, names=names) for c in _parts(node))
    if kind in NEWS:
        return _arguments_constant(node, depth)
    if kind in CALLS:
        return _constructed(node, depth)
    return False


def _arguments_constant(call: Node, depth: int) -> bool:
    arguments = call.child_by_field_name("arguments")
    return arguments is None or all(constant(c, depth + 1, names=False) for c in _parts(arguments))


def _constructed(call: Node, depth: int) -> bool:
    """Whether ``call`` is a constructor or conversion of :data:`CONSTRUCTORS` with
    constant arguments, called on nothing, a type, or a constant."""
    if call.type == "macro_invocation":
        name = call.child_by_field_name("macro")
        tokens = [c for c in call.named_children if c.type == "token_tree"]
        return (
            name is not None
            and _text(name) == "vec"
            and all(c.type in ATOMS or c.type in NAMES for t in tokens for c in t.named_children)
        )
    callee = call.child_by_field_name("function") or call.child_by_field_name("method")
    if call.type == "method_invocation":
        callee = call.child_by_field_name("name")
    if callee is None:
        return False
    names = re.split(r"::|\.", _text(callee))
    if names[-1] not in CONSTRUCTORS:
        return False
    receiver = call.child_by_field_name("object") or call.child_by_field_name("receiver")
    if receiver is None and callee.type == "field_expression":  # Rust "x".to_string()
        receiver = callee.child_by_field_name("value")
    if receiver is None and callee.type == "member_expression":  # Promise.resolve
        receiver = callee.child_by_field_name("object")
    if receiver is not None and receiver.type not in NAMES and not constant(receiver, depth + 1):
        return False  # a type's constructor (List.of), or a constant's conversion
    return _arguments_constant(call, depth)


def _parts(node: Node) -> list[Node]:
    """The named children of ``node`` that hold values: not comments, keys or types."""
    return [
        c
        for c in node.named_children
        if not is_comment(c) and c.type not in NAMING and "type" not in c.type
    ]


def is_docstring(statement: Node) -> bool:
    """Whether a Python statement is a string on its own: a docstring where it is first."""
    return statement.type == "expression_statement" and [
        c.type for c in statement.named_children
    ] == ["string"]


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


#: The words of assertions: the test frameworks' functions and matchers, and what they
#: are called on. A statement that names nothing else asserts about constants only.
ASSERT_WORDS = frozenset(
    {
        # Python: assert, unittest, pytest
        "self",
        "assertTrue",
        "assertFalse",
        "assertEqual",
        "assertEquals",
        "assertIs",
        "assertIsNot",
        "assertIsNone",
        "assertIsNotNone",
        "assertIn",
        "pytest",
        # JavaScript and TypeScript: Jest, Vitest, Chai, node:assert
        "expect",
        "assert",
        "not",
        "toBe",
        "toEqual",
        "toStrictEqual",
        "toBeTruthy",
        "toBeFalsy",
        "toBeDefined",
        "toBeNull",
        "ok",
        "equal",
        "equals",
        "strictEqual",
        "deepEqual",
        "deepStrictEqual",
        "notEqual",
        "to",
        "be",
        "is",
        "true",
        "false",
        # Java: JUnit, AssertJ
        "Assert",
        "Assertions",
        "assertNull",
        "assertNotNull",
        "assertSame",
        "assertThat",
        "isTrue",
        "isFalse",
        "isEqualTo",
        "isNotNull",
        # Rust
        "assert_eq",
        "assert_ne",
        "debug_assert",
        # Ruby: minitest, RSpec
        "assert_equal",
        "assert_nil",
        "refute",
        "refute_nil",
        "eq",
        "eql",
        "be_truthy",
        "be_falsey",
    }
)
#: Of those, the ones that assert (the rest are what an assertion is made of).
_ASSERTING = re.compile(r"assert|expect|refute|ok\Z|should")
#: Nodes whose text is a name, checked against :data:`ASSERT_WORDS`.
_WORDS = frozenset(
    {
        "identifier",
        "property_identifier",
        "field_identifier",
        "type_identifier",
        "constant",
        "this",
        "self",
    }
)
#: Operations on values, and the operators among theirs that only compare.
_OPERATIONS = frozenset({"binary_expression", "binary_operator", "unary_operator"})
_EQUALITY = frozenset({"==", "==="})
#: Where a sum of numbers asserted equal to a number is a placeholder test: what the
#: project templates leave (Android Studio's ``assertEquals(4, 2 + 2)``, the
#: ``expect(1 + 1).toBe(2)`` of a JavaScript starter), and pytest's bare ``assert 1 + 1 ==
#: 2``. Not Python's unittest methods or Rust, whose interpreter's and core library's own
#: tests check arithmetic that way (``self.assertEqual(42 >> 1, 21)``).
ARITHMETIC_PLACEHOLDERS = frozenset({"javascript", "typescript", "tsx", "java", "ruby"})
_SUMS = frozenset({"+", "-", "*", "/", "%"})
#: Number literals, in every grammar.
_NUMBERS = frozenset(
    {
        "integer",
        "float",
        "number",
        "decimal_integer_literal",
        "decimal_floating_point_literal",
        "hex_integer_literal",
        "integer_literal",
        "float_literal",
    }
)
#: Nodes that hold code to run later: a statement with one asserts about that code.
_DEFERRED = frozenset(
    {
        "lambda",
        "lambda_expression",
        "arrow_function",
        "function_expression",
        "closure_expression",
        "block",
        "do_block",
    }
)


def asserts_constants_only(lang: str, unit: Node) -> bool:
    """Whether every statement of ``unit``'s body (comments aside, at least one) asserts
    that a literal is itself or is true (:func:`_constant_assertion`): ``assert True``,
    ``assert 1 == 1``, ``expect(true).toBe(true)``, ``assertEquals(1, 1)``,
    ``assert!(true)``, ``expect(true).to eq(true)``. Such a test runs none of the code
    it is named for."""
    found = statements(lang, unit)
    sums = lang in ARITHMETIC_PLACEHOLDERS
    return bool(found) and all(
        _constant_assertion(s, sums=sums or (lang == "python" and s.type == "assert_statement"))
        for s in found or ()
    )


def _constant_assertion(statement: Node, *, sums: bool = False) -> bool:
    """Whether ``statement`` asserts that a literal is itself or is true: it names only
    assertion words (:data:`ASSERT_WORDS`) and one literal, however often (``1 == 1``,
    ``expect(true).toBe(true)``, ``assertTrue(True)``), and computes nothing with it.
    ``assertEqual(42 >> 1, 21)`` or ``assertEqual(0x10, 16)`` tests the language
    itself: an interpreter's own suite is made of those. With ``sums``, a sum of numbers
    (``expect(1 + 1).toBe(2)``, ``assertEquals(4, 2 + 2)``) counts too: in
    :data:`ARITHMETIC_PLACEHOLDERS` it is a project template's placeholder test."""
    asserting = statement.type == "assert_statement"
    summed = False
    literals: set[bytes] = set()
    numbers = True
    todo = [statement]
    while todo:
        node = todo.pop()
        kind = node.type
        if kind in ATOMS or kind in _NUMBERS:
            literals.add(node.text or b"")  # a literal: what it holds is not code
            numbers = numbers and kind in _NUMBERS
            continue
        if kind in _DEFERRED:
            return False
        if kind in _OPERATIONS or (sums and kind == "binary"):
            operator = node.child_by_field_name("operator")
            if operator is not None and sums and operator.type in _SUMS:
                summed = True
            elif operator is None or operator.type not in _EQUALITY:
                return False
        if kind in _WORDS:
            word = _text(node)
            if word not in ASSERT_WORDS:
                return False
            asserting = asserting or _ASSERTING.match(word) is not None
            continue
        todo.extend(node.named_children)
    return asserting and (len(literals) == 1 or (summed and numbers))

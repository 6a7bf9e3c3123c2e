"""What a function's body computes: the stub gate's fake-return rule judges a comment
only inside a function that returns a constant, so the line between a constant and a
computation is tested in every language it is drawn for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from convergio_gate.lang import parse
from convergio_gate.lang.bodies import (
    FUNCTIONS,
    asserts_constants_only,
    enclosing_function,
    in_body,
    returns_constant,
)
from convergio_gate.lang.comments import is_comment

if TYPE_CHECKING:
    from tree_sitter import Node

# (language, code of one function, whether its body returns a constant)
CASES = [
    ("python", "def f(x):\n    return {'id': x, 'n': -1, 'tags': ('a', None)}\n", True),
    (
        "python",
        "def f():\n    '''Doc.'''\n    print('f')\n    logger.info('f')\n    return True\n",
        True,
    ),
    ("python", "def f():\n    return dict(a=1)\n", False),  # a keyword argument is not a part
    ("python", "def f():\n    return frozenset()\n", True),
    ("python", "def f(rows):\n    return list(rows)\n", False),  # a copy is work
    ("python", "def f(self):\n    return self\n", False),  # fluent, not fake
    ("python", "def f(self):\n    return self.value\n", False),
    ("python", "def f(x):\n    x.save()\n    return True\n", False),
    ("python", "def f():\n    return\n", True),
    ("go", "package p\n\nfunc f() {\n\treturn\n}\n", True),
    ("python", "def f():\n    pass\n", False),
    (
        "javascript",
        "function f(id) {\n  console.log(id);\n  return { id, name: 'J', tags: [] };\n}\n",
        True,
    ),
    ("javascript", "function f() {\n  return Promise.resolve([]);\n}\n", True),
    (
        "javascript",
        "async function f() {\n  await new Promise((r) => setTimeout(r, 500));\n"
        "  return USERS;\n}\n",
        True,
    ),
    ("python", "async def f():\n    await asyncio.sleep(1)\n    return []\n", True),
    ("python", "def f():\n    time.sleep(1)\n    return True\n", True),
    ("python", "def f():\n    wait_for(job)\n    return True\n", False),
    ("javascript", "function f(id) {\n  return fetch(`/u/${id}`);\n}\n", False),
    ("javascript", "const f = () => ({ ok: true });\n", True),
    ("javascript", "const f = (x) => x * 2;\n", False),
    ("typescript", "function f(): User {\n  return { id: 1 } as User;\n}\n", True),
    ("tsx", "function f() {\n  return <div />;\n}\n", False),
    ("go", 'package p\n\nfunc f() (string, error) {\n\treturn "a", nil\n}\n', True),
    ("go", 'package p\n\nfunc f() []User {\n\treturn []User{{Name: "a"}}\n}\n', True),
    ("go", 'package p\n\nfunc f() error {\n\treturn errors.New("x")\n}\n', False),
    ("go", "package p\n\nfunc f(id int) (User, error) {\n\treturn db.Get(id)\n}\n", False),
    ("rust", 'fn f() -> String {\n    String::from("x")\n}\n', True),
    ("rust", 'fn f() -> String {\n    "x".to_string()\n}\n', True),
    ("rust", "fn f() -> Vec<u8> {\n    vec![1, 2]\n}\n", True),
    ("rust", "fn f() -> Result<(), E> {\n    return Ok(());\n}\n", True),
    ("rust", "fn f(x: u8) -> u8 {\n    x + 1\n}\n", False),
    ("rust", "fn f(n: usize) -> Vec<u8> {\n    vec![0; n].into_iter().collect()\n}\n", False),
    ("java", 'class A {\n  List<String> f() {\n    return List.of("a");\n  }\n}\n', True),
    ("java", "class A {\n  List<String> f() {\n    return new ArrayList<>();\n  }\n}\n", True),
    ("java", "class A {\n  int f(int[] rows) {\n    return rows.length;\n  }\n}\n", False),
    ("java", "class A {\n  long f() {\n    return System.currentTimeMillis();\n  }\n}\n", False),
    ("c", "int f(void) {\n    return 0;\n}\n", True),
    ("c", "int f(int fd) {\n    return isatty(fd);\n}\n", False),
    ("cpp", "std::vector<int> f() {\n    return {1, 2};\n}\n", True),
    ("ruby", 'def f(id)\n  { id: id, name: "J" }\nend\n', True),
    ("ruby", "def f\n  return [1]\nend\n", True),
    ("ruby", "def f\n  Time.now\nend\n", False),
    ("ruby", "def f\n  Hash.new\nend\n", True),
]


def _first_function(lang: str, code: str) -> Node:
    root = parse(lang, code.encode()).root_node
    todo = [root]
    while todo:
        node = todo.pop(0)
        if node.type in FUNCTIONS[lang]:
            return node
        todo.extend(node.children)
    raise AssertionError(f"no function in {code!r}")


@pytest.mark.parametrize(("lang", "code", "expected"), CASES)
def test_a_constant_is_told_from_a_computation(lang: str, code: str, expected: bool) -> None:
    assert returns_constant(lang, _first_function(lang, code)) is expected


@pytest.mark.parametrize(
    ("lang", "code"),
    [
        ("python", "# above\ndef f(x):  # on the line\n    # inside\n    return 1\n# below\n"),
        ("ruby", "# above\ndef f(x) # on the line\n  # inside\n  1\nend\n# below\n"),
        (
            "go",
            "package p\n\n// above\nfunc f() int { // on the line\n"
            "\t// inside\n\treturn 1\n}\n// below\n",
        ),
        (
            "c",
            "/* above */\nint f(void) { /* on the line */\n"
            "    /* inside */\n    return 1;\n}\n/* below */\n",
        ),
    ],
)
def test_a_comment_is_in_the_body_past_the_signature(lang: str, code: str) -> None:
    root = parse(lang, code.encode()).root_node
    inside: dict[str, bool] = {}
    todo = [root]
    while todo:
        node = todo.pop()
        todo.extend(node.children)
        if is_comment(node):
            unit = enclosing_function(lang, node)
            words = (node.text or b"").decode().strip("#/* ")
            inside[words] = unit is not None and in_body(unit, node)
    assert inside == {"above": False, "on the line": True, "inside": True, "below": False}


# (language, code of one test, whether it asserts only that a literal is itself or true)
ASSERTIONS = [
    ("python", "def test_a():\n    assert True\n", True),
    ("python", 'def test_a():\n    """Doc."""\n    assert 1 == 1\n    assert "x"\n', True),
    ("python", "def test_a(self):\n    self.assertTrue(True)\n    self.assertEqual(1, 1)\n", True),
    ("python", "def test_a(self):\n    self.assertEqual(42 >> 1, 21)\n", False),
    ("python", "def test_a(self):\n    self.assertEqual(0x10, 16)\n", False),
    ("python", "def test_a():\n    assert fetch(1) == 1\n", False),
    ("python", "def test_a():\n    fetch(1)\n    assert True\n", False),
    ("python", "def test_a():\n    pass\n", False),
    ("javascript", "test('a', () => {\n  expect(true).not.toBe(false);\n});\n", False),
    ("javascript", "test('a', () => {\n  expect(2).toBe(2);\n});\n", True),
    ("javascript", "test('a', () => {\n  expect(() => f()).toThrow();\n});\n", False),
    ("javascript", "test('a', () => {\n  expect(1 + 1).toBe(2);\n});\n", True),
    ("javascript", "test('a', () => {\n  expect('a' + 'b').toBe('ab');\n});\n", False),
    ("javascript", "test('a', () => {\n  expect(1 + 2).toBe(sum(1, 2));\n});\n", False),
    ("java", "class T {\n  void a() {\n    assertEquals(4, 2 + 2);\n  }\n}\n", True),
    ("python", "def test_a():\n    assert 1 + 1 == 2\n", True),
    ("python", "def test_a(self):\n    self.assertEqual(1 + 1, 2)\n", False),
    ("java", "class T {\n  void a() {\n    assertTrue(1 == 1);\n  }\n}\n", True),
    ("rust", "fn a() {\n    assert_eq!(1, 1);\n}\n", True),
    ("rust", "fn a() {\n    assert_eq!(1 + 1, 2);\n}\n", False),
    ("ruby", "def test_a\n  assert_equal 1, 1\nend\n", True),
]


@pytest.mark.parametrize(("lang", "code", "expected"), ASSERTIONS)
def test_an_assertion_about_a_literal_is_told_from_one_about_code(
    lang: str, code: str, expected: bool
) -> None:
    assert asserts_constants_only(lang, _first_function(lang, code)) is expected

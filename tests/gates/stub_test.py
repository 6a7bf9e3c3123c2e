"""The stub gate: stand-in bodies and admitted stubs are refused in every language;
declarations (abstract, protocol, overload, interface, trait, .pyi), bodies the language
gives a job, and test doubles are not."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from convergio_gate.errors import InputError
from convergio_gate.gates import registry, rules, stub
from convergio_gate.gates._base import Context, Finding, Gate, SourceFile, blob_oid
from convergio_gate.gates.debt import judge
from convergio_gate.gates.stub import CODE_LANGUAGES, StubGate, load_rules
from convergio_gate.lang import captures, detect, parse, query
from convergio_gate.lang.comments import comments, from_spans

STRUCTURAL = {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby"}
#: The languages each rule's samples must cover (C has no exceptions to raise).
COVERAGE = {
    "empty-body": STRUCTURAL,
    "not-implemented": STRUCTURAL - {"c"},
    "admitted-stub": CODE_LANGUAGES,
    "fake-result": CODE_LANGUAGES,
    "fake-return": STRUCTURAL,
    "hollow-test": {"python", "javascript", "typescript", "tsx", "java", "rust", "ruby"},
    "skipped-test": {"python", "javascript", "typescript", "tsx", "java", "rust", "go", "ruby"},
    "focused-test": {"javascript", "typescript", "tsx", "ruby"},
}

GATE = StubGate()


def source(path: str, data: bytes | str) -> SourceFile:
    raw = data.encode() if isinstance(data, str) else data
    return SourceFile(path, raw, blob_oid(raw), detect(path, raw))


def check(path: str, data: bytes | str) -> list[Finding]:
    return GATE.check([source(path, data)], Context(root=Path(".")))


def rules_of(path: str, data: str) -> list[str]:
    return [f.rule for f in check(path, data)]


def samples() -> list[Any]:
    out = []
    for rule in rules.rules("stub"):
        for verdict in ("refuse", "allow"):
            for n, sample in enumerate(rule[verdict]):
                out.append(
                    pytest.param(rule["id"], verdict, sample, id=f"{rule['id']}-{verdict}-{n}")
                )
    return out


@pytest.mark.parametrize(("rule", "verdict", "sample"), samples())
def test_every_sample_is_judged_right(rule: str, verdict: str, sample: dict[str, str]) -> None:
    found = check(sample["path"], sample["code"])
    if verdict == "refuse":
        assert any(f.rule == rule for f in found), f"not refused: {found}"
    else:
        assert found == [], f"wrongly refused: {found}"


@pytest.mark.parametrize(("rule", "verdict", "sample"), samples())
def test_the_pre_filters_lose_no_admission(rule: str, verdict: str, sample: dict[str, str]) -> None:
    sf = source(sample["path"], sample["code"])
    skipped = GATE.rules.test_paths.search(sf.path) or GATE.rules.example_paths.search(sf.path)
    if skipped or sf.language not in CODE_LANGUAGES:
        return
    lang = sf.language or ""
    tree = parse(lang, sf.data)
    texts = comments(sf)
    in_comments = list(texts)
    docstrings = query(lang, "docstrings")
    if docstrings is not None:
        nodes = captures(docstrings, tree.root_node)
        spans = sorted({(n.start_byte, n.end_byte) for n in nodes.get("docstring", [])})
        texts.extend(from_spans(sf.data, spans))
    lines = sample["code"].split("\n")
    judged = [
        f
        for t in texts
        for f in judge("stub", sf.path, t, GATE.anywhere_rules)
        if not stub._in_example(lines, f.line)  # the examples documentation shows
    ]
    judged += [  # the rules judged inside function bodies: comments only
        f
        for t in in_comments
        for f in judge("stub", sf.path, t, GATE.body_rules)
        if not stub._in_example(lines, f.line)
    ]
    if judged:
        judged = GATE._fake_returns(lang, tree, lines, judged)
    expected = sorted((f.line, f.column, f.rule) for f in judged)
    found = sorted((f.line, f.column, f.rule) for f in check(sf.path, sf.data))
    admissions = {r.id for r in GATE.rules.admissions}
    assert [f for f in found if f[2] in admissions] == expected


def test_samples_cover_every_language_of_every_rule() -> None:
    data = {r["id"]: r for r in rules.rules("stub")}
    assert set(data) == set(COVERAGE)
    for rule_id, languages in COVERAGE.items():
        for verdict in ("refuse", "allow"):
            covered = {detect(s["path"], s["code"].encode()) for s in data[rule_id][verdict]}
            missing = sorted(languages - covered)
            assert not missing, f"{rule_id} {verdict} misses {missing}"
        if "python" not in languages:  # focused-test: Python has no focus to commit
            continue
        first_refuse, first_allow = data[rule_id]["refuse"][0], data[rule_id]["allow"][0]
        assert first_refuse["path"].endswith(".py") and first_allow["path"].endswith(".py")
        assert len(first_refuse["code"].splitlines()) <= 6


def test_every_structural_language_has_a_stubs_query() -> None:
    assert {lang for lang in STRUCTURAL if query(lang, "stubs") is None} == set()


def test_the_gate_implements_the_protocol_and_is_registered() -> None:
    gate = registry.load("stub")
    assert isinstance(gate, Gate)
    assert isinstance(gate, StubGate)
    assert (gate.id, gate.scope) == ("stub", "file")


E2 = ["empty-body", "empty-body"]


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # Python: what counts as the whole body
        ("a.py", "def f():\n    pass\n", ["empty-body"]),
        ("a.py", "def f(): ...\n", ["empty-body"]),
        ("a.py", "async def f():\n    pass\n", ["empty-body"]),
        ("a.py", "def f():\n    # one\n    pass  # two\n    # three\n", ["empty-body"]),
        ("a.py", 'def f():\n    """Doc."""\n    ...\n', ["empty-body"]),
        ("a.py", "def f():\n    x = 1\n    pass\n", []),
        ("a.py", 'def f():\n    """Doc."""\n', []),
        (
            "a.py",
            "def outer():\n    def inner():\n        pass\n    return inner\n",
            ["empty-body"],
        ),
        ("a.py", "class A:\n    @property\n    def x(self):\n        pass\n", ["empty-body"]),
        (
            "a.py",
            "class A:\n    @staticmethod\n    def x():\n        raise NotImplementedError\n",
            ["not-implemented"],
        ),
        ("a.py", "def f():\n    raise NotImplementedError()\n", ["not-implemented"]),
        ("a.py", "def f():\n    raise errors.NotImplementedError\n", ["not-implemented"]),
        ("a.py", 'def f():\n    raise ValueError("TODO")\n', ["not-implemented"]),
        ("a.py", 'def f():\n    raise ValueError("bad value")\n', []),
        ("a.py", "def f(x):\n    if x:\n        raise NotImplementedError\n    return x\n", []),
        # Python: declarations, not implementations
        (
            "a.py",
            "import abc\nclass A(abc.ABC):\n    @abc.abstractmethod\n    def f(self): pass\n",
            [],
        ),
        ("a.py", "class A:\n    @abstractproperty\n    def f(self): ...\n", []),
        ("a.py", "class P(Protocol):\n    def f(self): raise NotImplementedError\n", []),
        ("a.py", "class P(typing_extensions.Protocol, Generic[T]):\n    def f(self): pass\n", []),
        ("a.py", "class P(Protocol[T]):\n    @property\n    def f(self) -> T: ...\n", []),
        ("a.py", "@overload\ndef f(x: int) -> int: ...\n", []),
        ("a.py", "if typing.TYPE_CHECKING:\n    def f(): ...\nelse:\n    f = g\n", []),
        ("a.py", "class E(Exception):\n    pass\n", []),
        ("a.py", "try:\n    x()\nexcept Exception:\n    pass\n", []),
        ("a.py", "if TYPE_CHECKING:\n    pass\n", []),
        ("a.py", "while True:\n    pass\n", []),
        ("a.py", "f = lambda: None\n", []),
        ("a.py", "def __eq__(self, other):\n    return NotImplemented\n", []),
        ("a.py", "def _ignore(_signal, _frame):\n    pass\n", []),
        ("a.py", "class V:\n    def visit(self, _node):\n        pass\n", []),
        ("a.py", "def do_nothing(*args):\n    pass\n", []),
        # functions named for doing nothing: the no-op word as a whole word of the name
        ("a.py", "def noop_handler(*args, **kwargs):\n    pass\n", []),
        ("a.py", "def _noop_callback(event):\n    pass\n", []),
        ("a.py", "def on_close_noop(event):\n    pass\n", []),
        ("a.py", "def NOOP_HANDLER(event):\n    pass\n", []),
        ("a.js", "const noopHandler = () => {};\nfunction handleNoOp(e) {}\n", []),
        ("a.ts", "export const doNothingOnClose = (): void => {};\n", []),
        ("a.py", "def snoop(packet):\n    pass\n", ["empty-body"]),
        ("a.py", "def canopy_layout(tree):\n    pass\n", ["empty-body"]),
        ("a.py", "def nope(x):\n    pass\n", ["empty-body"]),
        ("a.js", "function noopy(x) {}\nfunction synopsis(x) {}\n", ["empty-body", "empty-body"]),
        ("types.pyi", "def f() -> int: ...\nclass A:\n    def g(self) -> None: pass\n", []),
        ("pkg/__init__.py", '"""Docs only."""\n', []),
        # JavaScript / TypeScript
        ("a.js", "function* gen() {}\n", ["empty-body"]),
        ("a.js", "export default function handler(req, res) {}\n", ["empty-body"]),
        ("a.js", "const f = function () {};\n", ["empty-body"]),
        ("a.js", "let f = () => {};\nvar g = function () {};\n", []),
        ("a.js", "el.addEventListener('click', () => {});\nfoo(function () {});\n", []),
        ("a.js", "for (;;) {}\nwhile (x) {}\nif (a) {} else {}\n", []),
        ("a.js", "class A {\n  static {}\n  get x() { return 1; }\n}\n", []),
        ("a.js", "function f() { throw new NotImplementedError(); }\n", ["not-implemented"]),
        ("a.js", "function f() { throw Error('not implemented'); }\n", ["not-implemented"]),
        ("a.js", "function f() { throw new TypeError('bad'); }\n", []),
        ("a.ts", "class A {\n  constructor(private x: number, public y: string) {}\n}\n", []),
        ("a.ts", "declare module 'x' {\n  export function f(): void;\n}\n", []),
        ("a.ts", "export abstract class A {\n  protected abstract run(): Promise<void>;\n}\n", []),
        ("a.ts", "export class B extends A {\n  protected override async run() {}\n}\n", []),
        ("a.tsx", "export function Empty(): JSX.Element {}\n", ["empty-body"]),
        # Go
        (
            "a.go",
            'package a\n\nfunc (s *S) Close() error {\n\tpanic("unimplemented")\n}\n',
            ["not-implemented"],
        ),
        ("a.go", 'package a\n\nfunc F() {\n\tpanic("implement me")\n}\n', ["not-implemented"]),
        ("a.go", 'package a\n\nfunc (T) String() string {\n\treturn ""\n}\n', []),
        ("a.go", 'package a\n\nfunc init() {\n\tx = 1\n\tpanic("TODO")\n}\n', []),
        ("a.go", "package a\n\nfunc (w nopWriter) Write(_ []byte) {}\n", []),
        # Go: parameterless, resultless methods are markers only when unexported (or Is...)
        ("a.go", "package a\n\nfunc (s *T) NormalizeRawCatalog() {}\n", ["empty-body"]),
        ("a.go", "package a\n\nfunc (T) Reset() {\n\t// nothing yet\n}\n", ["empty-body"]),
        ("a.go", "package a\n\nfunc (T) isNode() {}\nfunc (*T) exprNode() {}\n", []),
        ("a.go", "package a\n\nfunc (T) _marker() {}\nfunc (T) IsExpr() {}\n", []),
        ("a.go", "package a\n\nfunc (Cat) Island() {}\n", ["empty-body"]),
        ("a.go", "package a\n\nfunc (*Msg) ProtoMessage() {}\n", []),
        ("a.go", "package a\n\nfunc (*noCopy) Lock()   {}\nfunc (*noCopy) Unlock() {}\n", []),
        ("a.go", "package a\n\nfunc (s *T) Handle(x int) {}\n", ["empty-body"]),
        ("a.go", "package a\n\nfunc (s *T) noopFlush() {}\nfunc (s *T) NoopFlush() {}\n", []),
        ("a.go", "package a\n\nfunc (*Name) CanBeNtype() {}\nfunc (T) ImplementsNode() {}\n", []),
        ("a.go", "package a\n\nfunc (e *E) RuntimeError() {}\nfunc (s Sig) Signal() {}\n", []),
        ("a.go", "package a\n\nfunc (*fact) AFact() {}\n", []),
        ("a.go", "package a\n\nfunc (s *T) Cancel() {}\nfunc (s *T) Signals() {}\n", E2),
        # Go: methods of a type named for doing nothing
        ("a.go", "package a\n\nfunc (NopResetter) Reset() {}\n", []),
        ("a.go", "package a\n\nfunc (s *noopSpan[T]) SetName(name string) {}\n", []),
        ("a.go", "package a\n\nfunc (w nopWriter) Write(p []byte) {}\n", []),
        ("a.go", "package a\n\nfunc (s *Snooper) Reset() {}\n", ["empty-body"]),
        # Rust
        (
            "a.rs",
            'impl X {\n    fn f(&self) -> u8 {\n        todo!("later")\n    }\n}\n',
            ["not-implemented"],
        ),
        ("a.rs", "fn f() {\n    let x = 1;\n    if x > 0 { todo!() }\n}\n", ["not-implemented"]),
        ("a.rs", "fn f(&self, _event: &Event) {}\n", []),
        ("a.rs", "trait T {\n    fn a(&self);\n    fn b(&self) -> u8;\n}\n", []),
        ("a.rs", 'fn main() {\n    println!("hi");\n}\n', []),
        # Java
        ("A.java", "class A {\n    public static void main(String[] a) {}\n}\n", ["empty-body"]),
        (
            "A.java",
            "class A {\n    void f() { throw new NotImplementedException(); }\n}\n",
            ["not-implemented"],
        ),
        (
            "A.java",
            'class A {\n    void f() { throw new IllegalStateException("closed"); }\n}\n',
            [],
        ),
        ("A.java", "abstract class A {\n    abstract void f();\n    native void g();\n}\n", []),
        ("A.java", "enum E {\n    X;\n    private E() {}\n}\n", []),
        # C / C++
        ("a.c", "static int f(void) {\n    /* nothing */\n}\n", ["empty-body"]),
        ("a.c", "#include <x.h>\nextern void f(void);\nint g(int);\n", []),
        ("a.h", "void f(void);\n", []),
        ("a.cpp", "void f() { throw NotImplemented(); }\n", ["not-implemented"]),
        (
            "a.cpp",
            "struct S {\n    S() {}\n    ~S() {}\n    operator bool() const { return true; }\n};\n",
            [],
        ),
        (
            "a.cpp",
            "class A {\n    void f() final {}\n    virtual void g() = 0;\n};\nA::~A() {}\n",
            [],
        ),
        ("a.cpp", "auto f = []() {};\nnamespace n {}\n", []),
        # Ruby
        ("a.rb", "def self.build; end\n", ["empty-body"]),
        ("a.rb", "def f\n  fail NotImplementedError\nend\n", ["not-implemented"]),
        ("a.rb", "def call(_env); end\n", []),
        ("a.rb", "module M\n  def f\n    raise ArgumentError\n  end\nend\n", []),
        ("a.rb", "def f\n  x = 1\n  raise NotImplementedError\nend\n", []),
    ],
)
def test_hard_cases(path: str, code: str, expected: list[str]) -> None:
    assert rules_of(path, code) == expected


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # a grandchild's override makes the base method abstract; a sibling's name does not
        (
            "a.py",
            "class A:\n    def f(self):\n        raise NotImplementedError\n"
            "class B(A):\n    def g(self):\n        return 1\n"
            "class C(B):\n    def f(self):\n        return 2\n"
            "class D:\n    def g(self):\n        raise NotImplementedError\n"
            "class E:\n    def g(self):\n        return 3\n",
            [("not-implemented", 12)],
        ),
        # bases named through a module, a generic, a call; a keyword is not a base
        (
            "a.py",
            "class A:\n    def f(self):\n        pass\n"
            "class B(mod.A):\n    def f(self):\n        return 1\n"
            "class G(Generic[T]):\n    def f(self):\n        raise NotImplementedError\n"
            "class H(with_base(G)):\n    def f(self):\n        return 2\n"
            "class M:\n    def f(self):\n        pass\n"
            "class N(Base, metaclass=M):\n    def f(self):\n        return 3\n",
            [("empty-body", 15)],
        ),
        # a function nested in a method is no method; a class of another name no subclass
        (
            "a.py",
            "class A:\n    def f(self):\n        def g():\n            pass\n        return g\n"
            "class B(A):\n    def g(self):\n        return 1\n",
            [("empty-body", 4)],
        ),
        # an empty override turns a base's method off; a new empty method is still refused
        (
            "a.py",
            "class A:\n    def f(self):\n        return 1\n"
            "class B(A):\n    def f(self):\n        pass\n\n    def g(self):\n        pass\n",
            [("empty-body", 9)],
        ),
        # a base named as the class is another one (from elsewhere), not the class itself
        (
            "a.py",
            "class Session(requests.Session):\n    def f(self):\n        pass\n",
            [("empty-body", 3)],
        ),
        # a raising override is not abstract for that: it refuses what the base does
        (
            "a.py",
            "class A:\n    def f(self):\n        return 1\n"
            "class B(A):\n    def f(self):\n        raise NotImplementedError\n",
            [("not-implemented", 6)],
        ),
        (
            "a.ts",
            "abstract class A<T> extends Root<T> implements I {\n  run(): void {}\n}\n"
            "class B extends A<string> implements I {\n  run(): void { go(); }\n}\n"
            "class C implements I {\n  stop(): void {}\n}\n"
            "class D extends C {\n  start(): void { go(); }\n}\n",
            [("empty-body", 8)],
        ),
        (
            "A.java",
            "class A<T> {\n    void f() {\n        throw new UnsupportedOperationException();\n"
            "    }\n}\nclass B extends A<String> {\n    void f() {\n        run();\n    }\n}\n",
            [],
        ),
        (
            "a.rb",
            "class A\n  def f\n    raise NotImplementedError\n  end\nend\n"
            "class B < Lib::A\n  def f\n    1\n  end\nend\n"
            "class C\n  def f\n    raise NotImplementedError\n  end\nend\n",
            [("not-implemented", 13)],
        ),
    ],
)
def test_a_class_hierarchy_in_the_file_gives_methods_a_job(
    path: str, code: str, expected: list[tuple[str, int]]
) -> None:
    assert [(f.rule, f.line) for f in check(path, code)] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("if X:\n    def f(p):\n        go(p)\nelse:\n    def f(p):\n        pass\n", []),
        (
            "if X:\n    def f(p):\n        go(p)\nelif Y:\n    f = go\n"
            "else:\n    def f(p):\n        pass\n",
            [],
        ),
        ("if X:\n    def f(p):\n        go(p)\nelse:\n    def g(p):\n        pass\n", [6]),
        ("try:\n    from m import g as f\nexcept ImportError:\n    def f():\n        pass\n", []),
        ("try:\n    from m import f as g\nexcept ImportError:\n    def f():\n        pass\n", [5]),
        ("try:\n    import fancy.x\nexcept ImportError:\n    def fancy():\n        pass\n", []),
        ("try:\n    import x.fancy\nexcept ImportError:\n    def fancy():\n        pass\n", [5]),
        (
            "if WIN:\n    class L(Base):\n        def a(self):\n"
            "            raise NotImplementedError\n"
            "else:\n    class L(Base):\n        def a(self):\n            lock()\n",
            [],
        ),
        # the other branch must hold the name itself, not somewhere deeper
        (
            "if X:\n    if Y:\n        def f():\n            go()\n"
            "else:\n    def f():\n        pass\n",
            [7],
        ),
        ("def f():\n    pass\n\n\ndef f():\n    go()\n", [2]),
    ],
)
def test_a_python_fallback_in_another_branch_is_not_a_stub(code: str, expected: list[int]) -> None:
    assert [f.line for f in check("fallback.py", code)] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            'class C:\n    """Inherit from this class and override what you need."""\n\n'
            '    def progress(self, n):\n        """Progress."""\n        pass\n',
            [],
        ),
        (
            "class C:\n    def add(self, r):\n"
            '        """Does nothing, but is left for overriding by users."""\n        pass\n',
            [],
        ),
        ('class C:\n    def send(self, r):\n        """Send the request."""\n        pass\n', [4]),
        ('def on_start(app):\n    """A hook: plugins override it."""\n    pass\n', []),
        # a class documented as one to subclass: its bare NotImplementedError is abstract
        (
            'class C:\n    """Override what you need."""\n\n    def f(self):\n'
            "        raise NotImplementedError\n",
            [],
        ),
        (
            'class C:\n    """The client."""\n\n    def f(self):\n'
            '        """Fetch."""\n        raise NotImplementedError\n',
            [6],
        ),
    ],
)
def test_a_python_docstring_that_asks_for_an_override_makes_a_hook(
    code: str, expected: list[int]
) -> None:
    assert [f.line for f in check("hooks.py", code)] == expected


def test_check_alone_sees_a_hierarchy_in_the_same_file_only() -> None:
    # the rest of the repository comes in through refine (stub_hierarchy_test.py)
    base = "class Shape:\n    def area(self):\n        raise NotImplementedError\n"
    sub = (
        "from shapes import Shape\n\nclass Square(Shape):\n    def area(self):\n        return 1\n"
    )
    found = GATE.check(
        [source("shapes.py", base), source("square.py", sub)], Context(root=Path("."))
    )
    assert [(f.path, f.rule) for f in found] == [("shapes.py", "not-implemented")]


# What real Go, Rust, Ruby and Java code leaves empty or unsupported on purpose (each
# case is the shape of one found in a widely used package), and its near misses.
@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # a class or module named as a base to subclass
        (
            "base.rb",
            "module Backend\n  module Base\n    def lookup(key)\n      raise NotImplementedError\n"
            "    end\n  end\nend\n",
            [],
        ),
        (
            "exec.rb",
            "class AbstractExecutorService\n  def shutdown\n    raise NotImplementedError\n  end\n"
            "end\n",
            [],
        ),
        (
            "cache.py",
            "class BaseCache:\n    def get(self, key):\n        raise NotImplementedError()\n",
            [],
        ),
        ("cache.py", "class CacheBase:\n    def close(self):\n        pass\n", []),
        (
            "db.py",
            "class Database:\n    def close(self):\n        pass\n\n\nclass Basement:\n"
            "    def close(self):\n        pass\n",
            [3, 8],
        ),
        # the null object
        (
            "log.rb",
            "class NullLogger\n  def info(msg); end\nend\n\nmodule Adapters\n  module Null\n"
            "    def setup; end\n  end\nend\n",
            [],
        ),
        (
            "null_file.py",
            "class NullFile(IO[str]):\n    def close(self) -> None:\n        pass\n",
            [],
        ),
        ("log.rb", "class Nullable\n  def info(msg); end\nend\n", [2]),
        # documented: abstract, a hook, a no-op on purpose; the comment must be the doc
        (
            "conv.rb",
            "class Converter\n"
            "  # This is the only method that has to be implemented by sub-classes!\n"
            "  def convert(el)\n    raise NotImplementedError\n  end\nend\n",
            [],
        ),
        (
            "lexer.rb",
            "class Lexer\n  def lex; go; end\n\n  # @abstract\n  #\n"
            "  # Called after each lex. The default implementation is a noop.\n  def reset!\n"
            "  end\nend\n",
            [],
        ),
        (
            "pattern.rb",
            "# Superclass for all patterns.\n# @abstract\nclass Pattern\n  def expand(values)\n"
            "    raise NotImplementedError, 'expanding'\n  end\nend\n",
            [],
        ),
        (
            "cursor.js",
            "class Cursor {\n  /**\n   * Moves to the next token.\n   * @abstract\n   */\n"
            "  moveNext() {\n    throw new Error('Not implemented.');\n  }\n}\n",
            [],
        ),
        (
            "rules.js",
            "/**\n * Check statements for `any`. It does nothing.\n */\n"
            "function verifyForAny() {}\n",
            [],
        ),
        (
            "hooks.rb",
            "class Hooks\n  # The hook invoked by start.\n\n  def after_start(event)\n  end\nend\n",
            [4],
        ),
        ("hooks.rb", "class Hooks\n  # Starts the server.\n  def start(event)\n  end\nend\n", [3]),
        # a class documented as a no-op; "hook" counts only in the method's own doc
        (
            "rewrite.py",
            'class DummyRewriteHook:\n    """A no-op import hook for when rewriting is off."""\n\n'
            "    def mark_rewrite(self, *names):\n        pass\n",
            [],
        ),
        (
            "recorder.py",
            'class HookRecorder:\n    """Records every hook call."""\n\n'
            "    def after(self, outcome):\n        pass\n",
            [5],
        ),
        # one build's version: Rust #[cfg], a Go build constraint or file name
        ("fork.rs", "#[cfg(not(unix))]\nmod fork {\n    pub fn register_handler() {}\n}\n", []),
        ("fork.rs", "#[cfg(windows)]\nfn signal(kind: i32) {\n    unimplemented!()\n}\n", []),
        (
            "tests/bt.rs",
            "#[test]\n#[cfg_attr(not(nightly), ignore)]\nfn backtrace() {}\n\n"
            "#[rustversion::not(nightly)]\n#[test]\nfn option() {}\n",
            [],
        ),
        ("fork.rs", "#[cfg(test)]\nfn register_handler() {}\n", [2]),
        (
            "debug_disable.go",
            "//go:build !debug\n\npackage diff\n\nfunc (d debugger) Update() {}\n",
            [],
        ),
        ("term_windows.go", "package term\n\nfunc Restore() {}\n", []),
        (
            "term.go",
            "// Package term\npackage term\n\n// go:build is not a constraint here\n"
            "func Restore() {}\n",
            [5],
        ),
        # Rust: unit tests' helpers, names and functions that only carry bounds
        (
            "lib.rs",
            "#[cfg(test)]\nmod tests {\n    struct Sink;\n    impl Sink {\n"
            "        fn write(&self) {}\n    }\n    #[test]\n    fn writes() {}\n}\n",
            [8],
        ),
        (
            "lib.rs",
            "fn _dummy() {}\n\nfn is_unpin<T: Unpin>() {}\n\nfn check<T>() where T: Send {}\n",
            [],
        ),
        ("lib.rs", "fn check<T: Send>(value: T) {}\n\nfn dummy() {}\n", [1, 3]),
        (
            "lib.rs",
            "/// While this function is itself a no-op, it satisfies `#[must_use]`.\n"
            "pub fn retain(&mut self) {\n    // no-op\n}\n",
            [],
        ),
        # Go: parameters without names, a marker given to several types
        (
            "render.go",
            "package render\n\nfunc (r Redirect) WriteContentType(http.ResponseWriter) {}\n",
            [],
        ),
        (
            "render.go",
            "package render\n\nfunc (r Redirect) WriteContentType(w http.ResponseWriter) {}\n",
            [3],
        ),
        (
            "structs.go",
            "package s\n\nfunc (x StructC) InterfaceA()  {}\nfunc (x *StructD) InterfaceA() {}\n",
            [],
        ),
        (
            "structs.go",
            "package s\n\nfunc (x StructC) InterfaceA() {}\n"
            "func (x StructD) InterfaceA() { x.n++ }\n",
            [3],
        ),
        # Java: the optional operations of a collection
        (
            "KeySet.java",
            "class KeySet<K> extends AbstractSet<K> {\n    public boolean add(K key) {\n"
            "        throw new UnsupportedOperationException();\n    }\n}\n",
            [],
        ),
        (
            "Cart.java",
            "class Cart {\n    public boolean add(Item item) {\n"
            "        throw new UnsupportedOperationException();\n    }\n}\n",
            [3],
        ),
        (
            "KeySet.java",
            "class KeySet<K> implements Set<K> {\n    public boolean save() {\n"
            "        throw new UnsupportedOperationException();\n    }\n}\n",
            [3],
        ),
    ],
)
def test_what_real_code_leaves_empty_on_purpose(path: str, code: str, expected: list[int]) -> None:
    assert [f.line for f in check(path, code)] == expected


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        ("tests/test_api.py", "class Fake:\n    def send(self):\n        pass\n", []),
        ("tests/test_api.py", "def helper():\n    raise NotImplementedError\n", []),
        ("tests/test_api.py", "def test_api():\n    pass\n", ["empty-body"]),
        (
            "tests/test_api.py",
            "class TestApi:\n    def test_get(self):\n        ...\n",
            ["empty-body"],
        ),
        (
            "tests/test_api.py",
            "def test_x():\n    def test_inner():\n        pass\n    test_inner()\n",
            [],
        ),
        (
            "tests/test_api.py",
            "def test_x():\n    class T:\n        def test(self):\n            pass\n",
            [],
        ),
        (
            "tests/test_api.py",
            "# this is just a placeholder\n# In a real implementation we would\n",
            [],
        ),
        (
            "src/app.test.ts",
            "it('works', () => {});\ntest('also', function () {});\n",
            ["empty-body", "empty-body"],
        ),
        ("src/app.test.ts", "const fake = { send() {} };\nfunction helper() {}\n", []),
        ("src/__mocks__/api.js", "export function get() {}\n", []),
        (
            "pkg/api_test.go",
            "package pkg\n\nfunc fakeSend() {}\nfunc TestSend(t *testing.T) {}\n",
            ["empty-body"],
        ),
        (
            "pkg/testdata/example.go",
            "package x\n\nfunc (X) TestBlah() {}\nfunc (X) BenchmarkFoo(n int) {}\n",
            [],
        ),
        ("tests/it.rs", "fn helper() {}\n#[test]\nfn works() {}\n", ["empty-body"]),
        (
            "src/test/java/ApiTest.java",
            "class ApiTest {\n    void helper() {}\n    @Test void get() {}\n}\n",
            ["empty-body"],
        ),
        ("spec/api_spec.rb", "class FakeApi\n  def get; end\nend\n", []),
    ],
)
def test_in_test_files_only_the_tests_are_judged(path: str, code: str, expected: list[str]) -> None:
    assert rules_of(path, code) == expected


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("# This is a stub.\n", "admitted-stub"),
        ("# it is just a stub\n", "admitted-stub"),
        ("# Placeholder until the API is ready\n", "admitted-stub"),
        ("# TODO: not implemented yet\n", "admitted-stub"),
        ("# not wired in\n", "admitted-stub"),
        ("# yet to be implemented\n", "admitted-stub"),
        ("# skeleton implementation\n", "admitted-stub"),
        ("# For now, simply return the input.\n", "fake-result"),
        ("# hard-coded for now\n", "fake-result"),
        ("# Simulating a network request\n", "fake-result"),
        ("# In a real-world scenario we would batch these\n", "fake-result"),
    ],
)
def test_admissions_in_comments(code: str, rule: str) -> None:
    assert rules_of("app.py", code) == [rule]


@pytest.mark.parametrize(
    "code",
    [
        "# Stub resolver for DNS: see RFC 1035\n",
        "# grpc stubs are generated into pb/\n",
        "# the input's placeholder attribute\n",
        "# not implemented on Windows\n",
        "# to be implemented by subclasses\n",
        "# wired up in main()\n",
        "# a simple implementation of LRU\n",
        "# now, simulate the response of the parser\n",
        "# for now only HTTP is supported\n",
        '"""Real implementation."""\n',
        'x = "this is just a placeholder"\n',
    ],
)
def test_words_alone_are_not_admissions(code: str) -> None:
    assert rules_of("app.py", code) == []


def test_admissions_in_python_docstrings_but_not_in_other_strings() -> None:
    code = (
        '"""Module. Not implemented yet."""\n'
        "class A:\n"
        '    """Class. This is just a placeholder."""\n'
        "    def f(self):\n"
        '        """Method. Hardcoded for now."""\n'
        "        return 1\n"
        'x = """In a real implementation, not a docstring."""\n'
    )
    found = check("app.py", code)
    assert [(f.rule, f.line) for f in found] == [
        ("admitted-stub", 1),
        ("admitted-stub", 3),
        ("fake-result", 5),
    ]


def test_a_structural_finding_says_what_and_where() -> None:
    (found,) = check(
        "src/billing.py", 'import x\n\n\ndef refund(order):\n    """Refund."""\n    pass\n'
    )
    assert found.gate == "stub"
    assert found.rule == "empty-body"
    assert found.path == "src/billing.py"
    assert (found.line, found.column) == (6, 5)
    assert found.message == "`refund` has an empty body: it stands in for code that was not written"
    assert found.fix.startswith("write the body")
    assert found.severity == "error"
    assert found.preview == 'def refund(order): """Refund.""" pass'
    assert found.key == "refund: pass"
    assert found.fingerprint == ""


def test_the_key_does_not_change_when_the_code_moves() -> None:
    before = check("a.py", "def f():\n    pass\n")
    after = check("a.py", "import os\n\n\ndef  f():\n        pass  # later\n")
    assert [f.key for f in before] == [f.key for f in after]
    assert before[0].line != after[0].line


def test_a_long_function_preview_keeps_signature_and_stand_in() -> None:
    doc = "word " * 40
    (found,) = check(
        "a.py", f'def refund(order, amount):\n    """{doc}"""\n    raise NotImplementedError\n'
    )
    assert len(found.preview) <= 80
    assert found.preview.startswith("def refund(order, amount):")
    assert "raise NotImplementedError" in found.preview


def test_columns_count_characters() -> None:
    (found,) = check("a.js", "const ü = 1; function f() {}\n")
    assert found.column == 27
    data = b"/* \xff\xfe */ function f() {}\n"
    (found,) = check("a.js", data)
    line = source("a.js", data).text.split("\n")[0]
    assert line[found.column - 1 :] == "{}"


def test_crlf() -> None:
    (found,) = check("a.py", b"x = 1\r\n\r\ndef f():\r\n    pass\r\n")
    assert (found.line, found.column) == (4, 5)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("a.py", b""),
        ("a.py", b"\x00def f(): pass\n"),
        ("a.txt", b"def f(): pass\n"),
        ("a.yaml", b"# this is just a placeholder\n"),
        ("a.md", b"<!-- this is just a placeholder -->\n"),
        ("a.py", b"def f(:\n    pass\n"),  # the parser guessed the `)`: not judged
    ],
)
def test_nothing_for_files_it_does_not_judge(path: str, data: bytes) -> None:
    assert check(path, data) == []


def test_bash_comments_are_judged() -> None:
    assert rules_of("run.sh", "#!/bin/sh\n# stubbed out for now\nf() { :; }\n") == ["admitted-stub"]


def test_a_big_file_is_fast() -> None:
    chunk = (
        "class C{n}(Base):\n"
        '    """A class."""\n\n'
        "    def run(self, x):\n"
        "        # a normal comment\n"
        "        return [y for y in x if y]\n\n"
        "    def stop(self):\n"
        "        pass\n\n"
    )
    text = "".join(chunk.format(n=n) for n in range(32_000))
    assert len(text) > 5_000_000
    started = time.perf_counter()
    found = check("generated.py", text)
    elapsed = time.perf_counter() - started
    assert len(found) == 32_000
    assert elapsed < 60, f"{elapsed:.1f}s for 5 MB"


def raw_rules(**changes: Any) -> dict[str, Any]:
    data = rules.load("stub")
    out = {**data, "rules": [dict(r) for r in data["rules"]]}
    for key, value in changes.items():
        rule_id, _, field = key.partition(".")
        if not field:
            out[rule_id] = value
            continue
        rule = next(r for r in out["rules"] if r["id"] == rule_id.replace("_", "-"))
        if value is None:
            rule.pop(field, None)
        else:
            rule[field] = value
    return out


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"empty_body.severity": "fatal"}, "severity"),
        ({"empty_body.message": "{function}"}, "message"),
        ({"not_implemented.exceptions": "NotImplementedError"}, "exceptions"),
        ({"not_implemented.messages": "("}, "does not compile"),
        ({"empty_body.noop_names": None}, "noop_names"),
        ({"empty_body.go_marker_methods": None}, "go_marker_methods"),
        ({"empty_body.go_marker_methods": "(Is"}, "go_marker_methods` does not compile"),
        ({"test_paths": []}, "test_paths"),
        ({"fake_return.within": "function"}, "`within` must be one of constant-return"),
        ({"fake_names": None}, "fake_names"),
    ],
)
def test_a_wrong_rule_file_is_named(
    changes: dict[str, Any], complaint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = raw_rules(**changes)
    monkeypatch.setattr(rules, "load", lambda name: data)
    with pytest.raises(InputError, match=complaint) as caught:
        load_rules()
    assert "rules/stub.yaml" in str(caught.value)


def test_a_lazily_compiled_rule_names_its_wrong_regex_when_first_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = raw_rules(**{"not_implemented.messages": "("})
    monkeypatch.setattr(rules, "load", lambda name: data)
    loaded = load_rules(lazy=True)
    with pytest.raises(InputError, match="messages` does not compile") as caught:
        loaded.messages.search("not implemented")
    assert "rules/stub.yaml" in str(caught.value)


def test_the_shipped_rules_compile() -> None:
    assert load_rules().messages.search("not implemented yet")


def test_a_missing_structural_rule_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    data = raw_rules()
    data["rules"] = [r for r in data["rules"] if r["id"] != "not-implemented"]
    monkeypatch.setattr(rules, "load", lambda name: data)
    with pytest.raises(InputError, match="not-implemented"):
        load_rules()


def _hard_and_sample_cases() -> list[tuple[str, str]]:
    out = [
        (s["path"], s["code"])
        for r in rules.rules("stub")
        for v in ("refuse", "allow")
        for s in r[v]
    ]
    for mark in test_hard_cases.pytestmark:  # type: ignore[attr-defined]
        if mark.name == "parametrize":
            out += [(path, code) for path, code, _ in mark.args[1]]
    return out


#: Stand-ins the anchors must not miss: comments of every kind and odd blanks in an
#: empty body, stand-ins far apart (a range each), more of them than MAX_RANGES.
ANCHOR_EDGES = [
    ("a.js", "function f() { /* } */ }\nfunction g() { // }\n}\n"),
    ("a.js", "function f() {\u00a0}\nfunction g() {\\\n}\n"),
    ("a.rs", "fn f() { /* outer /* nested */ */ }\nfn g() {\n    //! inner doc\n}\n"),
    ("a.go", "package p\n\nfunc F() {\n\t// nothing\n}\n"),
    ("a.py", "def f():\n    pass\n" + "x = 1\n" * 400 + "def g():\n    ...\n"),
    ("a.py", "".join(f"def f{i}():\n    pass\n" + "y = 2\n" * 200 for i in range(80))),
    (
        "a.ts",
        "class A {\n  m(): void {}\n"
        "  n(): Promise<void> { throw new Error('not implemented') }\n}\n",
    ),
]


@pytest.mark.parametrize(("path", "code"), _hard_and_sample_cases() + ANCHOR_EDGES)
def test_the_anchored_query_finds_what_the_whole_tree_query_finds(
    path: str, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchored = [f.to_json() for f in check(path, code)]
    monkeypatch.setattr(stub, "ANCHORS", {})  # every language: the whole tree
    assert anchored == [f.to_json() for f in check(path, code)]


def test_the_edge_cases_are_refused() -> None:
    found = [rules_of(path, code) for path, code in ANCHOR_EDGES]
    assert found == [
        ["empty-body", "empty-body"],
        ["empty-body"],  # (a backslash-newline is an error in a body: not judged)
        ["empty-body", "empty-body"],
        ["empty-body"],
        ["empty-body", "empty-body"],
        ["empty-body"] * 80,
        ["empty-body", "not-implemented"],
    ]


def test_a_file_with_nothing_to_look_at_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = stub.parse

    def counting(lang: str, data: bytes) -> Any:
        parsed.append(lang)
        return real(lang, data)

    monkeypatch.setattr(stub, "parse", counting)
    assert check("a.py", "def add(a, b):\n    return a + b\n") == []
    assert check("a.js", "export const add = (a, b) => a + b;\n") == []
    assert parsed == []
    assert rules_of("a.py", "def add(a, b):\n    pass\n") == ["empty-body"]
    assert parsed == ["python"]


def test_anchor_ranges() -> None:
    assert stub.anchor_ranges("go", b"x := 1\n") == []
    assert stub.anchor_ranges("go", b"panic\n" + b"#" * 100 + b"panic") == [(0, 111)]
    far = b"panic" + b"#" * (stub.RANGE_GAP + 1) + b"panic"
    assert stub.anchor_ranges("go", far) == [(0, 5), (stub.RANGE_GAP + 6, stub.RANGE_GAP + 11)]
    assert stub.anchor_ranges("ruby", b"x = 1\n") is stub.WHOLE
    many = (b"panic" + b"#" * (stub.RANGE_GAP + 1)) * (stub.MAX_RANGES + 1)
    assert stub.anchor_ranges("go", many) is stub.WHOLE


@pytest.mark.parametrize(
    ("path", "code", "anchored"),
    [
        ("a.py", "def f():\n    pass\n", True),
        ("a.py", "def f(): ...\n", True),
        ("a.py", "def f():  # why: none\n\n    # (later)\n    raise NotImplementedError\n", True),
        ("a.py", 'def f():\n    """Doc: # not a comment"""  # c # d\n    ...\n', True),
        ("a.py", "def f(\n    a=1 if x\n    else 2):\n    pass\n", True),
        ("a.py", "def f(): x = 1; pass\n", True),
        ("a.py", "try:\n    import x\nexcept ImportError:\n    pass\n", False),
        ("a.py", "if x:\n    raise ValueError(x)\nelse: pass\n", False),
        ("a.py", "class A:\n    pass\n", False),
        ("a.py", "def f(x):\n    y = g(x)\n    raise ValueError(y)\n", False),
        ("a.py", "x: tuple[int, ...] = ()\nf(...)\n", False),
        ("a.js", "function f() {}\nconst g = () => {};\n", True),
        ("a.js", "function f() /* none */ {}\n", True),
        ("a.js", "function f() {\n  throw new Error('not implemented');\n}\n", True),
        ("a.js", "const o = {};\nif (x) { y(); throw new Error(x); }\n", False),
    ],
)
def test_an_anchor_counts_only_where_a_stand_in_can_stand(
    path: str, code: str, anchored: bool
) -> None:
    lang = "python" if path.endswith(".py") else "javascript"
    assert bool(stub.anchor_ranges(lang, code.encode())) is anchored
    assert anchored or check(path, code) == []


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # an empty function the file uses as a constructor's shell
        (
            "shell.ts",
            "function KeyClass() {}\nconst self = KeyClass as any;\n"
            "function Base() {}\nBase.prototype = proto;\n"
            "function Api() {}\nObject.setPrototypeOf(Api, Proto);\n"
            "function Stream() {}\nutil.inherits(Stream, Emitter);\n",
            [],
        ),
        (
            "save.ts",
            "function save(row: Row) {}\n\nsave(order);\nconst p = proto.prototype;\n",
            [1],
        ),
        # code examples in documentation are the example's
        (
            "watch.ts",
            "/**\n * Watches.\n *\n * @example\n * const b = {\n"
            " *   register: () => none() // Placeholder implementation\n * }\n */\n"
            "export function watch() {\n  go();\n}\n",
            [],
        ),
        (
            "run.rs",
            "/// Runs.\n///\n/// ```\n/// // placeholder implementation\n/// ```\n"
            "/// Placeholder implementation for now.\npub fn run() {\n    go()\n}\n",
            [6],
        ),
        (
            "parse.ts",
            "/**\n * @example\n * parse('x')\n * @returns the tree\n"
            " * Placeholder implementation until the grammar lands.\n */\n"
            "export function parse(s: string) {\n  return s;\n}\n",
            [5],
        ),
        (
            "doc.py",
            'def f():\n    """Run.\n\n    >>> stub_impl()  # placeholder implementation\n'
            '    """\n    return 1\n',
            [],
        ),
        # example code
        (
            "examples/git.rs",
            "fn main() {\n    go();\n    // Continued program logic goes here...\n}\n",
            [],
        ),
        (
            "src/git.rs",
            "fn main() {\n    go();\n    // Continued program logic goes here...\n}\n",
            [3],
        ),
    ],
)
def test_shells_and_examples_are_not_stubs(path: str, code: str, expected: list[int]) -> None:
    assert [f.line for f in check(path, code)] == expected


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # a C++ header named .h is read as C++ (as C, `override` was lost in a misparse)
        (
            "sinks/null_sink.h",
            "#include <mutex>\nclass ring_sink : public base_sink {\nprotected:\n"
            "    void flush_() override {}\n};\n",
            [],
        ),
        # parameters without names: the function ignores them
        ("consume.hpp", "struct buffers {\n  void consume(std::size_t) {}\n};\n", []),
        ("reset.hpp", "void reset(const Handler&, Filter) {}\nvoid each(Args...) {}\n", []),
        ("reset.hpp", "void reset(const Handler& handler) {}\n", [1]),
        ("reset.c", "void reset(void) {}\n", [1]),
        # a constructor whose macro the parser takes for its type; coroutine hooks
        ("blocking.hpp", "struct always_t {\n  ASIO_CONSTEXPR always_t() { }\n};\n", []),
        (
            "coro.hpp",
            "struct promise {\n  void return_void() {}\n  void await_resume() noexcept {}\n"
            "  void await_suspend(std::coroutine_handle<>) noexcept {}\n};\n",
            [],
        ),
        # the null object, in snake case
        ("null_mutex.hpp", "class null_mutex {\npublic:\n  void lock() { }\n};\n", []),
        ("mutex.hpp", "class nullable_mutex {\npublic:\n  void lock() { }\n};\n", [3]),
    ],
)
def test_what_cpp_leaves_empty_on_purpose(path: str, code: str, expected: list[int]) -> None:
    assert [f.line for f in check(path, code)] == expected

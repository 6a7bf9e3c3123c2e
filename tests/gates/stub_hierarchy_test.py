"""The stub gate across files: a base's empty or not-implemented method that a subclass
in another file of the repository defines again is the base's default hook or abstract
method, not a stub. Real repositories, the real CLI, and the findings cache in between:
the verdict depends on other files, so it must follow them even when the base's own
file is unchanged and its findings come from the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CLI, git, make_repo

BASE = (
    "class Shape:\n"
    "    def area(self):\n"
    "        raise NotImplementedError\n"
    "\n"
    "    def reset(self):\n"
    "        pass\n"
)
SQUARE = (
    "from shapes import Shape\n"
    "\n"
    "\n"
    "class Square(Shape):\n"
    "    def area(self):\n"
    "        return self.side**2\n"
    "\n"
    "    def grow(self):\n"
    "        self.reset()\n"
)


def refused(cg: CLI, *args: str) -> list[tuple[str, str, int]]:
    result = cg("check", "--gate", "stub", "--no-record", "--format", "json", *args)
    assert result.code in (0, 1), result.err
    return [(f["path"], f["rule"], f["line"]) for f in json.loads(result.out)["findings"]]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    (root / "shapes.py").write_text(BASE)
    (root / "square.py").write_text(SQUARE)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "shapes")
    return root


def test_a_method_a_subclass_in_another_file_defines_is_not_a_stub(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cg = CLI(repo, capsys)
    # `area` is Square's; `reset` is only called there, never defined: still refused
    assert refused(cg, "--all-files") == [("shapes.py", "empty-body", 6)]


def test_the_verdict_follows_the_other_file_when_the_base_comes_from_the_cache(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cg = CLI(repo, capsys)
    assert refused(cg, "--all-files") == [("shapes.py", "empty-body", 6)]
    assert refused(cg, "--all-files") == [("shapes.py", "empty-body", 6)]  # from the cache
    (repo / "square.py").write_text(SQUARE.replace("def area(self)", "def side_of(self)"))
    assert refused(cg, "--all-files") == [
        ("shapes.py", "not-implemented", 3),
        ("shapes.py", "empty-body", 6),
    ]
    (repo / "big.py").write_text(
        "from square import Square\n\n\nclass Big(Square):\n    def reset(self):\n"
        "        self.side = 10\n\n    def area(self):\n        return 100\n"
    )
    git(repo, "add", "big.py")
    assert refused(cg, "--all-files") == []  # a grandchild counts too


def test_staged_base_with_a_committed_subclass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "square.py").write_text(SQUARE)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "square")
    (root / "shapes.py").write_text(BASE)
    git(root, "add", "shapes.py")
    assert refused(CLI(root, capsys), "--staged") == [("shapes.py", "empty-body", 6)]


def test_java_and_typescript_subclasses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path / "repo")
    files = {
        "src/Plugin.java": "public class Plugin {\n    public void load() {}\n\n"
        "    public void save() {}\n}\n",
        "src/Cookies.java": "public class Cookies extends Plugin {\n    @Override\n"
        "    public void load() {\n        init();\n    }\n\n"
        "    void init() {\n        save();\n    }\n}\n",
        "web/view.ts": "export class View {\n  render(): void {}\n\n  close(): void {}\n}\n",
        "web/page.ts": "import { View } from './view';\n\nexport class Page extends View {\n"
        "  render(): void {\n    document.title = 'page';\n    this.close();\n  }\n}\n",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root, "add", "-A")
    # `save` and `close` are only called by the subclasses: they stay refused
    assert sorted(refused(CLI(root, capsys), "--all-files")) == [
        ("src/Plugin.java", "empty-body", 4),
        ("web/view.ts", "empty-body", 4),
    ]


def test_ruby_modules_that_classes_include(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ruby module's method is its includers' (through a subclass too), and so is a
    method of the module a hook extends its includers with (``base.extend
    ClassMethods``): defined again there, it is the module's abstract method or hook."""
    root = make_repo(tmp_path / "repo")
    files = {
        "lib/executor.rb": "module Executor\n  def post(*args)\n    raise NotImplementedError\n"
        "  end\n\n  def shutdown\n  end\nend\n",
        "lib/base_pool.rb": "class BasePool\n  include Executor\nend\n",
        "lib/pool.rb": "class Pool < BasePool\n  def post(*args)\n    @queue << args\n  end\nend\n",
        "lib/command.rb": "class Command\n  module Base\n    class Option\n    end\n\n"
        "    class << self\n      def included(base)\n        base.extend ClassMethods\n"
        "      end\n    end\n\n    module ClassMethods\n      def baseclass\n      end\n\n"
        "      def dispatch\n      end\n    end\n  end\nend\n",
        "lib/cli.rb": "class CLI\n  class << self\n    def baseclass\n      CLI\n    end\n  end\n\n"
        "  include Command::Base\nend\n",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root, "add", "-A")
    # `shutdown` and `dispatch` are defined nowhere else: they stay refused
    assert sorted(refused(CLI(root, capsys), "--all-files")) == [
        ("lib/command.rb", "empty-body", 16),
        ("lib/executor.rb", "empty-body", 6),
    ]


@pytest.mark.parametrize(
    ("language", "code", "defined"),
    [
        ("python", "class B(A):\n    def reset(self):\n        pass\n", True),
        ("python", "class B(A):\n    async def reset(self):\n        pass\n", True),
        ("python", "class B(A):\n    def grow(self):\n        self.reset()\n", False),
        ("python", "def reset():\n    pass\n", False),  # a module function, not a method
        ("ruby", "class B < A\n  def reset\n  end\nend\n", True),
        ("ruby", "class B < A\n  def reset?\n  end\nend\n", False),
        ("javascript", "class B extends A {\n  reset() {\n    this.n = 0;\n  }\n}\n", True),
        ("javascript", "class B extends A {\n  static async reset() {}\n}\n", True),
        ("typescript", "class B extends A {\n  reset = (): void => {};\n}\n", True),
        ("javascript", "class B extends A {\n  grow() {\n    this.reset();\n  }\n}\n", False),
        ("java", "class B extends A {\n    @Override\n    public void reset() {}\n}\n", True),
        ("java", "class B extends A {\n    Map<String, Integer> reset(int n) {}\n}\n", True),
        ("java", "class B extends A {\n    void grow() {\n        reset();\n    }\n}\n", False),
        (
            "java",
            "class B extends A {\n    int grow() {\n        return reset(1);\n    }\n}\n",
            False,
        ),
    ],
)
def test_what_counts_as_a_subclass_defining_the_method(
    language: str, code: str, defined: bool
) -> None:
    from convergio_gate.gates.wire import _defines_method

    assert _defines_method(code.encode(), language, b"reset") is defined


def test_a_method_finding_keeps_its_scope_through_the_cache_and_the_workers() -> None:
    from convergio_gate.gates._base import Finding
    from convergio_gate.gates.select import make_source
    from convergio_gate.gates.stub import StubGate

    found = StubGate().check_file(make_source("shapes.py", BASE.encode()))
    assert [f.scope for f in found] == [("Shape", "area"), ("Shape", "reset")]
    # workers hand findings back, and the cache stores them, as cache_json
    assert [Finding.from_json(f.cache_json()).scope for f in found] == [f.scope for f in found]
    assert all("scope" not in f.to_json() for f in found)  # not shown

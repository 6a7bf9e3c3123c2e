"""The wire gate on real multi-file repositories written to temp dirs.

Precision is what these tests guard first: every hard negative here is a way real code
is used without a plain call (callbacks, strings, templates, configs, frameworks), and
the gate must not refuse it. The samples in rules/wire.yaml are judged too, and one test
builds the context through a real git repository, the way the engine does.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import git

from convergio_gate.errors import InputError
from convergio_gate.gates import rules, wire
from convergio_gate.gates._base import Context, Finding, Gate, SourceFile, blob_oid, normalise
from convergio_gate.gates.select import make_source

RULES = rules.rules("wire")


def write(root: Path, files: Mapping[str, str]) -> None:
    for path, text in files.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)


def context(root: Path, settings: dict[str, Any] | None = None) -> Context:
    """What the engine provides: every file of the repository, read from the directory."""
    paths = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )

    def read(path: str) -> bytes | None:
        full = root / path
        return full.read_bytes() if full.is_file() else None

    return Context(root=root, settings=settings or {}, list_files=lambda: paths, read_file=read)


def sources(root: Path, check: Sequence[str]) -> list[SourceFile]:
    return [make_source(p, (root / p).read_bytes()) for p in check]


def run(
    root: Path,
    files: Mapping[str, str],
    check: Sequence[str],
    settings: dict[str, Any] | None = None,
) -> list[Finding]:
    write(root, files)
    return wire.WireGate().check(sources(root, check), context(root, settings))


def dead_names(findings: Sequence[Finding]) -> set[str]:
    return {f.preview.rsplit(".", 1)[-1] for f in findings}


def samples(role: str, kind: str) -> list[Any]:
    out = []
    for rule in RULES:
        if rule["role"] != role:
            continue
        for index, sample in enumerate(rule.get(kind, [])):
            out.append(pytest.param(rule["id"], sample, id=f"{rule['id']}-{kind}-{index}"))
    return out


# ------------------------------------------------------------------ rules as data


def test_every_rule_has_samples_of_both_kinds() -> None:
    ids = [r["id"] for r in RULES]
    assert {"unused-function", "unused-method", "unused-class"} <= set(ids)
    for rule in RULES:
        assert rule.get("refuse"), f"{rule['id']} has no refuse samples"
        assert rule.get("allow"), f"{rule['id']} has no allow samples"
        assert rule["role"] in ("refuse", "exempt")
        for sample in [*rule["refuse"], *rule["allow"]]:
            assert set(sample["check"]) <= set(sample["files"]), rule["id"]


def test_policy_reads_every_exemption() -> None:
    p = wire.policy()
    assert set(p.findings) == {"function", "method", "class"}
    assert "tests/*" in p.test_paths
    assert p.test_blocks["javascript"] == p.test_blocks["typescript"]
    assert "with_traceback" in p.closed_bases["python"]["Exception"]
    assert "staticmethod" in p.pure["python"]


@pytest.mark.parametrize(("rule_id", "sample"), [*samples("refuse", "refuse")])
def test_refuse_samples_of_finding_rules(rule_id: str, sample: Any, tmp_path: Path) -> None:
    found = run(tmp_path, sample["files"], sample["check"], sample.get("settings"))
    assert any(f.rule == rule_id for f in found), found


@pytest.mark.parametrize(("rule_id", "sample"), [*samples("exempt", "refuse")])
def test_refuse_samples_of_exemptions_are_near_misses(
    rule_id: str, sample: Any, tmp_path: Path
) -> None:
    found = run(tmp_path, sample["files"], sample["check"], sample.get("settings"))
    assert any(f.rule == sample["expect"] for f in found), (rule_id, found)


@pytest.mark.parametrize(
    ("rule_id", "sample"), [*samples("refuse", "allow"), *samples("exempt", "allow")]
)
def test_allow_samples(rule_id: str, sample: Any, tmp_path: Path) -> None:
    found = run(tmp_path, sample["files"], sample["check"], sample.get("settings"))
    assert found == []


@pytest.mark.parametrize(("rule_id", "sample"), [*samples("exempt", "allow")])
def test_allow_samples_of_exemptions_are_exempted_by_that_rule(
    rule_id: str, sample: Any, tmp_path: Path
) -> None:
    write(tmp_path, sample["files"])
    ctx = context(tmp_path, sample.get("settings"))
    verdicts = wire.verdicts(sources(tmp_path, sample["check"]), ctx)
    assert rule_id in {exemption for _, exemption in verdicts}, verdicts


# ------------------------------------------------------------- findings and shape


def test_the_finding_names_the_definition_and_is_keyed_by_its_qualified_name(
    tmp_path: Path,
) -> None:
    files = {
        "app/__init__.py": "",
        "app/report.py": (
            "import json\n\n\nclass Report:\n    def render(self):\n        return json.dumps({})\n"
            "\n    def  legacy_render(self):\n        return None\n"
        ),
        "main.py": "from app.report import Report\n\nprint(Report().render())\n",
    }
    [finding] = run(tmp_path, files, ["app/report.py"])
    assert finding.gate == "wire"
    assert finding.rule == "unused-method"
    assert (finding.path, finding.line, finding.column) == ("app/report.py", 8, 10)
    assert (
        finding.message == "`legacy_render` is defined here but nothing in the repository uses it"
    )
    assert finding.fix == (
        "call it from where it is needed, export it deliberately (see rules), or delete it"
    )
    assert finding.key == normalise("app.report.Report.legacy_render")
    assert finding.fingerprint == ""
    assert finding.severity == "error"


def test_the_key_does_not_move_with_the_line(tmp_path: Path) -> None:
    first = run(tmp_path / "a", {"m.py": "def lonely():\n    pass\n"}, ["m.py"])
    second = run(tmp_path / "b", {"m.py": "\n\n\ndef lonely():\n    pass\n"}, ["m.py"])
    assert first[0].key == second[0].key
    assert first[0].line != second[0].line


def test_the_gate_implements_the_protocol() -> None:
    gate = wire.WireGate()
    assert isinstance(gate, Gate)
    assert (gate.id, gate.scope) == ("wire", "repo")


def test_only_the_checked_files_are_judged(tmp_path: Path) -> None:
    files = {"old.py": "def forgotten():\n    pass\n", "new.py": "def fresh():\n    pass\n"}
    found = run(tmp_path, files, ["new.py"])
    assert dead_names(found) == {"fresh"}


def test_checked_content_wins_over_what_the_reader_sees(tmp_path: Path) -> None:
    # Staged mode: the gate is handed the staged blob; the work tree may differ.
    write(tmp_path, {"lib.py": "def helper():\n    pass\n", "use.py": "import lib\n"})
    staged = make_source("use.py", b"import lib\nlib.helper()\n")
    ctx = context(tmp_path)
    assert wire.WireGate().check([*sources(tmp_path, ["lib.py"]), staged], ctx) == []


def test_a_definition_used_only_inside_itself_is_dead(tmp_path: Path) -> None:
    files = {
        "walk.py": (
            "def walk(node):\n    return [walk(c) for c in node]\n\n\n"
            "class Node:\n    def clone(self) -> 'Node':\n        return Node()\n"
        )
    }
    assert dead_names(run(tmp_path, files, ["walk.py"])) == {"walk", "Node", "clone"}


def test_binary_and_unknown_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\0\x01def x(): pass")
    found = run(tmp_path, {"notes.txt": "def nothing(): pass\n"}, ["notes.txt"])
    assert found == []
    assert wire.definitions(make_source("blob.py", b"\0def x():\n    pass\n")) == []


def test_public_must_be_a_list_of_patterns(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": "def f():\n    pass\n"})
    with pytest.raises(InputError, match=r"gates\.wire\.public"):
        wire.WireGate().check(sources(tmp_path, ["m.py"]), context(tmp_path, {"public": "x"}))


# ------------------------------------------------------------------ hard negatives

PYTHON_APP = {
    "pyproject.toml": '[project]\nname = "shop"\n\n[project.scripts]\nshop = "shop.cli:main"\n',
    "shop/__init__.py": '__all__ = ["open_shop"]\n\n\ndef open_shop():\n    return 1\n',
    "shop/cli.py": (
        "from shop.hooks import handle\n"
        "from shop.orders import OrderService, normalise_sku, price_of\n\n\n"
        "def main():\n"
        "    service = OrderService()\n"
        "    handle(service), service.dispatch('refund')\n"
        "    print(list(map(normalise_sku, ['a'])), sorted([], key=price_of))\n"
        "    return service.place('x')\n"
    ),
    "shop/orders.py": (
        "from functools import cached_property\n"
        "from typing import overload\n\n\n"
        "def normalise_sku(sku):\n    return sku.upper()\n\n\n"
        "def price_of(item):\n    return 1\n\n\n"
        "class OrderService:\n"
        "    def place(self, sku):\n        self._validate(sku)\n        return self.total\n\n"
        "    def _validate(self, sku):\n        return bool(sku)\n\n"
        "    @property\n    def total(self):\n        return 0\n\n"
        "    @total.setter\n    def total(self, value):\n        self._total = value\n\n"
        "    @cached_property\n    def tax(self):\n        return 0\n\n"
        "    def on_refund(self, event):\n        return event\n\n"
        "    def dispatch(self, kind):\n        return getattr(self, 'on_' + kind)\n\n"
        "    def handler(self):\n        return None\n\n\n"
        "@overload\ndef parse(x: int) -> int: ...\n"
        "@overload\ndef parse(x: str) -> str: ...\n"
        "def parse(x):\n    return x\n"
    ),
    "shop/hooks.py": "def handle(service):\n    return getattr(service, 'handler')()\n",
    "shop/web.py": (
        "from flask import Flask\n\napp = Flask(__name__)\n\n\n"
        "@app.get('/orders')\ndef list_orders():\n    return []\n"
    ),
    "shop/models.py": (
        "from django.db import models\n\n\n"
        "class Order(models.Model):\n    def display_total(self):\n        return '1 EUR'\n"
    ),
    "shop/templates/order.html": "<p>{{ order.display_total }}</p>\n",
    "shop/views.py": "from shop.models import Order\n\nVIEW = Order\n",
    "config/handlers.yaml": "on_create: shop.events.created\n",
    "shop/events.py": "def created(payload):\n    return payload\n",
    "scripts/tax.sh": (
        "#!/bin/sh\npython -c 'import shop.orders as o; print(o.OrderService().tax)'\n"
    ),
    "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef shop_db():\n    return {}\n",
    "tests/orders_test.py": (
        "from shop.orders import parse\n\n\ndef test_parse(shop_db):\n    assert parse(1) == 1\n"
    ),
    "shop/__main__.py": "from shop.cli import main\n\nif __name__ == '__main__':\n    main()\n",
}


def test_a_realistic_python_application_has_no_false_refusals(tmp_path: Path) -> None:
    checked = [p for p in PYTHON_APP if p.endswith(".py")]
    found = run(tmp_path, PYTHON_APP, checked)
    # on_refund is reached only by a name built at run time ('on_' + kind): exempt-dispatch.
    assert dead_names(found) == set()


def test_a_helper_added_to_that_application_is_refused(tmp_path: Path) -> None:
    files = dict(PYTHON_APP)
    files["shop/orders.py"] += "\n\ndef apply_coupon(order, code):\n    return order\n"
    found = run(tmp_path, files, ["shop/orders.py"])
    assert dead_names(found) == {"apply_coupon"}


def test_a_name_built_at_run_time_is_a_known_limitation_waived_inline(tmp_path: Path) -> None:
    files = {
        "src/bus.js": (
            "class Bus {\n"
            "  onSave() { return 1; }\n"
            "  emit(name) { return this['on' + name](); }\n"
            "}\n"
            "module.exports = new Bus().emit('Save');\n"
        )
    }
    found = run(tmp_path, files, ["src/bus.js"])
    assert dead_names(found) == {"onSave"}
    # The documented way out is an inline waiver the engine honours, on the reported line.
    assert found[0].line == 2 and found[0].rule == "unused-method"


def test_pytest_fixture_used_only_as_a_parameter_name(tmp_path: Path) -> None:
    files = {
        "app/fixtures.py": "import pytest\n\n\n@pytest.fixture\ndef api_client():\n    return 1\n",
        "tests/api_test.py": "def test_get(api_client):\n    assert api_client\n",
    }
    found = run(tmp_path, files, ["app/fixtures.py"])
    assert found == []


def test_python_methods_of_an_external_base_may_override(tmp_path: Path) -> None:
    files = {
        "app/cmd.py": (
            "from django.core.management.base import BaseCommand\n\n\n"
            "class Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n        return None\n\n"
            "    def add_arguments(self, parser):\n        return None\n"
        ),
        "app/base.py": "class Repo:\n    def get(self):\n        return 1\n",
        "app/sql.py": (
            "from app.base import Repo\n\n\nclass SqlRepo(Repo):\n"
            "    def get(self):\n        return 2\n\n"
            "    def vacuum(self):\n        return 3\n"
        ),
        "app/main.py": "from app.sql import SqlRepo\n\nSqlRepo().get()\n",
    }
    found = run(tmp_path, files, ["app/cmd.py", "app/sql.py"])
    # Command and its methods may be called by Django; SqlRepo's base is ours and has
    # no `vacuum`, so that name is new and nothing uses it.
    assert dead_names(found) == {"vacuum"}


def test_an_in_repo_base_that_a_plugin_scan_walks_exempts_its_subclasses(tmp_path: Path) -> None:
    files = {
        "plugins/base.py": "class Detector:\n    def scan(self):\n        return []\n",
        "plugins/loader.py": (
            "import inspect\nfrom plugins.base import Detector\n\n\ndef load(module):\n"
            "    return [c for _, c in inspect.getmembers(module)"
            " if inspect.isclass(c) and issubclass(c, Detector)]\n"
        ),
        "plugins/aws.py": (
            "from plugins.base import Detector\n\n\nclass AwsDetector(Detector):\n"
            "    def scan(self):\n        return ['aws']\n"
        ),
        "main.py": "from plugins.loader import load\n\nload(None)\n",
    }
    assert run(tmp_path, files, ["plugins/aws.py"]) == []


def test_a_name_shadowing_an_external_base_does_not_close_it(tmp_path: Path) -> None:
    files = {
        "app/widgets.py": "class Component:\n    pass\n",
        "app/view.tsx": (
            'import { Component } from "react";\n\n'
            "export default function mount() {\n  return new Page({});\n}\n\n"
            "class Page extends Component {\n  componentDidMount(): void {}\n}\n"
        ),
        "app/main.py": "from app.widgets import Component\n\nComponent()\n",
    }
    assert run(tmp_path, files, ["app/view.tsx"]) == []


def test_c_function_called_from_another_file(tmp_path: Path) -> None:
    files = {
        "src/util.c": (
            "static int clamp(int v) { return v < 0 ? 0 : v; }\n"
            "int scale(int v) { return clamp(v) * 2; }\n"
            "static int unused_local(void) { return 0; }\n"
        ),
        "src/main.c": "int scale(int v);\nint main(void) { return scale(3); }\n",
        "include/api.h": (
            "int api_version(void);\nstatic inline int api_max(void) { return 9; }\n"
            "static int api_helper(void) { return 8; }\n"
        ),
        "src/api.c": '#include "api.h"\nint api_version(void) { return 1; }\n',
    }
    found = run(tmp_path, files, ["src/util.c", "include/api.h", "src/api.c", "src/main.c"])
    # a header's `static inline` function is what it offers its includers (API, as its
    # other definitions are); a plain `static` one there is not
    assert dead_names(found) == {"unused_local", "api_helper"}


def test_go_method_satisfying_an_interface_of_the_repository(tmp_path: Path) -> None:
    files = {
        "app/store.go": (
            "package main\n\n"
            "type saver interface{ save() error }\n\n"
            "type disk struct{}\n\n"
            "func (d disk) save() error { return nil }\n\n"
            "func (d disk) purge() {}\n\n"
            'func (d disk) String() string { return "disk" }\n\n'
            "func persist(s saver) error { return s.save() }\n\n"
            "func main() { _ = persist(disk{}) }\n"
        ),
        "app/store_test.go": "package main\n\nfunc TestPersist(t *testing.T) {}\n",
    }
    found = run(tmp_path, files, ["app/store.go", "app/store_test.go"])
    assert dead_names(found) == {"purge"}


def test_rust_items(tmp_path: Path) -> None:
    files = {
        "src/main.rs": (
            "struct Meter(f64);\n\n"
            "impl Meter {\n    fn double(&self) -> f64 { self.0 * 2.0 }\n"
            "    fn triple(&self) -> f64 { self.0 * 3.0 }\n}\n\n"
            "impl Drop for Meter {\n    fn drop(&mut self) {}\n}\n\n"
            '#[no_mangle]\npub extern "C" fn ffi_entry() {}\n\n'
            "#[inline]\nfn inlined() {}\n\n"
            'fn main() {\n    println!("{}", Meter(1.0).double());\n}\n'
        )
    }
    found = run(tmp_path, files, ["src/main.rs"])
    assert dead_names(found) == {"triple", "inlined"}


def test_java_members(tmp_path: Path) -> None:
    files = {
        "src/main/java/app/Service.java": (
            "package app;\n\n"
            "class Service {\n"
            "    private int unusedPrivate() { return 1; }\n"
            "    int used() { return 2; }\n"
            "    @Bean\n    Object client() { return null; }\n"
            "    @Deprecated\n    void stale() {}\n"
            '    public String describe() { return ""; }\n'
            "    Runnable task() {\n"
            "        return new Runnable() { public void run() {} void helperOfAnon() {} };\n"
            "    }\n"
            "}\n"
        ),
        "src/main/java/app/Main.java": (
            "package app;\n\npublic class Main {\n"
            "    public static void main(String[] a) {\n"
            "        new Service().used();\n        new Service().task();\n    }\n"
            "}\n"
        ),
        "src/test/java/app/ServiceTest.java": (
            "package app;\n\nclass ServiceTest {\n    @Test\n    void works() {}\n}\n"
        ),
    }
    found = run(tmp_path, files, sorted(files))
    # the anonymous Runnable's helper may override nothing we can see: exempt
    assert dead_names(found) == {"unusedPrivate", "stale"}


def test_cpp_members(tmp_path: Path) -> None:
    files = {
        "src/shape.cpp": (
            "#include <string>\n"
            "class Shape {\npublic:\n  Shape() {}\n  ~Shape() {}\n"
            "  virtual double area() const { return 0; }\n"
            "  double perimeter() const { return 0; }\n"
            "  bool operator==(const Shape&) const { return true; }\n};\n\n"
            "class Square : public Shape {\npublic:\n  double area() const override { return 1; }\n"
            "  double diagonal() const;\n};\n\n"
            "double Square::diagonal() const { return 1.4; }\n"
            "static double unused_helper() { return 0; }\n"
            "int main() { Square s; return (int)s.area(); }\n"
        )
    }
    found = run(tmp_path, files, ["src/shape.cpp"])
    # diagonal is declared in the class (an occurrence): precision counts it as used.
    assert dead_names(found) == {"perimeter", "unused_helper"}


def test_ruby_symbols_and_rails_controllers(tmp_path: Path) -> None:
    files = {
        "app/controllers/orders_controller.rb": (
            "class OrdersController < ApplicationController\n"
            "  before_action :load_order\n\n"
            "  def index\n  end\n\n"
            "  private\n\n"
            "  def load_order\n  end\n"
            "end\n"
        ),
        "app/controllers/application_controller.rb": (
            "class ApplicationController < ActionController::Base\nend\n"
        ),
        "lib/tools.rb": (
            "module Tools\n  def self.used?\n    true\n  end\n\n"
            "  def self.forgotten!\n    false\n  end\nend\n"
        ),
        "bin/run.rb": "puts Tools.used?\n",
    }
    found = run(tmp_path, files, sorted(files))
    assert dead_names(found) == {"forgotten!"}


def test_typescript_exports_overloads_and_privates(tmp_path: Path) -> None:
    files = {
        "src/lib.ts": (
            "export function pad(s: string): string;\n"
            "export function pad(s: number): string;\n"
            "export function pad(s: unknown): string { return String(s); }\n\n"
            "export class Cache {\n  get(k: string) { return this.load(k); }\n"
            "  private load(k: string) { return k; }\n"
            "  private evict() {}\n"
            "  #secret() {}\n}\n\n"
            "const internal = () => 1;\n"
            "function localHelper() { return 2; }\n"
            "console.log(localHelper());\n"
        ),
        "src/lib.test.ts": "describe('x', () => { function unusedFixture() {} });\n",
    }
    found = run(tmp_path, files, sorted(files))
    assert dead_names(found) == {"evict", "#secret", "internal"}


def test_shell_functions_called_from_other_scripts(tmp_path: Path) -> None:
    files = {
        "scripts/lib.sh": 'log() { echo "$@"; }\nunused_fn() { :; }\n',
        "scripts/deploy.sh": "#!/bin/bash\n. scripts/lib.sh\nlog deploying\n",
    }
    found = run(tmp_path, files, ["scripts/lib.sh"])
    assert dead_names(found) == {"unused_fn"}


def test_a_definition_the_parser_had_to_guess_the_end_of_is_not_judged(tmp_path: Path) -> None:
    # tree-sitter-bash cannot read this extglob pattern: the function runs on to the end
    # of the file, over the `complete -F _lsusb` that uses it.
    completion = (
        "_lsusb()\n{\n    case $prev in\n        --help | -!(-*)@([sD]|[hV]*))\n"
        "            return\n            ;;\n    esac\n} &&\n    complete -F _lsusb lsusb\n"
        "\nunused_fn() { :; }\n"
    )
    files = {"completions/lsusb.sh": completion}
    assert dead_names(run(tmp_path, files, sorted(files))) == set()
    readable = completion.replace("-!(-*)@([sD]|[hV]*)", "-s")
    files = {"completions/lsusb.sh": readable}
    assert dead_names(run(tmp_path, files, sorted(files))) == {"unused_fn"}


def test_a_python_function_named_in_a_shell_script_or_yaml_counts(tmp_path: Path) -> None:
    files = {
        "jobs/nightly.py": "def rebuild_index():\n    pass\n\n\ndef compact():\n    pass\n",
        "ci/nightly.sh": "python -m jobs.nightly rebuild_index\n",
        "deploy/cron.yaml": "jobs:\n  - handler: jobs.nightly.compact\n",
    }
    assert run(tmp_path, files, ["jobs/nightly.py"]) == []


def test_docs_mentioning_a_name_count_as_a_reference(tmp_path: Path) -> None:
    files = {"lib/api.py": "def documented():\n    pass\n", "README.md": "Call `documented()`.\n"}
    assert run(tmp_path, files, ["lib/api.py"]) == []


def test_public_patterns_match_qualified_names_and_paths(tmp_path: Path) -> None:
    files = {
        "src/sdk/client.py": "class Client:\n    def fetch(self):\n        pass\n",
        "src/sdk/internal.py": "def helper():\n    pass\n",
    }
    settings = {"public": ["sdk.client.*"]}
    found = run(tmp_path, files, sorted(files), settings)
    assert dead_names(found) == {"helper"}


# ------------------------------------------------------------------ qualified names


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        (
            "pkg/__init__.py",
            "class A:\n    def m(self):\n        def inner():\n            pass\n",
            {"pkg.A": "class", "pkg.A.m": "method", "pkg.A.m.inner": "function"},
        ),
        (
            "srv/s.go",
            "package srv\ntype S struct{}\nfunc (s *S) Run() {}\nfunc f() {}\n",
            {"srv.s.S": "class", "srv.s.S.Run": "method", "srv.s.f": "function"},
        ),
        (
            "src/lib.rs",
            "struct P;\nimpl P { fn new() -> P { P } }\nfn g() {}\n",
            {"src.lib.P": "class", "src.lib.P.new": "method", "src.lib.g": "function"},
        ),
        (
            "a.cpp",
            "class K { void m() {} };\nvoid K::n() {}\n",
            {"a.K": "class", "a.K.m": "method", "a.K.n": "method"},
        ),
        (
            "w.js",
            "class W { go() {} }\nconst f = () => 1;\n",
            {"w.W": "class", "w.W.go": "method", "w.f": "function"},
        ),
        (
            "r.rb",
            "class R\n  def x; end\n  def self.y; end\nend\n",
            {"r.R": "class", "r.R.x": "method", "r.R.y": "method"},
        ),
        ("J.java", "class J { void m() {} J() {} }\n", {"J.J": "class", "J.J.m": "method"}),
        ("s.sh", "f() { :; }\n", {"s.f": "function"}),
    ],
)
def test_definitions_and_qualified_names(path: str, code: str, expected: dict[str, str]) -> None:
    found = {d.qualname: d.kind for d in wire.definitions(make_source(path, code.encode()))}
    assert found == expected


# -------------------------------------------------------------- a real git repository


def test_through_a_real_git_repository_as_the_engine_builds_the_context(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    write(
        root,
        {
            "app/core.py": "def compute(x):\n    return x * 2\n",
            "app/main.py": "from app.core import compute\n\nprint(compute(2))\n",
            "untracked_caller.py": "from app.core import orphan\norphan()\n",
        },
    )
    git(root, "add", "app")
    git(root, "commit", "--quiet", "-m", "initial")
    (root / "app/core.py").write_text(
        "def compute(x):\n    return x * 2\n\n\ndef orphan():\n    return 0\n"
    )
    git(root, "add", "app/core.py")

    def tracked() -> list[str]:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached"], cwd=root, capture_output=True, check=True
        ).stdout
        return [p.decode() for p in out.split(b"\0") if p]

    def staged(path: str) -> bytes | None:
        proc = subprocess.run(["git", "show", f":{path}"], cwd=root, capture_output=True)
        return proc.stdout if proc.returncode == 0 else None

    ctx = Context(root=root, list_files=tracked, read_file=staged, mode="staged")
    data = staged("app/core.py")
    assert data is not None
    found = wire.WireGate().check([make_source("app/core.py", data)], ctx)
    # the untracked file is not part of the repository being checked
    assert [(f.rule, f.line, f.key) for f in found] == [("unused-function", 5, "app.core.orphan")]
    assert (root / ".git/convergio/cache/wire/index.bin").is_file()


# ------------------------------------------------------------------------- the index


@pytest.fixture
def fresh_memory() -> None:
    wire._MEMORY.clear()


def repo_with_git_dir(root: Path, files: Mapping[str, str]) -> Context:
    (root / ".git").mkdir(parents=True)
    write(root, files)
    return context(root)


def build(ctx: Context, overrides: Mapping[str, bytes] | None = None) -> wire.ReferenceIndex:
    return wire.ReferenceIndex.build(ctx.root, ctx.repo_files(), ctx.read, overrides or {})


def built_afresh(tree: Path, elsewhere: Path) -> wire.ReferenceIndex:
    """The index of ``tree``'s files counted from scratch, with a cache of its own (an
    empty git dir at ``elsewhere``)."""
    (elsewhere / ".git").mkdir(parents=True, exist_ok=True)
    same = context(tree)
    return wire.ReferenceIndex.build(elsewhere, same.repo_files(), same.read, {})


@pytest.mark.usefixtures("fresh_memory")
def test_a_warm_run_reads_the_cache_and_tokenises_nothing(tmp_path: Path) -> None:
    ctx = repo_with_git_dir(tmp_path, {f"m{i}.py": f"def f{i}():\n    g{i}()\n" for i in range(20)})
    cold = build(ctx)
    assert cold.stats.rebuilt and cold.stats.tokenised == 20
    wire._MEMORY.clear()  # as a new process would
    warm = build(ctx)
    assert (warm.stats.rebuilt, warm.stats.tokenised) == (False, 0)
    assert warm.totals() == cold.totals()
    assert warm.count(b"g7") == 1


@pytest.mark.usefixtures("fresh_memory")
def test_an_update_equals_a_rebuild(tmp_path: Path) -> None:
    files = {
        f"m{i}.py": f"class C{i}(Base):\n    def f{i}(self):\n        pass\n" for i in range(8)
    }
    ctx = repo_with_git_dir(tmp_path / "a", files)
    build(ctx)
    (tmp_path / "a/m3.py").write_text("def replaced():\n    pass\n")
    (tmp_path / "a/m4.py").unlink()
    write(tmp_path / "a", {"extra.py": "replaced()\n"})
    wire._MEMORY.clear()
    updated = build(context(tmp_path / "a"))
    assert not updated.stats.rebuilt and updated.stats.tokenised == 2
    rebuilt = built_afresh(tmp_path / "a", tmp_path / "b")
    assert rebuilt.stats.rebuilt
    assert updated.totals() == rebuilt.totals()
    assert updated.class_lists() == rebuilt.class_lists()
    assert updated.count(b"f4") == 0 and updated.count(b"replaced") == 2


@pytest.mark.usefixtures("fresh_memory")
def test_an_uncached_index_counts_what_a_cached_one_does(tmp_path: Path) -> None:
    """Under --no-cache the index keeps the tokens themselves (nothing is stored, so
    nothing is hashed); every question gets the answer a stored index gives."""
    files = {f"m{i}.py": f"def f{i}():\n    g{i % 3}(f{i - 1})\n" for i in range(40)}
    files["lone.py"] = "def only_here():\n    pass\n"
    files["bin.dat"] = "ab\0cd\n"
    ctx = repo_with_git_dir(tmp_path, files)
    cached = build(ctx)
    wire._MEMORY.clear()
    uncached = wire.ReferenceIndex.build(ctx.root, ctx.repo_files(), ctx.read, {}, cached=False)
    assert uncached.state.raw is not None and cached.state.raw is None
    assert uncached.stats.rebuilt and uncached.stats.tokenised == 42
    assert uncached.totals() == cached.totals()
    for token in (b"g1", b"f39", b"only_here", b"absent"):
        assert uncached.count(token) == cached.count(token)
        assert uncached.counter(10_000)(token) == cached.counter(10_000)(token)
    assert uncached.count(b"g1") == 13
    with pytest.raises(ValueError):
        uncached.count_key(wire.token_key(b"g1"))
    # Nothing per file was kept, yet each file's own counts are still given.
    checked = sources(tmp_path, sorted(files))
    (m5,) = [s for s in checked if s.path == "m5.py"]
    assert uncached.blobs is not None and uncached.blobs.get(bytes.fromhex(m5.oid)) is None
    assert cached.blobs is not None and cached.blobs.get(bytes.fromhex(m5.oid))
    own = uncached.file_counts(m5)
    assert {wire.token_key(t): n for t, n in own.items()} == cached.file_counts(m5)
    assert uncached.key(b"g1") == b"g1" and cached.key(b"g1") == wire.token_key(b"g1")
    dead = [s.path for s in uncached.may_define_dead(checked)]
    assert dead == [s.path for s in cached.may_define_dead(checked)]
    assert "lone.py" in dead and "bin.dat" in dead and "m5.py" not in dead


@pytest.mark.usefixtures("fresh_memory")
@pytest.mark.parametrize("cached", [True, False])
def test_an_index_tokenised_in_forked_children_is_the_one_counted_here(
    cached: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild with little being checked tokenises in forked children (each a share of
    the files); every total, every file's own counts and every class are the same."""
    files = {
        f"m{i}.py": f"class C{i}(Base):\n    def f{i}(self):\n        g{i % 5}()\n"
        for i in range(30)
    }
    files["big.py"] = "x = 1\n" * 5000
    files["bin.dat"] = "ab\0cd\n"
    here = repo_with_git_dir(tmp_path / "a", files)
    serial = wire.ReferenceIndex.build(here.root, here.repo_files(), here.read, {}, cached=cached)
    wire._MEMORY.clear()
    monkeypatch.setattr(wire, "PARALLEL_MIN_BYTES", 1)
    forked: list[int] = []
    real = wire._tokenised

    def counting(todo: Any, keeping: bool, workers: int) -> Any:
        forked.append(workers)
        return real(todo, keeping, workers)

    monkeypatch.setattr(wire, "_tokenised", counting)
    there = repo_with_git_dir(tmp_path / "b", files)
    apart = wire.ReferenceIndex.build(
        there.root, there.repo_files(), there.read, {}, cached=cached, workers=3
    )
    assert forked == [3]
    assert apart.stats.tokenised == serial.stats.tokenised == 32
    assert apart.totals() == serial.totals()
    assert apart.class_lists() == serial.class_lists()
    for source in sources(tmp_path / "a", sorted(files)):
        assert apart.file_counts(source) == serial.file_counts(source)
        assert apart.kept_counts(source) == serial.kept_counts(source)
    # Checking files that outweigh the rest, or one worker, keeps it in this process.
    assert wire._rebuild_workers([(b"d", b"x" * 10)], {"a.py": b"y" * 3}, 4) == 1
    assert wire._rebuild_workers([(b"d", b"x" * 10)], {"a.py": b"y" * 2}, 4) == 4
    assert wire._rebuild_workers([(b"d", b"x" * 10)], {}, 1) == 1


@pytest.mark.usefixtures("fresh_memory")
def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    ctx = repo_with_git_dir(tmp_path, {"a.py": "def a():\n    pass\n", "b.py": "a()\n"})
    first = build(ctx)
    cache = tmp_path / ".git/convergio/cache/wire"
    (cache / "index.bin").write_bytes(b"not marshal at all")
    for shard in cache.glob("blobs-*.bin"):
        shard.write_bytes(b"\xff\x00garbage")
    wire._MEMORY.clear()
    again = build(ctx)
    assert again.stats.rebuilt
    assert again.totals() == first.totals()


@pytest.mark.usefixtures("fresh_memory")
def test_a_lost_blob_falls_back_to_a_rebuild(tmp_path: Path) -> None:
    ctx = repo_with_git_dir(tmp_path, {f"m{i}.py": f"x{i} = 1\n" for i in range(6)})
    build(ctx)
    for shard in (tmp_path / ".git/convergio/cache/wire").glob("blobs-*.bin"):
        shard.unlink()
    wire._MEMORY.clear()
    (tmp_path / "m0.py").write_text("y = 2\n")
    again = build(context(tmp_path))
    assert again.stats.rebuilt
    assert again.count(b"x0") == 0 and again.count(b"y") == 1


def test_a_worktree_git_file_is_followed(tmp_path: Path) -> None:
    gitdir = tmp_path / "main/.git/worktrees/feature"
    gitdir.mkdir(parents=True)
    tree = tmp_path / "feature"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert wire.cache_dir(tree) == gitdir / "convergio/cache/wire"
    assert wire.cache_dir(tmp_path / "nowhere") is None


def test_tokens_and_classes() -> None:
    assert wire.tokenise(b"a.b(c_1, 'd') # e\n9f a") == {
        wire.token_key(t): n
        for t, n in {b"a": 2, b"b": 1, b"c_1": 1, b"d": 1, b"e": 1, b"f": 1}.items()
    }
    assert wire.tokenise(b"\0binary") == {}


def test_the_index_on_disk_holds_no_token_in_clear(tmp_path: Path) -> None:
    """Secrets are often identifier-shaped; the cache must not hold one."""
    secret = b"ghp_" + b"Zq8" * 12
    repo = tmp_path / "r"
    (repo / ".git").mkdir(parents=True)
    files = {"a.py": b"TOKEN = '" + secret + b"'\n\ndef used():\n    return TOKEN\n"}
    wire.ReferenceIndex.build(repo, list(files), files.get, {})
    stored = b"".join(p.read_bytes() for p in (repo / ".git").rglob("*") if p.is_file())
    assert stored and secret not in stored and b"used" not in stored
    found = wire.extract_classes(
        "m.py",
        b"class A(B, metaclass=ABCMeta):\n  pass\nclass C(mod.D, Generic[T]):\n  pass\n"
        b"class E(metaclass=Registry):\n  pass\n",
    )
    assert found == [("A", ("B",)), ("C", ("mod.D", "Generic")), ("E", ("?",))]
    assert wire.extract_classes("X.java", b"class X<T> extends Y<T> implements Z, W {}") == [
        ("X", ("Y", "Z", "W"))
    ]
    assert wire.extract_classes("x.cpp", b"class X : public a::Y, private Z {};") == [
        ("X", ("a.Y", "Z"))
    ]
    assert wire.extract_classes("x.rb", b"class X < Y::Z\nend\n") == [("X", ("Y.Z",))]


def test_ruby_classes_with_the_modules_they_mix_in() -> None:
    """Each mixin goes to the header it is indented under; a hook's ``base.extend M``
    and a nested ``module ClassMethods`` go to the enclosing module."""
    code = (
        b"module Shop\n"
        b"  class Error < ::StandardError; end\n"
        b"  class Cart < Base\n"
        b"    include Enumerable, ::Comparable\n"
        b"    include Tracing if defined?(Tracing)\n"
        b"    extend self\n"
        b"    class Line\n"
        b"      prepend Audit::Log\n"
        b"    end\n"
        b"    include Pricing\n"
        b"  end\n"
        b"  module Plugin\n"
        b"    def self.included(base)\n"
        b"      base.extend Hooks\n"
        b"      base.send(:include, Helpers)\n"
        b"      Registry.include Other\n"
        b"    end\n"
        b"    module ClassMethods\n"
        b"    end\n"
        b"  end\n"
        b"  include Plugin\n"
        b"end\n"
    )
    assert wire.extract_classes("shop.rb", code) == [
        ("Shop", ("+Plugin",)),
        ("Shop.Error", ("StandardError",)),
        ("Shop.Cart", ("Base", "+Enumerable", "+Comparable", "+Tracing", "+Pricing")),
        ("Shop.Cart.Line", ("+Audit.Log",)),
        ("Shop.Plugin", ("+Hooks", "+Helpers", "+ClassMethods")),
        ("Shop.Plugin.ClassMethods", ()),
    ]
    # a compact header is qualified as written; `::` starts again from the top
    nested = b"module Api\n  class V2::Client < ::Http::Client\n  end\n  class ::Top\n  end\nend\n"
    assert wire.extract_classes("api.rb", nested) == [
        ("Api", ()),
        ("Api.V2.Client", ("Http.Client",)),
        ("Top", ()),
    ]
    # a C++ header named .h is read for its classes too; a C header has none
    header = b"#include <string>\nclass Button : public Widget {\n public:\n  void draw();\n};\n"
    assert wire.extract_classes("ui/button.h", header) == [("Button", ("Widget",))]
    assert wire.extract_classes("ui/list.h", b"struct list { int n; };\n") == []


def test_entry_points_from_packaging_metadata(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": (
            '[project.scripts]\na = "pkg.cli:main"\n'
            '[project.entry-points."flake8.extension"]\nX = "pkg.plugin"\n'
            '[tool.poetry.scripts]\nb = "pkg.other:run"\n[tool.other]\nc = "not.this"\n'
        ),
        "setup.cfg": "[options.entry_points]\nconsole_scripts =\n    d = legacy.app:start\n",
        "web/package.json": '{"main": "./dist/index.js", "bin": {"w": "bin/w.js"}}',
    }
    write(tmp_path, files)
    ctx = context(tmp_path)
    entries = wire.entry_points(ctx.repo_files(), ctx.read)
    assert entries.modules == {
        ("pkg.cli", "main"),
        ("pkg.plugin", ""),
        ("pkg.other", "run"),
        ("legacy.app", "start"),
    }
    assert entries.files == {"web/dist/index", "web/bin/w"}


# ------------------------------------------------------------- what is cached per file


def git_repo(root: Path, files: Mapping[str, str]) -> Context:
    """A real repository (the definitions store lives in its git dir)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet")
    write(root, files)
    return context(root)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the path of every file the wire gate parses, in order."""
    parsed: list[str] = []
    real = wire.candidates

    def counting(source: SourceFile) -> list[wire.Candidate]:
        parsed.append(source.path)
        return real(source)

    monkeypatch.setattr(wire, "candidates", counting)
    return parsed


@pytest.mark.usefixtures("fresh_memory")
def test_a_file_seen_before_is_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"app/a.py": "def used():\n    pass\n\n\ndef dead():\n    pass\n", "b.py": "used()\n"}
    ctx = git_repo(tmp_path, files)
    first = wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx)
    assert dead_names(first) == {"dead"}
    assert list((tmp_path / ".git/convergio/cache/wire").glob("defs-*.bin"))

    def no_parse(source: SourceFile) -> list[wire.Candidate]:
        raise AssertionError(f"{source.path} parsed again")

    monkeypatch.setattr(wire, "candidates", no_parse)
    wire._MEMORY.clear()
    assert wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx) == first


@pytest.mark.usefixtures("fresh_memory")
def test_a_changed_file_or_changed_rules_are_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"app/a.py": "def used():\n    pass\n", "b.py": "used()\n"}
    ctx = git_repo(tmp_path, files)
    assert wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx) == []
    write(tmp_path, {"app/a.py": "def used():\n    pass\n\n\ndef later():\n    pass\n"})
    found = wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx)
    assert dead_names(found) == {"later"}
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(wire.rules_data, "digest", lambda: "other-rules")
    assert dead_names(wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx)) == {"later"}
    assert parsed == ["app/a.py"]


def test_occurrences_split_tokens_as_the_tokeniser_does() -> None:
    data = b"abc 9abc x9abc abcd _abc abc9 a.abc\xc3\xa9abc abc$abc (abc)"
    tokens = {b"abc", b"abcd", b"a"}
    expected: dict[bytes, list[int]] = {}
    for match in wire.TOKEN.finditer(data):
        if match.group() in tokens:
            expected.setdefault(match.group(), []).append(match.start())
    for token in tokens:
        every = expected.get(token, [])
        assert wire._token_starts(data, token, 0, len(data)) == every
        assert wire._token_starts(b"", token, 0, 0) == []
        # In a range: the same offsets, those that start in it, whatever the bytes around.
        for lo in range(len(data) + 1):
            for hi in range(lo, len(data) + 2):
                inside = [at for at in every if lo <= at < hi]
                assert wire._token_starts(data, token, lo, hi) == inside
                assert wire._first_token(data, token, lo, hi) == (inside or [-1])[0]


@pytest.mark.usefixtures("fresh_memory")
def test_known_ids_spare_reading_unchanged_files(tmp_path: Path) -> None:
    files = {f"m{i}.py": f"def f{i}():\n    g{i}()\n" for i in range(10)}
    ctx = repo_with_git_dir(tmp_path, files)
    build(ctx)
    wire._MEMORY.clear()
    known = {p: blob_oid((tmp_path / p).read_bytes()) for p in files}
    write(tmp_path, {"m3.py": "def f3():\n    h3()\n"})
    known.pop("m3.py")

    def read(path: str) -> bytes | None:
        assert path == "m3.py", f"{path} read although its id is known"
        return (tmp_path / path).read_bytes()

    index = wire.ReferenceIndex.build(tmp_path, sorted(files), read, {}, known)
    assert index.count(b"h3") == 1 and index.count(b"g3") == 0 and index.count(b"g4") == 1
    assert not index.stats.rebuilt and index.stats.tokenised == 1


@pytest.mark.usefixtures("fresh_memory")
def test_every_change_is_folded_into_the_stored_index(tmp_path: Path) -> None:
    files = {f"m{i}.py": f"def f{i}():\n    g{i}()\n" for i in range(60)}
    ctx = repo_with_git_dir(tmp_path, files)
    build(ctx)
    stored = tmp_path / ".git/convergio/cache/wire/index.bin"
    before = stored.read_bytes()
    for changed in (
        {"m0.py": "def f0():\n    k0()\n"},  # g0 goes, k0 comes
        {f"m{i}.py": f"def f{i}():\n    k{i}()\n    f{i}()\n" for i in range(1, 26)},
    ):
        write(tmp_path, changed)
        wire._MEMORY.clear()
        folded = build(ctx)
        assert stored.read_bytes() != before and not folded.stats.rebuilt
        assert folded.state.stamp and folded.stats.tokenised == len(changed)  # stored
        before = stored.read_bytes()
        (tmp_path / "b").mkdir(exist_ok=True)
        shutil.rmtree(tmp_path / "b")
        (tmp_path / "b/.git").mkdir(parents=True)
        rebuilt = wire.ReferenceIndex.build(tmp_path / "b", ctx.repo_files(), ctx.read, {})
        assert folded.totals() == rebuilt.totals()
        assert folded.state.keys == rebuilt.state.keys  # the very same packing
        assert folded.class_lists() == rebuilt.class_lists()
        wire._MEMORY.clear()
        again = build(ctx)
        assert again.totals() == rebuilt.totals() and again.stats.tokenised == 0


@pytest.mark.parametrize("seed", range(5))
def test_folding_a_delta_packs_what_counting_afresh_packs(seed: int) -> None:
    rng = random.Random(seed)
    keys = [rng.randbytes(8) for _ in range(400)]
    counts = {k: rng.randint(1, 5) for k in keys[:300]}
    state = wire.IndexState.of({}, counts, {})
    delta: dict[bytes, int] = {}
    for k in rng.sample(keys, 150):
        n = counts.get(k, 0)
        delta[k] = rng.choice([-n, 1 - n, 2]) if n else rng.randint(1, 3)
    after = {k: counts.get(k, 0) + delta.get(k, 0) for k in set(counts) | set(delta)}
    expected = wire.IndexState.of({}, after, {})
    folded = state.folded(delta, {}, {})
    assert (folded.keys, list(folded.values)) == (expected.keys, list(expected.values))


def test_the_definitions_store_holds_no_string_content(tmp_path: Path) -> None:
    secret = "ghp_" + "Zq8" * 12
    files = {"app/a.py": f"TOKEN = '{secret}'\n\n\ndef dead():\n    return 1\n"}
    ctx = git_repo(tmp_path, files)
    assert dead_names(wire.WireGate().check(sources(tmp_path, ["app/a.py"]), ctx)) == {"dead"}
    cache = tmp_path / ".git/convergio"
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert list(cache.rglob("defs-*.bin")) and secret.encode() not in stored


@pytest.mark.usefixtures("fresh_memory")
def test_an_unchanged_tree_reuses_its_verdicts_and_a_change_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/a.py": "def used():\n    pass\n\n\ndef dead():\n    pass\n",
        "app/b.py": "class Base:\n    def hook(self):\n        pass\n",
        "main.py": "from app.a import used\nused()\n",
    }
    ctx = git_repo(tmp_path, files)
    checked = ["app/a.py", "app/b.py"]
    first = wire.WireGate().check(sources(tmp_path, checked), ctx)
    assert dead_names(first) == {"dead", "Base", "hook"}
    assert (tmp_path / ".git/convergio/cache/wire/verdicts.bin").is_file()

    def nothing(*args: object, **kwargs: object) -> object:
        raise AssertionError("worked out again")

    with monkeypatch.context() as m:
        m.setattr(wire, "file_candidates", nothing)
        m.setattr(wire.Judge, "exemption", nothing)
        wire._MEMORY.clear()
        assert wire.WireGate().check(sources(tmp_path, checked), ctx) == first
    # another file changes: the verdicts were worked out against another repository
    write(tmp_path, {"main.py": "from app.a import used, dead\nused()\ndead()\n"})
    wire._MEMORY.clear()
    assert dead_names(wire.WireGate().check(sources(tmp_path, checked), ctx)) == {"Base", "hook"}
    # a setting they depend on changes
    settings = {"public": ["app.b.*"]}
    wire._MEMORY.clear()
    assert (
        dead_names(wire.WireGate().check(sources(tmp_path, checked), context(tmp_path, settings)))
        == set()
    )


# ------------------------------------------------------------- which files are parsed


def every_sample() -> list[Any]:
    return [*samples("refuse", "refuse"), *samples("exempt", "refuse"), *samples("exempt", "allow")]


@pytest.mark.parametrize(("rule_id", "sample"), every_sample())
def test_the_parse_filter_keeps_every_file_with_an_unreferenced_definition(
    rule_id: str, sample: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file of every sample, checked: the files the filter keeps hold every
    definition the unfiltered search finds unreferenced."""
    write(tmp_path, sample["files"])
    ctx = context(tmp_path, sample.get("settings"))
    files = sources(tmp_path, sorted(sample["files"]))
    dead, index = wire.unreferenced(files, list(ctx.repo_files()), ctx)
    monkeypatch.setattr(wire, "FILTER_MIN_FILES", 0)
    kept = {f.path for f in index.may_define_dead(files)}
    assert {d.path for d in dead} <= kept, (rule_id, dead)


@pytest.mark.usefixtures("fresh_memory")
def test_a_file_whose_every_token_occurs_elsewhere_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "lib.py": "def used():\n    return 1\n",
        "app.py": "def run():\n    return used()\n\n\ndef spare():\n    return 2\n\n\nrun()\n",
    }
    ctx = git_repo(tmp_path, files)
    checked = ["app.py", "lib.py"]
    assert dead_names(wire.WireGate().check(sources(tmp_path, checked), ctx)) == {"spare"}
    # With the index stored, new content whose every token occurs in another file
    # (`def`, `used`, `return`) cannot define anything unreferenced: it is not parsed.
    write(
        tmp_path, {"lib.py": "def used():\n    return 2\n", "new.py": "def fresh():\n    run()\n"}
    )
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(wire, "FILTER_MIN_FILES", 0)
    found = wire.WireGate().check(sources(tmp_path, [*checked, "new.py"]), context(tmp_path))
    assert dead_names(found) == {"spare", "fresh"}
    assert parsed == ["new.py"]


@pytest.mark.usefixtures("fresh_memory")
@pytest.mark.parametrize(("few", "parsed_now"), [(0, ["lib.py"]), (2, ["app.py", "lib.py"])])
def test_after_a_change_only_files_with_a_definition_left_by_the_text_are_parsed(
    few: int, parsed_now: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first whole-repository run reads Python definitions by text and stores no
    file's candidates. After a change (the index stored), of the files whose token
    counts allow something unreferenced, only those where the text leaves a definition
    that may be are parsed: `local.py` has a name no other file has, but uses it after
    the definition ends. ``few``: below it, the changed file goes first on its own."""
    monkeypatch.setattr(wire, "FILTER_MIN_FILES", few)
    files = {
        "lib.py": "def used():\n    return 1\n\n\ndef spare():\n    return 2\n",
        "local.py": "def helper():\n    return 1\n\n\nvalue = helper()\n",
        "app.py": "from lib import used\n\nused()\n",
    }
    ctx = git_repo(tmp_path, files)
    checked = sorted(files)
    assert dead_names(wire.WireGate().check(sources(tmp_path, checked), ctx)) == {"spare"}
    write(tmp_path, {"app.py": "from lib import used\n\nused()\nused()\n"})
    parsed = count_parses(monkeypatch)
    found = wire.WireGate().check(sources(tmp_path, checked), context(tmp_path))
    assert dead_names(found) == {"spare"}
    assert parsed == parsed_now


def test_no_cache_builds_everything_from_the_files_and_stores_nothing(tmp_path: Path) -> None:
    """`check --no-cache`: a suspect cache is neither read nor written."""
    files = {"app/a.py": "def used():\n    pass\n\n\ndef dead():\n    pass\n", "b.py": "used()\n"}
    root = tmp_path / "repo"
    git_repo(root, files)
    git(root, "add", "-A")
    proc = subprocess.run(
        [sys.executable, "-m", "convergio_gate", "check", "--no-record", "--no-cache",
         "--gate", "wire", "--format", "json", "app/a.py"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert [f["line"] for f in json.loads(proc.stdout)["findings"]] == [5]
    assert not (root / ".git/convergio/cache/wire").exists()


def test_only_definitions_their_own_file_does_not_use_elsewhere_are_candidates() -> None:
    source = make_source(
        "app/m.py",
        b"def helper():\n    return 1\n\n\n"
        b"def recurse(n):\n    return recurse(n - 1) if n else helper()\n\n\n"
        b"class Box:\n    def size(self):\n        return 2\n\n    def grow(self):\n"
        b"        return self.size() + 1\n",
    )
    found = {d.name: inside for d, inside in wire.candidates(source)}
    # helper and size are called elsewhere in the file: never unreferenced, never built.
    assert found == {"recurse": 2, "Box": 1, "grow": 1}


# ------------------------------------------------- definitions read from the text


LEXICAL_EDGES: list[dict[str, str]] = [
    {  # used only inside itself, once past a docstring line at column 0
        "m.py": 'def helper():\n    """Doc\nUsage: helper()\n"""\n    return helper\n',
    },
    {  # a bracket left open over a line at column 0
        "m.py": "def build():\n    return dict(\na=build)\n",
    },
    {  # a backslash runs a line of the body on at column 0
        "m.py": "def tail():\n    x = 1 + \\\n2 + len([tail])\n    return x\n",
    },
    {  # a comment at column 0 inside the body
        "m.py": "def f():\n    a = 1\n# f is here\n    return f, a\n",
    },
    {  # used right after it ends, at its own indentation
        "m.py": "def g(): return 1\ng()\n\n\ndef h():\n    return h\n",
    },
    {  # used before it is defined; a setter named like its getter
        "m.py": (
            "x = later\n\n\ndef later():\n    pass\n\n\nclass A:\n    @property\n"
            "    def v(self):\n        return 1\n\n    @v.setter\n    def v(self, value):\n"
            "        pass\n\n    def lone(self):\n        return self.lone\n"
        ),
    },
    {  # indented with tabs, nested classes, a name used only in another file
        "m.py": (
            "class Outer:\n\tclass Inner:\n\t\tdef deep(self):\n\t\t\treturn 1\n"
            "\tdef shallow(self):\n\t\treturn Outer.Inner\n"
        ),
        "n.py": "from m import Outer\nOuter().shallow()\n",
    },
    {  # a def inside a string, a triple quote inside a comment
        "m.py": (
            'TEXT = """\ndef ghost():\n"""\n\n\ndef ghost():  # \'\'\'\n    return 1\n\n\n'
            "def real():\n    return ghost\n"
        ),
    },
]


def lexical_cases() -> list[Any]:
    cases = [pytest.param(s["files"], s["check"], id=i) for i, s in _sample_files()]
    cases += [
        pytest.param(files, sorted(files), id=f"edge-{n}") for n, files in enumerate(LEXICAL_EDGES)
    ]
    return cases


def _sample_files() -> list[tuple[str, Any]]:
    out = []
    for rule in RULES:
        for kind in ("refuse", "allow"):
            for n, sample in enumerate(rule.get(kind, [])):
                out.append((f"{rule['id']}-{kind}-{n}", sample))
    return out


@pytest.mark.parametrize(("files", "check"), lexical_cases())
def test_reading_definitions_by_text_finds_what_the_whole_parse_finds(
    files: dict[str, str], check: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole-repository run with no index yet reads Python definitions from the text
    first (lexical_ranges); the findings must be the ones of parsing every file whole."""
    write(tmp_path, files)
    ctx = context(tmp_path)
    monkeypatch.setattr(wire, "FILTER_MIN_FILES", 0)
    by_text = wire.WireGate().check(sources(tmp_path, check), ctx)
    monkeypatch.setattr(wire, "DEF_SITES", {})
    whole = wire.WireGate().check(sources(tmp_path, check), context(tmp_path))
    assert [f.to_json() for f in by_text] == [f.to_json() for f in whole]


def test_the_edge_cases_find_what_they_should(tmp_path: Path) -> None:
    found = []
    for n, files in enumerate(LEXICAL_EDGES):
        root = tmp_path / str(n)
        found.append(sorted(dead_names(run(root, files, sorted(files)))))
    assert found == [
        ["helper"],
        ["build"],
        ["tail"],
        ["f"],
        ["h"],
        ["A", "lone"],
        ["deep"],
        ["real"],
    ]


def test_a_python_file_with_no_definition_left_by_the_text_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "lib.py": "def used():\n    return 1\n\n\ndef spare():\n    return 2\n",
        "app.py": "from lib import used\n\n\ndef run():\n    return used()\n\n\nrun()\n",
    }
    write(tmp_path, files)
    parsed: list[str] = []
    real = wire.ranged_candidates_packed

    def counting(ranges: Any, chosen: Sequence[SourceFile]) -> Any:
        parsed.extend(f.path for f in chosen)
        return real(ranges, chosen)

    monkeypatch.setattr(wire, "ranged_candidates_packed", counting)
    monkeypatch.setattr(wire, "FILTER_MIN_FILES", 0)
    found = wire.WireGate().check(sources(tmp_path, ["app.py", "lib.py"]), context(tmp_path))
    assert dead_names(found) == {"spare"}
    assert parsed == ["lib.py"]  # app.py: `run` is used after its body ends


@pytest.mark.parametrize(
    ("code", "name", "ends_at"),
    [
        ("def f():\n    return 1\nx = f\n", "f", "x = f"),
        ("def f():\n    s = '''\nx = f\n'''\n    return s\ny = 1\n", "f", "y = 1"),
        ("def f():\n    return g(\n1)\n\nz = 2\n", "f", "z = 2"),
        ("class A:\n    def m(self):\n        pass\n    n = 1\n", "m", "    n = 1"),
        ("def f():\n    pass\n", "f", None),
        ("def f():\n    x = 1 + \\\n2\nz = 3\n", "f", "z = 3"),
    ],
)
def test_where_a_python_definition_ends_at_the_latest(
    code: str, name: str, ends_at: str | None
) -> None:
    data = code.encode()
    at = data.index(b"def " + name.encode()) + 4
    end = wire._python_block_end(data, at)
    assert end == (len(data) if ends_at is None else data.index(b"\n" + ends_at.encode()) + 1)


@pytest.mark.parametrize("family", sorted(wire.CLASS_LEADS))
def test_class_headers_are_found_where_the_regex_alone_finds_them(family: str) -> None:
    data = (
        b"class A {}\nsubclass B {\n$class C extends D {\nx.class E {\n"
        b"class F extends mixin(class G {}) {}\nenumerable: true; enum H { X }\n"
        b"record R(int x) implements S {}\ninterface I extends J, K {}\n"
        b"struct L : public M {}\nclass final N {\nclass\tO;\nclass P"
    )
    pattern = wire.CLASS_HEADERS[family]
    expected = [m.span() for m in pattern.finditer(data)]
    assert len(expected) >= 4
    found = [m.span() for m in wire._led_matches(pattern, wire.CLASS_LEADS[family], data)]
    assert found == expected
    for cut in range(len(data)):  # every prefix: a header cut short anywhere
        part = data[:cut]
        led = wire._led_matches(pattern, wire.CLASS_LEADS[family], part)
        assert [m.span() for m in led] == [m.span() for m in pattern.finditer(part)]


@pytest.mark.usefixtures("fresh_memory")
def test_counts_the_cache_lost_are_taken_back_out_from_git(tmp_path: Path) -> None:
    """Every file's own counts are kept (a whole-repository run after any change asks
    them of every file). When the cache has lost a changed file's old counts, they come
    from git's copy of the old content; when git lacks it too, the index is counted
    afresh. Each way it equals an index counted afresh."""
    files = {f"m{i}.py": f"def f{i}():\n    g{i % 4}()\n" for i in range(12)}
    ctx = git_repo(tmp_path / "a", files)
    git(tmp_path / "a", "add", "m0.py", "m1.py", "m2.py", "m3.py", "m4.py")
    first = build(ctx)
    assert first.stats.rebuilt and first.blobs is not None
    for source in sources(tmp_path / "a", sorted(files)):
        assert first.kept_counts(source) == wire.tokenise(source.data)
    shards = tmp_path / "a/.git/convergio/cache/wire"
    for shard in shards.glob("blobs-*.bin"):
        shard.unlink()  # the cache loses every file's own counts
    (tmp_path / "a/m1.py").write_text("def other():\n    g1()\n")  # git holds the old m1
    (tmp_path / "a/m2.py").unlink()
    wire._MEMORY.clear()
    updated = build(context(tmp_path / "a"))
    assert not updated.stats.rebuilt and updated.stats.tokenised == 1
    assert updated.totals() == built_afresh(tmp_path / "a", tmp_path / "b").totals()
    assert updated.count(b"f1") == 0 and updated.count(b"other") == 1
    # m7 (git never had it) changes and the cache has lost its counts: counted afresh.
    for shard in shards.glob("blobs-*.bin"):
        shard.unlink()
    (tmp_path / "a/m7.py").write_text("def seventh():\n    other()\n")
    wire._MEMORY.clear()
    again = build(context(tmp_path / "a"))
    assert again.stats.rebuilt
    assert again.totals() == built_afresh(tmp_path / "a", tmp_path / "c").totals()
    assert again.count(b"other") == 2


def test_a_method_that_calls_its_base_method_overrides_it(tmp_path: Path) -> None:
    files = {
        "app/tracking.py": (
            "class CursorMixin:\n"
            "    def callproc(self, name):\n        return self._record(super().callproc, name)\n\n"
            "    def record(self, name):\n        return super().execute(name)\n"
        ),
        "app/main.py": "from app.tracking import CursorMixin\n\nCursorMixin()\n",
        "lib/tracing.rb": (
            "module Tracing\n  def perform(job)\n    log(job)\n    super\n  end\n\n"
            "  def extra\n    1\n  end\nend\n"
        ),
        "lib/worker.rb": "Worker.prepend(Tracing)\n",
        "lib/unused.rb": "class Unused\n  def initialize(x)\n    super(x)\n  end\nend\n",
    }
    found = run(tmp_path, files, ["app/tracking.py", "lib/tracing.rb", "lib/unused.rb"])
    # `record` calls another method of the base; a class is not made used by its
    # methods' `super`
    assert dead_names(found) == {"record", "extra", "Unused"}


@pytest.mark.parametrize(
    ("text", "built"),
    [
        (b"getattr(self, 'do_' + command)", True),
        (b'getattr(self, "do_"  +  command)', True),
        (b'f"do_{kind}"', True),
        (b'"do_%s" % kind', True),
        (b'"cmd_$command"', False),  # the prefix asked about is do_, not cmd_
        (b"run do_$name", True),
        (b"`do_${name}`", True),
        (b'"do_#{name}"', True),
        (b"'do_\" + x", False),  # the quotes do not pair
        (b"undo_$x", False),  # the prefix is inside a longer word
        (b"$do_$x", False),  # ... or a variable's name
        (b"self.do_run()", False),
        (b"'do_' if x else y", False),
        (b"'do_', 'do_%s'", True),  # the second occurrence builds names
        (b"", False),
    ],
)
def test_builds_from_reads_each_occurrence_of_the_prefix(text: bytes, built: bool) -> None:
    assert wire.builds_from(text, b"do_") is built


@pytest.mark.parametrize(
    ("text", "built"),
    [
        (b'__send__("#{state}_state", token)', True),
        (b'f"{kind}_state"', True),
        (b"`${kind}_state`", True),
        (b'"%s_state" % kind', True),
        (b'"#{state}_state_machine"', False),  # the suffix does not end the string
        (b"initial_state = 1", False),
        (b'"_state"', False),  # named, not built upon
        (b"", False),
    ],
)
def test_builds_to_needs_an_interpolation_right_before_the_suffix(text: bytes, built: bool) -> None:
    assert wire.builds_to(text, b"_state") is built


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (b"define_parser(:autolink, START)", True),
        (b"[:autolink]", True),
        (b"Parser::autolink", False),  # a constant path, not a symbol
        (b":autolinks", False),
        (b"autolink", False),
    ],
)
def test_names_symbol_wants_the_whole_ruby_symbol(text: bytes, named: bool) -> None:
    assert wire._names_symbol(text, b"autolink") is named

"""Tests for convergio_gate.model.counts, on real tool output.

pytest, unittest, ruff and mypy are run for real, in temporary directories, by the tests
themselves. The other tools may be missing where the tests run, so their output was
captured once from the real tools and is kept in tests/data/counts/:

* eslint 9.39.5 on node 20.20.2 (``eslint-*``): stylish, ``--color`` and ``--format json``;
* TypeScript 5.9.3 (``tsc5-*``) and 7.0.2 (``tsc7-*``): plain and ``--pretty``;
* go 1.19.8 (``go-test-*``, ``go-vet-*``): plain, ``-v`` and ``-json``, a build failure;
* cargo 1.95.0 and clippy 0.1.95 (``cargo-test-*``, ``clippy-*``): unit, integration and
  doc tests, a failing test, compile errors, warnings with duplicates, ``-D warnings``,
  ``--message-format short`` and colours.

cargo-nextest was not installable there; its summary lines below are written in the
format nextest prints and are marked as such.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_gate.model.counts import (
    PARSERS,
    Counts,
    count,
    detect_parser,
    parse_junit,
    parse_output,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "counts"
PY = sys.executable


def _sample(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8")


def _run(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Run a real tool; its combined stdout and stderr and its exit code."""
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "MYPY_", "RUFF_", "COVERAGE_"))
        and key not in ("FORCE_COLOR", "NO_COLOR", "PY_COLORS", "CLICOLOR_FORCE", "TERM")
    }
    clean_env.update(env or {})
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return proc.stdout, proc.returncode


# --------------------------------------------------------------------------- Counts


def test_counts_to_dict_keeps_field_order() -> None:
    counts = Counts(passed=1, failed=2, errors=3, warnings=4, skipped=5)
    assert list(counts.to_dict()) == ["passed", "failed", "errors", "warnings", "skipped"]
    assert counts.to_dict() == {
        "passed": 1,
        "failed": 2,
        "errors": 3,
        "warnings": 4,
        "skipped": 5,
    }


@pytest.mark.parametrize(
    ("counts", "clean"),
    [
        (Counts(), True),
        (Counts(passed=10, skipped=3), True),
        (Counts(failed=1), False),
        (Counts(errors=1), False),
        (Counts(warnings=1), False),
    ],
)
def test_counts_clean(counts: Counts, clean: bool) -> None:
    assert counts.clean is clean


def test_counts_refuse_negative_values() -> None:
    with pytest.raises(ValueError, match="'failed' must not be negative"):
        Counts(failed=-1)


def test_counts_are_frozen() -> None:
    counts = Counts()
    with pytest.raises(AttributeError):
        counts.passed = 3  # type: ignore[misc]


def test_parsers_names() -> None:
    assert PARSERS == (
        "pytest",
        "unittest",
        "ruff",
        "mypy",
        "eslint",
        "tsc",
        "go-test",
        "go-vet",
        "cargo-test",
        "clippy",
        "junit",
        "generic",
    )


# --------------------------------------------------------------------------- detect_parser


@pytest.mark.parametrize(
    ("argv", "parser"),
    [
        (["pytest"], "pytest"),
        (["pytest", "-q", "tests/"], "pytest"),
        (["py.test", "-x"], "pytest"),
        ([".venv/bin/pytest", "-q"], "pytest"),
        (["/usr/local/bin/pytest"], "pytest"),
        (["python", "-m", "pytest", "-q"], "pytest"),
        (["python3", "-m", "pytest"], "pytest"),
        (["python3.12", "-X", "dev", "-W", "error", "-m", "pytest"], "pytest"),
        ([PY, "-m", "pytest"], "pytest"),
        (["python", "-mpytest"], "pytest"),
        (["python", ".venv/bin/pytest", "-q"], "pytest"),
        (["uv", "run", "pytest"], "pytest"),
        (["uv", "run", "--frozen", "--with", "pytest-cov", "pytest", "-q"], "pytest"),
        (["uv", "run", "--", "python", "-m", "pytest"], "pytest"),
        (["poetry", "run", "pytest"], "pytest"),
        (["poetry", "run", "python", "-m", "pytest"], "pytest"),
        (["pdm", "run", "pytest"], "pytest"),
        (["pipenv", "run", "pytest"], "pytest"),
        (["hatch", "run", "pytest"], "pytest"),
        (["coverage", "run", "-m", "pytest"], "pytest"),
        (["coverage", "run", "--source", "pkg", "-m", "pytest"], "pytest"),
        (["env", "CI=1", "pytest"], "pytest"),
        (["env", "-i", "-u", "HOME", "A=1", "B=2", "pytest"], "pytest"),
        (["env", "-S", "CI=1 pytest -q"], "pytest"),
        (["CI=1", "pytest"], "pytest"),
        (["time", "pytest"], "pytest"),
        (["timeout", "600", "pytest"], "pytest"),
        (["timeout", "-s", "KILL", "60", "python", "-m", "pytest"], "pytest"),
        (["nice", "-n", "10", "pytest"], "pytest"),
        (["C:\\venv\\Scripts\\pytest.exe", "-q"], "pytest"),
        (["python", "-m", "unittest"], "unittest"),
        (["python3", "-m", "unittest", "discover", "-s", "tests"], "unittest"),
        (["ruff", "check", "."], "ruff"),
        (["ruff", "check"], "ruff"),
        (["ruff", "format", "--check", "."], "ruff"),
        (["ruff", "."], "ruff"),
        (["python", "-m", "ruff", "check", "src"], "ruff"),
        (["uvx", "ruff", "check"], "ruff"),
        (["uv", "tool", "run", "ruff", "check"], "ruff"),
        (["mypy", "--strict", "src"], "mypy"),
        (["python", "-m", "mypy", "."], "mypy"),
        (["dmypy", "run", "--", "src"], "mypy"),
        (["dmypy", "check", "src"], "mypy"),
        (["eslint", "."], "eslint"),
        (["npx", "eslint", "src"], "eslint"),
        (["npx", "--no-install", "eslint", "."], "eslint"),
        (["npx", "--yes", "-p", "eslint@9", "eslint", "."], "eslint"),
        (["pnpm", "exec", "eslint", "."], "eslint"),
        (["pnpm", "eslint", "."], "eslint"),
        (["yarn", "eslint", "."], "eslint"),
        (["npm", "exec", "--", "eslint", "."], "eslint"),
        (["bunx", "eslint"], "eslint"),
        (["node_modules/.bin/eslint", "."], "eslint"),
        (["node", "node_modules/eslint/bin/eslint.js", "."], "eslint"),
        (["C:\\proj\\node_modules\\.bin\\ESLINT.CMD", "."], "eslint"),
        (["tsc", "--noEmit"], "tsc"),
        (["npx", "tsc", "-p", "."], "tsc"),
        (["npx", "-p", "typescript", "tsc"], "tsc"),
        (["pnpm", "dlx", "tsc"], "tsc"),
        (["node", "node_modules/.bin/tsc", "--noEmit"], "tsc"),
        (["vue-tsc", "--noEmit"], "tsc"),
        (["go", "test", "./..."], "go-test"),
        (["go", "test", "-v", "-race", "./..."], "go-test"),
        (["go", "-C", "sub", "test", "./..."], "go-test"),
        (["env", "CGO_ENABLED=0", "go", "test", "./..."], "go-test"),
        (["go", "vet", "./..."], "go-vet"),
        (["cargo", "test"], "cargo-test"),
        (["cargo", "test", "--workspace", "--", "--nocapture"], "cargo-test"),
        (["cargo", "+nightly", "test"], "cargo-test"),
        (["cargo", "--locked", "test"], "cargo-test"),
        (["cargo", "nextest", "run"], "cargo-test"),
        (["cargo", "clippy", "--", "-D", "warnings"], "clippy"),
        (["cargo", "+stable", "clippy", "--all-targets"], "clippy"),
        (["cargo-clippy"], "clippy"),
        # Unknown commands, and commands that run no checks.
        ([], None),
        ([""], None),
        (["make", "test"], None),
        (["npm", "test"], None),
        (["npm", "run", "lint"], None),
        (["pnpm", "test"], None),
        (["sh", "-c", "pytest"], None),
        (["bash", "-c", "cargo test"], None),
        (["python", "-c", "import pytest"], None),
        (["python", "script.py"], None),
        (["python"], None),
        (["env"], None),
        (["env", "A=1"], None),
        (["uv", "sync"], None),
        (["poetry", "install"], None),
        (["ruff", "--version"], None),
        (["ruff", "rule", "F401"], None),
        (["dmypy", "status"], None),
        (["go", "build", "./..."], None),
        (["go"], None),
        (["cargo", "build"], None),
        (["cargo", "nextest", "list"], None),
        (["cargo"], None),
        (["timeout", "60"], None),
    ],
)
def test_detect_parser(argv: list[str], parser: str | None) -> None:
    assert detect_parser(argv) == parser


def test_detect_parser_accepts_tuples() -> None:
    assert detect_parser(("python", "-m", "pytest")) == "pytest"


def test_detect_parser_gives_up_on_endless_wrappers() -> None:
    assert detect_parser(["env"] * 100 + ["pytest"]) is None
    assert detect_parser(["env"] * 10 + ["pytest"]) == "pytest"


@settings(deadline=None, max_examples=300)
@given(st.lists(st.text(max_size=20), max_size=12))
def test_detect_parser_never_raises(argv: list[str]) -> None:
    assert detect_parser(argv) in (*PARSERS, None)


# --------------------------------------------------------------------------- pytest (live)

PYTEST_MIX = """\
import warnings

import pytest


def test_ok():
    pass


def test_ok2():
    pass


def test_bad():
    assert 1 == 2


@pytest.mark.skip
def test_skip():
    pass


@pytest.mark.xfail
def test_xf():
    assert 0


@pytest.mark.xfail
def test_xp():
    pass


def test_warn():
    warnings.warn("w", UserWarning)


@pytest.fixture
def boom():
    raise RuntimeError("x")


def test_err(boom):
    pass
"""

PYTEST_CLEAN = """\
import pytest


def test_a():
    pass


def test_b():
    pass


@pytest.mark.skip
def test_c():
    pass
"""

MIX_COUNTS = Counts(passed=4, failed=1, errors=1, warnings=1, skipped=2)


def _pytest_project(root: Path, source: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "test_sample.py").write_text(source, encoding="utf-8")
    return root


# Plugins of this environment that the sample projects do not need (they slow start-up).
NO_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist")


def _pytest(root: Path, *args: str) -> tuple[list[str], str, int]:
    argv = [PY, "-m", "pytest", *NO_PLUGINS, *args]
    output, code = _run(argv, root)
    return argv, output, code


@pytest.fixture(scope="module")
def pytest_mix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pytest_project(tmp_path_factory.mktemp("pytest-mix"), PYTEST_MIX)


@pytest.mark.parametrize("extra", [[], ["-q"], ["-v"], ["--color=yes"], ["-rA"]])
def test_pytest_dirty(pytest_mix: Path, extra: list[str]) -> None:
    argv, output, code = _pytest(pytest_mix, *extra)
    assert code == 1
    if extra == ["--color=yes"]:
        assert "\x1b[" in output
    assert count(argv, output, code) == ("pytest", MIX_COUNTS)


def test_pytest_clean(tmp_path: Path) -> None:
    argv, output, code = _pytest(_pytest_project(tmp_path, PYTEST_CLEAN))
    assert code == 0
    assert count(argv, output, code) == ("pytest", Counts(passed=2, skipped=1))


def test_pytest_quiet_clean(tmp_path: Path) -> None:
    _argv, output, code = _pytest(_pytest_project(tmp_path, PYTEST_CLEAN), "-q")
    assert code == 0
    assert parse_output("pytest", output, code) == Counts(passed=2, skipped=1)


def test_pytest_deselected_counts_nothing(pytest_mix: Path) -> None:
    argv, output, code = _pytest(pytest_mix, "-k", "test_ok")
    assert "deselected" in output
    assert count(argv, output, code) == ("pytest", Counts(passed=2))


def test_pytest_all_deselected_exits_5_and_is_not_clean(pytest_mix: Path) -> None:
    argv, output, code = _pytest(pytest_mix, "-k", "no_such_test")
    assert code == 5
    assert count(argv, output, code) == ("pytest", Counts(failed=1))


def test_pytest_no_tests_ran(tmp_path: Path) -> None:
    argv, output, code = _pytest(_pytest_project(tmp_path, "X = 1\n"), "-q")
    assert "no tests ran" in output
    assert code == 5
    assert count(argv, output, code) == ("pytest", Counts(failed=1))
    assert parse_output("pytest", output, 0) == Counts()


def test_pytest_collection_error(tmp_path: Path) -> None:
    argv, output, code = _pytest(_pytest_project(tmp_path, "import no_such_module_x\n"))
    assert code == 2
    assert "Interrupted: 1 error during collection" in output
    assert count(argv, output, code) == ("pytest", Counts(errors=1))


def test_pytest_junit_report(pytest_mix: Path, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    _pytest(pytest_mix, f"--junitxml={report}")
    junit = parse_junit(report.read_text(encoding="utf-8"))
    assert junit == Counts(passed=4, failed=1, errors=1, skipped=2)


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        (
            "==== 3 failed, 10 passed, 2 skipped, 1 xfailed, 4 warnings, 1 error in 0.52s ====",
            Counts(passed=10, failed=3, errors=1, warnings=4, skipped=3),
        ),
        ("3 failed, 10 passed in 0.1s", Counts(passed=10, failed=3)),
        ("no tests ran in 0.01s", Counts()),
        ("===== no tests ran in 0.01s =====", Counts()),
        ("== 2 errors in 1.00s ==", Counts(errors=2)),
        ("== 1 passed, 1 xpassed, 7 deselected in 0.30s ==", Counts(passed=2)),
        ("== 1 passed, 2 rerun in 0.30s ==", Counts(passed=1)),
        ("2 failed, 2 subtests passed in 1.61s", Counts(passed=2, failed=2)),
        ("== 1000 passed in 65.12s (0:01:05) ==", Counts(passed=1000)),
    ],
)
def test_pytest_summary_lines(line: str, counts: Counts) -> None:
    assert parse_output("pytest", f"collected\n{line}\n", 0) == counts


def test_pytest_takes_the_last_summary() -> None:
    output = "== 5 passed in 0.1s ==\nrerun\n== 1 failed, 4 passed in 0.2s ==\n"
    assert parse_output("pytest", output, 1) == Counts(passed=4, failed=1)


def test_pytest_without_summary_falls_back_to_generic() -> None:
    output = "Traceback (most recent call last):\nImportError: cannot import name\n"
    assert count(["pytest"], output, 4) == ("generic", Counts(failed=1))
    assert count(["pytest"], "", 0) == ("generic", Counts())


# --------------------------------------------------------------------------- unittest (live)

UNITTEST_MIX = """\
import unittest


class T(unittest.TestCase):
    def test_ok(self):
        pass

    def test_ok2(self):
        pass

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_err(self):
        raise RuntimeError("boom")

    @unittest.skip("no")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xf(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_xp(self):
        pass
"""

UNITTEST_CLEAN = """\
import unittest


class C(unittest.TestCase):
    def test_a(self):
        pass

    @unittest.skip("later")
    def test_b(self):
        pass
"""


def test_unittest_dirty(tmp_path: Path) -> None:
    (tmp_path / "test_u.py").write_text(UNITTEST_MIX, encoding="utf-8")
    argv = [PY, "-m", "unittest", "test_u"]
    output, code = _run(argv, tmp_path)
    assert code == 1
    assert "FAILED (failures=1, errors=1, skipped=1, expected failures=1" in output
    assert count(argv, output, code) == (
        "unittest",
        Counts(passed=2, failed=2, errors=1, skipped=2),
    )


def test_unittest_clean(tmp_path: Path) -> None:
    (tmp_path / "test_c.py").write_text(UNITTEST_CLEAN, encoding="utf-8")
    argv = [PY, "-m", "unittest", "-v", "test_c"]
    output, code = _run(argv, tmp_path)
    assert code == 0
    assert count(argv, output, code) == ("unittest", Counts(passed=1, skipped=1))


def test_unittest_no_tests(tmp_path: Path) -> None:
    argv = [PY, "-m", "unittest", "discover", "-s", str(tmp_path)]
    output, code = _run(argv, tmp_path)
    parser, counts = count(argv, output, code)
    assert parser == "unittest"
    assert counts.passed == 0
    # Python 3.12 and later exit 5 when no test ran; such a run is never clean.
    assert counts.clean is (code == 0)


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("Ran 12 tests in 0.003s\n\nOK\n", Counts(passed=12)),
        ("Ran 12 tests in 0.003s\r\n\r\nOK (skipped=2)\r\n", Counts(passed=10, skipped=2)),
        ("Ran 1 test in 0.001s\n\nOK\n", Counts(passed=1)),
        (
            "Ran 12 tests in 0.3s\n\nFAILED (failures=1, errors=2, skipped=1, "
            "expected failures=1, unexpected successes=1)\n",
            Counts(passed=6, failed=2, errors=2, skipped=2),
        ),
        ("Ran 0 tests in 0.000s\n\nNO TESTS RAN\n", Counts()),
    ],
)
def test_unittest_verdicts(output: str, counts: Counts) -> None:
    assert parse_output("unittest", output, 0 if counts.clean else 1) == counts


def test_unittest_without_verdict_is_generic() -> None:
    assert count(["python", "-m", "unittest"], "Ran 3 tests in 0.1s\n", 1) == (
        "generic",
        Counts(failed=1),
    )


# --------------------------------------------------------------------------- ruff (live)

RUFF_DIRTY = "import os\nimport sys\n\n\ndef f():\n    l = 1\n    return undefined_name\n"


@pytest.fixture
def ruff_dirty(tmp_path: Path) -> Path:
    (tmp_path / "b.py").write_text(RUFF_DIRTY, encoding="utf-8")
    return tmp_path


def _ruff(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    return _run([PY, "-m", "ruff", *args], cwd, env)


RUFF_CHECK = ("check", "--no-cache", "--isolated", "--select", "F")


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--output-format", "concise"],
        ["--output-format", "full"],
        ["--statistics"],
        ["--quiet"],
        ["--quiet", "--output-format", "concise"],
        ["--output-format", "json"],
    ],
)
def test_ruff_dirty(ruff_dirty: Path, extra: list[str]) -> None:
    output, code = _ruff(ruff_dirty, *RUFF_CHECK, *extra, ".")
    assert code == 1
    argv = ["ruff", *RUFF_CHECK, *extra, "."]
    # F401 twice, F841 and F821.
    assert count(argv, output, code) == ("ruff", Counts(errors=4))


def test_ruff_dirty_in_colour(ruff_dirty: Path) -> None:
    output, code = _ruff(ruff_dirty, *RUFF_CHECK, ".", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in output
    assert parse_output("ruff", output, code) == Counts(errors=4)


def test_ruff_fix_counts_remaining(ruff_dirty: Path) -> None:
    output, code = _ruff(ruff_dirty, *RUFF_CHECK, "--fix", ".")
    assert "2 fixed, 2 remaining" in output
    assert parse_output("ruff", output, code) == Counts(errors=2)


def test_ruff_fix_all_is_clean(ruff_dirty: Path) -> None:
    output, code = _ruff(ruff_dirty, "check", "--no-cache", "--isolated", "--select", "F401")
    assert parse_output("ruff", output, code) == Counts(errors=2)
    output, code = _ruff(
        ruff_dirty, "check", "--no-cache", "--isolated", "--select", "F401", "--fix"
    )
    assert code == 0
    assert parse_output("ruff", output, code) == Counts()


def test_ruff_clean(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("X = 1\n", encoding="utf-8")
    output, code = _ruff(tmp_path, *RUFF_CHECK, ".")
    assert output.strip() == "All checks passed!"
    assert count(["ruff", "check", "."], output, code) == ("ruff", Counts())
    output, code = _ruff(tmp_path, *RUFF_CHECK, "--quiet", ".")
    assert (output, code) == ("", 0)
    assert count(["ruff", "check", "-q"], output, code) == ("ruff", Counts())


def test_ruff_format_check(ruff_dirty: Path) -> None:
    (ruff_dirty / "ugly.py").write_text("x=[1,\n 2]\n", encoding="utf-8")
    argv = ["ruff", "format", "--check", "--no-cache", "--isolated", "."]
    output, code = _ruff(ruff_dirty, *argv[1:])
    assert code == 1
    assert "1 file would be reformatted, 1 file already formatted" in output
    assert count(argv, output, code) == ("ruff", Counts(errors=1))
    (ruff_dirty / "ugly.py").unlink()
    output, code = _ruff(ruff_dirty, *argv[1:])
    assert code == 0
    assert count(argv, output, code) == ("ruff", Counts())


def test_ruff_json_matches_the_number_of_findings(ruff_dirty: Path) -> None:
    output, code = _ruff(ruff_dirty, "check", "--no-cache", "--isolated", "--output-format", "json")
    findings = json.loads(output)
    assert parse_output("ruff", output, code) == Counts(errors=len(findings))


def test_ruff_singular_and_noise() -> None:
    assert parse_output("ruff", "a.py:1:1: F401 x\nFound 1 error.\n", 1) == Counts(errors=1)
    output = "warning: deprecated setting\nAll checks passed!\n"
    assert parse_output("ruff", output, 0) == Counts()
    assert count(["ruff", "check"], "error: unexpected argument '--bogus'\n", 2) == (
        "generic",
        Counts(failed=1),
    )


# --------------------------------------------------------------------------- mypy (live)

MYPY_GOOD = "def f(x: int) -> int:\n    return x\n"
MYPY_BAD = 'def g(x: int) -> str:\n    return x\n\n\ny: int = "s"\nreveal_type(y)\n'


def _mypy(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    cache = cwd / ".mypy_cache"
    return _run([PY, "-m", "mypy", "--cache-dir", str(cache), *args], cwd, env)


@pytest.fixture(scope="module")
def mypy_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mypy")
    (root / "clean").mkdir()
    (root / "clean" / "a.py").write_text(MYPY_GOOD, encoding="utf-8")
    (root / "clean" / "b.py").write_text(MYPY_GOOD, encoding="utf-8")
    (root / "dirty").mkdir()
    (root / "dirty" / "a.py").write_text(MYPY_GOOD, encoding="utf-8")
    (root / "dirty" / "c.py").write_text(MYPY_BAD, encoding="utf-8")
    return root


def test_mypy_clean(mypy_project: Path) -> None:
    output, code = _mypy(mypy_project / "clean", "--strict", ".")
    assert code == 0
    assert "Success: no issues found in 2 source files" in output
    assert count(["mypy", "--strict", "."], output, code) == ("mypy", Counts(passed=2))


def test_mypy_dirty(mypy_project: Path) -> None:
    output, code = _mypy(mypy_project / "dirty", "--strict", ".")
    assert code == 1
    assert "note: Revealed type" in output
    expected = Counts(passed=1, errors=2)
    assert count(["python", "-m", "mypy", "."], output, code) == ("mypy", expected)


def test_mypy_dirty_in_colour(mypy_project: Path) -> None:
    output, code = _mypy(
        mypy_project / "dirty",
        "--strict",
        "--pretty",
        ".",
        env={"MYPY_FORCE_COLOR": "1", "TERM": "xterm-256color"},
    )
    assert "\x1b" in output
    assert parse_output("mypy", output, code) == Counts(passed=1, errors=2)


def test_mypy_without_summary_counts_error_lines(mypy_project: Path) -> None:
    output, code = _mypy(
        mypy_project / "dirty", "--strict", "--no-error-summary", "--show-column-numbers", "."
    )
    assert "Found" not in output
    assert parse_output("mypy", output, code) == Counts(errors=2)
    output, code = _mypy(mypy_project / "clean", "--no-error-summary", ".")
    assert (output, code) == ("", 0)
    assert count(["mypy", "."], output, code) == ("mypy", Counts())


def test_mypy_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text("def f(:\n", encoding="utf-8")
    output, code = _mypy(tmp_path, ".")
    assert code == 2
    parser, counts = count(["mypy", "."], output, code)
    assert parser == "mypy"
    assert counts.errors >= 1
    assert counts.passed == 0


# --------------------------------------------------------------------------- saved samples

# (sample, parser, exit code the tool returned, an argv that runs it, counts)
SAMPLES: list[tuple[str, str, int, list[str], Counts]] = [
    ("eslint-clean-stylish", "eslint", 0, ["npx", "eslint", "."], Counts()),
    ("eslint-dirty-stylish", "eslint", 1, ["eslint", "."], Counts(errors=5, warnings=3)),
    ("eslint-dirty-color", "eslint", 1, ["eslint", "--color", "."], Counts(errors=5, warnings=3)),
    ("eslint-warn-stylish", "eslint", 0, ["eslint", "."], Counts(warnings=1)),
    ("eslint-clean-json", "eslint", 0, ["eslint", "-f", "json", "."], Counts()),
    ("eslint-dirty-json", "eslint", 1, ["eslint", "-f", "json"], Counts(errors=5, warnings=3)),
    ("eslint-warn-json", "eslint", 0, ["eslint", "-f", "json", "."], Counts(warnings=1)),
    ("tsc5-clean", "tsc", 0, ["npx", "tsc", "-p", "."], Counts()),
    ("tsc5-dirty", "tsc", 2, ["tsc", "-p", "."], Counts(errors=3)),
    ("tsc5-dirty-pretty", "tsc", 2, ["tsc", "--pretty"], Counts(errors=3)),
    ("tsc5-one", "tsc", 2, ["tsc", "--noEmit", "one.ts"], Counts(errors=1)),
    ("tsc5-one-pretty", "tsc", 2, ["tsc", "--pretty", "one.ts"], Counts(errors=1)),
    ("tsc7-clean", "tsc", 0, ["tsc", "-p", "."], Counts()),
    ("tsc7-dirty", "tsc", 1, ["tsc", "-p", "."], Counts(errors=3)),
    ("tsc7-dirty-pretty", "tsc", 1, ["tsc", "--pretty"], Counts(errors=3)),
    ("go-test-clean", "go-test", 0, ["go", "test", "./..."], Counts(passed=1)),
    ("go-test-clean-v", "go-test", 0, ["go", "test", "-v"], Counts(passed=4, skipped=1)),
    ("go-test-clean-json", "go-test", 0, ["go", "test", "-json"], Counts(passed=4, skipped=1)),
    ("go-test-dirty", "go-test", 1, ["go", "test", "./..."], Counts(passed=1, failed=1)),
    (
        "go-test-dirty-v",
        "go-test",
        1,
        ["go", "test", "-v", "./..."],
        Counts(passed=5, failed=1, skipped=1),
    ),
    ("go-test-dirty-json", "go-test", 1, ["go", "test", "-json"], Counts(passed=1, failed=1)),
    (
        "go-test-build-failed",
        "go-test",
        2,
        ["go", "test", "./..."],
        Counts(passed=1, failed=1, errors=1),
    ),
    ("go-test-build-failed-json", "go-test", 2, ["go", "test", "-json"], Counts(errors=1)),
    ("go-vet-clean", "go-vet", 0, ["go", "vet", "./..."], Counts()),
    ("go-vet-dirty", "go-vet", 2, ["go", "vet", "./..."], Counts(errors=2)),
    ("go-vet-typeerr", "go-vet", 2, ["go", "vet", "./..."], Counts(errors=1)),
    ("cargo-test-clean", "cargo-test", 0, ["cargo", "test"], Counts(passed=3, skipped=1)),
    ("cargo-test-dirty", "cargo-test", 101, ["cargo", "test"], Counts(passed=1, failed=1)),
    ("cargo-test-compile-error", "cargo-test", 101, ["cargo", "test"], Counts(errors=2)),
    ("clippy-clean", "clippy", 0, ["cargo", "clippy"], Counts()),
    ("clippy-dirty", "clippy", 101, ["cargo", "clippy"], Counts(errors=2, warnings=2)),
    ("clippy-deny", "clippy", 101, ["cargo", "clippy", "--", "-D", "warnings"], Counts(errors=4)),
    ("clippy-short", "clippy", 101, ["cargo", "clippy"], Counts(errors=2, warnings=2)),
    ("clippy-warn", "clippy", 0, ["cargo", "clippy", "--all-targets"], Counts(warnings=3)),
    ("clippy-warn-color", "clippy", 0, ["cargo", "clippy"], Counts(warnings=3)),
]


@pytest.mark.parametrize(
    ("name", "parser", "exit_code", "argv", "counts"),
    SAMPLES,
    ids=[sample[0] for sample in SAMPLES],
)
def test_saved_sample(
    name: str, parser: str, exit_code: int, argv: list[str], counts: Counts
) -> None:
    output = _sample(name)
    assert parse_output(parser, output, exit_code) == counts
    assert count(argv, output, exit_code) == (parser, counts)


def test_saved_samples_cover_every_file() -> None:
    saved = {path.stem for path in DATA.glob("*.txt")}
    assert saved == {sample[0] for sample in SAMPLES}


def test_every_tool_has_a_clean_and_a_dirty_sample() -> None:
    by_parser: dict[str, set[bool]] = {}
    for _name, parser, _code, _argv, counts in SAMPLES:
        by_parser.setdefault(parser, set()).add(counts.clean)
    assert set(by_parser) == {"eslint", "tsc", "go-test", "go-vet", "cargo-test", "clippy"}
    assert all(kinds == {True, False} for kinds in by_parser.values())


def _without(output: str, *needles: str) -> str:
    return "\n".join(line for line in output.splitlines() if not any(n in line for n in needles))


def test_eslint_counts_messages_without_summary() -> None:
    output = _without(_sample("eslint-dirty-stylish"), "problem", "fixable")
    assert parse_output("eslint", output, 1) == Counts(errors=5, warnings=3)


def test_eslint_json_after_npx_noise() -> None:
    noise = 'npm warn Unknown user config "nodedir".\n'
    output = noise + _sample("eslint-dirty-json") + "\nnpm notice done\n"
    assert parse_output("eslint", output, 1) == Counts(errors=5, warnings=3)


def test_eslint_fatal_error_summary() -> None:
    output = (
        "/a.js\n  1:7  error  Parsing error: Unexpected token\n\n"
        "✖ 1 problem (1 error, 0 warnings)\n"
    )
    assert parse_output("eslint", output, 1) == Counts(errors=1)


def test_tsc_counts_error_lines_without_summary() -> None:
    for name in ("tsc5-dirty", "tsc5-dirty-pretty", "tsc7-dirty-pretty"):
        output = _without(_sample(name), "Found ")
        assert parse_output("tsc", output, 2) == Counts(errors=3), name


def test_tsc_watch_mode_takes_the_last_summary() -> None:
    output = (
        "[12:00:00 PM] Found 2 errors. Watching for file changes.\n"
        "[12:00:05 PM] File change detected. Starting incremental compilation...\n"
        "[12:00:06 PM] Found 0 errors. Watching for file changes.\n"
    )
    assert parse_output("tsc", output, 0) == Counts()
    assert parse_output("tsc", "error TS6053: File 'x.ts' not found.\n", 1) == Counts(errors=1)


def test_clippy_counts_lines_without_summaries() -> None:
    output = _without(_sample("clippy-warn"), " generated ")
    assert parse_output("clippy", output, 0) == Counts(warnings=3)
    output = _without(_sample("clippy-dirty"), " generated ")
    assert parse_output("clippy", output, 101) == Counts(errors=2, warnings=2)


def test_clippy_ignores_notes_and_build_summaries() -> None:
    output = _sample("clippy-deny")
    assert "= note:" in output
    assert "could not compile" in output
    assert parse_output("clippy", output, 101) == Counts(errors=4)


def test_cargo_test_sums_every_result_line() -> None:
    output = _sample("cargo-test-clean")
    assert output.count("test result: ok.") == 3
    assert parse_output("cargo-test", output, 0) == Counts(passed=3, skipped=1)


def test_cargo_test_counts_compiler_warning_summaries() -> None:
    warnings = "warning: `demo` (lib test) generated 2 warnings (1 duplicate)\n"
    output = warnings + _sample("cargo-test-clean")
    assert parse_output("cargo-test", output, 0) == Counts(passed=3, warnings=1, skipped=1)


# Written in the format cargo-nextest prints (nextest was not installable to capture it).
@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("     Summary [   0.006s] 18 tests run: 18 passed, 0 skipped", Counts(passed=18)),
        (
            "     Summary [   0.008s] 2 tests run: 1 passed, 1 failed, 3 skipped",
            Counts(passed=1, failed=1, skipped=3),
        ),
        ("     Summary [   0.047s] 1 test run: 1 passed, 5508 skipped", Counts(1, skipped=5508)),
        (
            "     Summary [  12.500s] 4 tests run: 2 passed (1 slow), 1 failed, 1 timed out",
            Counts(passed=2, failed=2),
        ),
    ],
)
def test_cargo_nextest_summary(line: str, counts: Counts) -> None:
    output = f"    Starting 2 tests across 1 binary\n        PASS [   0.005s] t\n{line}\n"
    exit_code = 0 if counts.clean else 100
    assert count(["cargo", "nextest", "run"], output, exit_code) == ("cargo-test", counts)


def test_go_vet_ignores_package_headers() -> None:
    output = _sample("go-vet-dirty")
    assert output.startswith("# ")
    assert parse_output("go-vet", output, 2) == Counts(errors=2)


# --------------------------------------------------------------------------- junit

JUNIT_CASES = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="a" tests="4">
    <testcase name="one"/>
    <testcase name="two"><failure message="boom"/></testcase>
    <testcase name="three"><error message="crash"/></testcase>
    <testcase name="four"><skipped/></testcase>
  </testsuite>
  <testsuite name="b" tests="1">
    <testcase name="five"><system-out>hello</system-out></testcase>
  </testsuite>
</testsuites>
"""

JUNIT_ATTRIBUTES = """<?xml version="1.0"?>
<testsuites tests="99" failures="99">
  <testsuite name="outer" tests="20" failures="3" errors="1" skipped="2">
    <testsuite name="inner1" tests="12" failures="2" errors="1" skipped="1"/>
    <testsuite name="inner2" tests="8" failures="1" errors="0" skipped="1"/>
  </testsuite>
</testsuites>
"""


def test_junit_counts_testcases() -> None:
    assert parse_junit(JUNIT_CASES) == Counts(passed=2, failed=1, errors=1, skipped=1)


def test_junit_reads_innermost_suite_attributes() -> None:
    assert parse_junit(JUNIT_ATTRIBUTES) == Counts(passed=14, failed=3, errors=1, skipped=2)


def test_junit_single_testsuite_root() -> None:
    xml = '<testsuite tests="5" failures="1" errors="1" skipped="1"/>'
    assert parse_junit(xml) == Counts(passed=2, failed=1, errors=1, skipped=1)
    assert parse_junit('<testsuites tests="3" disabled="1"/>') == Counts(passed=2, skipped=1)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<testsuite><testcase></testsuite>", "malformed"),
        ("", "malformed"),
        ("not xml at all", "malformed"),
        ("<html><body/></html>", "root element is <html>"),
        ('<testsuite tests="many"/>', "tests='many' is not a count"),
        ('<testsuite tests="-1"/>', "is not a count"),
        ('<!DOCTYPE testsuite [<!ENTITY a "x">]><testsuite name="&a;"/>', "DTD"),
        ('<!doctype testsuite SYSTEM "http://example.invalid/x.dtd"><testsuite/>', "DTD"),
    ],
)
def test_junit_refuses(xml: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_junit(xml)


def test_junit_refuses_billion_laughs_before_parsing() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>'
        '<testsuite name="&lol9;"/>'
    )
    started = time.monotonic()
    with pytest.raises(ValueError, match="DTD"):
        parse_junit(xml)
    assert time.monotonic() - started < 1


def test_junit_parser_finds_the_report_in_output() -> None:
    output = "running...\n" + JUNIT_CASES + "\ndone\n"
    assert count(["x"], output, 1, parser="junit") == (
        "junit",
        Counts(passed=2, failed=1, errors=1, skipped=1),
    )
    assert count(["x"], "no report here", 1, parser="junit") == ("generic", Counts(failed=1))
    doctype = '<!DOCTYPE x [<!ENTITY a "b">]><testsuite tests="1"/>'
    assert count(["x"], doctype, 0, parser="junit") == ("generic", Counts())


# --------------------------------------------------------------------------- general rules


def test_unknown_parser_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown parser 'nose'"):
        parse_output("nose", "", 0)
    with pytest.raises(ValueError, match="unknown parser"):
        count(["pytest"], "", 0, parser="nose")


def test_generic() -> None:
    assert parse_output("generic", "1 passed in 0.1s", 0) == Counts()
    assert parse_output("generic", "", 3) == Counts(failed=1)
    assert parse_output("generic", "", -9) == Counts(failed=1)
    assert count(["make", "test"], "all good", 0) == ("generic", Counts())
    assert count(["make", "test"], "Error 2", 2) == ("generic", Counts(failed=1))


def test_given_parser_overrides_detection() -> None:
    output = "Found 1 error in 1 file (checked 3 source files)\n"
    assert count(["make", "typecheck"], output, 1, parser="mypy") == (
        "mypy",
        Counts(passed=2, errors=1),
    )


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("output", ["", "\n", "nothing to see\n"])
def test_a_failed_command_is_never_clean(parser: str, output: str) -> None:
    counts = parse_output(parser, output, 1)
    assert not counts.clean
    assert counts.failed >= 1


@pytest.mark.parametrize(
    ("parser", "output", "counts"),
    [
        ("pytest", "== 5 passed in 0.1s ==\n", Counts(passed=5, failed=1)),
        ("unittest", "Ran 3 tests in 0.1s\n\nOK\n", Counts(passed=3, failed=1)),
        ("ruff", "All checks passed!\n", Counts(failed=1)),
        ("mypy", "Success: no issues found in 4 source files\n", Counts(passed=4, failed=1)),
        ("eslint", "", Counts(failed=1)),
        ("tsc", "Found 0 errors.\n", Counts(failed=1)),
        ("go-test", "ok  \tpkg\t0.1s\n", Counts(passed=1, failed=1)),
        ("go-vet", "", Counts(failed=1)),
        ("cargo-test", _sample("cargo-test-clean"), Counts(passed=3, failed=1, skipped=1)),
        ("clippy", _sample("clippy-clean"), Counts(failed=1)),
        ("junit", '<testsuite tests="2"/>', Counts(passed=2, failed=1)),
    ],
)
def test_clean_output_with_a_failing_exit_code(parser: str, output: str, counts: Counts) -> None:
    assert parse_output(parser, output, 1) == counts
    assert parse_output(parser, output, 0) == Counts(**{**counts.to_dict(), "failed": 0})


def test_dirty_counts_are_kept_as_measured_with_a_failing_exit_code() -> None:
    assert parse_output("ruff", "Found 3 errors.\n", 1) == Counts(errors=3)
    assert parse_output("eslint", _sample("eslint-warn-stylish"), 0) == Counts(warnings=1)


def test_ansi_codes_are_stripped() -> None:
    coloured = (
        "\x1b[31m=============================== \x1b[31m\x1b[1m1 failed\x1b[0m, "
        "\x1b[32m2 passed\x1b[0m\x1b[31m in 1.79s\x1b[0m\x1b[31m ======\x1b[0m\n"
    )
    assert parse_output("pytest", coloured, 1) == Counts(passed=2, failed=1)
    mypy = "\x1b[1m\x1b[31mFound 2 errors in 1 file (checked 2 source files)\x1b(B\x1b[m\n"
    assert parse_output("mypy", mypy, 1) == Counts(passed=1, errors=2)
    hyperlink = "a.py:1:8: \x1b]8;;https://docs.example/F401\x1b\\F401\x1b]8;;\x1b\\ unused\n"
    assert parse_output("ruff", hyperlink, 1) == Counts(errors=1)


def test_huge_output_is_parsed_in_linear_time() -> None:
    noise = "x" * 70 + " in the middle: of 12:34: nothing\n"
    body = noise * 250_000  # about 26 MB
    started = time.monotonic()
    assert parse_output("pytest", body + "== 7 passed in 1.0s ==\n", 0) == Counts(passed=7)
    assert parse_output("cargo-test", body, 1) == Counts(failed=1)
    assert parse_output("go-test", body, 0) == Counts()
    assert parse_output("clippy", body, 1) == Counts(failed=1)
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed


@pytest.mark.parametrize("parser", PARSERS)
def test_adversarial_lines_stay_fast(parser: str) -> None:
    digits = "1" * 200_000
    lines = [
        digits + " problem" + digits,
        digits + " passed in 1s",
        "a" * 200_000 + ": " + ":1" * 50_000,
        ("Found " + digits + " errors."),
        "\x1b[" + "0" * 200_000,
        "error: " + "`" * 100_000 + " generated " + digits,
        "--- PASS: " + " " * 200_000,
        "{" * 50_000 + "[" * 50_000,
        "<testsuite " + "a" * 200_000,
    ]
    started = time.monotonic()
    for line in lines:
        counts = parse_output(parser, line + "\n", 1)
        assert not counts.clean
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- fuzzing


def _fragments() -> list[str]:
    lines: list[str] = []
    for path in sorted(DATA.glob("*.txt")):
        lines.extend(path.read_text(encoding="utf-8").splitlines()[:60])
    lines += [
        "== 3 failed, 10 passed, 2 skipped, 1 xfailed, 4 warnings, 1 error in 0.52s ==",
        "no tests ran in 0.01s",
        "Ran 12 tests in 0.003s",
        "OK (skipped=2)",
        "FAILED (failures=1, errors=2, skipped=1, expected failures=1)",
        "Found 3 errors.",
        "All checks passed!",
        "Success: no issues found in 5 source files",
        "Found 2 errors in 1 file (checked 5 source files)",
        "     Summary [   0.008s] 2 tests run: 1 passed, 1 failed, 0 skipped",
        '<testsuite tests="3" failures="1">',
        "<testcase><failure/></testcase>",
        "</testsuite>",
        "[{",
        '{"Action":"pass","Test":"T"}',
        "\x1b[31m",
        "\x1b]8;;",
        "\r",
    ]
    return lines


FRAGMENTS = _fragments()
outputs = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=30).map(
        "\n".join
    ),
)


@settings(deadline=None, max_examples=150)
@given(
    parser=st.sampled_from(PARSERS),
    output=outputs,
    exit_code=st.integers(min_value=-(2**31), max_value=2**31),
)
def test_parse_output_never_raises(parser: str, output: str, exit_code: int) -> None:
    counts = parse_output(parser, output, exit_code)
    assert isinstance(counts, Counts)
    if exit_code != 0:
        assert not counts.clean


@settings(deadline=None, max_examples=150)
@given(
    argv=st.lists(st.sampled_from(["pytest", "go", "test", "cargo", "clippy", "-q", "x"])),
    output=outputs,
    exit_code=st.integers(min_value=0, max_value=3),
)
def test_count_never_raises(argv: list[str], output: str, exit_code: int) -> None:
    parser, counts = count(argv, output, exit_code)
    assert parser in PARSERS
    if exit_code != 0:
        assert not counts.clean


@settings(deadline=None, max_examples=100)
@given(st.text())
def test_parse_junit_raises_only_value_error(xml: str) -> None:
    try:
        counts = parse_junit(xml)
    except ValueError:
        return
    assert isinstance(counts, Counts)

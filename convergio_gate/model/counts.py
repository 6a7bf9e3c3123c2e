"""Measured counts from the output of a test, lint or type-check command.

``convergio-gate evidence run TASK --kind KIND -- CMD ARGS...`` runs a command, captures
its combined stdout and stderr and calls :func:`count`, which picks a parser from the
command line (:func:`detect_parser`) and reads passed / failed / errors / warnings /
skipped from what the tool printed.

Counts are measured, never guessed:

* A parser reports only what its tool printed. When the output holds nothing the parser
  recognises, :func:`count` falls back to the ``generic`` parser, which knows only the exit
  code: all zero for exit code 0, ``failed=1`` otherwise.
* A command that failed never yields clean counts: for every parser, when the exit code is
  not 0 and the parsed counts are clean, ``failed`` is raised to 1.

ANSI colour and terminal control sequences are removed before parsing. Every parser runs
in time linear in the size of the output (regular expressions are anchored per line and
have no nested quantifiers), and summary lines are searched for from the end.

What each parser counts:

``pytest``
    The closing summary line (``3 failed, 10 passed, 1 error in 0.52s``, with or without
    the ``====`` rule, or ``no tests ran``). xpassed counts as passed, xfailed as skipped;
    deselected is ignored.
``unittest``
    ``Ran N tests`` and the verdict line after it. Expected failures count as skipped,
    unexpected successes as failed; passed is what remains of N.
``ruff``
    ``Found N errors.`` (``remaining`` when fixes were applied), ``All checks passed!``,
    ``ruff format --check`` summaries, the ``--output-format json`` array, and otherwise
    one error per diagnostic location line.
``mypy``
    ``Found N errors in M files (checked K source files)``: errors=N, passed=K-M (files
    without errors); ``Success: no issues found in K source files``: passed=K. Without a
    summary, each ``file:line: error:`` line is an error. Notes are not counted.
``eslint``
    The stylish summary ``✖ N problems (E errors, W warnings)`` or the ``--format json``
    array; otherwise each ``line:col  error|warning`` message line. No output is clean.
``tsc``
    ``Found N errors`` or, without it, each ``error TSnnnn:`` line. No output is clean.
``go-test``
    With ``-v`` or ``-json``: one count per test and subtest (pass, fail, skip). Otherwise
    one per package: ``ok`` passed, ``FAIL`` failed. A ``[build failed]`` or
    ``[setup failed]`` package is an error.
``go-vet``
    One error per ``file.go:line:col:`` diagnostic line.
``cargo-test``
    The sum of every ``test result:`` line (ignored counts as skipped), or nextest's
    ``Summary`` line; compiler warnings from cargo's ``generated N warnings`` summaries.
    Without any result, each top-level compiler ``error`` is an error.
``clippy``
    Each top-level ``error`` diagnostic is an error. Warnings come from cargo's
    ``generated N warnings`` summaries (less the duplicates it did not show) or, without
    them, from the top-level ``warning`` lines.
``junit``
    A JUnit XML report (see :func:`parse_junit`) found in the output.
``generic``
    The exit code only.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PARSERS", "Counts", "count", "detect_parser", "parse_junit", "parse_output"]


@dataclass(frozen=True)
class Counts:
    """How many checks passed, failed, errored, warned or were skipped."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    warnings: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        for name, value in self.to_dict().items():
            if value < 0:
                raise ValueError(f"count {name!r} must not be negative, got {value}")

    def to_dict(self) -> dict[str, int]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "warnings": self.warnings,
            "skipped": self.skipped,
        }

    @property
    def clean(self) -> bool:
        """True when nothing failed, errored or warned."""
        return self.failed == 0 and self.errors == 0 and self.warnings == 0


PARSERS: tuple[str, ...] = (
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


class _Unrecognised(Exception):
    """Raised inside a parser when the output turns out not to be what it reads."""


# Longest number a count may have; longer digit runs are not counts (and int() of very
# long digit strings is slow or refused).
_MAX_DIGITS = 15


def _int(digits: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise _Unrecognised
    return int(digits)


# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), character-set
# designations such as ESC ( B, and the remaining two-byte escapes.
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[()*+][0-~]|[@-Z\\-_])"
)


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def _lines(text: str) -> list[str]:
    """The output as lines, without ANSI codes; \\r\\n and lone \\r end lines too."""
    text = _strip_ansi(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


_JSON = json.JSONDecoder()


def _json_value(text: str) -> object:
    """The JSON value on the first line that opens with '[' or '{' (lines of other noise
    before and after it are allowed), or None."""
    if text[:1] in ("[", "{"):
        start = 0
    else:
        found = [i for i in (text.find("\n["), text.find("\n{")) if i >= 0]
        if not found:
            return None
        start = min(found) + 1
    try:
        value, _end = _JSON.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return value


# --------------------------------------------------------------------------- pytest

_PYTEST_ITEM = re.compile(r"(\d+) ([a-z]+(?: [a-z]+)?)")
_PYTEST_DURATION = re.compile(r"\d+(?:\.\d+)?s(?: \([^()]{1,40}\))?")
# Words of the summary line: the field they count in, or None for words counted nowhere.
_PYTEST_WORDS: dict[str, str | None] = {
    "passed": "passed",
    "xpassed": "passed",
    "failed": "failed",
    "error": "errors",
    "errors": "errors",
    "warning": "warnings",
    "warnings": "warnings",
    "skipped": "skipped",
    "xfailed": "skipped",
    "deselected": None,
    "rerun": None,
}


def _pytest_summary(line: str) -> Counts | None:
    body = line.strip().strip("=").strip()
    head, sep, tail = body.rpartition(" in ")
    if not sep or not _PYTEST_DURATION.fullmatch(tail):
        return None
    if head == "no tests ran":
        return Counts()
    totals = dict.fromkeys(("passed", "failed", "errors", "warnings", "skipped"), 0)
    recognised = False
    for part in head.split(", "):
        match = _PYTEST_ITEM.fullmatch(part)
        if match is None:
            return None
        word = match.group(2).removeprefix("subtests ")
        if word in _PYTEST_WORDS:
            recognised = True
            field = _PYTEST_WORDS[word]
            if field is not None:
                totals[field] += _int(match.group(1))
    return Counts(**totals) if recognised else None


def _parse_pytest(lines: list[str]) -> Counts | None:
    for line in reversed(lines):
        if " in " in line:
            counts = _pytest_summary(line)
            if counts is not None:
                return counts
    return None


# --------------------------------------------------------------------------- unittest

_UNITTEST_RAN = re.compile(r"Ran (\d+) tests? in \d+(?:\.\d+)?s")
_UNITTEST_VERDICT = re.compile(r"(OK|FAILED|NO TESTS RAN)(?: \(([a-z =0-9,]*)\))?")
_UNITTEST_DETAIL = re.compile(r"([a-z]+(?: [a-z]+)?)=(\d+)")


def _parse_unittest(lines: list[str]) -> Counts | None:
    for index in range(len(lines) - 1, -1, -1):
        ran = _UNITTEST_RAN.fullmatch(lines[index].strip())
        if ran is None:
            continue
        verdict = None
        for after in lines[index + 1 :]:
            if after.strip():
                verdict = _UNITTEST_VERDICT.fullmatch(after.strip())
                break
        if verdict is None:
            return None
        details: dict[str, int] = {}
        for part in (verdict.group(2) or "").split(", "):
            if not part:
                continue
            item = _UNITTEST_DETAIL.fullmatch(part)
            if item is None:
                return None
            details[item.group(1)] = _int(item.group(2))
        failures = details.get("failures", 0)
        errors = details.get("errors", 0)
        skipped = details.get("skipped", 0)
        expected = details.get("expected failures", 0)
        unexpected = details.get("unexpected successes", 0)
        done = failures + errors + skipped + expected + unexpected
        return Counts(
            passed=max(_int(ran.group(1)) - done, 0),
            failed=failures + unexpected,
            errors=errors,
            skipped=skipped + expected,
        )
    return None


# --------------------------------------------------------------------------- ruff

_RUFF_FOUND = re.compile(r"Found (\d+) errors?(?: \((\d+) fixed, (\d+) remaining\))?\.")
_RUFF_FORMAT = re.compile(
    r"(?:(\d+) files? would be reformatted|(\d+) files? reformatted)"
    r"(?:, \d+ files? (?:already formatted|left unchanged))?"
    r"|\d+ files? (?:already formatted|left unchanged)"
)
_RUFF_CONCISE = re.compile(r"[^\s:][^:]*:\d+:\d+: [A-Za-z][\w-]*")
_RUFF_ARROW = re.compile(r"\s*--> [^:]+:\d+:\d+")


def _parse_ruff(lines: list[str], text: str) -> Counts | None:
    for line in reversed(lines):
        stripped = line.strip()
        if stripped == "All checks passed!":
            return Counts()
        found = _RUFF_FOUND.fullmatch(stripped)
        if found is not None:
            remaining = found.group(3)
            return Counts(errors=_int(remaining if remaining is not None else found.group(1)))
        formatted = _RUFF_FORMAT.fullmatch(stripped)
        if formatted is not None:
            would = formatted.group(1)
            return Counts(errors=_int(would) if would is not None else 0)
    value = _json_value(text)
    if isinstance(value, list) and all(
        isinstance(item, dict) and "code" in item and "filename" in item for item in value
    ):
        return Counts(errors=len(value))
    diagnostics = sum(
        1 for line in lines if _RUFF_CONCISE.match(line) or _RUFF_ARROW.fullmatch(line)
    )
    return Counts(errors=diagnostics) if diagnostics or not text.strip() else None


# --------------------------------------------------------------------------- mypy

_MYPY_SUCCESS = re.compile(r"Success: no issues found in (\d+) source files?")
_MYPY_FOUND = re.compile(
    r"Found (\d+) errors? in (\d+) files? "
    r"\((?:checked (\d+) source files?|errors prevented further checking)\)"
)
_MYPY_ERROR_LINE = re.compile(r"[^\s:][^:]*:\d+(?::\d+){0,3}: error: ")


def _parse_mypy(lines: list[str], text: str) -> Counts | None:
    for line in reversed(lines):
        stripped = line.strip()
        success = _MYPY_SUCCESS.fullmatch(stripped)
        if success is not None:
            return Counts(passed=_int(success.group(1)))
        found = _MYPY_FOUND.fullmatch(stripped)
        if found is not None:
            checked = found.group(3)
            passed = _int(checked) - _int(found.group(2)) if checked is not None else 0
            return Counts(passed=max(passed, 0), errors=_int(found.group(1)))
    errors = sum(1 for line in lines if _MYPY_ERROR_LINE.match(line))
    return Counts(errors=errors) if errors or not text.strip() else None


# --------------------------------------------------------------------------- eslint

_ESLINT_SUMMARY = re.compile(r"(?<!\d)(\d+) problems? \((\d+) errors?, (\d+) warnings?\)")
_ESLINT_MESSAGE = re.compile(r"\s+\d+:\d+\s+(error|warning)\s")


def _non_negative_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Unrecognised
    return value


def _parse_eslint(lines: list[str], text: str) -> Counts | None:
    for line in reversed(lines):
        if "problem" in line:
            summary = _ESLINT_SUMMARY.search(line)
            if summary is not None:
                return Counts(errors=_int(summary.group(2)), warnings=_int(summary.group(3)))
    value = _json_value(text)
    if isinstance(value, list) and value:
        errors = warnings = 0
        for item in value:
            if not isinstance(item, dict) or "errorCount" not in item:
                break
            errors += _non_negative_int(item["errorCount"])
            warnings += _non_negative_int(item.get("warningCount", 0))
        else:
            return Counts(errors=errors, warnings=warnings)
    if value == []:
        return Counts()
    errors = warnings = 0
    for line in lines:
        message = _ESLINT_MESSAGE.match(line)
        if message is not None:
            if message.group(1) == "error":
                errors += 1
            else:
                warnings += 1
    if errors or warnings or not text.strip():
        return Counts(errors=errors, warnings=warnings)
    return None


# --------------------------------------------------------------------------- tsc

_TSC_FOUND = re.compile(r"(?:\[[^\]]*\] )?Found (\d+) errors?\b")
_TSC_ERROR = re.compile(r"\berror TS\d+: ")


def _parse_tsc(lines: list[str], text: str) -> Counts | None:
    for line in reversed(lines):
        if "Found " in line:
            found = _TSC_FOUND.match(line.strip())
            if found is not None:
                return Counts(errors=_int(found.group(1)))
    errors = sum(1 for line in lines if "error TS" in line and _TSC_ERROR.search(line))
    if errors or not text.strip():
        return Counts(errors=errors)
    return None


# --------------------------------------------------------------------------- go test

_GO_TEST_LINE = re.compile(r"\s*--- (PASS|FAIL|SKIP): \S")
_GO_PACKAGE_OK = re.compile(r"ok\s+\S+")
_GO_PACKAGE_FAIL = re.compile(r"FAIL\s+\S+")
_GO_NO_FILES = re.compile(r"\?\s+\S+\s+\[no test files\]")


def _parse_go_test(lines: list[str]) -> Counts | None:
    recognised = False
    verbose = False
    test_counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    json_counts = {"pass": 0, "fail": 0, "skip": 0}
    json_tests = False
    packages_ok = packages_failed = broken = 0
    for line in lines:
        if line.startswith('{"'):
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
                continue
            recognised = True
            action = event["Action"]
            if event.get("Test"):
                json_tests = True
                if action in json_counts:
                    json_counts[action] += 1
            elif action == "fail" and event.get("FailedBuild"):
                broken += 1
            elif action == "pass":
                packages_ok += 1
            elif action == "fail":
                packages_failed += 1
            continue
        if line.startswith("=== RUN"):
            verbose = recognised = True
            continue
        test = _GO_TEST_LINE.match(line)
        if test is not None:
            recognised = True
            test_counts[test.group(1)] += 1
            verbose = verbose or test.group(1) != "FAIL"
            continue
        if _GO_PACKAGE_OK.match(line):
            recognised = True
            packages_ok += 1
        elif _GO_PACKAGE_FAIL.match(line):
            recognised = True
            if line.rstrip().endswith(("[build failed]", "[setup failed]")):
                broken += 1
            else:
                packages_failed += 1
        elif _GO_NO_FILES.match(line):
            recognised = True
    if not recognised:
        return None
    if json_tests:
        return Counts(
            passed=json_counts["pass"],
            failed=json_counts["fail"],
            errors=broken,
            skipped=json_counts["skip"],
        )
    if verbose:
        return Counts(
            passed=test_counts["PASS"],
            failed=test_counts["FAIL"],
            errors=broken,
            skipped=test_counts["SKIP"],
        )
    return Counts(passed=packages_ok, failed=packages_failed, errors=broken)


# --------------------------------------------------------------------------- go vet

_GO_VET_DIAGNOSTIC = re.compile(r"(?:vet: )?[^\s:#][^:]*\.go:\d+(?::\d+)?: ")


def _parse_go_vet(lines: list[str], text: str) -> Counts | None:
    errors = sum(1 for line in lines if _GO_VET_DIAGNOSTIC.match(line))
    if errors or not text.strip():
        return Counts(errors=errors)
    return None


# --------------------------------------------------------------------------- cargo

_CARGO_RESULT = re.compile(
    r"test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; "
    r"(\d+) measured; (\d+) filtered out"
)
_NEXTEST_SUMMARY = re.compile(r"Summary \[[^\]]*\] +(\d+)(?:/\d+)? tests? run: (.*)")
_NEXTEST_ITEM = re.compile(r"(\d+) ([a-z][a-z ]*?)(?: \([^()]*\))?")
_RUST_DIAGNOSTIC = re.compile(
    r"(?:[^\s:][^:]*:\d+:\d+: )?(error|warning)(?:\[[A-Za-z0-9_:-]+\])?: (.*)"
)
_CARGO_GENERATED = re.compile(r"(\d+) warnings?(?: \((\d+) duplicates?\))?(?: \(.*\))?")
# Top-level lines that summarise or report on the build rather than diagnose the code.
_RUST_NOT_DIAGNOSTIC = (
    "could not compile",
    "aborting due to",
    "build failed",
    "failed, to rerun pass",
    "test run failed",
    "warnings emitted",
    "warning emitted",
)


def _cargo_generated(lines: list[str]) -> int | None:
    """Unique warnings from cargo's ``warning: `x` (lib) generated N warnings`` lines."""
    total: int | None = None
    for line in lines:
        if line.startswith("warning: `") and " generated " in line:
            match = _CARGO_GENERATED.fullmatch(line.rpartition(" generated ")[2].strip())
            if match is not None:
                duplicates = _int(match.group(2)) if match.group(2) is not None else 0
                total = (total or 0) + max(_int(match.group(1)) - duplicates, 0)
    return total


def _rust_diagnostics(lines: list[str]) -> dict[str, int]:
    found = {"error": 0, "warning": 0}
    for line in lines:
        if not line.startswith(("error", "warning")) and ": " not in line:
            continue
        match = _RUST_DIAGNOSTIC.fullmatch(line.rstrip())
        if match is None:
            continue
        message = match.group(2)
        if message.startswith("`") and " generated " in message:
            continue
        if any(phrase in message for phrase in _RUST_NOT_DIAGNOSTIC):
            continue
        found[match.group(1)] += 1
    return found


def _nextest(line: str) -> Counts | None:
    match = _NEXTEST_SUMMARY.fullmatch(line.strip())
    if match is None:
        return None
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for part in match.group(2).split(", "):
        item = _NEXTEST_ITEM.fullmatch(part.strip())
        if item is None:
            return None
        word = item.group(2)
        if word == "passed":
            totals["passed"] += _int(item.group(1))
        elif word == "skipped":
            totals["skipped"] += _int(item.group(1))
        elif "fail" in word or word == "timed out":
            totals["failed"] += _int(item.group(1))
    return Counts(**totals)


def _parse_cargo_test(lines: list[str]) -> Counts | None:
    warnings = _cargo_generated(lines) or 0
    for line in reversed(lines):
        if "Summary [" in line:
            summary = _nextest(line)
            if summary is not None:
                return Counts(
                    passed=summary.passed,
                    failed=summary.failed,
                    warnings=warnings,
                    skipped=summary.skipped,
                )
    passed = failed = skipped = 0
    results = 0
    for line in lines:
        if "test result: " in line:
            result = _CARGO_RESULT.match(line.strip())
            if result is not None:
                results += 1
                passed += _int(result.group(1))
                failed += _int(result.group(2))
                skipped += _int(result.group(3))
    if results:
        return Counts(passed=passed, failed=failed, warnings=warnings, skipped=skipped)
    errors = _rust_diagnostics(lines)["error"]
    return Counts(errors=errors, warnings=warnings) if errors else None


def _parse_clippy(lines: list[str], text: str) -> Counts | None:
    diagnostics = _rust_diagnostics(lines)
    generated = _cargo_generated(lines)
    warnings = generated if generated is not None else diagnostics["warning"]
    if diagnostics["error"] or warnings or generated is not None:
        return Counts(errors=diagnostics["error"], warnings=warnings)
    if not text.strip() or any(line.strip().startswith("Finished ") for line in lines):
        return Counts()
    return None


# --------------------------------------------------------------------------- junit


def _attr(element: ET.Element, *names: str) -> int:
    for name in names:
        raw = element.get(name)
        if raw is None or not raw.strip():
            continue
        value = raw.strip()
        if not value.isdigit() or len(value) > _MAX_DIGITS:
            raise ValueError(f"JUnit XML: <{element.tag}> attribute {name}={raw!r} is not a count")
        return int(value)
    return 0


def _declares_dtd(text: str) -> bool:
    upper = text.upper()
    return "<!DOCTYPE" in upper or "<!ENTITY" in upper


def parse_junit(xml_text: str) -> Counts:
    """Counts from a JUnit XML report.

    When the report lists ``<testcase>`` elements each is counted: one with ``<failure>``
    is failed, with ``<error>`` an error (a case with both counts in both), with
    ``<skipped>`` skipped, and otherwise passed. A report without test cases is read from
    the ``tests``/``failures``/``errors``/``skipped`` attributes of its innermost
    ``<testsuite>`` elements (or of the root). Reports declaring a DTD or entities are
    refused (entity expansion attacks); malformed XML raises ``ValueError``.
    """
    if _declares_dtd(xml_text):
        raise ValueError("JUnit XML: refusing a document with a DTD or entity declarations")
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"JUnit XML is malformed: {exc}") from None
    except (ValueError, LookupError, RecursionError) as exc:
        raise ValueError(f"JUnit XML cannot be read: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(
            f"JUnit XML: the root element is <{root.tag}>, expected <testsuites> or <testsuite>"
        )
    cases = list(root.iter("testcase"))
    if cases:
        passed = failed = errors = skipped = 0
        for case in cases:
            has_failure = case.find("failure") is not None
            has_error = case.find("error") is not None
            failed += has_failure
            errors += has_error
            if not has_failure and not has_error:
                if case.find("skipped") is not None:
                    skipped += 1
                else:
                    passed += 1
        return Counts(passed=passed, failed=failed, errors=errors, skipped=skipped)
    suites = [s for s in root.iter("testsuite") if s.find(".//testsuite") is None] or [root]
    passed = failed = errors = skipped = 0
    for suite in suites:
        tests = _attr(suite, "tests")
        suite_failed = _attr(suite, "failures")
        suite_errors = _attr(suite, "errors")
        suite_skipped = _attr(suite, "skipped", "skip", "disabled")
        failed += suite_failed
        errors += suite_errors
        skipped += suite_skipped
        passed += max(tests - suite_failed - suite_errors - suite_skipped, 0)
    return Counts(passed=passed, failed=failed, errors=errors, skipped=skipped)


def _parse_junit_output(text: str) -> Counts | None:
    if _declares_dtd(text):
        return None
    starts = [i for i in (text.find(m) for m in ("<?xml", "<testsuites", "<testsuite")) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    ends = [
        text.rfind(tag) + len(tag)
        for tag in ("</testsuites>", "</testsuite>")
        if text.rfind(tag) >= start
    ]
    end = max(ends) if ends else len(text)
    try:
        return parse_junit(text[start:end])
    except ValueError:
        return None


# --------------------------------------------------------------------------- dispatch


def _generic(exit_code: int) -> Counts:
    return Counts() if exit_code == 0 else Counts(failed=1)


_LINE_PARSERS: dict[str, Callable[[list[str]], Counts | None]] = {
    "pytest": _parse_pytest,
    "unittest": _parse_unittest,
    "go-test": _parse_go_test,
    "cargo-test": _parse_cargo_test,
}
_TEXT_PARSERS: dict[str, Callable[[list[str], str], Counts | None]] = {
    "ruff": _parse_ruff,
    "mypy": _parse_mypy,
    "eslint": _parse_eslint,
    "tsc": _parse_tsc,
    "go-vet": _parse_go_vet,
    "clippy": _parse_clippy,
}


def _measure(parser: str, output: str) -> Counts | None:
    """What ``parser`` recognises in ``output``, or None when it recognises nothing."""
    if parser not in PARSERS:
        raise ValueError(f"unknown parser {parser!r}; expected one of: {', '.join(PARSERS)}")
    try:
        if parser == "junit":
            return _parse_junit_output(_strip_ansi(output))
        if parser in _LINE_PARSERS:
            return _LINE_PARSERS[parser](_lines(output))
        if parser in _TEXT_PARSERS:
            text = _strip_ansi(output)
            return _TEXT_PARSERS[parser](_lines(text), text)
    except _Unrecognised:
        return None
    return None


def _never_clean_on_failure(counts: Counts, exit_code: int) -> Counts:
    if exit_code != 0 and counts.clean:
        return Counts(
            passed=counts.passed,
            failed=max(counts.failed, 1),
            errors=counts.errors,
            warnings=counts.warnings,
            skipped=counts.skipped,
        )
    return counts


def parse_output(parser: str, output: str, exit_code: int) -> Counts:
    """Counts that ``parser`` measures in ``output``.

    When the output holds nothing the parser recognises, the result is the ``generic``
    one (exit code only). When ``exit_code`` is not 0 and the counts are clean, ``failed``
    is set to 1: a command that failed never yields clean counts. Raises ``ValueError``
    for a parser name not in :data:`PARSERS`.
    """
    measured = _measure(parser, output)
    counts = measured if measured is not None else _generic(exit_code)
    return _never_clean_on_failure(counts, exit_code)


def count(
    command: Sequence[str], output: str, exit_code: int, parser: str | None = None
) -> tuple[str, Counts]:
    """The parser used and the counts for ``command``'s ``output`` and ``exit_code``.

    ``parser`` when given, else the one :func:`detect_parser` finds, else ``generic``.
    When that parser recognises nothing in the output, the answer is ``generic`` and the
    counts come from the exit code alone. A failed command never yields clean counts.
    """
    name = parser if parser is not None else detect_parser(command) or "generic"
    measured = _measure(name, output)
    if measured is None:
        name, measured = "generic", _generic(exit_code)
    return name, _never_clean_on_failure(measured, exit_code)


# --------------------------------------------------------------------------- detection

_PYTHON = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*)?w?|py")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
# Options that take their value as the next argument (a value joined with '=' needs no
# entry), for the interpreters and runners looked through.
_PYTHON_VALUE_OPTIONS = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_ENV_VALUE_OPTIONS = frozenset({"-u", "--unset", "-C", "--chdir"})
_PROCESS_VALUE_OPTIONS = frozenset(
    {"-n", "--adjustment", "-k", "--kill-after", "-s", "--signal", "-i", "-o", "-e"}
    | {"--input", "--output", "--error", "-f", "--format", "--output-file"}
)
_RUNNER_VALUE_OPTIONS = frozenset(
    {"--with", "--with-editable", "--with-requirements", "--python", "-p", "--project"}
    | {"--directory", "--package", "--extra", "--group", "--only-group", "--env-file"}
    | {"--index", "--default-index", "--index-url", "--extra-index-url", "--from", "-C"}
    | {"--dir", "--filter", "-F", "--spec", "--cwd", "--workspace", "-w", "--env", "-e"}
    | {"--rcfile", "--source", "--include", "--omit", "--data-file", "--context"}
    | {"--concurrency"}
)
_CARGO_VALUE_OPTIONS = frozenset(
    {"-Z", "--color", "--config", "-C", "--manifest-path", "--target-dir", "--explain"}
)
_NODE_VALUE_OPTIONS = frozenset({"-r", "--require", "--import", "--loader", "--conditions"})
_MAX_WRAPPERS = 16


def _program(arg: str) -> str:
    """The program's name: no directory, no Windows or script suffix, lower case."""
    name = arg.replace("\\", "/").rpartition("/")[2].lower()
    for suffix in (".exe", ".cmd", ".bat", ".js", ".mjs", ".cjs"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _skip_options(args: list[str], takes_value: frozenset[str]) -> list[str]:
    """``args`` from the first one that is not an option (``--`` ends the options)."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            return args[index:]
        index += 2 if arg in takes_value else 1
    return []


def _module_or_script(args: list[str], takes_value: frozenset[str]) -> list[str] | None:
    """What ``python [options] -m MODULE ...`` or ``python [options] SCRIPT ...`` runs."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-m":
            return args[index + 1 :] or None
        if arg.startswith("-m") and not arg.startswith("--"):
            return [arg[2:], *args[index + 1 :]]
        if arg == "-c" or (arg.startswith("-c") and not arg.startswith("--")) or arg == "-":
            return None
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-"):
            return args[index:]
        index += 2 if arg in takes_value else 1
    return None


def _env_command(args: list[str]) -> list[str]:
    """What ``env [options] [NAME=VALUE...] COMMAND ...`` runs."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg in ("-S", "--split-string"):
            if index + 1 == len(args):
                return []
            return args[index + 1].split() + args[index + 2 :]
        if arg.startswith("--split-string="):
            return arg.partition("=")[2].split() + args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            break
        index += 2 if arg in _ENV_VALUE_OPTIONS else 1
    rest = args[index:]
    while rest and _ASSIGNMENT.fullmatch(rest[0]):
        rest = rest[1:]
    return rest


def _unwrap(name: str, rest: list[str]) -> list[str] | None:
    """The command that the wrapper ``name`` runs, or None when it is no wrapper."""
    if name == "env":
        return _env_command(rest)
    if name in ("time", "nice", "nohup", "stdbuf", "chronic"):
        return _skip_options(rest, _PROCESS_VALUE_OPTIONS)
    if name == "timeout":
        return _skip_options(rest, _PROCESS_VALUE_OPTIONS)[1:]
    if _PYTHON.fullmatch(name):
        return _module_or_script(rest, _PYTHON_VALUE_OPTIONS)
    if name == "node":
        return _module_or_script(rest, _NODE_VALUE_OPTIONS)
    if name in ("uv", "poetry", "pdm", "pipenv", "rye", "hatch", "coverage", "pipx"):
        args = _skip_options(rest, _RUNNER_VALUE_OPTIONS)
        if name == "uv" and args[:2] == ["tool", "run"]:
            return _skip_options(args[2:], _RUNNER_VALUE_OPTIONS)
        if args[:1] != ["run"]:
            return None
        if name == "coverage":
            return _module_or_script(args[1:], _RUNNER_VALUE_OPTIONS)
        return _skip_options(args[1:], _RUNNER_VALUE_OPTIONS)
    if name in ("uvx", "npx", "bunx", "pnpx"):
        return _skip_options(rest, _RUNNER_VALUE_OPTIONS)
    if name in ("npm", "pnpm", "yarn", "bun"):
        args = _skip_options(rest, _RUNNER_VALUE_OPTIONS)
        if args[:1] in (["exec"], ["x"], ["dlx"], ["run"]):
            return _skip_options(args[1:], _RUNNER_VALUE_OPTIONS)
        # pnpm, yarn and bun run a package's binary named directly; npm does not.
        return None if name == "npm" else args
    return None


_RUFF_OTHER_COMMANDS = frozenset(
    {"rule", "config", "linter", "clean", "version", "help", "server", "analyze"}
)


def _identify(name: str, rest: list[str]) -> str | None:
    """The parser for the program ``name`` run with the arguments ``rest``."""
    if name in ("pytest", "py.test"):
        return "pytest"
    if name == "unittest":
        return "unittest"
    if name == "mypy":
        return "mypy"
    if name == "dmypy":
        args = _skip_options(rest, frozenset({"--status-file"}))
        return "mypy" if args[:1] in (["run"], ["check"], ["recheck"]) else None
    if name == "ruff":
        args = _skip_options(rest, frozenset({"--config"}))
        return "ruff" if args and args[0] not in _RUFF_OTHER_COMMANDS else None
    if name == "eslint":
        return "eslint"
    if name in ("tsc", "vue-tsc", "tsgo"):
        return "tsc"
    if name == "go":
        args = _skip_options(rest, frozenset({"-C"}))
        return {"test": "go-test", "vet": "go-vet"}.get(args[0]) if args else None
    if name == "cargo-clippy":
        return "clippy"
    if name == "cargo":
        args = rest[1:] if rest[:1] and rest[0].startswith("+") else rest
        args = _skip_options(args, _CARGO_VALUE_OPTIONS)
        if args[:1] in (["test"], ["t"]):
            return "cargo-test"
        if args[:2] in (["nextest", "run"], ["nextest", "r"]):
            return "cargo-test"
        if args[:1] == ["clippy"]:
            return "clippy"
    return None


def detect_parser(command: Sequence[str]) -> str | None:
    """The parser for ``command`` (an argv list), looking through wrappers, or None.

    Wrappers seen through: leading ``NAME=VALUE`` assignments, ``env``, ``time``,
    ``nice``, ``nohup``, ``stdbuf``, ``timeout``, ``python -m`` (any python/pypy), ``node``,
    ``coverage run``, ``uv run``, ``uv tool run``, ``uvx``, ``poetry run``, ``pdm run``,
    ``pipenv run``, ``hatch run``, ``rye run``, ``pipx run``, ``npx``, ``bunx``,
    ``npm exec``, ``pnpm``/``yarn``/``bun`` (``exec``, ``dlx`` or the binary itself) and a
    program given by path (``.venv/bin/pytest``, ``node_modules/.bin/eslint``).
    """
    args = list(command)
    for _ in range(_MAX_WRAPPERS):
        while args and _ASSIGNMENT.fullmatch(args[0]):
            args = args[1:]
        if not args:
            return None
        name = _program(args[0])
        inner = _unwrap(name, args[1:])
        if inner is None:
            return _identify(name, args[1:])
        args = inner
    return None

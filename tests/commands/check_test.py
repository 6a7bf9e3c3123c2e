"""`convergio-gate check` end to end, with a third-party gate installed the way pip
installs one (an entry point), in real git repositories."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import CLI, git
from plugin_gate import install

from convergio_gate.audit.chain import Chain
from convergio_gate.gitio import Git


def write(repo: Path, name: str, text: str) -> None:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)


def check(cg: CLI, *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = cg("check", "--gate", "banana", "--format", "json", *argv)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def test_files_mode_refuses_and_explains(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "x = 1\ny = 'BANANA'\n")
    code, report = check(cg, "a.py")
    assert code == 1 and report["decision"] == "refused"
    (finding,) = report["findings"]
    assert (finding["path"], finding["line"], finding["column"]) == ("a.py", 2, 6)
    assert finding["fix"] == "peel it" and len(finding["fingerprint"]) == 32
    text = cg("check", "--gate", "banana", "a.py")
    assert text.code == 1 and "a.py" in text.out and "banana/no-banana" in text.out
    assert "peel it" in text.out and "refused" in text.out


def test_clean_files_pass(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "x = 1\n")
    assert check(cg, "a.py")[0] == 0


def test_every_run_is_recorded_in_the_chain(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA\n")
    check(cg, "a.py")
    write(repo, "a.py", "fine\n")
    check(cg, "a.py")
    entries = Chain(Git.discover(repo)).entries()
    assert [(e.kind, e.decision) for e in entries] == [("check", "refused"), ("check", "accepted")]
    assert entries[0].data["by_gate"] == {"banana": 1}
    assert "banana/no-banana a.py:1" in entries[0].reasons[0]
    cg("check", "--gate", "banana", "--no-record", "a.py")
    assert len(Chain(Git.discover(repo)).entries()) == 2


def test_fingerprint_is_stable_when_lines_move(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA = 1\n")
    first = check(cg, "a.py")[1]["findings"][0]["fingerprint"]
    write(repo, "a.py", "import os\n\n\nBANANA = 1\n")
    moved = check(cg, "a.py")[1]["findings"][0]
    assert moved["line"] == 4 and moved["fingerprint"] == first


def test_waiver_with_a_reason_lets_it_through_and_is_recorded(
    repo: Path, cg: CLI, banana: None
) -> None:
    write(repo, "a.py", "# convergio: allow no-banana -- the fruit is the product\nBANANA = 1\n")
    code, report = check(cg, "a.py")
    assert code == 0 and report["findings"] == []
    assert report["waived"][0]["waiver"]["reason"] == "the fruit is the product"
    entries = Chain(Git.discover(repo)).entries()
    assert [e.kind for e in entries] == ["check", "waiver"]
    assert entries[1].reasons == ("the fruit is the product",)
    assert entries[1].data["rule"] == "no-banana"


def test_waiver_on_the_same_line_and_by_gate(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA = 1  # convergio: allow banana -- generated fixture\n")
    assert check(cg, "a.py")[0] == 0


def test_waiver_without_a_reason_is_refused(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA = 1  # convergio: allow no-banana\n")
    code, report = check(cg, "a.py")
    assert code == 1
    rules = sorted(f["rule"] for f in report["findings"])
    assert rules == ["no-banana", "waiver-needs-reason"]


def test_a_waiver_two_lines_above_does_not_count(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "# convergio: allow no-banana -- too far\n\nBANANA = 1\n")
    assert check(cg, "a.py")[0] == 1


def test_baseline_accepts_todays_findings_and_is_stable(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA = 1\n")
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "bananas")
    assert cg("baseline", "--gate", "banana").code == 0
    baseline = (repo / ".convergio/baseline.yaml").read_text()
    assert "no-banana" in baseline and "line:" not in baseline
    assert check(cg, "a.py")[0] == 0
    write(repo, "a.py", "import os\n\nBANANA = 1\n")  # moved: still covered
    code, report = check(cg, "a.py")
    assert code == 0 and report["baselined"] == 1
    write(repo, "a.py", "BANANA = 1\nBANANA = 2\n")  # a new one is not
    code, report = check(cg, "a.py")
    assert code == 1 and [f["line"] for f in report["findings"]] == [2]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "version: 1\nfindings:\n  - fingerprint: 12\n",
            "baseline.yaml:3: findings[0].fingerprint",
        ),
        ("findings: [\n", "baseline.yaml:2: not valid YAML"),
    ],
)
def test_a_broken_baseline_is_a_usage_error_that_says_how_to_fix_it(
    repo: Path, cg: CLI, banana: None, text: str, where: str
) -> None:
    write(repo, "a.py", "x = 1\n")
    write(repo, ".convergio/baseline.yaml", text)
    result = cg("check", "--gate", "banana", "a.py")
    assert result.code == 2 and "Traceback" not in result.err
    assert where in result.err and "to fix:" in result.err


def test_diff_mode_counts_only_added_lines(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "old.py", "BANANA = 'old'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "old banana")
    base = git(repo, "rev-parse", "HEAD").strip()
    write(repo, "old.py", "BANANA = 'old'\nx = 1\n")
    write(repo, "new.py", "y = 2\nz = 'BANANA'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "new banana")
    code, report = check(cg, "--diff", f"{base}..HEAD")
    assert code == 1
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("new.py", 2)]
    assert report["mode"] == "diff"


def test_staged_mode_reads_the_index_not_the_working_tree(
    repo: Path, cg: CLI, banana: None
) -> None:
    write(repo, "a.py", "BANANA\n")
    git(repo, "add", "a.py")
    write(repo, "a.py", "clean now, but not staged\n")
    assert check(cg, "--staged")[0] == 1
    git(repo, "add", "a.py")
    assert check(cg, "--staged")[0] == 0


def test_history_mode_finds_what_any_commit_added(repo: Path, cg: CLI, banana: None) -> None:
    write(repo, "a.py", "BANANA\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add")
    write(repo, "a.py", "gone\n")
    git(repo, "commit", "-q", "-am", "remove")
    assert check(cg, "a.py")[0] == 0
    code, report = check(cg, "--history")
    assert code == 1 and report["findings"][0]["commit"]


def test_history_reports_code_unused_when_added_only_if_it_still_is(repo: Path, cg: CLI) -> None:
    """A function added in one commit and called from the next was not dead code: in
    history mode the wire gate reports what nothing references at the end too."""
    write(repo, "lib.py", "def helper():\n    return 1\n\n\ndef spare():\n    return 2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add")
    write(repo, "app.py", "from lib import helper\n\nhelper()\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "use")
    result = cg("check", "--history", "--gate", "wire", "--format", "json", "--no-record")
    assert result.code == 1, result.err
    assert [f["preview"] for f in json.loads(result.out)["findings"]] == ["lib.spare"]
    write(repo, "app.py", "from lib import helper, spare\n\nhelper()\nspare()\n")
    git(repo, "commit", "-q", "-am", "use the other")
    result = cg("check", "--history", "--gate", "wire", "--format", "json", "--no-record")
    assert result.code == 0 and json.loads(result.out)["findings"] == []


def test_results_are_cached_by_blob(repo: Path, cg: CLI, banana: None) -> None:
    for n in range(5):
        write(repo, f"f{n}.py", f"x = {n}\n")
    names = [f"f{n}.py" for n in range(5)]
    cold = check(cg, *names)[1]
    warm = check(cg, *names)[1]
    assert (cold["scanned"], cold["cached"]) == (5, 0)
    assert (warm["scanned"], warm["cached"]) == (0, 5)
    write(repo, "f0.py", "x = 'changed'\n")
    again = check(cg, *names)[1]
    assert (again["scanned"], again["cached"]) == (1, 4)
    assert check(cg, "--no-cache", *names)[1]["scanned"] == 5


def enable(config: Path, line: str) -> None:
    anchor = "  evidence: {enabled: true, severity: error}"
    config.write_text(config.read_text().replace(anchor, f"{anchor}\n  {line}"))


def test_severity_from_config_turns_refusal_into_warning(
    initialized: Path, cg: CLI, banana: None
) -> None:
    enable(initialized / ".convergio/config.yaml", "banana: {severity: warning}")
    write(initialized, "a.py", "BANANA\n")
    code, report = check(cg, "a.py")
    assert code == 0 and report["findings"][0]["severity"] == "warning"


def test_a_gate_switched_off_does_not_run(initialized: Path, cg: CLI, banana: None) -> None:
    config = initialized / ".convergio/config.yaml"
    config.write_text(
        config.read_text().replace(
            "  evidence: {enabled: true, severity: error}",
            "  evidence: {enabled: true, severity: error}\n  banana: {enabled: false}",
        )
    )
    write(initialized, "a.py", "BANANA\n")
    for name in ("debt", "stub", "secret", "wire"):
        config.write_text(
            config.read_text().replace(f"  {name}: {{enabled: true", f"  {name}: {{enabled: false")
        )
    result = cg("check", "--format", "json", "a.py")
    assert result.code == 0, result.err
    assert "banana" not in json.loads(result.out)["gates"]


def test_excluded_paths_are_not_looked_at(initialized: Path, cg: CLI, banana: None) -> None:
    config = initialized / ".convergio/config.yaml"
    config.write_text(config.read_text().replace("  exclude: []", "  exclude: ['vendor/**']"))
    write(initialized, "vendor/lib.py", "BANANA\n")
    assert check(cg, "vendor/lib.py")[0] == 0


def test_a_broken_plugin_is_named(
    repo: Path, cg: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "broken"
    site.mkdir()
    install(site, broken=True)
    monkeypatch.syspath_prepend(str(site))
    write(repo, "a.py", "x\n")
    result = cg("check", "--gate", "banana", "a.py")
    assert result.code == 2
    assert "gate 'banana' (banana_gate:Broken) failed to load" in result.err
    assert "cannot start" in result.err
    sys.modules.pop("banana_gate", None)


def test_usage_errors(repo: Path, cg: CLI, banana: None) -> None:
    assert cg("check", "--gate", "nope", "a.py").code == 2
    assert cg("check", "--gate", "banana").code == 2
    assert cg("check", "--gate", "banana", "missing.py").code == 2
    assert cg("check", "--gate", "banana", "--diff", "nothing").code == 2
    assert cg("check", "--gate", "banana", "--diff", "nope..HEAD").code == 2


def test_binary_symlink_invalid_utf8_and_submodule_do_not_crash(
    repo: Path, cg: CLI, banana: None, tmp_path: Path
) -> None:
    (repo / "bin.dat").write_bytes(b"\x00\x01BANANA\x00")
    (repo / "latin.py").write_bytes(b"x = 'caf\xe9 BANANA'\n")
    (repo / "link.py").symlink_to("latin.py")
    sub = tmp_path / "sub"
    git(tmp_path, "init", "-q", str(sub))
    git(sub, "commit", "-q", "--allow-empty", "-m", "s")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    git(repo, "add", "-A")
    code, report = check(cg, "--all-files")
    assert code == 1
    paths = {f["path"] for f in report["findings"]}
    assert "latin.py" in paths and "link.py" not in paths
    _, report = check(cg, "bin.dat", "latin.py", "link.py", "sub")
    skipped = {s["path"] for s in report["skipped"]}
    assert {"link.py", "sub"} <= skipped


def test_a_file_waiver_covers_the_whole_file_and_needs_a_reason(
    repo: Path, cg: CLI, banana: None
) -> None:
    write(repo, "a.py", "BANANA\n\n\n# convergio: allow-file banana -- fruit samples\nBANANA\n")
    code, report = check(cg, "a.py")
    assert code == 0 and len(report["waived"]) == 2
    write(repo, "b.py", "# convergio: allow-file banana\nBANANA\n")
    code, report = check(cg, "b.py")
    assert code == 1
    assert sorted(f["rule"] for f in report["findings"]) == ["no-banana", "waiver-needs-reason"]


def test_a_huge_file_is_skipped_with_a_reason(repo: Path, cg: CLI, banana: None) -> None:
    (repo / "huge.txt").write_bytes(b"BANANA " * ((9 << 20) // 7 + 1))
    _, report = check(cg, "huge.txt")
    assert report["skipped"] == [{"path": "huge.txt", "why": "over 8 MiB"}]

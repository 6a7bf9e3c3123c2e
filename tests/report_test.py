"""Reports: SARIF checked by the SARIF 2.1.0 schema and Microsoft's own validator (the
`@microsoft/sarif-multitool` npm package), GitHub annotations escaped, JSON complete."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tarfile
import threading
from pathlib import Path

import jsonschema
import pytest
from helpers import CLI

MULTITOOL = "@microsoft/sarif-multitool-linux@5.7.0"


@pytest.fixture(scope="session")
def multitool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official SARIF validator and schema, from the npm registry."""
    npm = shutil.which("npm")
    assert npm, "npm is needed to fetch the SARIF validator (apt install npm)"
    where = tmp_path_factory.mktemp("sarif")
    proc = subprocess.run(
        [npm, "pack", MULTITOOL, "--pack-destination", str(where)],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (tarball,) = where.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(where, filter="data")
    tool = where / "package" / "Sarif.Multitool"
    tool.chmod(0o755)
    return where / "package"


def sarif_of(repo: Path, cg: CLI) -> tuple[Path, dict]:  # type: ignore[type-arg]
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("x = 'BANANA'\n\ny = 'BANANA, again'\n")
    (repo / "b b.py").write_text("BANANA\n")
    out = repo / "report.sarif"
    result = cg(
        "check", "--gate", "banana", "--format", "sarif", "--output", str(out), "src/a.py", "b b.py"
    )
    assert result.code == 1, result.err
    return out, json.loads(out.read_text())


def test_sarif_matches_the_2_1_0_schema(repo: Path, cg: CLI, banana: None, multitool: Path) -> None:
    _, sarif = sarif_of(repo, cg)
    schema = json.loads((multitool / "sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert len(results) == 3
    for result in results:
        assert result["properties"]["gate"] == "banana"
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results} == {1, 3}


def test_sarif_passes_the_official_validator(
    repo: Path, cg: CLI, banana: None, multitool: Path
) -> None:
    path, _ = sarif_of(repo, cg)
    proc = subprocess.run(
        [
            str(multitool / "Sarif.Multitool"),
            "validate",
            str(path),
            "-o",
            str(path.with_suffix(".validation.sarif")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if ": error " in line]
    assert errors == [], "\n".join(errors)


def test_github_annotations_are_escaped(repo: Path, cg: CLI, banana: None) -> None:
    (repo / "we,ird:name.py").write_text("BANANA % 100\n")
    result = cg("check", "--gate", "banana", "--format", "github", "we,ird:name.py")
    assert result.code == 1
    (line,) = result.out.splitlines()
    assert line.startswith("::error file=we%2Cird%3Aname.py,line=1,col=1,")
    assert line.endswith("::a BANANA. Fix: peel it")


def test_json_report_has_everything(repo: Path, cg: CLI, banana: None) -> None:
    (repo / "a.py").write_text("BANANA\n")
    result = cg("check", "--gate", "banana", "--format", "json", "a.py")
    report = json.loads(result.out)
    assert set(report) >= {"decision", "findings", "waived", "gates", "chain_head", "seconds"}
    assert len(report["chain_head"]) == 64


def test_output_to_something_not_a_file_is_written_to_not_replaced(
    repo: Path, cg: CLI, banana: None, tmp_path: Path
) -> None:
    """`--output /dev/null` and the like: a rename (how a file is written whole) would
    put a regular file where the device or pipe was. A named pipe stands in for them."""
    (repo / "a.py").write_text("x = 'BANANA'\n")
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = cg("check", "--gate", "banana", "--format", "json", "--output", str(fifo), "a.py")
    reader.join(timeout=10)  # (a replaced pipe leaves it waiting: it is a daemon)
    assert result.code == 1, result.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0])["findings"][0]["path"] == "a.py"


def test_a_text_report_to_a_file_is_the_text_report(
    repo: Path, cg: CLI, banana: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--format text --output FILE` writes what the terminal shows, without colour even
    when colour is forced (it used to write the JSON report)."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    (repo / "a.py").write_text("x = 'BANANA'\n")
    out = repo / "report.txt"
    result = cg("check", "--gate", "banana", "--format", "text", "--output", str(out), "a.py")
    assert result.code == 1, result.err
    text = out.read_text()
    assert text.startswith("a.py:1:6: banana/no-banana ") and "\x1b" not in text
    assert "refused: 1 finding " in text and "peel it" in text
    assert "banana/no-banana" in result.out and "\x1b" in result.out  # the terminal: coloured


def test_the_json_report_puts_each_record_on_a_line_of_its_own() -> None:
    from convergio_gate import report

    data = {
        "decision": "refused",
        "gates": ["debt", "wire"],
        "findings": [{"gate": "debt", "preview": "# TODO: ünïcode\n", "line": 3}] * 3,
        "waived": [],
        "skipped": [{"path": "a b", "why": "a symbolic link"}],
        "nested": {"a": [1, {"b": None}]},
        "seconds": 0.5,
    }
    text = report.dumps(data, records=True)
    assert json.loads(text) == data
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and text.endswith("}\n")
    assert lines.count('    {"gate": "debt", "preview": "# TODO: ünïcode\\n", "line": 3},') == 2
    assert '  "waived": [],' in lines and '  "seconds": 0.5' in lines
    # Without records (SARIF), or for anything but an object, plain indented JSON.
    assert report.dumps(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert report.dumps([1, 2], records=True) == "[\n  1,\n  2\n]\n"
    assert json.loads(report.dumps({}, records=True)) == {}

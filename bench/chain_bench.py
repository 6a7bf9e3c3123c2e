"""Benchmark the audit chain: append 10,000 entries, then verify them from a fresh clone.

    python bench/chain_bench.py [--entries 10000]

Targets (docs/performance.md): append >= 200 entries/s; verify 10,000 entries < 1 s.
Each append is a full, separate compare-and-swap on refs/notes/convergio (no batching),
as when every decision is recorded by its own command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from convergio_gate.audit.chain import NOTES_REF, Chain
from convergio_gate.audit.entry import Draft
from convergio_gate.audit.verify import verify
from convergio_gate.gitio import Git, Identity

ME = Identity("Bench Mark", "bench@example.com")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--verify-runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(
        GIT_AUTHOR_NAME=ME.name,
        GIT_AUTHOR_EMAIL=ME.email,
        GIT_COMMITTER_NAME=ME.name,
        GIT_COMMITTER_EMAIL=ME.email,
    )
    with tempfile.TemporaryDirectory(prefix="chain-bench-") as tmp:
        root = Path(tmp)
        work, remote, clone = root / "work", root / "remote.git", root / "clone"
        git(root, "init", "--quiet", "--initial-branch=main", str(work))
        git(work, "commit", "--quiet", "--allow-empty", "-m", "root")
        chain = Chain(Git.discover(work))
        started = time.perf_counter()
        for n in range(args.entries):
            chain.append(
                Draft(
                    "check",
                    f"plan/task-{n % 97}",
                    "accepted",
                    str(ME),
                    (f"reason {n}",),
                    {"n": n, "tree": "ab" * 20},
                ),
                ME,
            )
        append_s = time.perf_counter() - started

        git(root, "init", "--quiet", "--bare", str(remote))
        git(work, "push", "--quiet", str(remote), "main", NOTES_REF)
        git(root, "clone", "--quiet", str(remote), str(clone))
        git(clone, "fetch", "--quiet", "origin", f"{NOTES_REF}:{NOTES_REF}")

        times = []
        for _ in range(args.verify_runs):
            fresh = Chain(Git.discover(clone))  # nothing cached between runs
            t0 = time.perf_counter()
            report = verify(fresh.read([NOTES_REF]))
            times.append(time.perf_counter() - t0)
            assert report.ok and report.entries == args.entries, report.to_json()
        t0 = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "convergio_gate", "verify"],
            cwd=clone,
            capture_output=True,
            text=True,
            check=False,
        )
        cli_s = time.perf_counter() - t0
        assert cli.returncode == 0, cli.stderr

    result = {
        "entries": args.entries,
        "append_total_s": round(append_s, 2),
        "append_per_s": round(args.entries / append_s, 1),
        "verify_median_s": round(statistics.median(times), 3),
        "verify_runs_s": [round(t, 3) for t in times],
        "verify_cli_wall_s": round(cli_s, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "chain.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

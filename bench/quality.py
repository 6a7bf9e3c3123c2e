"""Precision and recall of the code gates on the labeled corpus, side by side with peers.

    python bench/quality.py [--corpus /tmp/gate-corpus] [--seed 7] [--scale 1] [--no-peers]

Generates the corpus (``bench/corpus.py``) unless ``--reuse`` is given, commits it into
a git repository, runs ``convergio-gate check --all-files --no-record --format json``
there and matches every finding to the manifest: same gate, same file, and the finding's
line is the item's ``line`` or within ``start..end``.

* a positive item with a finding is a true positive, without one a miss;
* a negative item with a finding is a false positive;
* a finding that matches no item is a false positive too ("unlabeled"): for debt, stub
  and secret anywhere in the corpus (no subtree holds unlabeled markers, stubs or
  secrets), for wire only under ``wire/`` (the other subtrees are full of definitions
  nothing calls, on purpose).

Precision = TP / (TP + FP items + unlabeled lines), recall = TP / positives, per gate,
per language and per category. Peers, each on the part it covers (and ours on the
same part): ``detect-secrets scan`` (secret, every file), ``ruff check --select TD,FIX``
(debt, Python comments that start with TODO/FIXME/XXX/HACK), ``vulture`` at
``--min-confidence 60`` and ``100`` (wire, Python functions, methods, classes).

Writes ``bench/results/quality.json`` (every miss and every false positive, with file
and line) and prints the tables.
"""

# ruff: noqa: E501 -- wide result tables
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus as corpus_mod  # noqa: E402

BIN = Path(sys.executable).parent
GATES = ("debt", "stub", "secret", "wire")
TARGET = 0.95
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Mark",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench Mark",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


@dataclass(frozen=True)
class Hit:
    """One finding, reduced to what matching needs."""

    gate: str
    file: str
    line: int
    rule: str = ""
    message: str = ""


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp_items: int = 0
    tn: int = 0
    unlabeled: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false: list[dict[str, Any]] = field(default_factory=list)

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        flagged = self.tp + self.fp_items + self.unlabeled
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    def as_json(self, details: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "positives": self.positives,
            "negatives": self.fp_items + self.tn,
            "tp": self.tp,
            "fn": self.fn,
            "fp_items": self.fp_items,
            "fp_unlabeled": self.unlabeled,
            "precision": _r(self.precision),
            "recall": _r(self.recall),
        }
        if details:
            data["misses"] = self.misses
            data["false_positives"] = self.false
        return data


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **IDENTITY}
    )


def make_repo(repo: Path) -> None:
    if (repo / ".git").exists():
        return
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--no-verify", "-m", "labeled corpus")


def run_ours(repo: Path, gates: Iterable[str]) -> tuple[list[Hit], dict[str, Any]]:
    cmd = [
        str(BIN / "convergio-gate"),
        "check",
        "--all-files",
        "--no-record",
        "--no-cache",
        "--format",
        "json",
    ]
    for g in gates:
        cmd += ["--gate", g]
    started = time.perf_counter()
    # a plain process: a resident server would outlive the measurement (15 minutes)
    env = {**os.environ, "CONVERGIO_GATE_SERVER": "0"}
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"convergio-gate failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(proc.stdout)
    hits = [
        Hit(f["gate"], f["path"], f["line"], f["rule"], f["message"]) for f in report["findings"]
    ]
    meta = {k: report.get(k) for k in ("files", "scanned", "cached", "seconds")}
    meta["wall_seconds"] = round(wall, 3)
    meta["skipped"] = len(report.get("skipped", []))
    meta["waived"] = len(report.get("waived", []))
    return hits, meta


def run_detect_secrets(repo: Path) -> list[Hit]:
    proc = subprocess.run(
        [str(BIN / "detect-secrets"), "scan"], cwd=repo, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"detect-secrets failed:\n{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    return [
        Hit("secret", path, r["line_number"], r["type"], r["type"])
        for path, results in data["results"].items()
        for r in results
    ]


def run_ruff(repo: Path) -> list[Hit]:
    cmd = [
        str(BIN / "ruff"),
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "TD,FIX",
        "--output-format",
        "json",
        "--exit-zero",
        ".",
    ]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    return [
        Hit(
            "debt",
            str(Path(d["filename"]).resolve().relative_to(repo.resolve())),
            d["location"]["row"],
            d["code"],
            d["message"],
        )
        for d in data
    ]


VULTURE_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+): unused (?P<kind>function|method|class|property) '(?P<name>[^']+)'"
)


def run_vulture(repo: Path, confidence: int) -> list[Hit]:
    proc = subprocess.run(
        [str(BIN / "vulture"), ".", f"--min-confidence={confidence}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    hits = []
    for line in proc.stdout.splitlines():
        m = VULTURE_LINE.match(line)
        if m:
            path = m["path"][2:] if m["path"].startswith("./") else m["path"]
            hits.append(Hit("wire", path, int(m["line"]), m["kind"], line))
    return hits


class Matcher:
    """Assigns findings to manifest items (exact line first, then the tightest span)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.by_file: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            self.by_file[(item["gate"], item["file"])].append(item)

    def find(self, hit: Hit) -> dict[str, Any] | None:
        candidates = self.by_file.get((hit.gate, hit.file), [])
        exact = [i for i in candidates if i["line"] == hit.line]
        if exact:
            return exact[0]
        inside = [i for i in candidates if i["start"] <= hit.line <= i["end"]]
        if inside:
            return min(inside, key=lambda i: i["end"] - i["start"])
        return None


def source_line(repo: Path, path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = (repo / path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return redact(text[:160])


SECRETISH = re.compile(r"[A-Za-z0-9+/=_\-.]{24,}")


def redact(text: str) -> str:
    """Long random-looking runs are shortened in reports (they are fakes, but still)."""
    return SECRETISH.sub(lambda m: m[0][:8] + "…", text)


def score(
    gate: str,
    items: list[dict[str, Any]],
    hits: list[Hit],
    repo: Path,
    *,
    unlabeled_scope: Callable[[Hit], bool],
    lines: dict[str, list[str]],
) -> tuple[Score, dict[str, Score], dict[str, Score], set[str]]:
    """Overall, per-language and per-category scores; the ids of items hit."""
    matcher = Matcher(items)
    hit_items: dict[str, list[Hit]] = defaultdict(list)
    unlabeled: dict[tuple[str, int], Hit] = {}
    all_items = {i["id"]: i for i in items}
    for h in hits:
        if h.gate != gate:
            continue
        item = matcher.find(h)
        if item is not None:
            hit_items[item["id"]].append(h)
        elif unlabeled_scope(h):
            unlabeled.setdefault((h.file, h.line), h)
    total = Score()
    by_lang: dict[str, Score] = defaultdict(Score)
    by_cat: dict[str, Score] = defaultdict(Score)
    for item in all_items.values():
        found = hit_items.get(item["id"], [])
        cat = item["category"] + (
            f"/{item['rule']}" if item.get("rule") and gate in ("debt",) else ""
        )
        for s in (total, by_lang[item["language"]], by_cat[f"{item['expected'][:3]}:{cat}"]):
            if item["expected"] == "positive":
                if found:
                    s.tp += 1
                else:
                    s.fn += 1
                    s.misses.append(_describe(item, repo, lines))
            elif found:
                s.fp_items += 1
                s.false.append(
                    {**_describe(item, repo, lines), "rules": sorted({h.rule for h in found})}
                )
            else:
                s.tn += 1
    file_lang = {i["file"]: i["language"] for i in items}
    for (path, line), h in sorted(unlabeled.items()):
        entry = {
            "file": path,
            "line": line,
            "rule": h.rule,
            "message": h.message[:120],
            "text": source_line(repo, path, line, lines),
            "category": "unlabeled",
        }
        lang = file_lang.get(path, "(other)")
        for s in (total, by_lang[lang], by_cat["unlabeled"]):
            s.unlabeled += 1
            s.false.append(entry)
    return total, dict(by_lang), dict(by_cat), set(hit_items)


def _describe(item: dict[str, Any], repo: Path, lines: dict[str, list[str]]) -> dict[str, Any]:
    out = {k: item[k] for k in ("id", "file", "line", "category", "language") if k in item}
    for k in ("rule", "provider", "kind", "form"):
        if item.get(k):
            out[k] = item[k]
    out["text"] = source_line(repo, item["file"], item["line"], lines)
    return out


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def verdict(s: Score) -> str:
    ok = (s.precision is None or s.precision >= TARGET) and (s.recall is None or s.recall >= TARGET)
    return "ok" if ok else "BELOW"


def table(title: str, rows: list[tuple[str, Score]], show_verdict: bool = True) -> str:
    out = [
        title,
        f"{'':28} {'pos':>5} {'neg':>5} {'TP':>5} {'FN':>4} {'FP':>4} {'FPu':>4} {'prec':>6} {'recall':>6}",
    ]
    for name, s in rows:
        v = f"  {verdict(s)}" if show_verdict else ""
        out.append(
            f"{name[:28]:28} {s.positives:5} {s.fp_items + s.tn:5} {s.tp:5} {s.fn:4} {s.fp_items:4} {s.unlabeled:4} {fmt(s.precision):>6} {fmt(s.recall):>6}{v}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path("/tmp/gate-corpus"),
        help="where the corpus is (re)generated",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="use the corpus already in --corpus")
    parser.add_argument(
        "--no-peers", action="store_true", help="skip detect-secrets, ruff and vulture"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "quality.json")
    parser.add_argument(
        "--show", type=int, default=15, help="misses / false positives to print per gate"
    )
    args = parser.parse_args(argv)

    if not args.reuse:
        corpus_mod.generate(args.corpus, args.seed, args.scale)
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    repo = args.corpus / "repo"
    make_repo(repo)
    items = manifest["items"]
    lines: dict[str, list[str]] = {}

    ours, meta = run_ours(repo, GATES)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "corpus": {k: manifest[k] for k in ("seed", "scale", "files", "bytes", "digest")},
        "run": meta,
        "gates": {},
        "peers": {},
    }
    printed: list[str] = [
        f"corpus: {manifest['files']} files, {manifest['bytes'] / 1e6:.2f} MB, seed {manifest['seed']}; "
        f"check --all-files took {meta['wall_seconds']} s"
    ]
    scopes: dict[str, Callable[[Hit], bool]] = {
        "debt": lambda h: True,
        "stub": lambda h: True,
        "secret": lambda h: True,
        "wire": lambda h: h.file.startswith("wire/"),
    }
    for gate in GATES:
        gate_items = [i for i in items if i["gate"] == gate]
        total, by_lang, by_cat, _ = score(
            gate, gate_items, ours, repo, unlabeled_scope=scopes[gate], lines=lines
        )
        result["gates"][gate] = {
            "total": total.as_json(),
            "by_language": {k: v.as_json(False) for k, v in sorted(by_lang.items())},
            "by_category": {k: v.as_json(False) for k, v in sorted(by_cat.items())},
        }
        printed.append("")
        printed.append(
            table(
                f"== {gate} (target: precision and recall >= {TARGET})",
                [("ALL", total), *sorted(by_lang.items())],
            )
        )
        weak = [(k, v) for k, v in sorted(by_cat.items()) if v.fn or v.fp_items or v.unlabeled]
        if weak:
            printed.append(
                table(
                    f"-- {gate}: categories with misses or false positives",
                    weak,
                    show_verdict=False,
                )
            )
        for kind, entries in (("missed", total.misses), ("false positive", total.false)):
            for e in entries[: args.show]:
                printed.append(
                    f"   {kind}: {e['file']}:{e['line']} [{e.get('category')}{'/' + e['rule'] if e.get('rule') else ''}] {e['text']}"
                )
            if len(entries) > args.show:
                printed.append(f"   ... {len(entries) - args.show} more {kind}s in {args.out.name}")

    if not args.no_peers:
        printed.append("\n== peers, each on the part it covers (ours on the same part)")
        peers = result["peers"]
        # detect-secrets: secrets, every file
        ds = run_detect_secrets(repo)
        sec_items = [i for i in items if i["gate"] == "secret"]
        rows = []
        for name, hits in (("detect-secrets scan", ds), ("convergio-gate secret", ours)):
            total, by_lang, by_cat, _ = score(
                "secret", sec_items, hits, repo, unlabeled_scope=lambda h: True, lines=lines
            )
            peers.setdefault("detect-secrets", {})[name] = {
                "total": total.as_json(),
                "by_category": {k: v.as_json(False) for k, v in sorted(by_cat.items())},
            }
            rows.append((name, total))
        printed.append(
            table(
                "-- secret: whole corpus (detect-secrets 1.5 default plugins and filters)",
                rows,
                False,
            )
        )
        # ruff TD/FIX: debt, Python comments that start with one of the tags ruff knows
        ruff = run_ruff(repo)
        covered = [
            i
            for i in items
            if i["gate"] == "debt"
            and i["language"] == "python"
            and (
                i["expected"] == "negative"
                or (i.get("rule") in ("todo", "fixme", "xxx", "hack") and i.get("form") == "lead")
            )
        ]
        py_files = {i["file"] for i in items if i["language"] == "python"}
        other_debt = Matcher([i for i in items if i["gate"] == "debt" and i not in covered])
        rows = []
        for name, hits in (("ruff --select TD,FIX", ruff), ("convergio-gate debt", ours)):
            mine = [
                h
                for h in hits
                if h.gate == "debt"
                and (h.file in py_files or h.file.endswith(".py"))
                and other_debt.find(h) is None
            ]
            total, _, by_cat, _ = score(
                "debt", covered, mine, repo, unlabeled_scope=lambda h: True, lines=lines
            )
            peers.setdefault("ruff", {})[name] = {
                "total": total.as_json(),
                "by_category": {k: v.as_json(False) for k, v in sorted(by_cat.items())},
            }
            rows.append((name, total))
        printed.append(
            table(
                "-- debt: Python comments led by TODO/FIXME/XXX/HACK + every Python negative",
                rows,
                False,
            )
        )
        # vulture: wire, Python
        wire_py = [i for i in items if i["gate"] == "wire" and i["language"] == "python"]
        rows = []
        for name, hits in (
            ("vulture --min-confidence 60", run_vulture(repo, 60)),
            ("vulture --min-confidence 100", run_vulture(repo, 100)),
            ("convergio-gate wire", ours),
        ):
            total, _, by_cat, _ = score(
                "wire",
                wire_py,
                hits,
                repo,
                unlabeled_scope=lambda h: h.file.startswith("wire/python/"),
                lines=lines,
            )
            peers.setdefault("vulture", {})[name] = {
                "total": total.as_json(),
                "by_category": {k: v.as_json(False) for k, v in sorted(by_cat.items())},
            }
            rows.append((name, total))
        printed.append(table("-- wire: Python definitions under wire/python/", rows, False))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("\n".join(printed))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

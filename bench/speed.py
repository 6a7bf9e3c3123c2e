"""How fast the code gates are: cold, warm, against detect-secrets, and on a commit.

    python bench/speed.py [--workdir /tmp/gate-speed] [--py-mb 12] [--js-mb 8]
                          [--runs 3] [--precommit-runs 15] [--skip detect-secrets]

Builds a git repository of about 20 MB of real source: Python from this interpreter's
site-packages, JavaScript from an npm install of a few big packages (``npm install
--prefix /tmp/jsbench lodash typescript eslint webpack``; node_modules are excluded by
the default excludes, so the .js files are copied into a plain ``js/`` directory, minus
``*.min.js``, which the default excludes skip as well). Then measures, each run a whole
``convergio-gate`` process (interpreter start included):

a. cold: every gate, ``check --all-files --no-cache --no-record`` with
   ``<git dir>/convergio`` removed first; MB/s over the bytes of the files checked;
   and each gate alone (``--gate X``), to see where the time goes;
b. warm: the same check with the cache on, after one run that fills it; cold/warm;
c. ``detect-secrets scan`` on the same files against our secret gate alone (cold);
d. the pre-commit path: 10 files / 2,000 added lines committed through the real
   ``hooks/pre-commit`` (``convergio-gate check --staged``), ``check --staged`` and
   ``check FILES`` (how the pre-commit framework calls it), recording on and off;
   median and p90 of ``--precommit-runs`` runs; plus ``python -X importtime`` and a
   cProfile of one ``check FILES`` run.

The measured ``convergio-gate`` is a regular install of this checkout in
``<workdir>/venv`` (``--install current`` measures this interpreter's, which for a
developer is an editable install: its finder costs every start some 15-25 ms). Runs go
through the resident server (convergio_gate/server.py) as they do for users, the
pre-commit path is also measured without it, and the profiles are taken without it.

Targets (the issue): cold >= 8 MB/s on a 2-core machine; warm >= 20x faster than cold;
>= 10x the throughput of ``detect-secrets scan``; pre-commit median <= 0.3 s.
Writes ``bench/results/speed.json`` and prints the tables.
"""

# ruff: noqa: E501 -- wide result tables
from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (documented: the profile is taken with `python -m cProfile`)
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
#: Where the measured convergio-gate is installed: a venv of its own with a regular (not
#: editable) install, as users have it (see --install); BIN with --install current.
CG_BIN = BIN
SITE = (
    Path(sys.prefix)
    / "lib"
    / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    / "site-packages"
)
GATES = ("secret", "debt", "stub", "wire")
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Mark",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench Mark",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
PY_PACKAGES = (
    "pip",
    "setuptools",
    "hypothesis",
    "rich",
    "pygments",
    "github",
    "_pytest",
    "yaml",
    "distlib",
    "mypy",
    "virtualenv",
)
JS_PACKAGES = (
    "lodash",
    "eslint",
    "terser",
    "typescript",
    "ajv",
    "acorn",
    "enhanced-resolve",
    "webpack",
)
TARGETS = {
    "cold_mb_s": 8.0,
    "warm_speedup": 20.0,
    "vs_detect_secrets": 10.0,
    "precommit_median_s": 0.3,
}


def env(**extra: str) -> dict[str, str]:
    """The environment of every measured process: this one's, with a pinned identity and,
    like a real install, bytecode caching on (a shell with PYTHONDONTWRITEBYTECODE set
    would otherwise have every run compile the package from source)."""
    path = f"{CG_BIN}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    out = {**os.environ, **IDENTITY, "PATH": path, **extra}
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


#: The measured processes run without the resident server (convergio_gate/server.py).
NO_SERVER = {"CONVERGIO_GATE_SERVER": "0"}


def install_user_copy(workdir: Path) -> Path:
    """A venv under ``workdir`` with this checkout installed as users install it (``pip
    install``, not editable: an editable install adds a finder to every start); the code
    is reinstalled on every run, the dependencies only when the venv is new. Its bin."""
    venv = workdir / "venv"
    pip = venv / "bin" / "pip"
    repo = str(HERE.parent)
    if not pip.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(pip), "install", "--quiet", repo], check=True)
    subprocess.run(
        [str(pip), "install", "--quiet", "--no-deps", "--force-reinstall", repo], check=True
    )
    return venv / "bin"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env()
    ).stdout


def timed(
    cmd: list[str],
    cwd: Path,
    check_codes: tuple[int, ...] = (0, 1),
    extra: dict[str, str] | None = None,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env(**(extra or {})))
    wall = time.perf_counter() - started
    if proc.returncode not in check_codes:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return wall, proc


def pctl(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def stats(values: list[float]) -> dict[str, Any]:
    return {
        "runs": len(values),
        "median": round(statistics.median(values), 4),
        "p90": round(pctl(values, 0.9), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


# --------------------------------------------------------------------------- the repo


def _pick(files: list[Path], budget: int) -> list[Path]:
    out, total = [], 0
    for f in files:
        size = f.stat().st_size
        if total + size > budget:
            continue
        out.append(f)
        total += size
        if total >= budget * 0.995:
            break
    return out


def build_repo(root: Path, py_mb: float, js_mb: float, js_source: Path) -> dict[str, Any]:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    py_files: list[Path] = []
    for pkg in PY_PACKAGES:
        py_files += sorted((SITE / pkg).rglob("*.py"))
    js_files: list[Path] = []
    for pkg in JS_PACKAGES:
        js_files += sorted(
            p
            for p in (js_source / pkg).rglob("*.js")
            if not p.name.endswith(".min.js")
            and "node_modules" not in p.relative_to(js_source / pkg).parts
        )
    if not js_files:
        raise SystemExit(
            f"no JavaScript under {js_source}: run `npm install --prefix {js_source.parent} {' '.join(JS_PACKAGES[:4])}`"
        )
    chosen = [("py", SITE, f) for f in _pick(py_files, int(py_mb * 1e6))]
    chosen += [("js", js_source, f) for f in _pick(js_files, int(js_mb * 1e6))]
    sizes = {"py": 0, "js": 0}
    counts = {"py": 0, "js": 0}
    for kind, base, f in chosen:
        target = root / kind / f.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        sizes[kind] += f.stat().st_size
        counts[kind] += 1
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "--no-verify", "-m", "speed corpus")
    return {"bytes": sizes, "files": counts, "total_mb": round(sum(sizes.values()) / 1e6, 2)}


def drop_cache(root: Path) -> None:
    shutil.rmtree(root / ".git" / "convergio", ignore_errors=True)


def check(root: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    wall, proc = timed([str(CG_BIN / "convergio-gate"), "check", *extra, "--format", "json"], root)
    report = json.loads(proc.stdout)
    return wall, {
        "seconds": report.get("seconds"),
        "scanned": report.get("scanned"),
        "cached": report.get("cached"),
        "findings": len(report.get("findings", [])),
        "files": report.get("files"),
        "exit": proc.returncode,
    }


# ---------------------------------------------------------------------- measurements


def measure_cold(
    root: Path, runs: int, total_bytes: int, gates: tuple[str, ...] = ()
) -> dict[str, Any]:
    walls, last = [], {}
    args = ["--all-files", "--no-cache", "--no-record"]
    for g in gates:
        args += ["--gate", g]
    for _ in range(runs):
        drop_cache(root)
        wall, last = check(root, *args)
        walls.append(wall)
    s = stats(walls)
    s["mb_s"] = round(total_bytes / 1e6 / s["median"], 2)
    s["engine_seconds_last"] = last["seconds"]
    s["findings"] = last["findings"]
    s["files"] = last["files"]
    return s


def measure_warm(root: Path, runs: int) -> dict[str, Any]:
    drop_cache(root)
    fill, _info = check(root, "--all-files", "--no-record")
    walls, last = [], {}
    for _ in range(runs):
        wall, last = check(root, "--all-files", "--no-record")
        walls.append(wall)
    s = stats(walls)
    s["fill_seconds"] = round(fill, 3)
    s["cached_last"] = last["cached"]
    s["scanned_last"] = last["scanned"]
    s["engine_seconds_last"] = last["seconds"]
    return s


def measure_detect_secrets(root: Path, runs: int, total_bytes: int) -> dict[str, Any]:
    walls = []
    for _ in range(runs):
        wall, proc = timed([str(BIN / "detect-secrets"), "scan"], root, (0,))
        walls.append(wall)
    found = sum(len(v) for v in json.loads(proc.stdout)["results"].values())
    s = stats(walls)
    s["mb_s"] = round(total_bytes / 1e6 / s["median"], 2)
    s["findings"] = found
    return s


def precommit_files(root: Path) -> list[str]:
    """Five Python and five JavaScript files of moderate size, outside test paths, that no
    gate refuses as they are: ``check --staged`` judges whole files (only ``--diff`` is
    limited to added lines), so a file with old findings would refuse the commit."""
    test = re.compile(
        r"(^|/)(tests?|testing|__tests__|spec)/|(^|/)test_[^/]*\.py$|_test\.py$|conftest\.py$"
    )
    out: list[str] = []
    for prefix, ext in (("py/rich/", ".py"), ("js/eslint/lib/", ".js")):
        cands = sorted(
            p
            for p in git(root, "ls-files", prefix).splitlines()
            if p.endswith(ext) and not test.search(p) and 4_000 < (root / p).stat().st_size < 40_000
        )
        _, proc = timed(
            [str(CG_BIN / "convergio-gate"), "check", "--no-record", "--format", "json", *cands],
            root,
        )
        dirty = {f["path"] for f in json.loads(proc.stdout)["findings"]}
        clean = [p for p in cands if p not in dirty]
        step = max(1, len(clean) // 5)
        out += clean[::step][:5]
    return out


def clean_block(path: str, tag: str, lines: int = 200) -> str:
    """``lines`` lines of code no gate refuses: each function is called right below it."""
    out: list[str] = []
    n = 0
    while len(out) < lines:
        n += 1
        name = f"bench_helper_{tag}_{n}"
        if path.endswith(".py"):
            out += [
                f"def {name}(values):",
                "    total = 0",
                "    for v in values:",
                f"        total += v * {n}",
                "    return total",
                "",
                "",
                f"BENCH_RESULT_{tag}_{n} = {name}([1, 2, 3])",
            ]
        else:
            out += [
                f"function {name}(values) {{",
                "  let total = 0;",
                "  for (const v of values) {",
                f"    total += v * {n};",
                "  }",
                "  return total;",
                "}",
                f"const benchResult_{tag}_{n} = {name}([1, 2, 3]);",
            ]
    return "\n".join(out[:lines]) + "\n"


def stage_change(root: Path, files: list[str], tag: str, originals: dict[str, bytes]) -> None:
    for p in files:
        data = originals[p]
        if not data.endswith(b"\n"):
            data += b"\n"
        (root / p).write_bytes(data + clean_block(p, tag).encode())
    git(root, "add", "--", *files)


def measure_precommit(root: Path, runs: int) -> dict[str, Any]:
    files = precommit_files(root)
    originals = {p: (root / p).read_bytes() for p in files}
    hook = root / ".git" / "hooks" / "pre-commit"
    shutil.copyfile(HERE.parent / "hooks" / "pre-commit", hook)
    hook.chmod(0o755)
    # Every run adds objects: pack them now, and let no automatic gc start (git detaches
    # it to the background, where it would take a core from the runs that follow).
    git(root, "config", "gc.auto", "0")
    git(root, "gc", "--quiet")
    cg = str(CG_BIN / "convergio-gate")
    subprocess.run([cg, "server", "start"], check=True, capture_output=True, env=env())
    commit = ["git", "commit", "--quiet", "-m", "bench"]
    variants: dict[str, list[str]] = {
        "git commit via hooks/pre-commit (check --staged, recording on)": commit,
        "the same, without the resident server": commit,
        "check --staged (recording on)": [cg, "check", "--staged"],
        "check --staged --no-record": [cg, "check", "--staged", "--no-record"],
        "check FILES (recording on)": [cg, "check", *files],
        "check FILES --no-record": [cg, "check", "--no-record", *files],
    }
    out: dict[str, Any] = {"files": files, "added_lines": 200 * len(files), "variants": {}}
    # Every run commits code no earlier run (of this bench, or of one before it on the
    # same repository) has seen: the gates' caches are keyed by content and must not serve.
    nonce = os.urandom(4).hex()
    for label, cmd in variants.items():
        walls, codes = [], []  # (interleaved runs would share the noise more evenly)
        for i in range(runs):
            tag = f"{nonce}_{len(out['variants'])}_{i}"
            stage_change(root, files, tag, originals)
            wall, proc = timed(cmd, root, (0, 1), NO_SERVER if "without" in label else None)
            walls.append(wall)
            codes.append(proc.returncode)
            if not label.startswith("git commit"):
                git(root, "reset", "--quiet", "--", *files)
        s = stats(walls)
        s["exit_codes"] = sorted(set(codes))
        out["variants"][label] = s
    # leave the work tree as committed
    git(root, "checkout", "--quiet", "--", *files)
    return out


def importtime(root: Path, files: list[str]) -> list[dict[str, Any]]:
    """Import times of one ``check FILES`` run, after a first run that leaves what a
    developer's machine has after its first commit (bytecode, the tool's caches for this
    interpreter)."""
    argv = [
        str(CG_BIN / "python"),
        "-X",
        "importtime",
        "-m",
        "convergio_gate",
        "check",
        "--no-record",
        *files,
    ]
    subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env(**NO_SERVER))
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env(**NO_SERVER))
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append(
                {
                    "module": m[4],
                    "self_us": int(m[1]),
                    "cumulative_us": int(m[2]),
                    "depth": (len(m[3]) - 1) // 2,
                }
            )
    total = sum(r["self_us"] for r in rows)
    top = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cumulative_us"])[:20]
    return [{"total_import_ms": round(total / 1000, 1)}, *top]


def profile(root: Path, files: list[str], out_dir: Path) -> dict[str, str]:
    prof = out_dir / "precommit.prof"
    subprocess.run(
        [
            str(CG_BIN / "python"),
            "-m",
            "cProfile",
            "-o",
            str(prof),
            "-m",
            "convergio_gate",
            "check",
            "--no-record",
            *files,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env(**NO_SERVER),
    )
    texts = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(key).print_stats(25)
        texts[key] = buf.getvalue()
    return texts


def profile_cold(root: Path, out_dir: Path) -> str:
    """cProfile of a cold all-gates run, one worker (so the scan is in this process)."""
    prof = out_dir / "cold.prof"
    drop_cache(root)
    subprocess.run(
        [
            str(CG_BIN / "python"),
            "-m",
            "cProfile",
            "-o",
            str(prof),
            "-m",
            "convergio_gate",
            "check",
            "--all-files",
            "--no-cache",
            "--no-record",
            "--jobs",
            "1",
            "--format",
            "json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env(**NO_SERVER),
    )
    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats("tottime").print_stats(30)
    return buf.getvalue()


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gate-speed"))
    parser.add_argument("--js-source", type=Path, default=Path("/tmp/jsbench/node_modules"))
    parser.add_argument("--py-mb", type=float, default=12.0)
    parser.add_argument("--js-mb", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of each cold/warm measure")
    parser.add_argument("--precommit-runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="reuse the repository in --workdir")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["cold", "gates", "warm", "detect-secrets", "precommit", "profile"],
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "speed.json")
    parser.add_argument(
        "--install",
        choices=("venv", "current"),
        default="venv",
        help="measure a regular install in <workdir>/venv (default), or this interpreter's",
    )
    args = parser.parse_args(argv)
    global CG_BIN
    if args.install == "venv":
        CG_BIN = install_user_copy(args.workdir)

    root = args.workdir / "repo"
    if args.reuse and root.exists():
        info = json.loads((args.workdir / "repo-info.json").read_text())
    else:
        info = build_repo(root, args.py_mb, args.js_mb, args.js_source)
        (args.workdir / "repo-info.json").write_text(json.dumps(info))
    total = sum(info["bytes"].values())
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "install": f"{args.install} ({CG_BIN})",
        "repo": info,
        "targets": TARGETS,
    }
    if args.out.exists():
        old = json.loads(args.out.read_text())
        result.update({k: v for k, v in old.items() if k not in result})
    lines = [
        f"repo: {info['files']['py']} .py ({info['bytes']['py'] / 1e6:.1f} MB) + {info['files']['js']} .js "
        f"({info['bytes']['js'] / 1e6:.1f} MB) = {total / 1e6:.1f} MB; {result['machine']}"
    ]

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")

    if "cold" not in args.skip:
        result["cold"] = measure_cold(root, args.runs, total)
        save()
    if "gates" not in args.skip:
        result["cold_by_gate"] = {g: measure_cold(root, 1, total, (g,)) for g in GATES}
        save()
    if "warm" not in args.skip:
        result["warm"] = measure_warm(root, args.runs)
        save()
    if "detect-secrets" not in args.skip:
        result["detect_secrets"] = measure_detect_secrets(root, max(1, args.runs - 1), total)
        result["secret_gate_cold"] = measure_cold(root, args.runs, total, ("secret",))
        save()
    if "precommit" not in args.skip:
        check(root, "--all-files", "--no-record")  # a developer's cache is warm
        result["precommit"] = measure_precommit(root, args.precommit_runs)
        save()
    if "profile" not in args.skip:
        files = result.get("precommit", {}).get("files") or precommit_files(root)
        stage_change(
            root,
            files,
            f"profile_{os.urandom(4).hex()}",
            {p: (root / p).read_bytes() for p in files},
        )
        result["importtime"] = importtime(root, files)
        result["profile_precommit"] = profile(root, files, args.out.parent)
        git(root, "reset", "--quiet", "--", *files)
        git(root, "checkout", "--quiet", "--", *files)
        result["profile_cold_jobs1"] = profile_cold(root, args.out.parent)
        save()

    subprocess.run(  # leave no server behind (the pre-commit measure starts one)
        [str(CG_BIN / "convergio-gate"), "server", "stop"], capture_output=True, env=env()
    )
    lines += report(result)
    save()
    print("\n".join(lines))
    print(f"\nresults: {args.out}")
    return 0


def report(r: dict[str, Any]) -> list[str]:
    t = r["targets"]
    out = ["", f"{'measure':58} {'median':>8} {'p90':>8} {'figure':>12} {'target':>10}"]

    def row(name: str, s: dict[str, Any], figure: str, target: str, ok: bool | None) -> None:
        v = "" if ok is None else ("  ok" if ok else "  MISSED")
        out.append(
            f"{name[:58]:58} {s['median']:8.3f} {s['p90']:8.3f} {figure:>12} {target:>10}{v}"
        )

    if "cold" in r:
        c = r["cold"]
        row(
            "a. cold, all gates (--no-cache, cache dir removed)",
            c,
            f"{c['mb_s']} MB/s",
            f">= {t['cold_mb_s']}",
            c["mb_s"] >= t["cold_mb_s"],
        )
    for g, c in r.get("cold_by_gate", {}).items():
        row(f"   cold, --gate {g}", c, f"{c['mb_s']} MB/s", "", None)
    if "warm" in r and "cold" in r:
        w = r["warm"]
        ratio = r["cold"]["median"] / w["median"]
        w["speedup"] = round(ratio, 1)
        row(
            f"b. warm re-run (cache filled by a {w['fill_seconds']} s run)",
            w,
            f"{ratio:.1f}x",
            f">= {t['warm_speedup']:.0f}x",
            ratio >= t["warm_speedup"],
        )
    if "detect_secrets" in r:
        d, s = r["detect_secrets"], r["secret_gate_cold"]
        ratio = d["median"] / s["median"]
        r["secret_vs_detect_secrets"] = round(ratio, 1)
        row("c. detect-secrets scan (same files)", d, f"{d['mb_s']} MB/s", "", None)
        row(
            "   our secret gate alone, cold",
            s,
            f"{ratio:.1f}x",
            f">= {t['vs_detect_secrets']:.0f}x",
            ratio >= t["vs_detect_secrets"],
        )
    if "precommit" in r:
        p = r["precommit"]
        out.append(
            f"d. pre-commit path: {len(p['files'])} files, {p['added_lines']} added lines, whole process"
        )
        for label, s in p["variants"].items():
            row(
                "   " + label,
                s,
                f"exit {s['exit_codes']}",
                f"<= {t['precommit_median_s']}",
                s["median"] <= t["precommit_median_s"],
            )
    if "importtime" in r:
        imp = r["importtime"]
        out.append(f"\nimports of `check FILES` ({imp[0]['total_import_ms']} ms in all), heaviest:")
        for e in imp[1:13]:
            out.append(f"   {e['cumulative_us'] / 1000:8.1f} ms  {'  ' * e['depth']}{e['module']}")
    if "profile_precommit" in r:
        out.append("\ncProfile of `check FILES --no-record`, by cumulative time (top 25):")
        out.append(_trim(r["profile_precommit"]["cumulative"]))
    if "profile_cold_jobs1" in r:
        out.append("\ncProfile of a cold all-gates run with --jobs 1, by own time (top 30):")
        out.append(_trim(r["profile_cold_jobs1"]))
    return out


def _trim(text: str) -> str:
    keep = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(("   Ordered", "   List"))
    ]
    start = next((i for i, line in enumerate(keep) if "ncalls" in line), 0)
    return "\n".join(keep[start:])


if __name__ == "__main__":
    sys.exit(main())

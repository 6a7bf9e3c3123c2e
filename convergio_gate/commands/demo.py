"""``convergio-gate demo``: the whole story in a throwaway repository, in seconds.

An agent fixes a bug, claims success on a failing test run and is refused; fixes it
properly and is accepted; a second task is forged to done by hand and caught, then done
properly; the chain verifies; a tampered copy of the chain is caught, the entry named.
No network, no account: a temp dir, git, and the Python running this.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.markup import escape

from convergio_gate import cli
from convergio_gate.console import out
from convergio_gate.errors import OK, REFUSED, InputError

CALC_BUGGY = '''\
def add(a, b):
    """Return the sum of a and b."""
    return a - b
'''
CALC_FIXED = CALC_BUGGY.replace("a - b", "a + b")
TEST_CALC = """\
import unittest

from calc import add


class AddTest(unittest.TestCase):
    def test_small(self):
        self.assertEqual(add(2, 3), 5)

    def test_negative(self):
        self.assertEqual(add(-2, -3), -5)


if __name__ == "__main__":
    unittest.main()
"""
README = "# calc\n\nA calculator that adds. `python -m unittest` runs the tests.\n"
TEST_README = """\
import pathlib
import unittest


class ReadmeTest(unittest.TestCase):
    def test_mentions_tests(self):
        text = pathlib.Path("README.md").read_text()
        self.assertIn("python -m unittest", text)


if __name__ == "__main__":
    unittest.main()
"""


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "calc"
        self.console = out()
        self.python = sys.executable

    def say(self, text: str) -> None:
        self.console.print(f"\n[bold]{text}[/]")

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{text}[/]")

    def cg(self, *argv: str, expect: int = OK) -> int:
        """Run a convergio-gate command in-process, showing it as a user would type it."""
        shown = " ".join(shlex.quote(a) for a in argv).replace(shlex.quote(self.python), "python")
        self.console.print(f"[cyan]$ convergio-gate {escape(shown)}[/]")
        code = cli.main(["-C", str(self.repo), *argv], local=True)  # no server left behind
        if code != expect:
            raise InputError(f"the demo expected exit {expect} from `{shown}`, got {code}")
        return code

    def git(self, *argv: str, cwd: Path | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada Agent",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Agent",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
        }
        proc = subprocess.run(
            ["git", *argv],
            cwd=cwd or self.repo,
            env=env,
            text=True,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise InputError(f"the demo's `git {' '.join(argv)}` failed: {proc.stderr.strip()}")
        return proc.stdout

    def write(self, name: str, text: str) -> None:
        (self.repo / name).write_text(text, encoding="utf-8")

    def run(self) -> None:
        here = os.getcwd()
        # The fix in step 4 has the buggy file's size and lands within the second of the
        # first test run, which Python's bytecode cache cannot tell apart: the tests the
        # demo runs write no bytecode, so they always run the file as it is.
        was = os.environ.get("PYTHONDONTWRITEBYTECODE")
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            self._story()
        finally:
            os.chdir(here)
            if was is None:
                os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            else:
                os.environ["PYTHONDONTWRITEBYTECODE"] = was

    def _story(self) -> None:
        python = self.python
        unittest_cmd = ("--", python, "-m", "unittest", "-q")
        self.console.print(
            "[bold]convergio-gate demo[/]: an agent, a plan with two tasks, and a gate that "
            "believes only what it measured.\n"
            f"[dim]working in {self.root}[/]"
        )
        self.say("1. A repository with a bug, and a plan to fix it")
        self.repo.mkdir()
        self.git("init", "--quiet", "--initial-branch=main")
        self.git("config", "user.name", "Ada Agent")
        self.git("config", "user.email", "ada@example.com")
        self.write("calc.py", CALC_BUGGY)
        self.write("test_calc.py", TEST_CALC)
        self.write(".gitignore", "__pycache__/\n*.pyc\n")
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", "calc: add() and its tests")
        self.cg("init")
        self.cg("plan", "create", "calc", "--title", "A calculator that adds")
        self.cg(
            "task",
            "add",
            "calc",
            "fix-add",
            "--title",
            "Make add() add",
            "--requires",
            "test",
            "--verify",
            "python -m unittest",
        )
        self.cg(
            "task",
            "add",
            "calc",
            "readme",
            "--title",
            "Document how to run the tests",
            "--requires",
            "test",
        )

        self.say("2. The agent runs the tests. They fail, and the run is recorded as measured.")
        self.cg("task", "transition", "calc/fix-add", "in_progress")
        self.cg("evidence", "run", "calc/fix-add", "--kind", "test", *unittest_cmd, expect=REFUSED)

        self.say("3. It claims the task is submitted anyway. The gate refuses, with reasons.")
        self.cg("task", "transition", "calc/fix-add", "submitted", expect=REFUSED)

        self.say("4. It fixes the bug and measures again; now the claim is backed.")
        self.write("calc.py", CALC_FIXED)
        self.cg("evidence", "run", "calc/fix-add", "--kind", "test", "--quiet", *unittest_cmd)
        self.cg("task", "transition", "calc/fix-add", "submitted")

        self.say("5. A second agent writes `status: done` into its task file by hand.")
        task_file = self.repo / ".convergio/plans/calc/tasks/readme.yaml"
        text = task_file.read_text(encoding="utf-8")
        task_file.write_text(text.replace("status: pending", "status: done"), encoding="utf-8")
        self.cg("status", expect=REFUSED)
        self.note("only the gate can say done: the chain holds no acceptance, so it is forged.")
        self.git("checkout", "--", ".convergio/plans/calc/tasks/readme.yaml") if self._tracked(
            task_file
        ) else task_file.write_text(text, encoding="utf-8")

        self.say("6. It does the work properly instead: write, test, submit.")
        self.write("README.md", README)
        self.write("test_readme.py", TEST_README)
        self.cg("task", "transition", "calc/readme", "in_progress")
        self.cg("evidence", "run", "calc/readme", "--kind", "test", "--quiet", *unittest_cmd)
        self.cg("task", "transition", "calc/readme", "submitted")

        self.say("7. The gate judges both claims against the code as it is now.")
        self.cg("validate", expect=REFUSED)
        self.note(
            "evidence is bound to the exact code it ran on: the README work changed the code "
            "after fix-add's tests ran, so that run no longer proves anything."
        )

        self.say("8. Measured again on today's code, the claim holds and the gate accepts it.")
        self.cg("evidence", "run", "calc/fix-add", "--kind", "test", "--quiet", *unittest_cmd)
        self.cg("validate")
        self.cg("status")

        self.say("9. Anyone with a clone can check every decision: the chain is in git notes.")
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", "calc: add() adds; README says how to test")
        self.cg("verify")

        self.say(
            "10. Someone rewrites history in a copy: the refusal from step 3 becomes an acceptance."
        )
        self._tamper()

    def _tracked(self, path: Path) -> bool:
        rel = path.relative_to(self.repo).as_posix()
        return bool(self.git("ls-files", "--", rel).strip())

    def _tamper(self) -> None:
        copy = self.root / "calc-tampered"
        self.git("clone", "--quiet", "--no-local", str(self.repo), str(copy), cwd=self.root)
        self.git(
            "fetch",
            "--quiet",
            str(self.repo),
            "refs/notes/convergio:refs/notes/convergio",
            cwd=copy,
        )
        notes = self.git("notes", "--ref", "convergio", "list", cwd=copy).split()
        refusals = []
        for note_blob, annotated in zip(notes[0::2], notes[1::2], strict=False):
            entry = json.loads(self.git("cat-file", "-p", note_blob, cwd=copy))
            if entry["decision"] == "refused" and entry["subject"] == "calc/fix-add":
                refusals.append((entry["seq"], annotated, entry))
        _, annotated, entry = min(refusals)  # the first refusal: step 3's
        entry.update(kind="accept", decision="accepted")  # the hash is left as it was
        forged = copy / ".git" / "forged-note"
        forged.write_text(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
        self.git("notes", "--ref", "convergio", "add", "-f", "-F", str(forged), annotated, cwd=copy)
        self.console.print(
            f"[cyan]$ git notes --ref convergio add -f -F forged-note {annotated[:12]}[/]"
            f"   [dim](in the copy: entry {entry['seq']} now says accepted)[/]"
        )
        self.repo = copy
        self.cg("verify", expect=REFUSED)
        self.note("the edited entry is named; the original repository still verifies.")


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="convergio-demo-"))
    try:
        Demo(root).run()
    except BaseException:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        raise
    seconds = time.monotonic() - started
    console = out()
    console.print(f"\n[bold green]done[/] in {seconds:.1f}s. ", end="")
    if args.keep:
        console.print(f"The demo repository is kept: cd {root / 'calc'}")
    else:
        shutil.rmtree(root, ignore_errors=True)
        console.print("(run with --keep to look around the demo repository)")
    return OK

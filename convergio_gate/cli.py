"""Parse the command line and dispatch to ``convergio_gate.commands.<verb>.run``.

Nothing here does work. Errors map to exit codes in one place (``main``): a
``FatalError`` prints its message and exits 2 (commands return 1 themselves when a gate
refuses), Ctrl-C exits 130, and anything else is a bug: a short report with versions,
exit 3.
"""

from __future__ import annotations

import os
import sys

from convergio_gate import __version__, server
from convergio_gate.errors import INTERNAL, INTERRUPTED, OK, FatalError

TYPE_CHECKING = False  # as typing's, without importing typing on the pre-commit path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

EPILOG = """\
exit codes: 0 ok, 1 refused (a gate said no), 2 usage or input error,
3 internal error, 130 interrupted. Docs: docs/ in the convergio-gate repository.
"""


#: The parser, once built (the resident server builds it before it forks its runs).
_PARSER: list[argparse.ArgumentParser] = []


def command_parser() -> argparse.ArgumentParser:
    if not _PARSER:
        _PARSER.append(_parser())
    return _PARSER[0]


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="convergio-gate",
        description="Make coding agents prove their work, using nothing but git.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convergio-gate {__version__}")
    parser.add_argument("-C", dest="chdir", metavar="PATH", help="run as if started in PATH")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    p = verbs.add_parser("init", help="set up .convergio/ and the notes refspecs")
    p.add_argument(
        "--remote",
        action="append",
        default=[],
        help="configure this remote (default: every remote); repeatable",
    )

    plan = verbs.add_parser("plan", help="create, list and show plans")
    plan_verbs = plan.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = plan_verbs.add_parser("create", help="create a plan (from a Markdown checklist too)")
    p.add_argument("plan", help="plan id")
    p.add_argument("--title", help="required unless --from FILE has a `# Title` line")
    p.add_argument("--goal", default="")
    p.add_argument(
        "--from",
        dest="source",
        metavar="FILE.md",
        help="one task per unchecked `- [ ]` item of this checklist",
    )
    p.add_argument(
        "--planner",
        metavar="VENDOR:MODEL",
        help="ask this vendor CLI (read-only) to split --from FILE into tasks",
    )
    p.add_argument(
        "--runner-kind",
        metavar="VENDOR:MODEL",
        help="the runner of the created tasks that name none",
    )
    p = plan_verbs.add_parser("list", help="list plans")
    p.add_argument("--json", action="store_true")
    p = plan_verbs.add_parser("show", help="show a plan and its tasks")
    p.add_argument("plan")
    p.add_argument("--json", action="store_true")

    task = verbs.add_parser("task", help="add, list, show and move tasks")
    task_verbs = task.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = task_verbs.add_parser("add", help="add a task to a plan")
    p.add_argument("plan")
    p.add_argument("task", help="task id")
    p.add_argument("--title", required=True)
    p.add_argument("--description", default="")
    p.add_argument(
        "--requires",
        action="append",
        default=[],
        metavar="KIND",
        help="evidence kind the task needs (test, lint, build, ...); repeatable",
    )
    p.add_argument(
        "--verify",
        action="append",
        default=[],
        metavar="COMMAND",
        help="a command that verifies the task; repeatable",
    )
    p.add_argument("--depends-on", action="append", default=[], metavar="TASK")
    p.add_argument(
        "--files",
        action="append",
        default=[],
        metavar="GLOB",
        help="files the task leases; repeatable",
    )
    p.add_argument("--acceptance", action="append", default=[], metavar="TEXT")
    p.add_argument("--runner-kind", metavar="VENDOR:MODEL")
    p.add_argument("--profile", choices=("standard", "read_only", "sandbox"), default="standard")
    p.add_argument("--max-budget-usd", type=float)
    p = task_verbs.add_parser("list", help="list tasks")
    p.add_argument("plan", nargs="?")
    p.add_argument("--json", action="store_true")
    p = task_verbs.add_parser("show", help="show a task, its history and evidence")
    p.add_argument("task", help="PLAN/TASK, or TASK when the id is unique")
    p.add_argument("--json", action="store_true")
    p = task_verbs.add_parser("transition", help="move a task to another state")
    p.add_argument("task")
    p.add_argument("state")
    p.add_argument("--note")

    ev = verbs.add_parser("evidence", help="measure and record evidence")
    ev_verbs = ev.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = ev_verbs.add_parser(
        "run",
        help="run a command and record what it measured",
        usage="convergio-gate evidence run TASK --kind KIND [options] -- COMMAND [ARGS...]",
    )
    p.add_argument("task")
    p.add_argument("--kind", required=True)
    p.add_argument("--shell", action="store_true", help="run the command through /bin/sh")
    p.add_argument("--timeout", type=float, metavar="SECONDS")
    p.add_argument("--parser", help="how to read the output (default: from the command)")
    p.add_argument("--junit", metavar="FILE", help="read counts from this JUnit XML file")
    p.add_argument("--quiet", "-q", action="store_true", help="do not echo the output")
    p.set_defaults(argv=None)
    p = ev_verbs.add_parser("add", help="record evidence by hand (marked manual)")
    p.add_argument("task")
    p.add_argument("--kind", required=True)
    p.add_argument("--exit-code", type=int, required=True)
    for key in ("passed", "failed", "errors", "warnings", "skipped"):
        p.add_argument(f"--{key}", type=int, default=0)
    p.add_argument("--output-file", metavar="FILE")
    p.add_argument("--note")
    p = ev_verbs.add_parser("list", help="list a task's evidence")
    p.add_argument("task")
    p.add_argument("--json", action="store_true")

    p = verbs.add_parser("validate", help="the gate: accept submitted tasks, or refuse them")
    p.add_argument("tasks", nargs="*", metavar="TASK")
    p.add_argument("--json", action="store_true")

    p = verbs.add_parser("status", help="tasks, their effective status and evidence")
    p.add_argument("plan", nargs="?")
    p.add_argument("--json", action="store_true")

    p = verbs.add_parser("verify", help="verify the audit chain")
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the head hash published elsewhere; catches a truncated chain",
    )
    p.add_argument(
        "--ref",
        action="append",
        metavar="REF",
        help="verify only this notes ref (default: ours and remote copies)",
    )
    p.add_argument("--json", action="store_true")

    audit = verbs.add_parser("audit", help="read and share the audit chain")
    audit_verbs = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = audit_verbs.add_parser("log", help="list entries")
    p.add_argument("-n", "--limit", type=int, metavar="N", help="only the last N")
    p.add_argument("--kind")
    p.add_argument("--json", action="store_true")
    p = audit_verbs.add_parser("push", help="fetch, merge and push the chain to a remote")
    p.add_argument("remote", nargs="?", default="origin")
    p = audit_verbs.add_parser("sync", help="fetch a remote's chain and merge it into ours")
    p.add_argument("remote", nargs="?", default="origin")

    p = verbs.add_parser("check", help="run the gates: debt, stubs, secrets, dead code, claims")
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="files to check (what pre-commit passes)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true", help="what `git commit` would record")
    mode.add_argument("--all-files", action="store_true", help="every tracked file")
    mode.add_argument("--diff", metavar="BASE..HEAD", help="only the lines a range adds")
    mode.add_argument(
        "--history",
        nargs="?",
        const="HEAD",
        metavar="REV",
        help="what every commit added (default: the history of HEAD)",
    )
    p.add_argument("--gate", action="append", metavar="GATE", help="run only this gate; repeatable")
    p.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE")
    p.add_argument(
        "--no-cache", action="store_true", help="scan every file again, using and keeping no cache"
    )
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not record the decision in the audit chain (a dry run)",
    )
    p.add_argument("--jobs", type=int, metavar="N", help="processes to scan with (default: cores)")

    p = verbs.add_parser("ci", help="the GitHub Actions check: pull requests and merges")
    p.add_argument("--comment", choices=("on", "off"), default="on")
    p.add_argument("--sarif-file", metavar="FILE", default="")
    p.add_argument("--fail-on", choices=("refusal", "never"), default="refusal")
    p.add_argument(
        "--replay",
        choices=("on", "off"),
        default="off",
        help="re-run the evidence commands of claimed tasks on the head",
    )
    p.add_argument("--no-push", action="store_true", help="do not push the audit chain")
    p.add_argument("--remote", default="origin")

    p = verbs.add_parser("baseline", help="accept today's findings; refuse only new ones")
    p.add_argument("--gate", action="append", metavar="GATE")

    p = verbs.add_parser("dispatch", help="run a plan's tasks through vendor coding CLIs")
    p.add_argument("plan")
    p.add_argument("--task", action="append", metavar="TASK", help="only these tasks")
    p.add_argument(
        "--parallel", type=int, default=1, metavar="N", help="tasks to run at once (default 1)"
    )
    p.add_argument("--json", action="store_true", help="JSON events, one per line")
    p.add_argument(
        "--open-pull-requests",
        action="store_true",
        help="push each converged task's branch and open a pull request",
    )
    p.add_argument("--remote", default="origin")

    p = verbs.add_parser(
        "server", help="the resident process that makes `check` start warm (see docs)"
    )
    p.add_argument("action", choices=("status", "start", "stop"))
    p.add_argument("--json", action="store_true")

    p = verbs.add_parser("demo", help="a two-minute tour in a throwaway repository")
    p.add_argument("--keep", action="store_true", help="keep the demo repository")
    return parser


def main(argv: Sequence[str] | None = None, *, local: bool = False) -> int:
    """Run the command line ``argv``; its exit code.

    A ``check`` goes to the resident server when there is one (:mod:`convergio_gate.server`);
    when there is none, it runs here and a server is started for the next one. ``local``:
    run here, and start no server (the server's own runs, the demo's).
    """
    words = list(sys.argv[1:] if argv is None else argv)
    resident = not local and server.wants(words) and server.enabled()
    if resident:
        try:
            return server.forward(words)
        except server.Unavailable:
            pass
    try:
        return _main(words)
    finally:
        if resident:
            server.spawn()


def _main(words: list[str]) -> int:
    import importlib

    parser = command_parser()
    command: list[str] | None = None
    if "--" in words:  # everything after the first `--` is the evidence command, verbatim
        cut = words.index("--")
        words, command = words[:cut], words[cut + 1 :]
    args = parser.parse_args(words)
    if command is not None:
        if not hasattr(args, "argv"):
            parser.error("`--` is only for `evidence run TASK --kind KIND -- COMMAND`")
        args.argv = command
    elif hasattr(args, "argv") and args.argv is None:
        parser.error("evidence run needs the command after `--`, e.g. -- pytest -q")
    try:
        if args.chdir:
            os.chdir(args.chdir)
        module = importlib.import_module(f"convergio_gate.commands.{args.verb}")
        return int(module.run(args))
    except FatalError as exc:
        from convergio_gate.console import err

        err().print(f"[bold red]convergio-gate:[/] {_escape(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("convergio-gate: interrupted\n")
        return INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and the reader left: stop quietly, like git does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
    except Exception as exc:
        return _internal(exc)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _internal(exc: BaseException) -> int:
    if os.environ.get("CONVERGIO_DEBUG"):
        raise exc
    import platform

    import pygit2

    sys.stderr.write(
        "convergio-gate: internal error (this is a bug in convergio-gate, not your doing)\n"
        f"  {type(exc).__name__}: {exc}\n"
        f"  convergio-gate {__version__}, Python {platform.python_version()}, "
        f"pygit2 {getattr(pygit2, '__version__', '?')}, libgit2 {pygit2.LIBGIT2_VERSION}, "
        f"{platform.system()}\n"
        "  rerun with CONVERGIO_DEBUG=1 for the traceback, and report it with the command "
        "you ran\n"
    )
    return INTERNAL

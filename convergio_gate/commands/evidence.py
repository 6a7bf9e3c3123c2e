"""``convergio-gate evidence run|add|list``: evidence measured, never typed in."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from rich.markup import escape

from convergio_gate.audit.entry import utc_now
from convergio_gate.commands._show import table
from convergio_gate.console import err, out, print_json, raw
from convergio_gate.errors import OK, REFUSED, UsageError
from convergio_gate.gitio import exclusive_lock
from convergio_gate.measure import CommandFailedToRun, describe_signal, measure
from convergio_gate.model import counts as counting
from convergio_gate.model.evidence import Evidence
from convergio_gate.model.plan import KIND_DOC, KIND_PATTERN, Task
from convergio_gate.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    ws = Workspace.open()
    ws.store.require_init()
    action = {"run": run_command, "add": add, "list": list_records}[args.action]
    return action(ws, args)


def _check_kind(kind: str) -> None:
    if not KIND_PATTERN.match(kind):
        raise UsageError(f"--kind {kind!r}: expected {KIND_DOC}")


def run_command(ws: Workspace, args: argparse.Namespace) -> int:
    task = ws.store.resolve(args.task)
    _check_kind(args.kind)
    if args.parser and args.parser not in counting.PARSERS:
        raise UsageError(f"--parser {args.parser!r}: expected one of {', '.join(counting.PARSERS)}")
    config = ws.store.config()
    timeout = args.timeout if args.timeout is not None else float(config.timeout_s)
    if timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    lock = ws.git.private_dir("locks") / f"{task.plan}--{task.id}.lock"
    with exclusive_lock(lock, f"an evidence run for {task.ref}"):
        tree = ws.code_tree
        started = utc_now()
        echo = None if args.quiet else raw
        result = measure(
            args.argv,
            cwd=Path.cwd(),
            timeout_s=timeout,
            tail_lines=config.tail_lines,
            shell=args.shell,
            echo=echo,
        )
        if result.timed_out:
            raise CommandFailedToRun(
                f"`{' '.join(args.argv)}` ran out of time after {timeout:g}s; it and its "
                "children were killed and no evidence was recorded",
                fix="make it faster, or raise --timeout (or evidence.timeout_s in "
                ".convergio/config.yaml)",
            )
        if result.signal is not None:
            raise CommandFailedToRun(
                f"`{' '.join(args.argv)}` was killed by {describe_signal(result.signal)}; "
                "no evidence was recorded",
                fix="find out what killed it (out of memory? a test harness?) and run again",
            )
        parser, found = _counts(args, result.argv, result.output, result.exit_code)
        tail, hidden = _scrubbed(result.tail)
        command = []
        for word in result.argv:
            clean, found_here = _scrubbed(word)
            command.append(clean)
            hidden += found_here
        after = ws.git.code_tree_of_worktree()
        record = Evidence(
            task=task.ref,
            kind=args.kind,
            command=command,
            shell=args.shell,
            exit_code=result.exit_code,
            started=started,
            duration_s=result.duration_s,
            tree=tree,
            output_sha256=result.output_sha256,
            output_tail=tail,
            counts=found.to_dict(),
            parser=parser,
            runner="convergio-gate evidence run",
        )
        ws.store.add_evidence(task, record)
    if hidden:
        err().print(
            f"[yellow]warning:[/] the command printed {hidden} secret(s); the record keeps "
            "only a redacted preview of each. Rotate them: they are in your terminal's output."
        )
    if after != tree:
        err().print(
            "[yellow]warning:[/] the command changed files git would commit (the code tree "
            f"went from {tree[:10]} to {after[:10]}); the evidence is bound to the code it "
            "ran on, so it is already stale. Add generated files to .gitignore."
        )
    _report(task, record)
    return OK if record.clean else REFUSED


def _scrubbed(tail: str) -> tuple[str, int]:
    """The tail as the record keeps it: any secret in it redacted."""
    from convergio_gate.gates.secret import scrub

    return scrub(tail)


def _counts(
    args: argparse.Namespace, argv: list[str], output: str, exit_code: int
) -> tuple[str, counting.Counts]:
    if args.junit:
        path = Path(args.junit)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--junit {args.junit}: cannot read it ({exc.strerror})") from None
        try:
            found = counting.parse_junit(text)
        except ValueError as exc:
            raise UsageError(f"--junit {args.junit}: {exc}") from None
        if exit_code != 0 and found.clean:
            found = counting.Counts(**{**found.to_dict(), "failed": max(found.failed, 1)})
        return "junit", found
    return counting.count(argv, output, exit_code, args.parser)


def _report(task: Task, record: Evidence) -> None:
    numbers = ", ".join(f"{v} {k}" for k, v in record.counts.items() if v) or "no counts"
    verdict = "[green]clean[/]" if record.clean else f"[red]not clean: {escape(record.dirt())}[/]"
    out().print(
        f"\nrecorded [bold]{record.kind}[/] evidence for {escape(task.ref)}: {verdict} "
        f"(exit {record.exit_code}, {numbers}, parser {record.parser}, "
        f"{record.duration_s:.2f}s, tree {record.tree[:10]})\n  {record.label}"
    )


def add(ws: Workspace, args: argparse.Namespace) -> int:
    task = ws.store.resolve(args.task)
    _check_kind(args.kind)
    output = b""
    if args.output_file:
        try:
            output = (
                sys.stdin.buffer.read()
                if args.output_file == "-"
                else Path(args.output_file).read_bytes()
            )
        except OSError as exc:
            raise UsageError(f"--output-file {args.output_file}: {exc.strerror}") from None
    numbers = {k: getattr(args, k) for k in ("passed", "failed", "errors", "warnings", "skipped")}
    if any(v < 0 for v in numbers.values()):
        raise UsageError("counts must not be negative")
    text = output.decode("utf-8", errors="replace")
    tail = "\n".join(text.splitlines()[-ws.store.config().tail_lines :])
    record = Evidence(
        task=task.ref,
        kind=args.kind,
        command=[],
        exit_code=args.exit_code,
        started=utc_now(),
        duration_s=0.0,
        tree=ws.code_tree,
        output_sha256=hashlib.sha256(output).hexdigest(),
        output_tail=tail,
        counts=numbers,
        parser="manual",
        runner="convergio-gate evidence add",
        manual=True,
        note=args.note,
    )
    ws.store.add_evidence(task, record)
    _report(task, record)
    if not ws.store.config().accept_manual:
        out().print(
            "  [dim]manual evidence does not satisfy `requires` "
            "(evidence.accept_manual is false)[/]"
        )
    return OK


def list_records(ws: Workspace, args: argparse.Namespace) -> int:
    task = ws.store.resolve(args.task)
    records = ws.store.evidence(task)
    tree = ws.code_tree
    if args.json:
        print_json(
            [
                r.to_data() | {"file": r.label, "fresh": r.tree == tree, "clean": r.clean}
                for r in records
            ]
        )
        return OK
    if not records:
        out().print(f"no evidence for {escape(task.ref)} yet")
        return OK
    grid = table("started", "kind", "exit", "counts", "fresh", "file")
    for record in sorted(records, key=lambda r: (r.started, r.label)):
        numbers = " ".join(f"{k}={v}" for k, v in record.counts.items() if v)
        grid.add_row(
            record.started,
            record.kind + (" (manual)" if record.manual else ""),
            str(record.exit_code),
            numbers,
            "[green]yes[/]" if record.tree == tree else "[dim]stale[/]",
            record.label,
        )
    out().print(grid)
    return OK

"""Verify the audit chain and name the first bad entry.

What can be wrong, and how each is told apart (the entry named is the first bad one):

- **edited**: an entry's content no longer matches its own hash, or its note was swapped,
  or it was re-hashed after an edit, so the next entry's ``prev`` names a hash that is
  nowhere in the chain.
- **removed**: a ``seq`` is missing from the middle of the chain.
- **reordered**: entries were re-sequenced: an entry's ``prev`` names an entry that exists
  but sits elsewhere in the chain.
- **inserted**: an entry that does not belong: it shares a ``seq`` with another but does
  not link to its predecessor, it is a dead end while its twin carries the chain on, it is
  off the path to the anchor, or it claims the same predecessor as the next entry.
- **forked**: two entries both link correctly to the same predecessor and both carry on
  (or both end): two writers appended concurrently and their notes were merged by hand.
- **truncated**: with an anchor (``--expect-head``), the anchored hash is not in the
  chain: entries after the last one present were removed (or the tail was rewritten).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from convergio_gate.audit.chain import ChainRead
from convergio_gate.audit.entry import GENESIS, Entry


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int | None
    hash: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "hash": self.hash, "message": self.message}


@dataclass
class Report:
    entries: int
    head_seq: int
    head_hash: str
    problem: Problem | None = None
    anchor: str | None = None
    refs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "anchor": self.anchor,
            "refs": self.refs,
            "problem": self.problem.to_json() if self.problem else None,
        }


def verify(read: ChainRead, expect_head: str | None = None) -> Report:
    entries = read.entries
    intact = [e for e in entries if e.intact]
    head = max(intact, key=lambda e: (e.seq, e.hash), default=None)
    report = Report(
        entries=len(entries),
        head_seq=head.seq if head else 0,
        head_hash=head.hash if head else GENESIS,
        anchor=expect_head,
        refs=dict(read.refs),
    )
    report.problem = _integrity(read) or _structure(intact, expect_head)
    if report.problem is None and expect_head:
        report.problem = _anchor(intact, expect_head)
    return report


def _integrity(read: ChainRead) -> Problem | None:
    """Entries whose bytes do not match their own hash, lowest seq first."""
    bad: list[Problem] = []
    for stored in read.stored:
        entry = stored.entry
        if entry is None:
            bad.append(
                Problem("edited", None, None, f"note {stored.note} is unreadable: {stored.problem}")
            )
        elif not entry.intact:
            bad.append(
                Problem(
                    "edited",
                    entry.seq,
                    entry.hash,
                    f"entry {entry.seq} was edited: its content no longer matches its hash "
                    f"{entry.hash[:12]}",
                )
            )
        elif stored.problem:
            bad.append(
                Problem(
                    "edited",
                    entry.seq,
                    entry.hash,
                    f"entry {entry.seq} was replaced: {stored.problem} (note {stored.note[:12]})",
                )
            )
    if not bad:
        return None
    return min(bad, key=lambda p: (p.seq is not None, p.seq or 0))


def _structure(entries: list[Entry], anchor: str | None) -> Problem | None:
    by_seq: dict[int, list[Entry]] = defaultdict(list)
    by_hash = {e.hash: e for e in entries}
    successors: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_seq[entry.seq].append(entry)
        successors[entry.prev].append(entry)
    if not entries:
        return None
    top = max(by_seq)
    on_anchor_path = _path_to(anchor, by_hash) if anchor else None
    prev_hash = GENESIS
    prev_entry: Entry | None = None
    for seq in range(1, top + 1):
        group = by_seq.get(seq, [])
        if not group:
            return Problem(
                "removed",
                seq,
                None,
                f"entry {seq} was removed: the chain jumps from entry {seq - 1} to "
                f"{min(s for s in by_seq if s > seq)}",
            )
        linked = [e for e in group if e.prev == prev_hash]
        if len(group) > 1:
            return _duplicate(seq, group, linked, successors, top, on_anchor_path)
        entry = group[0]
        if not linked:
            return _broken_link(entry, prev_entry, by_hash, entries, top, successors)
        prev_hash = entry.hash
        prev_entry = entry
    return None


def _duplicate(
    seq: int,
    group: list[Entry],
    linked: list[Entry],
    successors: dict[str, list[Entry]],
    top: int,
    on_anchor_path: set[str] | None,
) -> Problem:
    unlinked = [e for e in group if e not in linked]
    if unlinked:
        bad = min(unlinked, key=lambda e: e.hash)
        return Problem(
            "inserted",
            seq,
            bad.hash,
            f"entry {seq} ({bad.hash[:12]}) was inserted: it shares seq {seq} with another "
            "entry and does not link to the entry before it",
        )
    if on_anchor_path is not None:
        off = [e for e in linked if e.hash not in on_anchor_path]
        if off and len(off) < len(linked):
            bad = min(off, key=lambda e: e.hash)
            return Problem(
                "inserted",
                seq,
                bad.hash,
                f"entry {seq} ({bad.hash[:12]}) was inserted: it is not on the path to the "
                "anchored head",
            )
    carry = [e for e in linked if successors.get(e.hash)]
    dead = [e for e in linked if not successors.get(e.hash)]
    if len(carry) == 1 and dead and seq < top:
        bad = min(dead, key=lambda e: e.hash)
        return Problem(
            "inserted",
            seq,
            bad.hash,
            f"entry {seq} ({bad.hash[:12]}) was inserted: a dead end beside the entry that "
            "carries the chain on",
        )
    hashes = ", ".join(e.hash[:12] for e in sorted(linked, key=lambda e: e.hash))
    return Problem(
        "forked",
        seq,
        linked[0].hash,
        f"the chain forks at entry {seq}: {len(linked)} entries ({hashes}) follow entry "
        f"{seq - 1}; two writers appended at once and their notes were merged without "
        "re-sequencing (run `convergio-gate audit sync` to bring the chain together)",
    )


def _broken_link(
    entry: Entry,
    prev_entry: Entry | None,
    by_hash: dict[str, Entry],
    entries: list[Entry],
    top: int,
    successors: dict[str, list[Entry]],
) -> Problem:
    seq = entry.seq
    if prev_entry is not None and prev_entry.prev == entry.prev:
        return Problem(
            "inserted",
            prev_entry.seq,
            prev_entry.hash,
            f"entry {prev_entry.seq} ({prev_entry.hash[:12]}) was inserted: entry {seq} "
            f"still links to entry {seq - 2}",
        )
    target = by_hash.get(entry.prev)
    if target is not None or entry.prev == GENESIS or _misplaced_links(entries, by_hash):
        where = (
            "the start of the chain"
            if entry.prev == GENESIS
            else (f"entry {target.seq}" if target is not None else "an entry that moved")
        )
        return Problem(
            "reordered",
            seq,
            entry.hash,
            f"entry {seq} ({entry.hash[:12]}) is out of order: it was written after "
            f"{where}, not after entry {seq - 1}",
        )
    if seq < top and not successors.get(entry.hash):
        # Neither neighbour knows this entry's hash: it is the one that was rewritten.
        return Problem(
            "edited",
            seq,
            entry.hash,
            f"entry {seq} was rewritten: it no longer links to entry {seq - 1}, and entry "
            f"{seq + 1} does not link to it",
        )
    named = prev_entry.seq if prev_entry is not None else seq - 1
    return Problem(
        "edited",
        named,
        prev_entry.hash if prev_entry else None,
        f"entry {named} was rewritten: entry {seq} records its hash as {entry.prev[:12]}, "
        f"but entry {named} now hashes to "
        f"{prev_entry.hash[:12] if prev_entry else '(missing)'}",
    )


def _misplaced_links(entries: list[Entry], by_hash: dict[str, Entry]) -> bool:
    """Does some entry link to an entry that exists but is not its immediate predecessor?"""
    for entry in entries:
        if entry.prev == GENESIS:
            if entry.seq != 1:
                return True
            continue
        target = by_hash.get(entry.prev)
        if target is not None and target.seq != entry.seq - 1:
            return True
    return False


def _path_to(anchor: str, by_hash: dict[str, Entry]) -> set[str]:
    path: set[str] = set()
    current = by_hash.get(anchor)
    while current is not None and current.hash not in path:
        path.add(current.hash)
        current = by_hash.get(current.prev)
    return path


def _anchor(entries: list[Entry], anchor: str) -> Problem | None:
    if any(e.hash == anchor for e in entries):
        return None
    last = max(entries, key=lambda e: (e.seq, e.hash), default=None)
    ends = f"entry {last.seq} ({last.hash[:12]})" if last else "nothing (the chain is empty)"
    return Problem(
        "truncated",
        (last.seq + 1) if last else 1,
        anchor,
        f"the chain was truncated: the anchored head {anchor[:12]} is not in it; the chain "
        f"now ends at {ends}, so the entries after it were removed or rewritten",
    )

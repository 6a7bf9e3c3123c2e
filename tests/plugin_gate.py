"""A third-party gate, installed for the tests through a real entry point.

`install(path)` writes a dist-info with an entry point in group `convergio_gate.gates`
into a directory that the test puts on sys.path, exactly as pip would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from convergio_gate.gates import Context, Finding, SourceFile, normalise

PLUGIN = """
from convergio_gate.gates import Finding, normalise


class BananaGate:
    id = "banana"
    description = "refuses the word BANANA"
    scope = "file"
    version = "1"
    calls = 0

    def check(self, files, ctx):
        BananaGate.calls += 1
        out = []
        for source in files:
            for number, line in enumerate(source.lines, start=1):
                column = line.find("BANANA")
                if column >= 0:
                    out.append(Finding(gate="banana", rule="no-banana", path=source.path,
                                       line=number, column=column + 1,
                                       message="a BANANA", fix="peel it",
                                       key=normalise(line), preview=line.strip()[:40],
                                       severity=ctx.settings.get("level", "error")))
        return out


class Broken:
    def __init__(self):
        raise RuntimeError("cannot start")
"""


def install(directory: Path, *, broken: bool = False) -> None:
    (directory / "banana_gate.py").write_text(PLUGIN)
    info = directory / "banana_gate-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: banana-gate\nVersion: 1.0\n")
    target = "banana_gate:Broken" if broken else "banana_gate:BananaGate"
    (info / "entry_points.txt").write_text(f"[convergio_gate.gates]\nbanana = {target}\n")


class LocalGate:
    """The same gate, usable directly (no entry point) in engine tests."""

    id = "banana"
    description = "refuses the word BANANA"
    scope = "file"
    version = "1"

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        out = []
        for source in files:
            for number, line in enumerate(source.lines, start=1):
                column = line.find("BANANA")
                if column >= 0:
                    out.append(
                        Finding(
                            "banana",
                            "no-banana",
                            source.path,
                            number,
                            column + 1,
                            "a BANANA",
                            "peel it",
                            normalise(line),
                        )
                    )
        return out

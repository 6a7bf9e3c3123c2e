from __future__ import annotations

from pathlib import Path

import pytest

from convergio_gate.errors import InputError
from convergio_gate.model import yamlio


def load_text(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "f.yaml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return yamlio.load(path, "f.yaml")


def error_of(tmp_path: Path, text: str | bytes) -> InputError:
    with pytest.raises(InputError) as info:
        load_text(tmp_path, text)
    return info.value


def test_round_trip_keeps_comments_and_key_order(tmp_path: Path) -> None:
    text = "# top\nzeta: 1  # the last letter\nalpha:\n  - b  # bee\n  - a\n# end\n"
    doc = load_text(tmp_path, text)
    assert isinstance(doc, dict)
    doc["alpha"].append("c")
    dumped = yamlio.dump(doc)
    assert dumped.startswith("# top\nzeta: 1  # the last letter\n")
    assert "- b  # bee" in dumped and "# end" in dumped
    assert yamlio.parse(dumped, "again") == {"zeta": 1, "alpha": ["b", "a", "c"]}


def test_billion_laughs_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        prev = chr(ord("a") + n - 1)
        lines.append(
            f"{chr(ord('a') + n)}: &{chr(ord('a') + n)} [" + ",".join([f"*{prev}"] * 9) + "]"
        )
    error = error_of(tmp_path, "\n".join(lines) + "\n")
    assert "alias" in error.message and error.line == 2


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        ("a: 1\nb: [1, 2\n", "not valid YAML", 3),
        ("a: !!python/object:os.system x\n", "tag", 1),
        ("a: !custom 1\n", "tag", 1),
        ("a: 1\n---\nb: 2\n", "more than one YAML document", 2),
        ("a: 1\na: 2\n", "not valid YAML", 2),
        ("\t- tab\n", "not valid YAML", 1),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested", 1),
    ],
)
def test_bad_yaml_names_the_line(tmp_path: Path, text: str, words: str, line: int) -> None:
    error = error_of(tmp_path, text)
    assert words in error.message
    assert error.line == line
    assert str(error).startswith(f"f.yaml:{line}")


def test_binary_and_invalid_utf8_are_refused_with_a_line(tmp_path: Path) -> None:
    assert "binary" in error_of(tmp_path, b"a: 1\nb: \x00\n").message
    error = error_of(tmp_path, b"a: 1\nb: caf\xe9\n")
    assert "UTF-8" in error.message and error.line == 2


def test_huge_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    error = error_of(tmp_path, "a: " + "x" * (yamlio.MAX_BYTES + 1) + "\n")
    assert "limited to" in error.message


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "d" / "x.yaml"
    yamlio.write_atomic(target, "a: 1\n")
    yamlio.write_atomic(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.yaml"]
    assert yamlio.create_atomic(target, "a: 3\n") is False
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.yaml"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.yaml"
    yamlio.write_atomic(target, "a: 1\n")

    with pytest.raises(TypeError):
        yamlio.write_atomic(target, 12)  # type: ignore[arg-type]
    assert target.read_text() == "a: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.yaml"]

from __future__ import annotations

from pathlib import Path

import pytest

from convergio_gate.errors import InputError
from convergio_gate.model import yamlio
from convergio_gate.model.plan import Task

GOOD = """\
version: 1
id: t1
title: Do the thing
status: pending
requires: [test]
depends_on: []
"""


def task_of(text: str) -> Task:
    return Task.from_doc(yamlio.parse(text, "t1.yaml"), "p", "t1.yaml", "t1")


def error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        task_of(text)
    return info.value


def test_a_good_task_loads() -> None:
    task = task_of(GOOD)
    assert (task.ref, task.status, task.requires) == ("p/t1", "pending", ["test"])


def test_unknown_key_names_the_nearest_valid_one() -> None:
    err = error(GOOD + "dependson: [x]\n")
    assert err.key == "dependson" and err.line == 7
    assert "did you mean 'depends_on'?" in str(err)


def test_wrong_type_names_key_path_line_and_expectation() -> None:
    err = error(GOOD.replace("requires: [test]", "requires: [test, 3]"))
    assert err.key == "requires[1]" and err.line == 5
    assert "expected an evidence kind" in err.message and "got 3" in err.message


def test_a_wrong_value_says_what_to_write_there() -> None:
    err = error(GOOD.replace("requires: [test]", "requires: [test, 3]"))
    assert err.fix is not None and "set `requires[1]` to an evidence kind" in err.fix
    err = error(GOOD.replace("requires: [test]", "requires: {test: 1}"))
    assert "got a mapping" in err.message and "CommentedMap" not in str(err)
    assert err.fix is not None and err.fix.startswith("set `requires` to a list")
    with pytest.raises(InputError) as info:
        Task.from_doc(yamlio.parse("- 1\n", "t1.yaml"), "p", "t1.yaml", "t1")
    assert "got a list" in info.value.message
    assert info.value.fix is not None and info.value.fix.startswith("make the whole file")


def test_misspelt_state_is_suggested() -> None:
    err = error(GOOD.replace("status: pending", "status: doen"))
    assert err.key == "status" and "did you mean 'done'?" in str(err)


def test_missing_required_field() -> None:
    err = error(GOOD.replace("title: Do the thing\n", ""))
    assert "missing required key 'title'" in err.message and err.line == 1


def test_bad_id_and_mismatched_file_name() -> None:
    assert "expected an id" in error(GOOD.replace("id: t1", "id: ../evil")).message
    err = error(GOOD.replace("id: t1", "id: t2"))
    assert err.key == "id" and "does not match the file name" in err.message


def test_newer_version_says_upgrade() -> None:
    err = error(GOOD.replace("version: 1", "version: 9"))
    assert "upgrade convergio-gate" in str(err)


def test_history_items_are_checked() -> None:
    err = error(
        GOOD + "history:\n  - {at: '2026-11-21T00:00:00Z', from: pending, to: nowhere, by: me}\n"
    )
    assert err.key == "history[0].to" and err.line == 8


def test_empty_file() -> None:
    assert "empty" in error("").message


def test_plan_dir_with_a_non_mapping(tmp_path: Path) -> None:
    assert "expected a task" in error("- a\n- b\n").message

"""Hypothesis fuzzing of every YAML loader: whatever the bytes, the answer is a value or
an InputError with a message, never a traceback."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convergio_gate.errors import InputError
from convergio_gate.model import yamlio
from convergio_gate.model.config import load_config
from convergio_gate.model.evidence import EVIDENCE, load_evidence
from convergio_gate.model.plan import PLAN, TASK, Plan, Task

KEYS = sorted({f.name for s in (TASK, PLAN, EVIDENCE) for f in s.fields} | {"evidence", "audit"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["pending", "done", "test", "2026-11-21T00:00:00Z", "a" * 40, "t1", "1"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=12)


def _dump(value: Any) -> str:
    return yamlio.dump(value)


def _load_task(path: Path) -> object:
    return Task.from_doc(yamlio.load(path, "t.yaml"), "p", "t.yaml", "t1")


def _load_plan(path: Path) -> object:
    return Plan.from_doc(yamlio.load(path, "plan.yaml"), "plan.yaml", "p1")


def _load_evidence(path: Path) -> object:
    return load_evidence(path, "e.yaml")


def _load_config(path: Path) -> object:
    root = path.parent
    (root / ".convergio").mkdir(exist_ok=True)
    (root / ".convergio" / "config.yaml").write_bytes(path.read_bytes())
    return load_config(root)


LOADERS: dict[str, Callable[[Path], object]] = {
    "task": _load_task,
    "plan": _load_plan,
    "evidence": _load_evidence,
    "config": _load_config,
}


def _check(loader: Callable[[Path], object], data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.yaml"
        path.write_bytes(data)
        try:
            loader(path)
        except InputError as exc:
            assert str(exc).strip(), "an InputError must say something"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(LOADERS))
@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes(name: str, data: bytes) -> None:
    _check(LOADERS[name], data)


@pytest.mark.parametrize("name", sorted(LOADERS))
@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?\n\t ab1")), max_size=200))
def test_yaml_punctuation_soup(name: str, text: str) -> None:
    _check(LOADERS[name], text.encode())


@pytest.mark.parametrize("name", sorted(LOADERS))
@FUZZ
@given(doc=documents)
def test_plausible_documents(name: str, doc: dict[str, Any]) -> None:
    try:
        text = _dump(doc)
    except Exception:
        return
    _check(LOADERS[name], text.encode())

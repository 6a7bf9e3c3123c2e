"""Fixtures: real git repositories in temp dirs, a pinned identity, a fake $HOME that
must stay empty, and a way to run the CLI in-process or as a real subprocess."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from helpers import CLI, make_repo
from plugin_gate import install

IDENTITY = {
    "GIT_AUTHOR_NAME": "Tess Tester",
    "GIT_AUTHOR_EMAIL": "tess@example.com",
    "GIT_COMMITTER_NAME": "Tess Tester",
    "GIT_COMMITTER_EMAIL": "tess@example.com",
}


@pytest.fixture(autouse=True)
def isolated(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh, empty $HOME per test; nothing may be written to it."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    # The rules' JSON copies (gates/rules.py) are a user cache: one for the session.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for key in list(os.environ):
        if key.startswith("CONVERGIO_") or key.startswith("GITHUB_"):
            monkeypatch.delenv(key)
    # No resident server (convergio_gate/server.py) outlives a test; its own tests turn
    # it on, in a directory of their own, and stop it.
    monkeypatch.setenv("CONVERGIO_GATE_SERVER", "0")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    levels = pygit2.enums.ConfigLevel
    saved = {
        lvl: pygit2.settings.search_path[lvl] for lvl in (levels.GLOBAL, levels.SYSTEM, levels.XDG)
    }
    for lvl in saved:
        pygit2.settings.search_path[lvl] = str(home / ".nowhere")
    yield home
    for lvl, value in saved.items():
        pygit2.settings.search_path[lvl] = value
    written = sorted(p.relative_to(home).as_posix() for p in home.rglob("*"))
    assert written == [], f"a test wrote to $HOME: {written}"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def cg(repo: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    return CLI(repo, capsys)


@pytest.fixture
def initialized(repo: Path, cg: CLI) -> Path:
    result = cg("init")
    assert result.code == 0, result.err
    return repo


@pytest.fixture
def banana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The third-party gate of plugin_gate.py, installed the way pip installs one."""
    site = tmp_path / "site"
    site.mkdir()
    install(site)
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("banana_gate", None)

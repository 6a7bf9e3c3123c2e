"""The gate registry: plugins found through entry points, and the plugin list kept on
disk so a run need not read every installed distribution's metadata."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_gate import install

from convergio_gate.gates import registry

OLD = time.time_ns() - 3600 * 10**9  # an hour ago: old enough to trust


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty site directory on sys.path, with an mtime old enough to be trusted.

    The other sys.path directories (the checkout's, edited as tests run) are trusted
    however fresh: only ``test_a_fresh_site_directory_is_not_trusted`` checks freshness.
    """
    where = tmp_path / "site"
    where.mkdir()
    os.utime(where, ns=(OLD, OLD))
    monkeypatch.syspath_prepend(str(where))
    monkeypatch.setattr(registry, "RACY_NS", -(10**18))
    registry._SCANNED.clear()
    yield where
    registry._SCANNED.clear()
    sys.modules.pop("banana_gate", None)


def age(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        os.utime(item, ns=(OLD, OLD))


def test_the_plugin_list_is_kept_and_reused(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert "banana" not in registry.available(cache)
    assert (cache / "plugins.json").is_file()
    registry._SCANNED.clear()  # as a new process would

    def no_scan(*args: object, **kwargs: object) -> object:
        raise AssertionError("the entry points were scanned again")

    import importlib.metadata

    real = importlib.metadata.entry_points
    importlib.metadata.entry_points = no_scan  # type: ignore[assignment]
    try:
        assert "banana" not in registry.available(cache)
    finally:
        importlib.metadata.entry_points = real


def test_a_plugin_installed_after_the_list_was_kept_is_seen(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert "banana" not in registry.available(cache)
    install(site)  # the site directory's mtime moves to now: the key changes
    registry._SCANNED.clear()
    assert registry.available(cache)["banana"] == "banana_gate:BananaGate"
    assert registry.load("banana", cache).id == "banana"


def test_an_entry_point_edited_in_place_is_seen(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    install(site)
    age(site)
    registry._SCANNED.clear()
    assert registry.available(cache)["banana"] == "banana_gate:BananaGate"
    entry = site / "banana_gate-1.0.dist-info" / "entry_points.txt"
    entry.write_text("[convergio_gate.gates]\nbanana = banana_gate:Broken\n")
    os.utime(site, ns=(OLD, OLD))  # only the file itself changed
    registry._SCANNED.clear()
    assert registry.available(cache)["banana"] == "banana_gate:Broken"


def test_a_fresh_site_directory_is_not_trusted(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install in the same timestamp tick as the scan could go unseen: not kept."""
    monkeypatch.setattr(registry, "RACY_NS", 2_000_000_000)
    cache = tmp_path / "cache"
    os.utime(site)  # modified just now
    assert registry.site_key()[1] is False
    registry.available(cache)
    assert not (cache / "plugins.json").exists()
    assert registry._SCANNED == {}


def test_a_damaged_or_foreign_list_is_ignored(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    install(site)
    age(site)
    key = registry.site_key()[0]
    wrong = json.dumps({"version": 1, "entries": {key: [["banana"]]}})
    for text in ("not json", wrong, "[]"):
        (cache / "plugins.json").write_text(text)
        registry._SCANNED.clear()
        assert registry.available(cache)["banana"] == "banana_gate:BananaGate"


def test_keys_of_several_interpreters_are_kept(site: Path, tmp_path: Path) -> None:
    path = tmp_path / "plugins.json"
    for n in range(registry.KEPT_KEYS + 3):
        registry._write_cache(path, f"key{n}", [("g", f"m{n}:G")])
    last = registry.KEPT_KEYS + 2
    assert registry._read_cache(path, f"key{last}") == [("g", f"m{last}:G")]
    assert registry._read_cache(path, "key0") is None
    assert len(registry._read_entries(path)) == registry.KEPT_KEYS

"""``.convergio/config.yaml`` through its cache: the checked result is reused only for the
same bytes (and the same checking code), and a broken file is reported every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from convergio_gate.errors import InputError
from convergio_gate.model import config as config_module
from convergio_gate.model.config import DEFAULT_CONFIG, Config, load_config

CUSTOM = """\
version: 1
gates:
  wire: {enabled: false}
  debt: {severity: warning, exclude: ["vendor/**"]}
paths:
  exclude: ["gen/**"]
audit:
  actor: ci-bot
"""


def write(repo: Path, text: str) -> None:
    (repo / ".convergio").mkdir(exist_ok=True)
    (repo / ".convergio" / "config.yaml").write_text(text)


def test_the_cached_config_equals_the_parsed_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for text in (DEFAULT_CONFIG, CUSTOM):
        write(tmp_path, text)
        parsed = load_config(tmp_path)
        assert load_config(tmp_path, cache) == parsed  # parsed, then kept
        assert len(list(cache.glob("config-*.json"))) == 1
        assert load_config(tmp_path, cache) == parsed  # from the cache
    assert load_config(tmp_path, cache) == Config(
        actor="ci-bot",
        gates={
            "wire": {"enabled": False},
            "debt": {"severity": "warning", "exclude": ["vendor/**"]},
        },
        exclude=("gen/**",),
    )


def test_a_hit_needs_neither_yaml_nor_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    write(tmp_path, CUSTOM)
    expected = load_config(tmp_path, cache)
    from convergio_gate.model import yamlio

    def boom(*args: object) -> object:
        raise AssertionError("parsed or checked again")

    monkeypatch.setattr(yamlio, "load", boom)
    monkeypatch.setattr(config_module, "schema", boom)
    assert load_config(tmp_path, cache) == expected


def test_a_changed_file_is_parsed_and_checked_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write(tmp_path, CUSTOM)
    load_config(tmp_path, cache)
    write(tmp_path, CUSTOM.replace("ci-bot", "release-bot"))
    assert load_config(tmp_path, cache).actor == "release-bot"
    write(tmp_path, CUSTOM.replace("enabled: false", "enabled: nope"))
    with pytest.raises(InputError, match="enabled"):
        load_config(tmp_path, cache)
    with pytest.raises(InputError):  # and again: errors are never cached
        load_config(tmp_path, cache)


def test_a_damaged_cache_entry_is_parsed_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write(tmp_path, CUSTOM)
    expected = load_config(tmp_path, cache)
    for entry in cache.glob("config-*.json"):
        entry.write_text("{broken")
    assert load_config(tmp_path, cache) == expected


def test_the_schema_is_still_importable_by_name() -> None:
    assert config_module.CONFIG is config_module.schema()["CONFIG"]
    with pytest.raises(AttributeError):
        _ = config_module.NOT_A_THING

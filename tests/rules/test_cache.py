"""The compiled-rule cache: same rules as a fresh compile, rebuilt when stale or damaged, optional."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cabhunt.rules import cache
from cabhunt.rules.compiler import rule_conditions
from cabhunt.rules.loader import PLAYBOOK_SLUGS, load_rules


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("CABHUNT_CACHE_DIR", str(where))
    monkeypatch.setattr(cache, "_memo", {})
    return where


def _normal(nodes: object) -> object:
    """Tuples and lists alike (the JSON file has lists)."""
    return json.loads(json.dumps(nodes))


def test_compiled_rules_equal_a_fresh_compile(cache_dir: Path) -> None:
    rules = cache.compiled_rules()
    loaded = {r.slug: r for r in load_rules()}
    assert list(rules)[: len(PLAYBOOK_SLUGS)] == list(PLAYBOOK_SLUGS)
    assert set(rules) == set(loaded)
    for slug, rule in rules.items():
        fresh = loaded[slug]
        assert (rule.rule_id, rule.name, rule.uuid) == (fresh.rule_id, fresh.name, fresh.uuid)
        assert _normal(rule.conditions) == _normal(rule_conditions(fresh))


def test_second_run_reads_the_file_instead_of_compiling(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = cache.compiled_rules()
    [written] = list(cache_dir.glob("rules-*.json"))
    monkeypatch.setattr(cache, "_memo", {})

    def no_compile() -> None:
        raise AssertionError("compiled although the cache file is valid")

    monkeypatch.setattr(cache, "_compile_all", no_compile)
    again = cache.compiled_rules()
    assert {s: _normal(r.conditions) for s, r in again.items()} == {s: _normal(r.conditions) for s, r in first.items()}
    assert written.exists()


@pytest.mark.parametrize("damage", ["", "{not json", '{"key": "x", "rules": []}', '{"rules": [{"slug": 1}]}'])
def test_damaged_or_foreign_file_is_rebuilt(cache_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    good = cache.compiled_rules()
    [path] = list(cache_dir.glob("rules-*.json"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    if damage.startswith('{"rules"'):
        damage = json.dumps({"key": doc["key"], "rules": [{"slug": 1}]})
    path.write_text(damage, encoding="utf-8")
    monkeypatch.setattr(cache, "_memo", {})
    rebuilt = cache.compiled_rules()
    assert {s: _normal(r.conditions) for s, r in rebuilt.items()} == {s: _normal(r.conditions) for s, r in good.items()}
    assert json.loads(path.read_text(encoding="utf-8"))["key"] == doc["key"]  # rewritten whole


def test_bad_node_in_a_valid_looking_file_is_rejected(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.compiled_rules()
    [path] = list(cache_dir.glob("rules-*.json"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["rules"][0]["conditions"] = [["drop_table", "events"]]
    path.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setattr(cache, "_memo", {})
    rules = cache.compiled_rules()
    assert rules[PLAYBOOK_SLUGS[0]].conditions[0][0] in ("and", "or")


def test_unwritable_cache_directory_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("CABHUNT_CACHE_DIR", str(blocker / "sub"))
    monkeypatch.setattr(cache, "_memo", {})
    assert set(cache.compiled_rules()) >= set(PLAYBOOK_SLUGS)


def test_key_follows_rule_content(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text("title: a\n", encoding="utf-8")
    before = cache.cache_key([rule])
    assert cache.cache_key([rule]) == before
    rule.write_text("title: b\n", encoding="utf-8")
    assert cache.cache_key([rule]) != before


def test_old_files_of_other_keys_are_removed_recent_ones_kept(cache_dir: Path) -> None:
    import os
    import time

    cache_dir.mkdir(parents=True)
    old = cache_dir / "rules-0000.json"
    recent = cache_dir / "rules-1111.json"
    for p in (old, recent):
        p.write_text("{}", encoding="utf-8")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    cache.compiled_rules()
    names = sorted(p.name for p in cache_dir.glob("rules-*.json"))
    assert names == sorted([recent.name, f"rules-{cache.cache_key()[:32]}.json"])

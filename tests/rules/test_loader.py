"""The shipped rules: the four playbook rules with their ids, names, slugs and metadata."""

from __future__ import annotations

import uuid

from cabhunt.rules.loader import PLAYBOOK_SLUGS, load_rules

EXPECTED = {
    "makecab_download_cab": ("CNC-E-2726320-168", "Makecab Download and CAB Creation", "process_creation"),
    "makecab_network": ("CNC-E-2726320-168", "Makecab Network Connection", "network_connection"),
    "diantz_network": ("CNC-E-2726320-142", "Diantz Network Connection", "network_connection"),
    "diantz_download_cab": ("CNC-E-2726320-143", "Diantz Download and CAB Creation", "process_creation"),
}


def test_playbook_rules_have_their_ids_names_and_logsources() -> None:
    rules = {r.slug: r for r in load_rules()}
    for slug, (rid, name, category) in EXPECTED.items():
        r = rules[slug]
        assert (r.rule_id, r.name, r.category) == (rid, name, category)
        assert r.playbook
        assert "T1105" in r.techniques
        assert r.falsepositives and all(fp.strip() for fp in r.falsepositives)
        assert r.level in ("medium", "high")


def test_playbook_rules_come_first_in_playbook_order() -> None:
    assert tuple(r.slug for r in load_rules()[:4]) == PLAYBOOK_SLUGS


def test_uuids_are_fresh_and_unique() -> None:
    rules = load_rules()
    ids = [r.uuid for r in rules]
    assert len(set(ids)) == len(ids)
    for r in rules:
        assert str(uuid.UUID(r.uuid)) == r.uuid


def test_both_makecab_rules_share_the_playbook_id_but_not_slug_or_uuid() -> None:
    rules = {r.slug: r for r in load_rules()}
    a, b = rules["makecab_download_cab"], rules["makecab_network"]
    assert a.rule_id == b.rule_id
    assert a.uuid != b.uuid


def test_ads_technique_only_where_an_ads_is_involved() -> None:
    rules = {r.slug: r for r in load_rules()}
    assert "T1564.004" in rules["makecab_download_cab"].techniques
    assert "T1564.004" not in rules["makecab_network"].techniques


def test_supporting_rules_are_shipped() -> None:
    slugs = {r.slug for r in load_rules()}
    assert {
        "cab_maker_renamed",
        "cab_maker_unexpected_path",
        "cab_created_user_writable",
        "cab_expansion",
        "webdav_davsetcookie",
    } <= slugs


def test_filter_by_slug() -> None:
    assert [r.slug for r in load_rules(["diantz_network"])] == ["diantz_network"]


def test_summary_is_json_ready() -> None:
    s = load_rules(["makecab_network"])[0].summary()
    assert s["id"] == "CNC-E-2726320-168" and s["slug"] == "makecab_network"
    assert s["file"].startswith("sigma/")

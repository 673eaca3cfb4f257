from __future__ import annotations

import json

import stix2

from cabhunt.render.stix import render_stix
from tests.investigate.investigated import investigated


def test_bundle_parses_and_links_indicators_to_t1105() -> None:
    alert, _ = investigated("smb_raw_ip")
    text = render_stix(alert)
    bundle = stix2.parse(text, allow_custom=False)
    objs = {o.type: [] for o in bundle.objects}
    for o in bundle.objects:
        objs[o.type].append(o)
    ap = objs["attack-pattern"][0]
    assert ap.external_references[0].external_id == "T1105"
    patterns = [i.pattern for i in objs["indicator"]]
    assert "[ipv4-addr:value = '198.51.100.7']" in patterns
    assert any("SHA-256" in p and "ab" * 32 in p for p in patterns)
    assert all(r.relationship_type == "indicates" and r.target_ref == ap.id for r in objs["relationship"])
    assert len(objs["relationship"]) == len(objs["indicator"])
    sighting = objs["sighting"][0]
    assert sighting.sighting_of_ref in {i.id for i in objs["indicator"]}
    assert render_stix(alert) == text  # deterministic ids


def test_internal_only_alert_has_no_host_indicators() -> None:
    alert, _ = investigated("internal_network")
    doc = json.loads(render_stix(alert))
    patterns = [o["pattern"] for o in doc["objects"] if o["type"] == "indicator"]
    assert patterns and all("file:hashes" in p for p in patterns)

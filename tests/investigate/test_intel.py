"""Local intel files: CSV, STIX 2.1 bundle, MISP JSON; used for reputation and domain age."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabhunt.errors import Problems
from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.investigate.intel import IntelDB, infer_type
from tests.investigate import scenarios


def load(tmp_path: Path, name: str, text: str) -> tuple[IntelDB, Problems]:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    problems = Problems()
    return IntelDB.load(p, problems), problems


def test_csv_with_header(tmp_path: Path) -> None:
    db, problems = load(tmp_path, "iocs.csv", "indicator,type,reputation,first_seen\n"
                        "evil-cdn.net,domain,malicious,2026-02-28\n203.0.113.9,,suspicious,\n,domain,bad,\n")
    hits = db.lookup("files.evil-cdn.net")  # parent domain matches
    assert hits and hits[0].reputation == "malicious" and hits[0].first_seen is not None
    assert db.lookup("203.0.113.9")[0].type == "ip"
    assert problems.count == 1  # the row without a value


def test_stix_bundle(tmp_path: Path) -> None:
    import stix2

    ind = stix2.Indicator(name="stager", pattern="[domain-name:value = 'stage.example.org']", pattern_type="stix",
                          indicator_types=["malicious-activity"])
    h = stix2.Indicator(pattern="[file:hashes.'SHA-256' = '" + "ab" * 32 + "']", pattern_type="stix")
    db, _ = load(tmp_path, "b.json", stix2.Bundle(ind, h).serialize())
    assert db.lookup("stage.example.org")[0].reputation == "malicious"
    assert db.lookup("AB" * 32)[0].type == "sha256"


def test_misp_event(tmp_path: Path) -> None:
    doc = {"Event": {"id": "42", "info": "cab stager", "date": "2026-02-27",
                     "Attribute": [{"type": "ip-dst", "value": "198.51.100.7", "to_ids": True}],
                     "Object": [{"Attribute": [{"type": "hostname", "value": "drop.example.net", "to_ids": False}]}]}}
    db, _ = load(tmp_path, "m.json", json.dumps(doc))
    assert db.lookup("198.51.100.7")[0].reputation == "malicious"
    assert db.lookup("drop.example.net")[0].reputation == "suspicious"


@pytest.mark.parametrize("text", ["{not json", "[]", "just,words\n1,2\n"])
def test_bad_files_are_reported(tmp_path: Path, text: str) -> None:
    db, problems = load(tmp_path, "x.txt", text)
    assert problems.count >= 1 and not db.hits


@given(st.text(max_size=200))
def test_csv_parser_never_crashes(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.csv"
        p.write_text("indicator,first_seen\n" + text, encoding="utf-8")
        IntelDB.load(p, Problems())


def test_infer_type() -> None:
    assert [infer_type(x) for x in ("1.2.3.4", "::1", "a.b", "http://x/y", "f" * 64)] == \
        ["ip", "ip", "domain", "url", "sha256"]


def test_intel_first_seen_makes_a_domain_new_even_without_store_history(tmp_path: Path) -> None:
    case = scenarios.webdav_chain()
    p = tmp_path / "age.csv"
    p.write_text("domain,first_seen\nevil-cdn.net,2026-03-01\n", encoding="utf-8")
    # a store that only starts now cannot tell a domain's age by itself
    case.store.duck.execute("DELETE FROM events WHERE ts < TIMESTAMP '2026-03-01'")
    a = investigate([case.alert], InvestigationContext(store=case.store, intel=p))[0]
    f = next(f for f in a.findings if f.id == "dns.new_domain")
    assert any("intel first seen 2026-03-01" in e for e in f.evidence)
    dest = next(d for d in a.extra["destinations"] if d["host"] == "files.evil-cdn.net")
    assert dest["intel"] and "evil-cdn.net" in dest["intel"][0]


def test_malicious_intel_hit_scores_through_a_named_finding(tmp_path: Path) -> None:
    from cabhunt.model import FINDING_IDS

    case = scenarios.webdav_chain()
    p = tmp_path / "bad.csv"
    p.write_text("indicator,reputation,description\nevil-cdn.net,malicious,known stager\n", encoding="utf-8")
    a = investigate([case.alert], InvestigationContext(store=case.store, intel=p))[0]
    fid = "intel.match" if "intel.match" in FINDING_IDS else "source.external"
    f = next(f for f in a.findings if f.id == fid and any("known stager" in e for e in f.evidence))
    assert f.weight > 0

"""The generator's EventData field sets equal those of the real EVTX fixtures, per channel and event id."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cabhunt.simulate.sysmon import SECURITY_FIELDS, SYSMON_FIELDS
from tests.conftest import shared_or_skip
from tests.simulate.logread import records

SYSMON = "Microsoft-Windows-Sysmon/Operational"
# Contents (the Zone.Identifier text) is documented for EID 15 in later schema versions; the
# fixture's older EID 15 predates it. Every other name must match exactly.
DOCUMENTED_EXTRA = {(SYSMON, 15): {"Contents"}}


@pytest.fixture(scope="module")
def fixture_fields() -> dict[tuple[str, int], list[set[str]]]:
    from evtx import PyEvtxParser

    folder = shared_or_skip("fixtures/evtx")
    found: dict[tuple[str, int], list[set[str]]] = defaultdict(list)
    for path in sorted(folder.glob("*.evtx")):
        for rec in PyEvtxParser(str(path)).records_json():
            ev = json.loads(rec["data"])["Event"]
            eid = ev["System"]["EventID"]
            eid = int(eid["#text"]) if isinstance(eid, dict) else int(eid)
            data = ev.get("EventData") or {}
            names = set(data) if isinstance(data, dict) else set()
            key = (ev["System"]["Channel"], eid)
            if names not in found[key]:
                found[key].append(names)
    return found


def _generated(run: Path, manifest: dict[str, Any]) -> dict[tuple[str, int], set[frozenset[str]]]:
    """Field-name sets actually written, read back from the evtx JSON and XML outputs."""
    out: dict[tuple[str, int], set[frozenset[str]]] = defaultdict(set)
    for f in manifest["files"]:
        if f["format"] in ("evtxjson", "xml", "winlogbeat"):
            for channel, eid, data in records(run / f["path"], f["format"]):
                out[(channel, eid)].add(frozenset(data))
    return out


def _expected(key: tuple[str, int], variants: list[set[str]]) -> list[set[str]]:
    return [v | DOCUMENTED_EXTRA.get(key, set()) for v in variants]


def test_declared_sets_match_fixtures(fixture_fields: dict[tuple[str, int], list[set[str]]]) -> None:
    declared = {(SYSMON, k): set(v) for k, v in SYSMON_FIELDS.items()}
    declared |= {("Security", k): set(v) for k, v in SECURITY_FIELDS.items()}
    compared = 0
    for key, names in declared.items():
        if key not in fixture_fields:
            continue
        compared += 1
        assert names in _expected(key, fixture_fields[key]), (key, names ^ max(fixture_fields[key], key=len))
    assert compared >= 9  # Sysmon 1, 3, 7, 11, 13, 15, 22 and Security 4624, 4688, 5140, 5145 are in the fixtures


def test_written_records_carry_exactly_the_fixture_names(
        run: Path, manifest: dict[str, Any], fixture_fields: dict[tuple[str, int], list[set[str]]]) -> None:
    generated = _generated(run, manifest)
    for key in [(SYSMON, e) for e in (1, 3, 7, 11, 13, 15, 22)] + [("Security", e) for e in (4624, 5140, 5145)]:
        assert key in generated, f"no {key} records written"
        for names in generated[key]:
            if key in fixture_fields:
                assert set(names) in _expected(key, fixture_fields[key]), key
            else:
                declared = SYSMON_FIELDS if key[0] == SYSMON else SECURITY_FIELDS
                assert set(names) == set(declared[key[1]]), key


def test_4688_written_on_build_server(run: Path, manifest: dict[str, Any],
                                      fixture_fields: dict[tuple[str, int], list[set[str]]]) -> None:
    names = _generated(run, manifest).get(("Security", 4688), set())
    assert names, "no 4688 written"
    for n in names:
        assert set(n) in fixture_fields[("Security", 4688)]


def test_evtx_json_system_shape_matches_evtx_package(run: Path, manifest: dict[str, Any]) -> None:
    from evtx import PyEvtxParser

    real_keys: dict[str, tuple[set[str], set[str], dict[str, str]]] = {}
    for fixture in sorted(shared_or_skip("fixtures/evtx").glob("*.evtx")):
        for rec in PyEvtxParser(str(fixture)).records_json():
            ev = json.loads(rec["data"])["Event"]
            real_keys.setdefault(ev["System"]["Channel"], (set(ev), set(ev["System"]), ev["#attributes"]))
    files = [f for f in manifest["files"] if f["format"] == "evtxjson"]
    assert files
    seen = set()
    for f in files:
        for line in (run / f["path"]).read_text().splitlines()[:50]:
            ev = json.loads(line)["Event"]
            ch = ev["System"]["Channel"]
            if ch in real_keys:
                top, system, attrs = real_keys[ch]
                assert set(ev) == top and set(ev["System"]) == system and ev["#attributes"] == attrs
                seen.add(ch)
            assert "{" not in str(ev["EventData"].get("ProcessGuid", ""))  # evtx renders GUIDs without braces
    assert seen == {"Security", SYSMON}

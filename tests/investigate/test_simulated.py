"""End to end over a simulated fleet: simulate -> ingest -> detect -> investigate, against the manifest."""

from __future__ import annotations

import json

import pytest

from cabhunt.errors import Problems


@pytest.fixture(scope="module")
def investigated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list]:  # type: ignore[type-arg]
    simulate = pytest.importorskip("cabhunt.simulate", reason="simulator not available yet").simulate
    detect = pytest.importorskip("cabhunt.detect", reason="detection not available yet").detect
    for reader in ("cabhunt.ingest.winxml", "cabhunt.ingest.zeek", "cabhunt.ingest.squid"):
        pytest.importorskip(reader, reason="the simulator writes Windows XML, Zeek and Squid logs")
    from cabhunt.ingest import ingest_paths
    from cabhunt.investigate import InvestigationContext, investigate
    from cabhunt.store import Store
    from cabhunt.windows import NetworkConfig

    out = tmp_path_factory.mktemp("sim")
    simulate(out, hosts=6, events=3000, seed=11)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    store = Store.open(None)
    ingest_paths(store, [out / "logs", out / "network"], Problems())
    net = NetworkConfig.from_mapping({"internal_cidrs": manifest["network"]["internal_cidrs"]})
    alerts = detect(store, net=net)
    wanted = {s["process_entity_id"] for s in manifest["scenarios"]}
    alerts = [a for a in alerts if a.process.get("entity_id") in wanted]
    ctx = InvestigationContext(store=store, artifacts=out / "artifacts", allowlist=out / "allowlist.yaml", net=net)
    alerts = investigate(alerts, ctx)
    store.close()
    return manifest, alerts


def _alerts_for(scenario: dict, alerts: list) -> list:  # type: ignore[type-arg]
    return [a for a in alerts if a.process.get("entity_id") == scenario["process_entity_id"]]


def test_every_alerting_scenario_gets_its_verdict(investigated: tuple[dict, list]) -> None:  # type: ignore[type-arg]
    manifest, alerts = investigated
    order = {"benign": 0, "suspicious": 1, "malicious": 2}
    checked = 0
    for s in manifest["scenarios"]:
        mine = _alerts_for(s, alerts)
        if not s["expected_rules"]:
            assert all(a.verdict != "malicious" for a in mine), s["name"]
            continue
        assert mine, f"{s['name']}: no alert"
        top = max(mine, key=lambda a: a.score)
        exp = s["expected_verdict"]
        if exp in ("suppressed", "malicious"):
            assert top.verdict == exp, (s["name"], top.verdict, top.why)
        else:  # at least as severe as the manifest says
            assert order.get(top.verdict, -1) >= order[exp], (s["name"], top.verdict, top.why)
        checked += 1
    assert checked >= 15


def test_expected_findings_are_found(investigated: tuple[dict, list]) -> None:  # type: ignore[type-arg]
    manifest, alerts = investigated
    for s in manifest["scenarios"]:
        mine = _alerts_for(s, alerts)
        if not mine or not s["expected_rules"]:
            continue
        found = set().union(*(set(a.finding_ids()) for a in mine))
        missing = set(s["expected_findings"]) - found
        assert not missing, (s["name"], sorted(missing))


def test_expired_allowlist_is_reported_not_applied(investigated: tuple[dict, list]) -> None:  # type: ignore[type-arg]
    manifest, alerts = investigated
    s = next(x for x in manifest["scenarios"] if x["name"].startswith("expired_allowlist"))
    for a in _alerts_for(s, alerts):
        assert a.verdict != "suppressed"
        assert a.extra["allowlist_not_applied"][0]["state"] == "expired"

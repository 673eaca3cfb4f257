"""Batched investigation: the same results as one alert at a time, with a bounded number of queries."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.errors import Problems
from cabhunt.investigate.context import events_between, host_matches, merge_intervals, short_host


def _stable(alert: Any) -> dict[str, Any]:
    doc = alert.to_dict()
    doc["cabhunt"].get("extra", {}).pop("timings_ms", None)
    return json.loads(json.dumps(doc, sort_keys=True, default=str))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any, list[Any]]:
    from cabhunt.detect import detect
    from cabhunt.ingest import ingest_paths
    from cabhunt.simulate import simulate
    from cabhunt.store import Store
    from cabhunt.windows import NetworkConfig

    out = tmp_path_factory.mktemp("batch")
    simulate(out, hosts=6, events=3000, seed=5)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    store = Store.open(None)
    ingest_paths(store, [out / "logs", out / "network"], Problems())
    net = NetworkConfig.from_mapping({"internal_cidrs": manifest["network"]["internal_cidrs"]})
    alerts = detect(store, net=net)
    assert len(alerts) >= 10
    return store, out, net, alerts


def _ctx(fleet: tuple[Any, Path, Any, list[Any]]) -> Any:
    from cabhunt.investigate import InvestigationContext

    store, out, net, _ = fleet
    return InvestigationContext(store=store, artifacts=out / "artifacts", allowlist=out / "allowlist.yaml", net=net)


def test_batch_equals_one_at_a_time(fleet: tuple[Any, Path, Any, list[Any]]) -> None:
    from cabhunt.investigate import investigate
    from cabhunt.model import Alert

    alerts = fleet[3]
    together = investigate([Alert.from_dict(a.to_dict()) for a in alerts], _ctx(fleet))
    alone = [investigate([Alert.from_dict(a.to_dict())], _ctx(fleet))[0] for a in alerts]
    assert [_stable(a) for a in together] == [_stable(a) for a in alone]


def test_narrow_windows_change_nothing(fleet: tuple[Any, Path, Any, list[Any]]) -> None:
    """Host windows without the far network/DNS events give the same alert documents."""
    from cabhunt.investigate import investigate
    from cabhunt.investigate.context import WIDE_WINDOW_CODES
    from cabhunt.model import Alert

    alerts = fleet[3]
    wide = _ctx(fleet)
    wide.narrow_windows = False
    narrow = _ctx(fleet)
    full = investigate([Alert.from_dict(a.to_dict()) for a in alerts], wide)
    cut = investigate([Alert.from_dict(a.to_dict()) for a in alerts], narrow)
    assert [_stable(a) for a in cut] == [_stable(a) for a in full]
    # and the narrowing is real: some window lost events that only the full one holds
    dropped = sum(len(wide._host_cache[k]) - len(narrow._host_cache[k]) for k in narrow._host_cache)
    assert dropped > 0
    for k, evs in narrow._host_cache.items():
        blo, bhi = narrow.band(k[1])
        assert all(e.get("event_code") in WIDE_WINDOW_CODES or blo <= e["ts"] <= bhi for e in evs)


def test_queries_do_not_grow_with_alerts(fleet: tuple[Any, Path, Any, list[Any]]) -> None:
    from cabhunt import query
    from cabhunt.investigate import investigate
    from cabhunt.model import Alert

    alerts = fleet[3]
    with query.recording() as once:
        investigate([Alert.from_dict(a.to_dict()) for a in alerts], _ctx(fleet))
    with query.recording() as thrice:
        investigate([Alert.from_dict(a.to_dict()) for a in alerts * 3], _ctx(fleet))
    # one question per step for the whole batch, however many alerts it holds
    assert len(thrice) == len(once)
    assert len(once) < len(alerts), (len(once), len(alerts))


T0 = datetime(2026, 3, 2, 10, 0, 0)
spans = st.lists(st.tuples(st.integers(0, 500), st.integers(0, 100)), max_size=12).map(
    lambda xs: [(T0 + timedelta(seconds=a), T0 + timedelta(seconds=a + d)) for a, d in xs])


@given(spans, st.integers(0, 700))
def test_merged_intervals_cover_the_same_instants(items: list[tuple[datetime, datetime]], sec: int) -> None:
    at = T0 + timedelta(seconds=sec)
    merged = merge_intervals(items)
    assert any(lo <= at <= hi for lo, hi in items) == any(lo <= at <= hi for lo, hi in merged)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(merged))


@given(st.lists(st.lists(st.integers(0, 50), max_size=20), max_size=4), st.integers(0, 50), st.integers(0, 50))
def test_events_between_is_a_time_ordered_filter(groups: list[list[int]], a: int, b: int) -> None:
    lo, hi = T0 + timedelta(seconds=min(a, b)), T0 + timedelta(seconds=max(a, b))
    evs = [[{"ts": T0 + timedelta(seconds=s)} for s in sorted(g)] for g in groups]
    got = [e["ts"] for e in events_between(evs, lo, hi)] if evs else []
    assert got == sorted(e["ts"] for g in evs for e in g if lo <= e["ts"] <= hi)


labels = st.text(alphabet="abcxyz019-", min_size=1, max_size=6)
names = st.lists(labels, min_size=1, max_size=3).map(".".join)


@settings(deadline=None, max_examples=80)
@given(names, names)
def test_host_matches_agrees_with_the_sql_predicate(value: str, host: str) -> None:
    duckdb = pytest.importorskip("duckdb")
    import ibis

    from cabhunt.investigate.context import host_is

    t = ibis.table({"host_name": "string"}, name="t")
    sql = ibis.to_sql(t.filter(host_is(t.host_name, host)), dialect="duckdb")
    con = duckdb.connect()
    con.execute("CREATE TABLE t (host_name VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [value])
    assert bool(con.execute(str(sql)).fetchall()) == host_matches(value, host), (value, host, short_host(host))


class _HostStore:
    """A store stand-in holding only host names."""

    def __init__(self, values: list[str | None]) -> None:
        import duckdb
        import ibis

        self.duck = duckdb.connect()
        self.duck.execute("CREATE TABLE events (host_name VARCHAR, n INTEGER)")
        self.duck.executemany("INSERT INTO events VALUES (?, ?)", [[v, i] for i, v in enumerate(values)])
        self.con = ibis.duckdb.from_connection(self.duck)

    def events(self) -> Any:
        return self.con.table("events")


@settings(deadline=None, max_examples=25)
@given(st.lists(st.one_of(names, names.map(str.upper), st.sampled_from(["10.0.0.5", "fe80::1", ""])), max_size=12),
       st.lists(st.one_of(names, st.just("10.0.0.5")), min_size=1, max_size=5))
def test_context_host_test_lists_exactly_the_matching_host_names(
        values: list[str], hosts: list[str]) -> None:
    from cabhunt import query
    from cabhunt.investigate import InvestigationContext
    from cabhunt.investigate import context as context_module

    store = _HostStore([*values, None])
    ctx = InvestigationContext(store=store)
    t = store.events()
    want = sorted(i for i, v in enumerate(values) if host_matches(v, *hosts))
    got = sorted(r["n"] for r in query.rows(t.filter(ctx.host_is(t.host_name, *hosts))))
    assert got == want
    # a store with more host names than can be listed falls back to the row-by-row test
    ctx = InvestigationContext(store=store)
    cap = context_module.HOST_VALUES_CAP
    context_module.HOST_VALUES_CAP = 0
    try:
        assert (ctx.host_values() is None) == bool(values)
        got = sorted(r["n"] for r in query.rows(t.filter(ctx.host_is(t.host_name, *hosts))))
    finally:
        context_module.HOST_VALUES_CAP = cap
    assert got == want


def test_process_index_stops_at_the_latest_alert_and_is_fetched_again_for_a_later_one() -> None:
    from cabhunt.investigate import InvestigationContext
    from cabhunt.model import Alert, RuleRef
    from tests.detect.helpers import make_store, proc

    times = ["2026-03-02 09:00:00.000", "2026-03-02 10:00:00.000", "2026-03-02 11:00:00.000"]
    store = make_store([proc(f"cmd{i}", image=r"C:\Windows\System32\cmd.exe", ProcessGuid=f"{{g{i}}}",
                             ProcessId=100 + i, UtcTime=ts, Computer="WS01.corp.example.com")
                        for i, ts in enumerate(times)])
    rule = RuleRef("r", "n", "makecab_download_cab", "u")
    alert = Alert(timestamp="2026-03-02T10:00:00.000Z", rule=rule, host="ws01")
    ctx = InvestigationContext(store=store)
    ctx.batch = [alert]
    at = datetime(2026, 3, 2, 10)
    first = ctx.processes("WS01", at)
    assert first is not None and sorted(first.by_guid) == ["{g0}", "{g1}"]
    assert ctx.processes("ws01.corp.example.com", at - timedelta(minutes=5)) is first  # covered: no query
    later = ctx.processes("ws01", at + timedelta(hours=2))
    assert later is not None and later is not first and sorted(later.by_guid) == ["{g0}", "{g1}", "{g2}"]
    everything = InvestigationContext(store=store).processes("ws01")
    assert everything is not None and everything.until is None and len(everything.by_guid) == 3

"""Contract with the readers: the product's ingest normalizes the simulator's JSON host logs.

Only the JSON shapes are exercised here (Winlogbeat raw, ECS, flat Sysmon, evtx JSON); every
scenario on such a host must come back as a process with its command line and parent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from cabhunt.simulate import simulate
from tests.simulate.logread import norm_guid

pytestmark = pytest.mark.skipif(importlib.util.find_spec("cabhunt.ingest") is None, reason="no ingest package")

JSON_FORMATS = {"winlogbeat", "ecs", "flat", "evtxjson"}


def test_scenarios_survive_ingest(tmp_path: Path) -> None:
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store import Store

    out = tmp_path / "sim"
    m = simulate(out, hosts=6, events=600, seed=4, days=2)
    json_hosts = {h["name"] for h in m.hosts if h["log_format"] in JSON_FORMATS}
    paths = sorted(p for h in json_hosts for p in (out / "logs" / h).iterdir())
    store = Store.open()
    try:
        problems = Problems()
        ingest_paths(store, paths, problems)
        assert problems.count == 0
        rows = store.duck.sql(
            "select process_entity_id, process_command_line, process_parent_entity_id, process_name "
            "from events where event_code = 1").fetchall()
    finally:
        store.close()
    procs = {norm_guid(r[0]): r for r in rows}
    checked = 0
    for s in m.scenarios:
        if s["host"] not in json_hosts:
            continue
        row = procs.get(norm_guid(s["process_entity_id"]))
        assert row is not None, s["name"]
        assert row[1] == s["command_line"]
        assert norm_guid(row[2]) == norm_guid(s["parent_entity_id"])
        checked += 1
    assert checked >= 10

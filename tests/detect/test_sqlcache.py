"""The cache of detection's fixed scans: same alerts as a fresh compile, keyed, checked, optional."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from cabhunt import query
from cabhunt.detect import detect_with_summary, sqlcache
from tests.detect.helpers import make_store, proc

EVENTS = [
    proc(r"makecab.exe \\fs09\pub\a.exe C:\Users\Public\a.cab", ProcessGuid="{p}", UtcTime="2026-03-02 10:00:00.000"),
    proc(r"makecab.exe C:\Windows\Logs\CBS\x.log C:\Windows\Logs\CBS\x.cab", ProcessGuid="{q}",
         UtcTime="2026-03-02 11:00:00.000"),
    {"EventID": 3, "Computer": "WS01", "Image": r"C:\Windows\System32\makecab.exe", "ProcessGuid": "{p}",
     "DestinationIp": "10.9.9.9", "DestinationPort": 445, "UtcTime": "2026-03-02 10:00:06.000"},
    {"EventID": 3, "Computer": "WS01", "Image": "System", "ProcessId": 4, "DestinationIp": "10.9.9.9",
     "DestinationPort": 445, "UtcTime": "2026-03-02 10:00:05.000"},
]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("CABHUNT_CACHE_DIR", str(where))
    return where


def _docs(since: datetime | None = None) -> tuple[list[dict[str, object]], dict[str, object]]:
    alerts, summary = detect_with_summary(make_store(EVENTS), since=since)
    return [a.to_dict() for a in alerts], {"supporting": summary.supporting, "jobs": summary.process_jobs}


def test_second_detection_runs_the_cached_sql_with_the_same_result(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with query.recording():  # recording bypasses the cache: the reference result, compiled fresh
        reference = _docs()
    assert not list(cache_dir.glob("detect-sql-*.json"))
    first = _docs()
    [cached] = cache_dir.glob("detect-sql-*.json")
    assert len(json.loads(cached.read_text())["sql"]) == 3

    def no_build(*_a: object, **_k: object) -> None:
        raise AssertionError("the scans were built again")

    monkeypatch.setattr("cabhunt.detect.engine.flagged_rows_query", no_build)
    second = _docs()
    assert reference == first == second
    assert reference[0]  # the events make alerts


def test_time_range_is_part_of_the_key(cache_dir: Path) -> None:
    everything = _docs()
    later = _docs(since=datetime(2026, 3, 2, 10, 30))
    assert len(list(cache_dir.glob("detect-sql-*.json"))) == 2
    assert len(later[0]) < len(everything[0])


def test_damaged_file_is_compiled_again_not_run(cache_dir: Path) -> None:
    reference = _docs()
    [cached] = cache_dir.glob("detect-sql-*.json")
    doc = json.loads(cached.read_text())
    doc["sql"][0] = doc["sql"][0].replace("makecab", "nothing")  # digest no longer matches
    cached.write_text(json.dumps(doc))
    assert _docs() == reference
    assert json.loads(cached.read_text())["sql"][0] != doc["sql"][0]  # rewritten


def test_unwritable_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CABHUNT_CACHE_DIR", str(blocker / "cache"))
    assert _docs()[0]


def test_key_changes_with_its_parts(cache_dir: Path) -> None:
    store = make_store(EVENTS)
    events = store.events()
    backend = query.duckdb_backend(events)
    a = sqlcache._key(backend, events, (None, None, ["x"]))
    assert a == sqlcache._key(backend, events, (None, None, ["x"]))
    assert a != sqlcache._key(backend, events, (datetime(2026, 1, 1), None, ["x"]))
    with query.recording():  # recording builds and runs the expressions: nothing cached
        detect_with_summary(store)
    assert not list(cache_dir.glob("detect-sql-*.json"))


def test_a_file_others_could_write_is_not_run(cache_dir: Path) -> None:
    reference = _docs()
    [cached] = cache_dir.glob("detect-sql-*.json")
    doc = json.loads(cached.read_text())
    doc["sql"][0] = doc["sql"][0].replace("makecab", "nothing")
    doc["digest"] = sqlcache._sql_digest(doc["sql"])  # a consistent file, planted
    cached.write_text(json.dumps(doc))
    cached.chmod(0o666)
    assert _docs() == reference

"""The Parquet fleet store: partitioned, appendable, idempotent, same events as the DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cabhunt.errors import Problems
from cabhunt.ingest import ingest_paths
from cabhunt.store import Store
from cabhunt.store.duckdb_store import size_bytes
from cabhunt.store.factory import StoreChoiceError, open_store
from cabhunt.store.parquet import ParquetStore


def _ndjson(path: Path, host: str, n: int, day: str = "2026-03-02") -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "@timestamp": f"{day}T10:00:{i % 60:02d}.000Z",
                        "event": {"code": "1"},
                        "host": {"name": host},
                        "winlog": {
                            "channel": "Microsoft-Windows-Sysmon/Operational",
                            "provider_name": "Microsoft-Windows-Sysmon",
                            "computer_name": host,
                            "event_id": 1,
                            "record_id": i + 1,
                            "event_data": {
                                "UtcTime": f"{day} 10:00:{i % 60:02d}.000",
                                "ProcessGuid": f"{{0000-{i}}}",
                                "ProcessId": str(100 + i),
                                "Image": r"C:\Windows\System32\makecab.exe",
                                "CommandLine": rf"makecab \\10.0.0.5\s\f{i}.exe C:\Users\Public\f{i}.cab",
                            },
                        },
                    }
                )
                + "\n"
            )
    return path


def _fleet(tmp_path: Path, events: int) -> tuple[Path, Path]:
    """A Parquet store holding ``events`` events of one host; returns (logs dir, store dir)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _ndjson(logs / "a.json", "WS01", events)
    sdir = tmp_path / "fleet"
    store = ParquetStore.open_dir(sdir)
    ingest_paths(store, [logs], Problems())
    store.close()
    return logs, sdir


def test_parquet_store_partitions_and_is_idempotent(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    _ndjson(logs / "a.json", "WS01", 5)
    _ndjson(logs / "b.json", "WS02", 3, day="2026-03-03")
    sdir = tmp_path / "fleet"
    store = ParquetStore.open_dir(sdir)
    summary = ingest_paths(store, [logs], Problems())
    assert summary.normalized == 8
    store.close()
    parts = sorted(p.relative_to(sdir / "events").parts[:2] for p in (sdir / "events").rglob("*.parquet"))
    assert ("event_day=2026-03-02", "host_key=ws01") in parts
    assert ("event_day=2026-03-03", "host_key=ws02") in parts

    again = ParquetStore.open_dir(sdir)
    summary2 = ingest_paths(again, [logs], Problems())
    assert summary2.already == 2 and summary2.normalized == 0
    assert again.event_count() == 8
    _ndjson(logs / "c.json", "WS03", 2)
    ingest_paths(again, [logs / "c.json"], Problems())
    again.flush()
    assert again.event_count() == 10
    cols = again.events().columns
    assert "event_day" not in cols and "host_name" in cols
    again.close()

    with Store.open(None) as duck:
        ingest_paths(duck, [logs], Problems())
        assert duck.event_count() == 10


def test_alerts_round_trip_in_store_dir(tmp_path: Path) -> None:
    store = ParquetStore.open_dir(tmp_path / "s")
    doc = {"@timestamp": "2026-03-02T10:00:00.000Z", "event": {"id": "a1"}, "cabhunt": {"verdict": "malicious"}}
    store.save_alerts([doc])
    store.save_alerts([{**doc, "cabhunt": {"verdict": "suppressed"}}])
    assert [d["cabhunt"]["verdict"] for d in store.alerts()] == ["suppressed"]
    assert store.load_alert("a1") is not None and store.load_alert("zz") is None
    store.close()


def test_open_store_rejects_bad_combinations(tmp_path: Path) -> None:
    with pytest.raises(StoreChoiceError):
        open_store(tmp_path / "x.duckdb", tmp_path / "d")
    with pytest.raises(StoreChoiceError):
        open_store(engine="spark")
    with pytest.raises(StoreChoiceError):
        open_store(engine="oracle")


def test_large_ingest_flushes_finished_files_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cabhunt.store.parquet as pq

    monkeypatch.setattr(pq, "FLUSH_ROWS", 4)
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(4):
        _ndjson(logs / f"{i}.json", f"WS{i}", 3)
    store = ParquetStore.open_dir(tmp_path / "fleet")
    ingest_paths(store, [logs], Problems())
    written = list((tmp_path / "fleet" / "events").rglob("*.parquet"))
    assert written, "nothing was flushed before close"
    store.close()
    again = ParquetStore.open_dir(tmp_path / "fleet")
    assert again.event_count() == 12
    assert len(again.ledger()) == 4
    again.close()


def test_files_from_another_schema_are_read_by_name(tmp_path: Path) -> None:
    """A file with columns in another order and one column missing (another version wrote it)."""
    _, sdir = _fleet(tmp_path, 4)
    [first] = list((sdir / "events").rglob("*.parquet"))
    odd = first.parent / "part-older.parquet"
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * EXCLUDE (process_hashes, event_uid), 'x:' || src_record_id AS event_uid "
                f"FROM read_parquet('{first}')) TO '{odd}' (FORMAT parquet)")
    con.close()
    again = ParquetStore.open_dir(sdir)
    assert again.event_count() == 8
    assert again._by_name  # position matching failed on the odd file, names were used
    raw = again.raw_events()
    assert "raw" in raw.columns and "raw" not in again.events().columns
    assert int(raw.count().to_pyarrow().as_py()) == 8
    again.close()


def test_hunt_copy_is_a_compressed_file_table_dropped_on_close(tmp_path: Path) -> None:
    logs, sdir = _fleet(tmp_path, 50)
    hunt = open_store(None, sdir)  # a hunt's store: the small Parquet memory limit
    limit = size_bytes(str(hunt.duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    assert limit is not None and limit <= 128 * 1000**2
    assert hunt.event_count() == 50
    where = hunt.duck.execute(
        "SELECT database_name, temporary FROM duckdb_tables() WHERE table_name = 'fleet_hot'").fetchall()
    assert where == [("cabhunt_hot", False)]
    folder = hunt._tmpdir
    assert folder is not None and (folder / "hot.duckdb").is_file()
    # the session's text compression is back to what ingest wants once the copy is made
    assert hunt.duck.execute("SELECT current_setting('force_compression')").fetchall()[0][0] == "zstd"
    # a write drops the copy; the next read makes a new one with the new events
    _ndjson(logs / "b.json", "WS02", 5)
    ingest_paths(hunt, [logs / "b.json"], Problems())
    assert hunt.event_count() == 55
    hunt.close()
    assert not folder.exists()


def test_events_staged_under_a_small_query_limit_still_reach_the_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hunt PATH --store DIR`` ingests into a store opened with the hunt's small query limit:
    ingest and the copy of the staged events to Parquet on close get the ingest's limit instead
    (they ran out of memory, and lost the events, under it)."""
    from cabhunt.store import parquet

    logs = tmp_path / "logs"
    logs.mkdir()
    for h in range(8):  # many open partitions, each buffering its rows with the raw records
        _ndjson(logs / f"h{h}.json", f"WS{h:02d}", 3000)
    sdir = tmp_path / "fleet"
    monkeypatch.setattr(parquet, "HUNT_MEMORY_LIMIT", "24MB")
    store = open_store(None, sdir)
    summary = ingest_paths(store, [logs], Problems())
    assert (size_bytes(str(store.duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])) or 0) < 30e6
    store.close()
    assert summary.normalized == 24_000
    reopened = ParquetStore.open_dir(sdir)
    try:
        assert reopened.event_count() == 24_000
        assert len(reopened.ledger()) == 8
    finally:
        reopened.close()

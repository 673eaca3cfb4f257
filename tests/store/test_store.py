"""The DuckDB store: lifetime, tables, ledger and alert round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabhunt.model import Alert, RuleRef
from cabhunt.schema import COLUMN_NAMES
from cabhunt.store import Store


def _alert(score: int, host: str = "WS01") -> dict[str, object]:
    alert = Alert(
        timestamp="2026-03-02T10:15:04.123Z",
        rule=RuleRef(id="CNC-E-2726320-168", name="Makecab Download and CAB Creation", slug="makecab_download_cab", uuid="u"),
        host=host,
        process={"entity_id": "{guid}"},
        score=score,
    )
    return alert.to_dict()


def test_temporary_store_is_removed_on_close() -> None:
    store = Store.open()
    path = store.path
    assert path.exists()
    store.close()
    assert not path.exists()
    assert not path.parent.exists()


def test_file_store_keeps_events_ledger_and_alerts(tmp_path: Path) -> None:
    db = tmp_path / "fleet.duckdb"
    with Store.open(db, memory_limit="512MB", threads=1) as store:
        assert tuple(store.events().columns) == COLUMN_NAMES
        store.record_ledger({"path": "a.evtx", "sha256": "ab" * 32, "format": "evtx", "status": "ok",
                             "records_read": 3, "normalized": 2, "skipped": {"event id not used": 1}, "errors": 0})
        store.save_alerts([_alert(40)])
        settings = dict(store.duck.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'TimeZone')").fetchall())
        assert settings["threads"] == "1"
        assert settings["TimeZone"] == "UTC"
    assert db.exists()
    with Store.open(db) as store:
        rows = store.ledger()
        assert len(rows) == 1
        assert rows[0]["skipped"] == {"event id not used": 1}
        assert rows[0]["error_messages"] == []
        assert store.has_digest("ab" * 32) == "a.evtx"
        assert store.has_digest("cd" * 32) is None
        assert len(store.alerts()) == 1


def test_alerts_upsert_by_id() -> None:
    with Store.open() as store:
        first = _alert(40)
        store.save_alerts([first])
        again = _alert(90)
        assert again["event"]["id"] == first["event"]["id"]  # type: ignore[index]
        store.save_alerts([again, _alert(10, host="WS02")])
        docs = store.alerts()
        assert len(docs) == 2
        loaded = store.load_alert(first["event"]["id"])  # type: ignore[index]
        assert loaded is not None
        assert loaded["cabhunt"]["score"] == 90
        assert Alert.from_dict(loaded).score == 90
        assert store.load_alert("nope") is None
        store.save_alerts([])


def test_ledger_row_replaced_for_same_path_and_digest() -> None:
    with Store.open() as store:
        row = {"path": "x.log", "sha256": "", "format": "unknown", "status": "failed", "error_messages": ["gone"]}
        store.record_ledger(row)
        store.record_ledger(row)
        assert len(store.ledger()) == 1
        # a failed row never counts as "already ingested"
        assert store.has_digest("") is None


def test_ingest_caps_memory_and_restores_it(tmp_path: Path) -> None:
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store.duckdb_store import size_bytes

    assert size_bytes("2.7 GiB") == int(2.7 * 1024**3)
    assert size_bytes("3GB") == 3 * 1000**3
    assert size_bytes("122.0 MiB") == 122 * 1024**2
    assert size_bytes("lots") is None
    with Store.open(memory_limit="3GB") as store:

        def setting() -> str:
            return str(store.duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

        before = setting()
        during: list[str] = []
        f = tmp_path / "x.json"
        f.write_text("")
        ingest_paths(store, [f], Problems(), progress=lambda _i, _n: during.append(setting()))
        assert during == ["1.0 GiB"]
        assert setting() == before


def test_interrupted_ingest_is_cleaned_up_and_read_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.ingest.source import file_digest
    from tests.ingest.helpers import DATA

    src = DATA / "zeek_dns.log"
    db = tmp_path / "s.duckdb"
    digest = file_digest(src)
    with Store.open(db) as store:
        # what a run killed between writing events and writing the ledger row leaves behind
        store.mark_pending([(digest, str(src))])
        store.duck.execute(
            "INSERT INTO events (event_uid, src_file) VALUES (?, ?), (?, ?)",
            [digest[:16] + ":9", str(src), digest[:16] + ":10", str(src)],
        )
        store.duck.execute("INSERT INTO events (event_uid, src_file) VALUES ('other:1', 'x')")
    with Store.open(db) as store:
        summary = ingest_paths(store, [src], Problems())
        uids = sorted(r[0] for r in store.duck.execute("SELECT event_uid FROM events").fetchall())
        pending = store.duck.execute("SELECT count(*) FROM ingest_pending").fetchall()[0][0]
    assert summary.normalized == 2
    assert uids == sorted([digest[:16] + ":9", digest[:16] + ":10", "other:1"])
    assert pending == 0
    assert "interrupted" in capsys.readouterr().err


def test_store_without_raw_writes_every_column_but_raw(tmp_path: Path) -> None:
    """A one-shot hunt's store skips the raw record text; every normalized column is the same."""
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths

    log = tmp_path / "s.ndjson"
    log.write_text("".join(
        '{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "WS01", '
        f'"UtcTime": "2026-03-02 10:00:0{i}.000", "Image": "C:\\\\Windows\\\\System32\\\\makecab.exe", '
        f'"CommandLine": "makecab \\\\\\\\fs01\\\\s\\\\t{i}.exe C:\\\\Temp\\\\t.cab", "ProcessId": "{100 + i}"}}\n'
        for i in range(5)), encoding="utf-8")
    tables = {}
    for keep in (True, False):
        store = Store.open()
        store.keep_raw = keep
        try:
            ingest_paths(store, [log], Problems())
            cols = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
            tables[keep] = store.duck.execute(f"SELECT {cols} FROM events ORDER BY event_uid").fetchall()
        finally:
            store.close()
    raw = COLUMN_NAMES.index("raw")
    assert len(tables[True]) == len(tables[False]) == 5
    assert all(row[raw] for row in tables[True]) and not any(row[raw] for row in tables[False])
    strip = [[v for i, v in enumerate(row) if i != raw] for row in tables[True]]
    assert strip == [[v for i, v in enumerate(row) if i != raw] for row in tables[False]]

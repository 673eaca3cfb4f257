"""`cabhunt investigate ALERT_ID --db FILE`: re-investigation of a stored alert, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cabhunt.cli import app
from cabhunt.schema import COLUMN_NAMES
from tests.investigate import scenarios


def _store_file(tmp_path: Path, case: scenarios.Case) -> tuple[Path, str]:
    """A real DuckDB store file with the scenario's events and its alert seed saved."""
    from cabhunt.store import Store

    db = tmp_path / "hunt.duckdb"
    rows = case.store.duck.execute(f"SELECT {', '.join(COLUMN_NAMES)} FROM events").fetchall()
    store = Store.open(db)
    try:
        store.duck.executemany(f"INSERT INTO events ({', '.join(COLUMN_NAMES)}) VALUES "
                               f"({', '.join('?' * len(COLUMN_NAMES))})", rows)
        store.save_alerts([case.alert.to_dict()])
    finally:
        store.close()
    return db, case.alert.id


def test_reinvestigates_and_saves_back(tmp_path: Path) -> None:
    db, alert_id = _store_file(tmp_path, scenarios.webdav_chain())
    res = CliRunner().invoke(app, ["investigate", alert_id, "--db", str(db), "--out", str(tmp_path / "cases")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["event"]["id"] == alert_id
    assert doc["cabhunt"]["verdict"] == "malicious"
    ids = {f["id"] for f in doc["cabhunt"]["findings"]}
    assert {"followon.execution", "webdav.client_activity"} <= ids
    [folder] = list((tmp_path / "cases").iterdir())
    assert (folder / "report.html").is_file() and (folder / "iocs.stix.json").is_file()
    from cabhunt.store import Store

    store = Store.open(db)
    try:
        saved = store.load_alert(alert_id)
    finally:
        store.close()
    assert saved is not None and saved["cabhunt"]["verdict"] == "malicious"
    assert len(saved["cabhunt"]["related"]) == len(doc["cabhunt"]["related"])


def test_allowlist_and_markdown(tmp_path: Path) -> None:
    db, alert_id = _store_file(tmp_path, scenarios.approved_share())
    allow = tmp_path / "allow.yaml"
    allow.write_text("entries:\n  - id: AL-1\n    reason: approved share\n    owner: it\n"
                     "    match: {share_prefix: '\\\\FS01\\approved\\'}\n  - id: broken\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["investigate", alert_id, "--db", str(db), "--allowlist", str(allow),
                                   "--format", "markdown"])
    assert res.exit_code == 0, res.output
    assert "SUPPRESSED" in res.stdout and "AL-1" in res.stdout
    assert "allowlist entry ignored" in res.stderr  # the malformed entry, one line


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["investigate", "nope", "--db", "{db}"], 1, "no alert with id nope"),
        (["investigate", "x"], 2, "--db"),
        (["investigate", "x", "--db", "{tmp}/missing.duckdb"], 1, "no such store"),
        (["investigate", "x", "--db", "{db}", "--artifacts", "{tmp}/nowhere"], 2, ""),
    ],
)
def test_errors_are_one_line_and_exit_codes(tmp_path: Path, args: list[str], code: int, needle: str) -> None:
    db, _ = _store_file(tmp_path, scenarios.cbs_rotation())
    argv = [a.format(db=db, tmp=tmp_path) for a in args]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    if needle:
        assert needle in res.stderr


def test_parquet_store(tmp_path: Path) -> None:
    """`--store DIR`: the same re-investigation over the Parquet fleet store."""
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store.parquet import ParquetStore
    from tests.investigate.test_ingested import DATA, _seed

    sdir = tmp_path / "fleet"
    store = ParquetStore.open_dir(sdir)
    try:
        ingest_paths(store, [DATA / "ws07_sysmon.ndjson"], Problems())
        store.flush()
        seed = _seed(store)
        store.save_alerts([seed.to_dict()])
    finally:
        store.close()
    res = CliRunner().invoke(app, ["investigate", seed.id, "--store", str(sdir)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["cabhunt"]["verdict"] == "malicious"
    assert "followon.execution" in {f["id"] for f in doc["cabhunt"]["findings"]}

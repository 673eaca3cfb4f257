"""End-to-end: ``cabhunt hunt`` through the real CLI, asserting on the JSON alert contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cabhunt.cli import app
from cabhunt.rules.loader import RULES_DIR
from tests.conftest import shared_or_skip

runner = CliRunner()
pytest.importorskip("cabhunt.ingest", reason="hunt needs ingest")

CONTRACT_KEYS = {"@timestamp", "event", "rule", "threat", "host", "user", "process", "destination", "cabhunt"}
CABHUNT_KEYS = {"verdict", "score", "sources", "cabinet", "cabinets", "directive_files", "working_directory",
                "findings", "related", "actions", "suppressed_by"}


def ndjson(tmp_path: Path, slug: str) -> Path:
    """A regression event set written as flat Sysmon NDJSON (as NXLog writes it)."""
    events = json.loads((RULES_DIR / "regression" / slug / "events.json").read_text(encoding="utf-8"))
    path = tmp_path / f"{slug}.ndjson"
    with path.open("w", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps({**e, "Channel": "Microsoft-Windows-Sysmon/Operational"}) + "\n")
    return path


def jsonl(args: list[str]) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["hunt", *args, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_jsonl_contract_and_network_correlation(tmp_path: Path) -> None:
    alerts = jsonl([str(ndjson(tmp_path, "diantz_network"))])
    assert alerts
    for a in alerts:
        assert set(a) >= CONTRACT_KEYS and set(a["cabhunt"]) >= CABHUNT_KEYS
        assert a["event"]["kind"] == "alert" and len(a["event"]["id"]) == 20
        assert a["threat"]["technique"][0]["id"] == "T1105"
    corr = [a for a in alerts if a["cabhunt"]["extra"].get("network_match") == "correlated"]
    assert len(corr) == 1
    c = corr[0]
    assert c["rule"] == {"id": "CNC-E-2726320-142", "name": "Diantz Network Connection", "slug": "diantz_network",
                         "uuid": "e56d89d0-d133-44ef-9710-37ca231df64d"}
    assert c["destination"]["port"] == 445 and c["destination"]["domain"] == "fs09.corp.example.com"
    assert set(c["destination"]) == {"ip", "port", "domain", "scope", "ip_literal"}


def test_process_alerts_have_verified_semantics(tmp_path: Path) -> None:
    alerts = jsonl([str(ndjson(tmp_path, "makecab_download_cab"))])
    proc = [a for a in alerts if a["rule"]["slug"] == "makecab_download_cab"]
    assert len(proc) == 7
    lines = {a["process"]["command_line"] for a in proc}
    assert r"makecab \\?\C:\build\file.dll \\?\C:\build\file.cab" not in lines  # local device path


def test_json_document_has_summary_and_timings(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hunt", str(ndjson(tmp_path, "makecab_download_cab")), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["verified_benign"] == 1
    assert doc["summary"]["alert_count"] == len(doc["alerts"])
    assert {"ingest", "detect", "investigate"} <= set(doc["summary"]["timings"])
    assert "ingested 1 file" in result.stderr


def test_case_bundles_carry_the_raw_records(tmp_path: Path) -> None:
    """A one-shot hunt drops raw records from its store unless bundles will export them."""
    out = tmp_path / "cases"
    alerts = jsonl([str(ndjson(tmp_path, "makecab_download_cab")), "--out", str(out)])
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == len(alerts) > 0
    for folder in folders:
        evidence = [json.loads(x) for x in (folder / "evidence.jsonl").read_text().splitlines()]
        assert evidence and all(isinstance(e["raw"], dict) and e["raw"].get("CommandLine") for e in evidence
                                if e.get("event_code") == 1)


def test_db_keeps_alerts_and_hunts_again_without_paths(tmp_path: Path) -> None:
    db = tmp_path / "hunt.duckdb"
    first = jsonl([str(ndjson(tmp_path, "diantz_download_cab")), "--db", str(db)])
    again = jsonl(["--db", str(db)])
    assert [a["event"]["id"] for a in first] == [a["event"]["id"] for a in again]
    from cabhunt.store import Store

    store = Store.open(db)
    try:
        kept = {a["event"]["id"] for a in store.alerts()}
    finally:
        store.close()
    assert kept == {a["event"]["id"] for a in first}


def test_since_until_filter(tmp_path: Path) -> None:
    path = str(ndjson(tmp_path, "diantz_network"))
    assert jsonl([path, "--since", "2026-03-03T00:00:00Z"]) == []
    early = jsonl([path, "--until", "2026-03-02T09:30:00Z"])
    assert [a["rule"]["slug"] for a in early] == ["diantz_network"]


def test_markdown_and_table(tmp_path: Path) -> None:
    path = str(ndjson(tmp_path, "diantz_download_cab"))
    md = runner.invoke(app, ["hunt", path, "--format", "markdown"])
    assert md.exit_code == 0 and "diantz" in md.stdout.lower()
    table = runner.invoke(app, ["hunt", path])
    assert table.exit_code == 0 and "alert(s)" in table.stderr and table.stdout == ""


def test_internal_cidr_changes_scope(tmp_path: Path) -> None:
    path = str(ndjson(tmp_path, "diantz_network"))
    default = {a["event"]["id"]: a for a in jsonl([path])}
    tuned = {a["event"]["id"]: a for a in jsonl([path, "--internal-cidr", "198.51.100.0/24"])}
    [direct] = [i for i, a in default.items() if a["destination"] and a["destination"]["ip"] == "198.51.100.4"]
    assert default[direct]["destination"]["scope"] == "external"
    assert tuned[direct]["destination"]["scope"] == "internal"
    assert tuned[direct]["cabhunt"]["score"] < default[direct]["cabhunt"]["score"]


def test_real_evtx_folder() -> None:
    folder = shared_or_skip("fixtures/evtx")
    alerts = jsonl([str(folder)])
    assert len(alerts) == 5 and {a["rule"]["slug"] for a in alerts} == {"makecab_download_cab"}
    for a in alerts:  # local sources: no source finding, whatever the investigation adds later
        ids = {f["id"] for f in a["cabhunt"]["findings"]}
        assert "cabinet.user_writable" in ids
        assert not any(i.startswith("source.") for i in ids)
        assert a["cabhunt"]["verdict"] in ("benign", "suspicious"), a["cabhunt"]["why"]
    assert any("parent.suspicious" in {f["id"] for f in a["cabhunt"]["findings"]} for a in alerts)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--format", "xml"], 2, "--format"),
        (["--engine", "flink"], 2, "--engine"),
        (["--since", "yesterday"], 2, "--since"),
        (["--db", "a.duckdb", "--store", "b"], 2, "exclusive"),
        (["--allowlist", "/nonexistent/allow.yml"], 2, "--allowlist"),
        (["--internal-cidr", "10.0.0.0/33"], 2, "--internal-cidr"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["hunt", str(ndjson(tmp_path, "cab_expansion")), *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_no_paths_and_no_store_is_usage() -> None:
    result = runner.invoke(app, ["hunt"])
    assert result.exit_code == 2


def test_missing_input_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hunt", str(tmp_path / "nope.evtx")])
    assert result.exit_code == 1
    assert "nope.evtx" in result.stderr and "Traceback" not in result.output


def test_unreadable_file_beside_a_good_one_exits_0(tmp_path: Path) -> None:
    bad = tmp_path / "junk.bin"
    bad.write_bytes(b"\x00\x01not a log\xff" * 10)
    result = runner.invoke(app, ["hunt", str(ndjson(tmp_path, "diantz_download_cab")), str(bad), "--format", "jsonl"])
    assert result.exit_code == 0
    assert result.stdout.strip()


def test_parquet_store_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("cabhunt.store.parquet")
    store = tmp_path / "fleet"
    first = jsonl([str(ndjson(tmp_path, "makecab_network")), "--store", str(store)])
    again = jsonl(["--store", str(store)])
    assert first and sorted(a["event"]["id"] for a in first) == sorted(a["event"]["id"] for a in again)


def test_a_kept_store_that_cannot_be_closed_fails_the_hunt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cabhunt.store.duckdb_store import Store

    log = str(ndjson(tmp_path, "makecab_download_cab"))
    real_close = Store.close

    def broken(self: Store) -> None:
        real_close(self)
        raise OSError("disk full")

    monkeypatch.setattr(Store, "close", broken)
    for command in ("hunt", "ingest"):
        db = tmp_path / f"{command}.duckdb"
        kept = runner.invoke(app, [command, log, "--db", str(db)])
        assert kept.exit_code == 1, kept.output
        assert f"cabhunt: {db}: closing the store failed: disk full" in kept.stderr
        one_shot = runner.invoke(app, [command, log])
        assert one_shot.exit_code == 0 and "temporary store: closing the store failed" in one_shot.stderr

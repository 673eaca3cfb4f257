"""Windows events from every input shape normalize to the same rows."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.ingest.helpers import DATA, accounted, ingested, ledger_by_name, rows

SAME = [
    "ts", "host_name", "event_provider", "event_dataset", "event_code", "event_category", "process_entity_id",
    "process_pid", "process_executable", "process_name", "process_command_line", "process_pe_original_file_name",
    "process_working_directory", "process_integrity_level", "process_hashes", "process_hash_sha256",
    "process_parent_entity_id", "process_parent_pid", "process_parent_executable", "process_parent_name",
    "process_parent_command_line", "user_name", "user_domain", "logon_id", "source_ip", "source_port",
    "destination_ip", "destination_port", "destination_domain", "network_transport", "network_initiated",
    "file_path", "dns_question_name", "dns_answers", "logon_type", "share_name", "share_relative_target",
    "share_access", "src_record_id",
]
SHAPES = {
    "evtx_dump.jsonl": "evtx_json",
    "winlogbeat_raw.ndjson": "winlogbeat_raw",
    "flat_sysmon.json": "flat_sysmon",
    "eventviewer.xml": "xml",
}


@pytest.fixture(scope="module")
def by_shape() -> dict[str, list[tuple[object, ...]]]:
    out = {}
    with ingested(*(DATA / n for n in SHAPES)) as (store, _summary, _problems):
        for name, fmt in SHAPES.items():
            got = rows(store, f"src_format = '{fmt}'", SAME)
            out[name] = sorted((tuple(r.values()) for r in got), key=repr)
        ledger = ledger_by_name(store)
    for name in SHAPES:
        assert accounted(ledger[name])
    return out


def test_all_windows_shapes_agree(by_shape: dict[str, list[tuple[object, ...]]]) -> None:
    reference = by_shape["evtx_dump.jsonl"]
    assert len(reference) == 8  # Sysmon 1, 3, 11, 22 and Security 4688, 4624, 5140, 5145
    for name, got in by_shape.items():
        assert got == reference, name


def test_sysmon_process_creation_fields() -> None:
    with ingested(DATA / "winlogbeat_raw.ndjson") as (store, summary, _):
        (ev,) = rows(store, "event_code = 1")
        assert summary.files == 1
    assert ev["ts"] == datetime(2026, 3, 2, 10, 15, 4, 123000)  # Sysmon UtcTime, not @timestamp
    assert ev["host_name"] == "WS01.corp.example"
    assert ev["event_provider"] == "sysmon" and ev["event_category"] == "process"
    assert ev["process_name"] == "makecab.exe"
    assert ev["process_pe_original_file_name"] == "MAKECAB.EXE"
    assert ev["process_pid"] == 4242 and ev["process_parent_pid"] == 4100
    assert ev["process_parent_name"] == "cmd.exe"
    assert ev["user_domain"] == "CORP" and ev["user_name"] == "bob"
    assert ev["process_hash_sha256"] == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert ev["process_command_line"].startswith("makecab.exe \\\\10.1.2.3\\share")
    assert ev["src_record_id"] == 101
    assert json.loads(ev["raw"])["winlog"]["record_id"] == 101
    assert ev["event_uid"].endswith(":1") and len(ev["event_uid"].split(":")[0]) == 16


def test_security_events_fields() -> None:
    with ingested(DATA / "evtx_dump.jsonl") as (store, _summary, _):
        got = {r["event_code"]: r for r in rows(store, "event_provider = 'security'")}
        ledger = ledger_by_name(store)["evtx_dump.jsonl"]
    assert set(got) == {4688, 4624, 5140, 5145}
    p = got[4688]
    assert p["process_pid"] == 0x1A2C and p["process_parent_pid"] == 0x1004  # hex PIDs
    assert p["process_name"] == "diantz.exe" and p["process_parent_name"] == "cmd.exe"
    assert (p["user_domain"], p["user_name"]) == ("CORP", "bob")
    assert p["ts"] == datetime(2026, 3, 2, 10, 20, 0, 456000)
    assert p["process_integrity_level"] == "Medium"  # from MandatoryLabel S-1-16-8192
    logon = got[4624]
    assert logon["logon_type"] == 3 and logon["source_ip"] == "10.0.0.16" and logon["user_name"] == "bob"
    assert logon["process_executable"] is None  # "-" means none
    share = got[5145]
    assert share["share_name"] == "\\\\*\\share" and share["share_relative_target"] == "tool.exe"
    assert share["share_access"] == "0x120089"
    assert got[5140]["share_relative_target"] is None
    # Sysmon 5 and Security 4634 are read, counted, not stored
    assert ledger["skipped"] == {"event id not used": 2}


def test_sysmon_network_dns_file_fields() -> None:
    with ingested(DATA / "flat_sysmon.json") as (store, _s, _p):
        got = {r["event_code"]: r for r in rows(store, "event_provider = 'sysmon'")}
    net = got[3]
    assert (net["source_ip"], net["source_port"], net["destination_ip"], net["destination_port"]) == (
        "10.0.0.15", 50123, "10.1.2.3", 445)
    assert net["network_initiated"] is True and net["network_transport"] == "tcp"
    assert net["destination_domain"] is None  # "-" in DestinationHostname
    assert net["process_name"] == "system" and net["process_pid"] == 4
    assert got[11]["file_path"] == "C:\\Users\\Public\\t.cab"
    assert got[22]["dns_question_name"] == "files.example.net"
    assert got[22]["dns_answers"] == "::ffff:203.0.113.7;"
    assert (got[22]["user_domain"], got[22]["user_name"]) == ("NT AUTHORITY", "NETWORK SERVICE")


def test_ecs_documents() -> None:
    with ingested(DATA / "ecs.ndjson") as (store, _s, _p):
        got = {r["event_code"]: r for r in rows(store)}
        ledger = ledger_by_name(store)["ecs.ndjson"]
    assert ledger["format"] == "ecs" and accounted(ledger)
    assert set(got) == {1, 3, 11, 22, 4688}
    assert got[1]["process_name"] == "makecab.exe"
    assert got[1]["process_pe_original_file_name"] == "MAKECAB.EXE"
    assert got[1]["process_integrity_level"] == "Medium"  # left in winlog.event_data
    assert got[1]["process_parent_entity_id"] == "{6a1c2f3e-1111-65e3-2901-000000000c00}"
    assert got[3]["network_initiated"] is True and got[3]["destination_port"] == 445
    assert got[11]["file_path"] == "C:\\Users\\Public\\t.cab"
    assert got[22]["dns_answers"] == "::ffff:203.0.113.7;203.0.113.7"
    assert got[4688]["process_pid"] == 6700  # ECS process.pid wins over the hex event data
    assert got[4688]["event_provider"] == "security"


def test_wevtutil_stream_with_a_record_cut_short() -> None:
    with ingested(DATA / "wevtutil.xml") as (store, _s, problems):
        ledger = ledger_by_name(store)["wevtutil.xml"]
        codes = sorted(r["event_code"] for r in rows(store))
    assert ledger["format"] == "xml" and ledger["status"] == "partial"
    assert ledger["records_read"] == 10 and ledger["errors"] == 1
    assert "event 3" in ledger["error_messages"][0]
    assert accounted(ledger)
    assert codes == [1, 3, 22, 4624, 4688, 5140, 5145]  # EID 11 (the cut one) lost, the rest kept
    assert problems.count == 1

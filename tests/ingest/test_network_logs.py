"""Zeek (TSV and JSON, every log type we use) and Squid access logs."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.ingest.helpers import DATA, accounted, ingested, ledger_by_name, rows

ZEEK_TYPES = ["conn", "dns", "http", "ssl", "smb_mapping", "smb_files"]
COMPARE = [
    "ts", "event_provider", "event_dataset", "event_code", "event_category", "source_ip", "source_port",
    "destination_ip", "destination_port", "destination_domain", "network_transport", "network_initiated",
    "dns_question_name", "dns_answers", "url_full", "http_request_method", "http_response_status_code",
    "http_response_bytes", "user_agent", "tls_server_name", "share_name", "share_relative_target", "file_path",
]


@pytest.mark.parametrize("log", ZEEK_TYPES)
def test_zeek_tsv_and_json_agree(log: str) -> None:
    with ingested(DATA / f"zeek_{log}.log", DATA / f"zeek_{log}.json") as (store, _s, _p):
        tsv = sorted(tuple(r.values()) for r in rows(store, "src_format = 'zeek_tsv'", COMPARE))
        js = sorted(tuple(r.values()) for r in rows(store, "src_format = 'zeek_json'", COMPARE))
        ledger = ledger_by_name(store)
    assert tsv and tsv == js
    assert {r[2] for r in tsv} == {f"zeek.{log}"}
    for row in ledger.values():
        assert accounted(row)


def test_zeek_fields() -> None:
    paths = [DATA / f"zeek_{t}.log" for t in ZEEK_TYPES]
    with ingested(*paths) as (store, _s, problems):
        got = {(r["event_dataset"], r["src_record_id"]): r for r in rows(store)}
        ledger = ledger_by_name(store)
    conn = got[("zeek.conn", 9)]
    assert conn["ts"] == datetime(2026, 3, 2, 10, 15, 4, 500000)
    assert (conn["source_ip"], conn["destination_ip"], conn["destination_port"]) == ("10.0.0.15", "10.1.2.3", 445)
    assert conn["network_initiated"] is True and conn["event_code"] == 0
    assert got[("zeek.conn", 10)]["network_initiated"] is None  # unset "-"
    # the short line of conn.log is an error with its line number, the others are kept
    assert ledger["zeek_conn.log"]["errors"] == 1 and "line 11" in ledger["zeek_conn.log"]["error_messages"][0]
    assert problems.count == 1
    dns = got[("zeek.dns", 9)]
    assert dns["dns_question_name"] == "files.example.net" and dns["dns_answers"] == "203.0.113.7;198.51.100.9"
    assert got[("zeek.dns", 10)]["dns_answers"] is None
    dav = got[("zeek.http", 9)]
    assert dav["http_request_method"] == "PROPFIND"
    assert dav["url_full"] == "http://files.example.net/DavWWWRoot/x.dll"
    assert dav["http_response_status_code"] == 207 and dav["user_agent"].startswith("Microsoft-WebDAV")
    absolute = got[("zeek.http", 10)]
    assert absolute["url_full"] == "http://files.example.net:8080/a.exe"
    assert absolute["destination_domain"] == "files.example.net"  # port stripped from Host
    assert got[("zeek.ssl", 9)]["tls_server_name"] == "files.example.net"
    assert got[("zeek.smb_mapping", 9)]["share_name"] == "\\\\10.1.2.3\\share"
    smbf = got[("zeek.smb_files", 9)]
    assert smbf["file_path"] == "\\\\10.1.2.3\\share\\tool.exe" and smbf["share_access"] == "SMB::FILE_OPEN"


def test_zeek_json_without_path_guesses_log_type() -> None:
    with ingested(DATA / "zeek_http.json", DATA / "zeek_conn.json") as (store, _s, _p):
        sets = {r["src_file"].rsplit("/", 1)[-1]: r["event_dataset"] for r in rows(store)}
    assert sets == {"zeek_http.json": "zeek.http", "zeek_conn.json": "zeek.conn"}


def test_squid_access_log() -> None:
    with ingested(DATA / "squid_access.log") as (store, _s, problems):
        got = {r["src_record_id"]: r for r in rows(store)}
        ledger = ledger_by_name(store)["squid_access.log"]
    assert ledger["format"] == "squid" and ledger["records_read"] == 4 and ledger["errors"] == 1
    assert accounted(ledger) and problems.count == 1
    get = got[1]
    assert get["ts"] == datetime(2026, 3, 2, 10, 15, 7, 300000)
    assert get["event_provider"] == "proxy" and get["event_dataset"] == "squid" and get["event_category"] == "proxy"
    assert get["source_ip"] == "10.0.0.15" and get["http_request_method"] == "GET"
    assert get["http_response_status_code"] == 200 and get["http_response_bytes"] == 12345
    assert get["url_full"] == "http://files.example.net:8080/a.exe"
    assert (get["destination_domain"], get["destination_port"], get["destination_ip"]) == (
        "files.example.net", 8080, "203.0.113.8")
    assert get["user_name"] is None
    tunnel = got[2]
    assert (tunnel["destination_domain"], tunnel["destination_port"]) == ("files.example.net", 443)
    assert tunnel["user_name"] == "bob"
    denied = got[4]
    assert denied["http_response_status_code"] == 403 and denied["destination_ip"] is None
    assert denied["destination_port"] == 80

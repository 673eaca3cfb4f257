"""Bad input is counted and reported, never fatal; re-ingest adds nothing; gzip is transparent."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from cabhunt.store import Store
from tests.ingest.helpers import DATA, accounted, ingested, ledger_by_name, rows


def _good_line(i: int) -> str:
    return json.dumps({
        "@timestamp": "2026-03-02T10:15:04.123Z", "event": {"code": "1"},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "WS01", "record_id": i,
                   "event_data": {"UtcTime": "2026-03-02 10:15:04.123", "Image": f"C:\\x\\p{i}.exe",
                                  "ProcessGuid": f"{{g-{i}}}"}},
    })


def test_invalid_json_lines_are_counted_and_first_ones_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    bad_lines = []
    for n in range(1, 41):
        if n % 4 == 0:
            lines.append('{"winlog": {"broken": ' + "x" * n)
            bad_lines.append(n)
        else:
            lines.append(_good_line(n))
    f = tmp_path / "mixed.json"
    f.write_text("\n".join(lines) + "\n")
    with ingested(f) as (store, summary, problems):
        row = ledger_by_name(store)["mixed.json"]
        stored = rows(store, columns=["src_record_id"])
    assert row["records_read"] == 40
    assert row["errors"] == len(bad_lines) == 10
    assert row["normalized"] == 30 == len(stored)
    assert accounted(row) and row["status"] == "partial"
    assert summary.errors == 10
    err = capsys.readouterr().err
    for n in bad_lines[:5]:
        assert f"mixed.json#{n}: not valid JSON" in err
    assert f"mixed.json#{bad_lines[5]}:" not in err
    assert "5 more broken records not shown (total 10)" in err
    assert problems.count == 6
    assert row["error_messages"][0] == f"line {bad_lines[0]}: not valid JSON"


def test_unknown_unreadable_and_missing_files_do_not_stop_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    shutil.copy(DATA / "unknown.txt", d / "a_unknown.txt")
    shutil.copy(DATA / "winlogbeat_raw.ndjson", d / "b_good.json")
    (d / "c_dead").symlink_to(tmp_path / "nowhere")
    (d / "d_loop").symlink_to(d)  # directory loop
    (d / "e_empty.log").write_bytes(b"")
    with ingested(d, tmp_path / "missing.evtx") as (store, summary, problems):
        ledger = ledger_by_name(store)
    assert ledger["a_unknown.txt"]["status"] == "failed" and "unknown format" in ledger["a_unknown.txt"]["error_messages"][0]
    assert ledger["c_dead"]["error_messages"] == ["broken symbolic link"]
    assert ledger["missing.evtx"]["status"] == "failed"
    assert ledger["b_good.json"]["normalized"] == 8
    assert ledger["e_empty.log"]["status"] == "failed"
    assert summary.files == 1 and summary.unreadable == 4
    assert summary.readable
    err = capsys.readouterr().err
    assert "d_loop: directory loop" in err
    assert "c_dead: broken symbolic link" in err
    assert problems.count == 6  # the five above and line 4 of b_good.json


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_permission_denied_file(tmp_path: Path) -> None:
    f = tmp_path / "secret.json"
    f.write_text(_good_line(1) + "\n")
    f.chmod(0)
    with ingested(f) as (store, summary, _p):
        assert ledger_by_name(store)["secret.json"]["status"] == "failed"
    assert not summary.readable


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "fleet.duckdb"
    inputs = [DATA / "winlogbeat_raw.ndjson", DATA / "zeek_conn.log", DATA / "wevtutil.xml"]
    with Store.open(db) as store, ingested(*inputs, store=store) as (_s, first, _p):
        count = store.event_count()
    assert first.files == 3 and count == first.normalized > 0
    copy = tmp_path / "copy-of-zeek.log"
    shutil.copy(DATA / "zeek_conn.log", copy)
    with Store.open(db) as store, ingested(*inputs, copy, store=store) as (_s, again, _p):
        assert store.event_count() == count
        uids = store.duck.execute("SELECT count(*) = count(DISTINCT event_uid) FROM events").fetchall()[0][0]
        ledger = ledger_by_name(store)
    assert uids
    assert again.files == 0 and again.already == 4 and again.normalized == 0
    assert "copy-of-zeek.log" not in ledger or ledger["copy-of-zeek.log"]["status"] != "ok"
    assert sum(1 for r in ledger.values() if r["status"] in ("ok", "partial")) == 3


def test_gzip_read_by_content_not_name(tmp_path: Path) -> None:
    plain = DATA / "winlogbeat_raw.ndjson"
    packed = tmp_path / "events.dat"  # no .gz suffix: detection is by magic bytes
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    xml = tmp_path / "viewer.xml.gz"
    xml.write_bytes(gzip.compress((DATA / "eventviewer.xml").read_bytes()))
    zeek = tmp_path / "dns.log.gz"
    zeek.write_bytes(gzip.compress((DATA / "zeek_dns.log").read_bytes()))
    with ingested(plain, packed, xml, zeek) as (store, _s, _p):
        ledger = ledger_by_name(store)
        by_file = {
            name: sorted((r["event_code"], r["process_executable"], r["ts"]) for r in rows(store, f"src_file LIKE '%{name}'"))
            for name in ("winlogbeat_raw.ndjson", "events.dat")
        }
    assert ledger["events.dat"]["format"] == "winlogbeat_raw"
    assert by_file["events.dat"] == by_file["winlogbeat_raw.ndjson"] and by_file["events.dat"]
    assert ledger["viewer.xml.gz"]["normalized"] == 8
    assert ledger["dns.log.gz"]["normalized"] == 2


def test_utf16_xml_export(tmp_path: Path) -> None:
    f = tmp_path / "export.xml"
    f.write_bytes((DATA / "wevtutil.xml").read_text(encoding="utf-8").encode("utf-16"))
    with ingested(f) as (store, _s, _p):
        row = ledger_by_name(store)["export.xml"]
    assert row["format"] == "xml" and row["normalized"] == 7 and row["errors"] == 1


def test_xml_cut_at_end_of_file(tmp_path: Path) -> None:
    text = (DATA / "eventviewer.xml").read_text()
    f = tmp_path / "cut.xml"
    f.write_text(text[: text.rfind("<Data Name=")])
    with ingested(f) as (store, _s, _p):
        row = ledger_by_name(store)["cut.xml"]
    assert row["errors"] == 1 and "file ends before" in row["error_messages"][0]
    assert row["records_read"] == 10 and accounted(row)


def test_crlf_blank_lines_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "crlf.json"
    f.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join([_good_line(1), "", "   ", _good_line(2)]) + "\r\n").encode())
    with ingested(f) as (store, _s, _p):
        row = ledger_by_name(store)["crlf.json"]
        got = rows(store, columns=["event_uid", "raw"])
    assert row["records_read"] == 2 and row["normalized"] == 2 and row["errors"] == 0
    assert [g["event_uid"].split(":")[1] for g in got] == ["1", "4"]  # line numbers count blank lines
    assert all(not g["raw"].endswith("\r") for g in got)


def test_utf16_ndjson_and_invalid_utf8(tmp_path: Path) -> None:
    text = "\r\n".join([_good_line(1), "", _good_line(3)]) + "\r\n"
    wide = tmp_path / "wide.json"
    wide.write_bytes(text.encode("utf-16"))
    latin = tmp_path / "latin.json"
    latin.write_bytes(_good_line(1).replace("p1.exe", "caf\xe9.exe").encode("latin-1") + b"\n" + _good_line(2).encode() + b"\n")
    with ingested(wide, latin) as (store, _s, _p):
        ledger = ledger_by_name(store)
        got = rows(store, "src_file LIKE '%latin.json'", ["process_name"])
        ids = [r["event_uid"].split(":")[1] for r in rows(store, "src_file LIKE '%wide.json'", ["event_uid"])]
    assert ledger["wide.json"]["format"] == "winlogbeat_raw" and ledger["wide.json"]["normalized"] == 2
    assert ids == ["1", "3"]
    # the undecodable byte is replaced, the record is kept
    assert ledger["latin.json"]["normalized"] == 2 and ledger["latin.json"]["errors"] == 0
    assert {r["process_name"] for r in got} == {"caf\ufffd.exe", "p2.exe"}


def test_broken_gzip_is_one_reported_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Content that starts with the gzip magic is read as gzip; cut short, it is reported, not fatal."""
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(gzip.compress((DATA / "winlogbeat_raw.ndjson").read_bytes())[:40])
    magic = tmp_path / "magic.json"
    magic.write_bytes(b"\x1f\x8b")
    with ingested(DATA / "winlogbeat_raw.ndjson", cut, magic) as (store, _s, _p):
        ledger = ledger_by_name(store)
    assert ledger["winlogbeat_raw.ndjson"]["normalized"] > 0  # the other files do not stop it
    for name in ("cut.ndjson.gz", "magic.json"):
        assert ledger[name]["status"] != "ok" and ledger[name]["normalized"] == 0, ledger[name]
    err = capsys.readouterr().err
    assert "cut.ndjson.gz" in err and "magic.json" in err

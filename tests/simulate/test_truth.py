"""Expected findings and rules follow from a job's data."""

from __future__ import annotations

from cabhunt.simulate.scenarios import DIANTZ, FS, Job, Source, is_ip_literal
from cabhunt.simulate.truth import expected_findings, expected_rules, possible_findings


def _job(**kw: object) -> Job:
    base: dict[str, object] = {"name": "t", "kind": "attack", "verdict": "malicious", "description": "", "target": "ws"}
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def test_webdav_ip_literal_nonstandard_port() -> None:
    job = _job(maker="diantz", image=DIANTZ, sources=[Source("webdav", "185.62.190.41", "185.62.190.41", 8080,
                                                             False, "", "/share/p.dll")],
               cab="C:\\Users\\Public\\p.cab")
    f = expected_findings(job, dns_used=False)
    for fid in ("source.webdav", "source.ip_literal", "source.external", "source.nonstandard_port",
                "net.nonstandard_port", "net.ip_literal", "webdav.client_activity", "proxy.corroborated",
                "cabinet.user_writable", "cab.executable_member"):
        assert fid in f
    assert "dns.corroborated" not in f and "source.smb" not in f
    assert expected_rules(job) == ["diantz_download_cab"]
    assert "fleet.rare_destination" in possible_findings(job, dns_used=False)


def test_local_packaging_has_no_source_findings() -> None:
    job = _job(kind="benign", verdict="benign", sources=[Source("local", path="C:\\build\\x64\\a.sys")],
               cab="C:\\build\\disk1\\a.cab", ddf=("C:\\build\\a.ddf", ""))
    f = expected_findings(job, dns_used=False)
    assert f == ["ddf.referenced", "cab.executable_member"]
    assert expected_rules(job) == []


def test_renamed_ads_smb_fileserver() -> None:
    job = _job(image="C:\\Users\\Public\\svc.exe", original="MAKECAB.EXE", parent="mshta", own_conn=True,
               sources=[Source("smb", FS, "10.20.0.10", 445, False, "public", "tool.exe")],
               cab="C:\\Users\\Public\\notes.txt:payload.cab")
    f = expected_findings(job, dns_used=True)
    for fid in ("image.renamed", "image.unexpected_path", "parent.suspicious", "source.smb", "cabinet.ads",
                "logon.type3", "dns.corroborated"):
        assert fid in f
    assert "source.external" not in f
    assert expected_rules(job) == ["makecab_download_cab", "makecab_network"]


def test_ip_literal_forms() -> None:
    assert is_ip_literal("10.20.1.5") and is_ip_literal("fd00-20--50.ipv6-literal.net")
    assert not is_ip_literal("fs01.corp.example.com") and not is_ip_literal("1.2.3")

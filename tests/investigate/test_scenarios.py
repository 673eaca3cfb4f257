"""Playbook scenarios end to end through ``investigate``: verdicts and finding ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.model import FINDING_IDS, Alert
from tests.investigate import scenarios


def run(case: scenarios.Case, **kw: object) -> Alert:
    ctx = InvestigationContext(store=case.store, **kw)  # type: ignore[arg-type]
    return investigate([case.alert], ctx)[0]


def ids(alert: Alert) -> set[str]:
    return set(alert.finding_ids())


def score_is_sum_of_findings(alert: Alert) -> None:
    assert alert.score == min(100, sum(f.weight for f in alert.findings))
    assert all(f.id in FINDING_IDS for f in alert.findings)
    assert all(f.evidence for f in alert.findings), [f.id for f in alert.findings if not f.evidence]


def test_webdav_chain_with_extraction_and_execution() -> None:
    a = run(scenarios.webdav_chain())
    assert a.verdict == "malicious"
    assert {"source.webdav", "parent.suspicious", "webdav.client_activity", "dns.corroborated", "net.external",
            "followon.extraction", "followon.execution", "followon.persistence", "dns.new_domain",
            "fleet.rare_destination", "cabinet.user_writable"} <= ids(a)
    assert "image.unexpected_path" not in ids(a)
    parent = next(f for f in a.findings if f.id == "parent.suspicious")
    assert "winword.exe" in parent.title  # the Office ancestor outranks the cmd.exe in between
    kinds = {r.kind for r in a.related}
    assert {"dns", "network", "tls", "file", "process", "registry"} <= kinds
    acts = {(x.kind, x.target.split()[0]) for x in a.actions}
    assert ("isolate_host", "WS01") in acts
    assert any(x.kind == "block_destination" and "files.evil-cdn.net" in x.target for x in a.actions)
    assert any(x.kind == "quarantine_file" and "update.exe" in x.target and "sha256=" in x.target for x in a.actions)
    assert any(x.kind == "disable_webclient" for x in a.actions)
    assert any(x.kind == "terminate_process" and "pid=3500" in x.target for x in a.actions)
    assert "followon.execution" in a.why or "followon.persistence" in a.why
    score_is_sum_of_findings(a)


def test_smb_raw_ip_with_system_to_445() -> None:
    a = run(scenarios.smb_raw_ip())
    assert a.verdict == "malicious"
    assert {"source.smb", "source.ip_literal", "net.corroborated", "net.ip_literal", "net.external",
            "parent.suspicious"} <= ids(a)
    net = next(f for f in a.findings if f.id == "net.corroborated")
    assert any("System (PID 4)" in e for e in net.evidence)
    assert any(r.kind == "network" and "198.51.100.7:445" in r.summary for r in a.related)
    assert "followon.execution" not in ids(a)
    assert not any(x.kind == "isolate_host" for x in a.actions)  # no execution seen
    score_is_sum_of_findings(a)


def test_internal_network_connection_is_corroborated_but_only_suspicious() -> None:
    a = run(scenarios.internal_network())
    assert a.verdict == "suspicious"
    assert {"net.corroborated", "logon.type3", "net.share_mapped", "dns.corroborated", "fleet.rare_process"} <= ids(a)
    assert "net.external" not in ids(a) and "fleet.rare_destination" not in ids(a)
    assert not any(x.kind == "block_destination" for x in a.actions)  # internal share, not malicious
    assert any(r.kind == "share" for r in a.related)


def test_renamed_copy() -> None:
    a = run(scenarios.renamed_copy())
    assert {"image.renamed", "image.unexpected_path", "cabinet.odd_name"} <= ids(a)
    assert a.verdict == "malicious"
    assert any(x.kind == "app_control" and "cabtool.exe" in x.reason for x in a.actions)


def test_build_server_packaging_is_benign() -> None:
    a = run(scenarios.build_server())
    assert a.verdict == "benign"
    assert "parent.suspicious" not in ids(a)  # cmd.exe under MSBuild is the build's own tooling
    assert a.extra["lineage"]["expected_parent"]["name"] == "msbuild.exe"
    assert [x.kind for x in a.actions] == ["review_change"]


def test_cbs_rotation_is_benign() -> None:
    a = run(scenarios.cbs_rotation())
    assert a.verdict == "benign"
    assert a.score < 25
    assert "cabinet.odd_name" not in ids(a)
    assert a.extra["lineage"]["expected_parent"]["why"] == "Windows servicing"


def test_remote_ddf_without_content_says_what_is_unknown() -> None:
    a = run(scenarios.remote_ddf())
    assert {"ddf.remote", "ddf.referenced"} <= ids(a)
    ref = next(f for f in a.findings if f.id == "ddf.referenced")
    assert any("unknown" in e for e in ref.evidence)


def test_remote_ddf_with_artifact_reveals_remote_sources(tmp_path: Path) -> None:
    pytest.importorskip("cabhunt.windows", reason="DDF interpretation needs cabhunt.windows")
    folder = tmp_path / "WS03" / "UNC" / "fs01" / "PKGS"
    folder.mkdir(parents=True)
    (folder / "Stage.DDF").write_text(scenarios.REMOTE_DDF_TEXT, encoding="ascii")
    a = run(scenarios.remote_ddf(), artifacts=tmp_path)
    assert {"ddf.remote", "ddf.remote_source", "ddf.bulk_sources", "source.smb", "source.ip_literal"} <= ids(a)
    ref = next(f for f in a.findings if f.id == "ddf.referenced")
    assert not any("unknown" in e for e in ref.evidence)
    assert len([s for s in a.sources if s.host == "203.0.113.9"]) == 12
    assert a.cabinets and a.cabinets[0].path.lower().endswith("stage.cab")
    loaded = a.extra["ddf_loaded"]
    assert any(v["artifact"].endswith("Stage.DDF") for v in loaded.values())
    assert a.verdict == "malicious"


def test_reinvestigation_is_idempotent() -> None:
    case = scenarios.smb_raw_ip()
    ctx = InvestigationContext(store=case.store)
    first = investigate([case.alert], ctx)[0].to_dict()
    again = investigate([Alert.from_dict(first)], InvestigationContext(store=case.store))[0].to_dict()
    for d in (first, again):
        d["cabhunt"]["extra"].pop("timings_ms")
    assert again == first


def test_a_failing_step_is_recorded_and_others_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from cabhunt.investigate import fleet

    def boom(*_: object) -> list[object]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(fleet, "run", boom)
    a = run(scenarios.smb_raw_ip())
    assert "disk on fire" in a.extra["steps"]["fleet"]
    assert "net.corroborated" in ids(a)


def test_detection_parent_finding_is_retracted_under_build_tooling() -> None:
    from cabhunt.investigate.scoring import finding

    case = scenarios.build_server()
    case.alert.add(finding("parent.suspicious", "input_semantics", "Started by cmd.exe", ["cmd.exe"]))
    a = run(case)
    assert a.verdict == "benign" and "parent.suspicious" not in ids(a)
    assert a.extra["retracted"][0]["id"] == "parent.suspicious"
    assert "msbuild.exe" in a.extra["retracted"][0]["why"]


def test_reinvestigation_drops_findings_whose_reason_went_away(tmp_path: Path) -> None:
    case = scenarios.approved_share()
    allow = tmp_path / "a.yaml"
    allow.write_text("entries:\n  - {id: A, reason: r, owner: o, match: {host: WS02}}\n", encoding="utf-8")
    first = run(case, allowlist=allow)
    assert first.verdict == "suppressed"
    again = investigate([Alert.from_dict(first.to_dict())], InvestigationContext(store=case.store))[0]
    assert again.verdict == "suspicious" and "allowlist.match" not in ids(again)

"""End-to-end checks of a simulated run: scenarios, linkage, files, artifacts, manifest, determinism."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from cabhunt.commands.simulate import register
from cabhunt.model import FINDING_IDS
from cabhunt.simulate import simulate
from tests.simulate.logread import host_records, norm_guid, open_text, utc_ms

VERDICTS = {"malicious", "suspicious", "benign", "suppressed"}
MAKERS = ("makecab.exe", "diantz.exe")


def _by_guid(recs: list[tuple[str, int, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {norm_guid(d["ProcessGuid"]): d for _, eid, d in recs if eid == 1 and "ProcessGuid" in d}


def test_manifest_schema(run: Path, manifest: dict[str, Any]) -> None:
    assert manifest["seed"] == 7 and manifest["version"] == 1
    assert {h["role"] for h in manifest["hosts"]} == {"workstation", "fileserver", "buildserver", "wsus"}
    assert len(manifest["hosts"]) == 20
    names = {s["name"] for s in manifest["scenarios"]}
    assert len(names) == len(manifest["scenarios"]) >= 18
    for s in manifest["scenarios"]:
        assert s["kind"] in ("attack", "benign")
        assert s["expected_verdict"] in VERDICTS
        assert set(s["expected_findings"]) <= FINDING_IDS, set(s["expected_findings"]) - FINDING_IDS
        assert set(s["possible_findings"]) <= FINDING_IDS
        assert not set(s["possible_findings"]) & set(s["expected_findings"])
        assert s["process_entity_id"] and s["command_line"]
        assert len(s["expected_rule_ids"]) <= len(s["expected_rules"])
        assert s["source_visibility"] in (None, "command_line", "ddf", "drive_map")
        assert (s["source_visibility"] is None) == all(src["kind"] == "local" for src in s["sources"])
        assert all(r.startswith("CNC-E-2726320-") for r in s["expected_rule_ids"])
        datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00"))
        if s["expected_verdict"] == "suppressed":
            entry = s["allowlist_entry"]
            assert entry and {"id", "reason", "owner", "match"} <= set(entry)
    kinds = {s["kind"] for s in manifest["scenarios"]}
    assert kinds == {"attack", "benign"}
    assert manifest["total_records"] == sum(f["records"] for f in manifest["files"])
    assert manifest["total_records"] == pytest.approx(20_000, rel=0.35)


def test_required_scenario_shapes(manifest: dict[str, Any]) -> None:
    cmds = [s["command_line"] for s in manifest["scenarios"]]
    joined = "\n".join(cmds)
    for needle in ("@SSL\\DavWWWRoot", "@8080\\", "@SSL@443\\", "/F ", "-f ", "/D SourceDir=\\\\",
                   "notes.txt:payload.cab", "X:\\tool.exe", "CbsPersist_", "\\\\?\\UNC\\", " //files-eu.",
                   ".ipv6-literal.net\\"):
        assert needle in joined, needle
    renamed = [s for s in manifest["scenarios"] if "image.renamed" in s["expected_findings"]]
    assert {s["original_file_name"] for s in renamed} == {"MAKECAB.EXE", "DIANTZ.EXE"}
    cbs = next(s for s in manifest["scenarios"] if s["name"] == "cbs_log_rotation")
    assert cbs["parent_image"].endswith("TiWorker.exe") and cbs["working_directory"] == "C:\\Windows\\system32\\"


def test_campaign_spreads_one_payload(manifest: dict[str, Any]) -> None:
    camp = [s for s in manifest["scenarios"] if s["campaign"] == "cdn-sync"]
    assert len({s["host"] for s in camp}) == 3
    assert len({s["sources"][0]["sha256"] for s in camp}) == 1
    assert all("fleet.spread" in s["possible_findings"] for s in camp)


def test_build_server_attack_has_4688(run: Path, manifest: dict[str, Any]) -> None:
    s = next(x for x in manifest["scenarios"] if x["name"] == "build_server_webdav_4688")
    recs = host_records(run, s["host"], s["log_format"])
    hits = [d for ch, eid, d in recs if ch == "Security" and eid == 4688 and d["CommandLine"] == s["command_line"]]
    assert len(hits) == 1 and int(hits[0]["NewProcessId"], 16) == s["pid"]


def test_allowlist_file(run: Path, manifest: dict[str, Any]) -> None:
    doc = yaml.safe_load((run / "allowlist.yaml").read_text())
    entries = {e["id"]: e for e in doc["entries"]}
    start = datetime.fromisoformat(manifest["start"])
    by_name = {s["name"]: s for s in manifest["scenarios"]}
    valid = by_name["allowlisted_swdist_share"]
    expired = by_name["expired_allowlist_legacy_pkg"]
    for s in (valid, expired):
        e = entries[s["allowlist_entry"]["id"]]
        assert e["reason"] and e["owner"] and e["match"]
        assert e["match"]["share_prefix"].lower() in s["command_line"].lower()
    ts = datetime.fromisoformat(expired["timestamp"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(entries[expired["allowlist_entry"]["id"]]["valid_until"]) < ts
    assert datetime.fromisoformat(entries[valid["allowlist_entry"]["id"]]["valid_until"]) > start
    assert expired["expected_verdict"] != "suppressed" and valid["expected_verdict"] == "suppressed"


def test_scenario_linkage(run: Path, manifest: dict[str, Any]) -> None:
    hosts = {h["name"]: h for h in manifest["hosts"]}
    cache: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for s in manifest["scenarios"]:
        recs = cache.setdefault(s["host"], host_records(run, s["host"], s["log_format"]))
        procs = _by_guid(recs)
        me = procs.get(norm_guid(s["process_entity_id"]))
        assert me is not None, s["name"]
        assert me["CommandLine"] == s["command_line"]
        parent = procs.get(norm_guid(me["ParentProcessGuid"]))
        assert parent is not None, f"{s['name']}: parent not logged"
        assert utc_ms(parent) <= utc_ms(me)
        assert norm_guid(s["parent_entity_id"]) == norm_guid(me["ParentProcessGuid"])
        t0 = utc_ms(me)
        window = [(eid, d) for _, eid, d in recs if 0 <= utc_ms(d) - t0 <= 120_000]
        cab_events = [d for eid, d in window if eid in (11, 15)
                      and d.get("TargetFilename", "").lower().startswith(s["cabinet"]["path"].lower())]
        assert cab_events, f"{s['name']}: no file event for the cabinet"
        kinds = {src["kind"] for src in s["sources"]}
        if "smb" in kinds:
            smb = [d for _, eid, d in recs if eid == 3 and int(d["DestinationPort"]) == 445
                   and -10_000 <= utc_ms(d) - t0 <= 120_000]
            assert smb, s["name"]
            if "makecab_network" not in s["expected_rules"] and "diantz_network" not in s["expected_rules"]:
                assert all(d["Image"] == "System" for d in smb)
        if "webdav" in kinds:
            images = {d.get("Image", "") for eid, d in window if eid in (1, 3)}
            assert "C:\\Windows\\System32\\svchost.exe" in images and "C:\\Windows\\System32\\rundll32.exe" in images
        if any(src.get("host", "") and src["host"].startswith("FS01") for src in s["sources"]):
            fs_recs = cache.setdefault("FS01", host_records(run, "FS01", hosts["FS01"]["log_format"]))
            ip = s["host_ip"]
            assert any(eid == 4624 and d["LogonType"] in ("3", 3) and d["IpAddress"] == ip for _, eid, d in fs_recs)
            share = next(src["path"] for src in s["sources"] if src["kind"] == "smb")
            assert any(eid == 5145 and d["IpAddress"] == ip and d["RelativeTargetName"] == share
                       for _, eid, d in fs_recs), s["name"]


def test_workstations_rest_at_weekends(manifest: dict[str, Any]) -> None:
    ws = {h["name"] for h in manifest["hosts"] if h["role"] == "workstation"}
    for f in manifest["files"]:
        if f["host"] in ws:
            day = datetime.strptime(Path(f["path"]).name.rsplit("_", 1)[-1].split(".")[0], "%Y-%m-%d")
            assert day.weekday() < 5, f["path"]
    for s in manifest["scenarios"]:
        if s["host"] in ws:
            assert datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00")).weekday() < 5
    servers = [f for f in manifest["files"] if f["host"] == "FS01"]
    assert len({Path(f["path"]).name.rsplit("_", 1)[-1] for f in servers}) == manifest["days"]


def test_follow_on_activity_present(run: Path, manifest: dict[str, Any]) -> None:
    cmds: list[str] = []
    reg: list[str] = []
    for h in {(s["host"], s["log_format"]) for s in manifest["scenarios"] if s["kind"] == "attack"}:
        for _, eid, d in host_records(run, *h):
            if eid == 1:
                cmds.append(d["CommandLine"])
            elif eid == 13:
                reg.append(d.get("TargetObject", ""))
    text = "\n".join(cmds)
    for needle in ("expand.exe -F:* ", "extrac32.exe ", "mshta.exe\" \"", "rundll32.exe C:\\",
                   "-ExecutionPolicy Bypass -File", "schtasks /Create", "sc.exe create", "davclnt.dll,DavSetCookie",
                   "net use X: "):
        assert needle in text, needle
    assert any(r.endswith("\\CurrentVersion\\Run\\Updater") for r in reg)
    assert any(r.endswith("\\Services\\UpdSvc\\ImagePath") for r in reg)


def test_children_after_parents_everywhere(run: Path, manifest: dict[str, Any]) -> None:
    for h in manifest["hosts"][:6]:
        recs = host_records(run, h["name"], h["log_format"])
        procs = _by_guid(recs)
        for d in procs.values():
            p = procs.get(norm_guid(d["ParentProcessGuid"]))
            if p is not None:
                assert utc_ms(p) <= utc_ms(d)


def test_network_sensor_files(run: Path, manifest: dict[str, Any]) -> None:
    fmts = {f["format"] for f in manifest["files"]}
    assert {"winlogbeat", "ecs", "flat", "evtxjson", "xml", "zeek-tsv", "zeek-json", "squid"} <= fmts
    tsv = [f for f in manifest["files"] if f["format"] == "zeek-tsv"]
    paths = {Path(f["path"]).name for f in tsv}
    assert {"conn.log.gz", "dns.log.gz", "smb_mapping.log.gz", "smb_files.log.gz"} <= paths
    for f in tsv[:10]:
        lines = list(open_text(run / f["path"]))
        assert lines[0] == "#separator \\x09\n"
        fields = next(x for x in lines if x.startswith("#fields")).rstrip("\n").split("\t")[1:]
        types = next(x for x in lines if x.startswith("#types")).rstrip("\n").split("\t")[1:]
        assert len(fields) == len(types)
        for row in (x for x in lines if not x.startswith("#")):
            assert len(row.rstrip("\n").split("\t")) == len(fields)
    webdav_ua = False
    for f in manifest["files"]:
        if f["format"] == "zeek-json" and Path(f["path"]).name.startswith("http"):
            for line in open_text(run / f["path"]):
                webdav_ua |= json.loads(line).get("user_agent") == "Microsoft-WebDAV-MiniRedir/10.0.19045"
    assert webdav_ua
    squid_methods = set()
    for f in (f for f in manifest["files"] if f["format"] == "squid"):
        for line in open_text(run / f["path"]):
            parts = line.split()
            assert len(parts) == 10 and "/" in parts[3]
            squid_methods.add(parts[5])
    assert {"PROPFIND", "GET", "CONNECT"} <= squid_methods


def test_every_gzip_is_valid_and_counts_match(run: Path, manifest: dict[str, Any]) -> None:
    for f in manifest["files"]:
        path = run / f["path"]
        assert path.exists()
        data = path.read_bytes()
        if f["compressed"]:
            data = gzip.decompress(data)
        if f["format"] == "xml":
            assert data.count(b"<Event xmlns=") == data.count(b"</Event>") == f["records"], f["path"]
            continue
        lines = [x for x in io.BytesIO(data).read().split(b"\n") if x and not x.startswith(b"#")]
        assert len(lines) == f["records"], f["path"]


def test_artifacts(run: Path, manifest: dict[str, Any]) -> None:
    import cabarchive

    kinds = {a["kind"] for a in manifest["artifacts"]}
    assert kinds == {"cab", "ddf"}
    for a in manifest["artifacts"]:
        path = run / a["path"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == a["sha256"]
        parts = Path(a["path"]).parts
        assert parts[0] == "artifacts" and parts[1] == a["host"] and parts[2] == a["windows_path"][0]
        if a["kind"] == "cab":
            arc = cabarchive.CabArchive(data)
            assert len(arc) >= 1
    by_name = {s["name"]: s for s in manifest["scenarios"]}
    arc = cabarchive.CabArchive((run / by_name["webdav_ssl_makecab"]["cabinet"]["artifact"]).read_bytes())
    payload = next(iter(arc.values())).buf
    assert payload[:2] == b"MZ" and len(set(payload[512:4608])) > 200
    ddf = by_name["ddf_remote_sourcedir"]
    cab = cabarchive.CabArchive((run / ddf["cabinet"]["artifact"]).read_bytes())
    texts = b"".join(f.buf for f in cab.values())
    assert b"Password=Winter2026!" in texts and b"$ErrorActionPreference" in texts
    ddf_art = next(a for a in manifest["artifacts"] if a["windows_path"] == ddf["directive_file"])
    assert b"SourceDir=\\\\" in (run / ddf_art["path"]).read_bytes()
    benign = cabarchive.CabArchive((run / by_name["build_driver_packaging"]["cabinet"]["artifact"]).read_bytes())
    sys_member = next(f.buf for name, f in benign.items() if name.endswith(".sys"))
    assert sys_member[:2] == b"MZ" and _entropy(sys_member[512:]) < 6.0 < _entropy(payload[512:])
    ads = by_name["ads_output"]["cabinet"]["artifact"]
    assert ads.endswith("notes.txt:payload.cab") and (run / ads).exists()


def _entropy(data: bytes) -> float:
    import math
    from collections import Counter

    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def test_determinism(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    simulate(a, hosts=6, events=3000, seed=11, days=4)
    simulate(b, hosts=6, events=3000, seed=11, days=4)
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert fa == fb
    for rel in fa:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = tmp_path / "c"
    simulate(c, hosts=6, events=3000, seed=12, days=4)
    assert (c / "manifest.json").read_bytes() != (a / "manifest.json").read_bytes()


def test_large_runs_are_compressed(tmp_path: Path) -> None:
    m = simulate(tmp_path, hosts=5, events=200_000, seed=3, days=1)
    assert all(f.compressed for f in m.files)
    assert m.total_records == pytest.approx(200_000, rel=0.2)


def test_cli_summary_and_usage(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """cabhunt"""

    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "o"), "--hosts", "5", "--events", "2000",
                              "--seed", "2", "--days", "3"])
    assert res.exit_code == 0, res.output
    assert "records" in res.output and "scenarios" in res.output
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["seed"] == 2
    bad = runner.invoke(app, ["simulate", "--out", str(tmp_path / "p"), "--hosts", "2"])
    assert bad.exit_code == 2
    (tmp_path / "file").write_text("x")
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "file")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "file" / "sub"), "--events", "10"])
    assert res.exit_code == 1


def test_rerun_replaces_previous_output(tmp_path: Path) -> None:
    simulate(tmp_path, hosts=8, events=800, seed=1, days=3)
    simulate(tmp_path, hosts=5, events=300, seed=1, days=2)
    hosts = {p.name for p in (tmp_path / "logs").iterdir()}
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert hosts == {h["name"] for h in m["hosts"]}
    assert sum(1 for p in (tmp_path / "logs").rglob("*") if p.is_file()) == sum(
        1 for f in m["files"] if f["host"] is not None)


def test_smallest_fleet_keeps_every_scenario_consistent(tmp_path: Path) -> None:
    m = simulate(tmp_path, hosts=3, events=500, seed=5, days=2)
    assert len(m.hosts) == 5 and len(m.scenarios) >= 20
    for s in m.scenarios:
        art = s["cabinet"]["artifact"]
        if art is not None:
            assert hashlib.sha256((tmp_path / art).read_bytes()).hexdigest() == s["cabinet"]["sha256"]
    for a in m.artifacts:
        assert hashlib.sha256((tmp_path / str(a["path"])).read_bytes()).hexdigest() == a["sha256"]

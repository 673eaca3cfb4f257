"""Turn a scenario job into the telemetry real Windows produces, plus artifacts and its manifest record."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from cabhunt.simulate import background, sysmon
from cabhunt.simulate.activity import SYSTEM32, Activity
from cabhunt.simulate.artifacts import ArtifactStore, build_cab, cbs_log, member_content, sha256
from cabhunt.simulate.entities import Proc, iso_ms
from cabhunt.simulate.scenarios import FS, Job, Source, is_ip_literal, user_dir
from cabhunt.simulate.truth import (
    RULE_IDS,
    expected_findings,
    expected_rules,
    possible_findings,
    source_visibility,
)
from cabhunt.simulate.writers.common import logged_guid


def _parent_proc(act: Activity, job: Job, ts: int) -> Proc:
    st = act.state
    h = act.host
    u = user_dir(h)
    ex = st.explorer
    if job.parent == "build" or job.parent == "iexpress":
        assert st.services is not None
        agent = act.spawn(st.services, "C:\\BuildAgent\\bin\\Agent.Listener.exe",
                          '"C:\\BuildAgent\\bin\\Agent.Listener.exe" run --startuptype service', ts - 9000)
        if job.parent == "iexpress":
            return act.spawn(agent, f"{SYSTEM32}\\iexpress.exe", "iexpress.exe /N /Q C:\\build\\Installer\\setup.sed",
                             ts - 4000, cwd="C:\\build\\Installer\\")
        return act.spawn(agent, f"{SYSTEM32}\\cmd.exe", 'C:\\Windows\\system32\\cmd.exe /d /c "C:\\build\\pack.cmd"',
                         ts - 4000, cwd="C:\\build\\")
    if job.parent == "task":
        sched = st.svchosts[2]
        return act.spawn(sched, f"{SYSTEM32}\\cmd.exe",
                         'C:\\Windows\\system32\\cmd.exe /c "C:\\ProgramData\\Inventory\\collect.cmd"', ts - 3000,
                         cwd=f"{SYSTEM32}\\")
    assert ex is not None
    if job.parent == "powershell":
        return act.spawn(ex, f"{SYSTEM32}\\WindowsPowerShell\\v1.0\\powershell.exe",
                         '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoProfile -WindowStyle Hidden',
                         ts - 6000, cwd=f"{u}\\")
    if job.parent == "wscript":
        return act.spawn(ex, f"{SYSTEM32}\\wscript.exe",
                         f'"C:\\Windows\\System32\\WScript.exe" "{u}\\Downloads\\invoice_0311.js"', ts - 5000,
                         cwd=f"{u}\\Downloads\\")
    if job.parent == "mshta":
        return act.spawn(ex, f"{SYSTEM32}\\mshta.exe",
                         f'"C:\\Windows\\System32\\mshta.exe" "{u}\\Downloads\\viewer.hta" ', ts - 5000,
                         cwd=f"{u}\\Downloads\\")
    if job.parent == "winword":
        img = f"{background.OFFICE16}\\WINWORD.EXE"
        return act.spawn(ex, img, f'"{img}" /n "{u}\\Downloads\\Invoice-2026-0311.docm" /o ""', ts - 20000,
                         cwd=f"{u}\\Downloads\\")
    return act.spawn(ex, f"{SYSTEM32}\\cmd.exe", '"C:\\Windows\\system32\\cmd.exe" ', ts - 8000, cwd=f"{u}\\")


def run_job(act: Activity, job: Job, ts: int, store: ArtifactStore, rng: random.Random) -> dict[str, Any]:
    """Emit one scenario's events at ``ts`` on ``act``'s host; return its manifest record."""
    if job.parent == "tiworker":
        return _run_cbs(act, job, ts, store, rng)
    h = act.host
    parent = _parent_proc(act, job, ts)
    fmt = h.fmt
    u = user_dir(h)
    content_rng = random.Random(f"campaign:{job.campaign}") if job.campaign else rng
    for s in job.sources:
        name = s.path.rsplit("\\", 1)[-1].rsplit("/", 1)[-1]
        s.content = member_content(name, content_rng, "campaign" if job.campaign else h.name,
                                   benign=job.kind == "benign")
        s.size = len(s.content)
    if job.ddf:
        act.chunk.events.append(sysmon.file_create(ts - 1500, parent, job.ddf[0]))
        store.put(h.name, job.ddf[0], job.ddf[1].encode(), "ddf")
    if job.mapped:
        drive, srv, share = job.mapped
        net = act.spawn(parent, f"{SYSTEM32}\\net.exe", f"net use {drive} \\\\{srv}\\{share}", ts - 4000)
        act.spawn(net, f"{SYSTEM32}\\net1.exe", f"C:\\Windows\\system32\\net1 use {drive} \\\\{srv}\\{share}",
                  ts - 3980)
        fs = act.fleet.fileserver
        act.lookup(net, ts - 3900, srv.lower(), [fs.ip])
        act.smb_read(ts - 3800, fs, fs.ip, srv, share, "desktop.ini", 282)
    cwd = parent.cwd
    mk = act.spawn(parent, job.image, job.command, ts, cwd=cwd, original=job.original)
    t = ts + 150
    dns_used = False
    by_host: dict[tuple[str, int], list[Source]] = {}
    for s in job.sources:
        if s.kind != "local":
            by_host.setdefault((s.host, s.port), []).append(s)
    fs_host = act.fleet.fileserver
    for (host, port), group in by_host.items():
        first = group[0]
        if first.kind == "smb":
            if not is_ip_literal(host) and not job.mapped:
                act.lookup(mk, t, host.lower(), [first.ip])
                dns_used = True
            if job.own_conn:
                act.chunk.events.append(sysmon.net_connect(t + 40, mk, h.ip, act.port(), first.ip, 445,
                                                           dst_host="" if is_ip_literal(host) else host,
                                                           src_host=h.fqdn))
            server = fs_host if host == FS else None
            for s in group:
                t = act.smb_read(t + 60, server, s.ip, host, s.share, s.path, s.size)
        else:
            t = act.webdav(t + 60, host, first.ip, port, first.ssl, [(s.path, s.size) for s in group],
                           resolve=not is_ip_literal(host))
            dns_used = dns_used or not is_ip_literal(host)
            if job.own_conn:
                act.chunk.events.append(sysmon.net_connect(t, mk, h.ip, act.port(), first.ip, port, src_host=h.fqdn))
    when = datetime.fromtimestamp(ts / 1000, UTC)
    members = [(s.path.rsplit("\\", 1)[-1].rsplit("/", 1)[-1], s.content) for s in job.sources]
    cab_bytes = build_cab(members, when)
    t += 400
    if job.cab.count(":") > 1:
        act.chunk.events.append(sysmon.stream_hash(t, mk, job.cab, sysmon.sysmon_hashes(cab_bytes), "-"))
    else:
        act.chunk.events.append(sysmon.file_create(t, mk, job.cab))
        if job.zone_url:
            act.chunk.events.append(sysmon.stream_hash(
                t + 5, mk, job.cab + ":Zone.Identifier", sysmon.sysmon_hashes(cab_bytes),
                f"[ZoneTransfer]\r\nZoneId=3\r\nHostUrl={job.zone_url}\r\n"))
    cab_rec = store.put(h.name, job.cab, cab_bytes, "cab")
    cabinet: dict[str, Any] = {"path": job.cab, "sha256": cab_rec["sha256"], "artifact": cab_rec["path"]}
    store.refer(cab_rec, cabinet)
    _followons(act, job, parent, t + rng.randrange(20_000, 90_000), members, u)
    findings = expected_findings(job, dns_used)
    possible = possible_findings(job, dns_used)
    rules = expected_rules(job)
    rule_ids = sorted({RULE_IDS[r] for r in rules})
    return {
        "name": job.name, "kind": job.kind, "description": job.description, "host": h.name, "host_fqdn": h.fqdn,
        "host_ip": h.ip, "log_format": fmt, "timestamp": iso_ms(ts),
        "process_entity_id": logged_guid(fmt, mk.guid), "process_guid": mk.guid, "pid": mk.pid,
        "image": mk.image, "original_file_name": mk.pe.original_file_name, "command_line": mk.cmd,
        "working_directory": mk.cwd, "parent_image": parent.image, "parent_command_line": parent.cmd,
        "parent_entity_id": logged_guid(fmt, parent.guid), "user": mk.logon.user,
        "expected_verdict": job.verdict, "expected_findings": findings, "possible_findings": possible, "campaign": job.campaign,
        "expected_rules": rules, "expected_rule_ids": rule_ids, "source_visibility": source_visibility(job),
        "sources": [{"kind": s.kind, "host": s.host or None, "ip": s.ip or None,
                     "port": s.port if s.kind != "local" else None, "path": s.path, "sha256": sha256(s.content)}
                    for s in job.sources],
        "cabinet": cabinet,
        "directive_file": job.ddf[0] if job.ddf else None,
        "allowlist_entry": job.allowlist,
    }


def _followons(act: Activity, job: Job, shell: Proc, ts: int, members: list[tuple[str, bytes]], u: str) -> None:
    if not job.followon:
        return
    h = act.host
    cab = job.cab
    outdir = cab.rsplit("\\", 1)[0] + "\\" + cab.rsplit("\\", 1)[-1].split(".")[0]
    t = ts
    extracted = [f"{outdir}\\{n}" for n, _ in members]
    if "expand" in job.followon:
        ex = act.spawn(shell, f"{SYSTEM32}\\expand.exe", f"expand.exe -F:* {cab} {outdir}", t)
        for i, p in enumerate(extracted):
            act.chunk.events.append(sysmon.file_create(t + 200 + 30 * i, ex, p))
        t += 3000
    if "extrac32" in job.followon:
        outdir = cab.rsplit("\\", 1)[0]
        extracted = [f"{outdir}\\{n}" for n, _ in members]
        ex = act.spawn(shell, f"{SYSTEM32}\\extrac32.exe", f"extrac32.exe /Y /E /L {outdir} {cab}", t)
        for i, p in enumerate(extracted):
            act.chunk.events.append(sysmon.file_create(t + 200 + 30 * i, ex, p))
        t += 3000
    payload = next((p for p in extracted if p.lower().endswith((".exe", ".dll"))), extracted[0])
    script = next((p for p in extracted if p.lower().endswith(".ps1")), payload)
    runner: Proc | None = None
    if "exec_exe" in job.followon:
        runner = act.spawn(shell, payload, f'"{payload}" /silent', t, cwd=outdir + "\\")
    elif "exec_rundll32" in job.followon:
        runner = act.spawn(shell, f"{SYSTEM32}\\rundll32.exe", f"rundll32.exe {payload},DllRegisterServer", t)
    elif "exec_mshta" in job.followon:
        hta = next((p for p in extracted if p.lower().endswith(".hta")), payload)
        runner = act.spawn(shell, f"{SYSTEM32}\\mshta.exe", f'"C:\\Windows\\System32\\mshta.exe" "{hta}"', t)
    elif "exec_ps" in job.followon:
        runner = act.spawn(shell, f"{SYSTEM32}\\WindowsPowerShell\\v1.0\\powershell.exe",
                           f"powershell.exe -NoProfile -ExecutionPolicy Bypass -File {script}", t)
    if runner is not None:
        act.lookup(runner, t + 1500, "sync.cdn-update.net", ["91.215.85.17"])
        act.https(runner, t + 1600, "sync.cdn-update.net", "91.215.85.17", rb=4200)
        t += 5000
    target = payload
    if "schtasks" in job.followon:
        act.spawn(shell, f"{SYSTEM32}\\schtasks.exe",
                  f'schtasks /Create /SC ONLOGON /TN "OneDriveUpdate" /TR "{target}" /F', t)
    if "runkey" in job.followon:
        reg = act.spawn(shell, f"{SYSTEM32}\\reg.exe",
                        f'reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v Updater /t REG_SZ '
                        f'/d "rundll32.exe {target},DllRegisterServer" /f', t)
        act.chunk.events.append(sysmon.registry_set(
            t + 50, reg, f"HKU\\{h.user_sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
            f"rundll32.exe {target},DllRegisterServer"))
    if "service" in job.followon:
        act.spawn(shell, f"{SYSTEM32}\\sc.exe", f'sc.exe create UpdSvc binPath= "{target}" start= auto', t)
        st = act.state
        assert st.services is not None
        act.chunk.events.append(sysmon.registry_set(
            t + 80, st.services, "HKLM\\System\\CurrentControlSet\\Services\\UpdSvc\\ImagePath", target))


def _run_cbs(act: Activity, job: Job, ts: int, store: ArtifactStore, rng: random.Random) -> dict[str, Any]:
    cab, mk = background.cbs_rotation(act, ts)
    h = act.host
    when = datetime.fromtimestamp(ts / 1000, UTC)
    log_name = cab.rsplit("\\", 1)[-1][:-4] + ".log"
    cab_bytes = build_cab([(log_name, cbs_log(when, rng))], when)
    rec = store.put(h.name, cab, cab_bytes, "cab")
    cabinet: dict[str, Any] = {"path": cab, "sha256": rec["sha256"], "artifact": rec["path"]}
    store.refer(rec, cabinet)
    parent = mk.parent
    assert parent is not None
    return {
        "name": job.name, "kind": job.kind, "description": job.description, "host": h.name, "host_fqdn": h.fqdn,
        "host_ip": h.ip, "log_format": h.fmt, "timestamp": iso_ms(mk.start_ms),
        "process_entity_id": logged_guid(h.fmt, mk.guid), "process_guid": mk.guid, "pid": mk.pid,
        "image": mk.image, "original_file_name": mk.pe.original_file_name, "command_line": mk.cmd,
        "working_directory": mk.cwd, "parent_image": parent.image, "parent_command_line": parent.cmd,
        "parent_entity_id": logged_guid(h.fmt, parent.guid), "user": mk.logon.user,
        "expected_verdict": job.verdict, "expected_findings": [], "possible_findings": [], "campaign": None, "expected_rules": [], "expected_rule_ids": [], "source_visibility": None,
        "sources": [{"kind": "local", "host": None, "ip": None, "port": None,
                     "path": cab[:-4] + ".log", "sha256": None}],
        "cabinet": cabinet,
        "directive_file": None, "allowlist_entry": None,
    }

"""Step 3 - process and lineage: image path and name, signer, hash prevalence, ancestor chain.

The chain is walked by repeated lookups on ``process_entity_id`` (bounded depth), falling back to
host + parent PID before the child's start for Security 4688 data without GUIDs; no recursive SQL,
so the same code runs on any Ibis engine.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cabhunt import query
from cabhunt.investigate.context import (
    MAKERS,
    PROCESS_CODES,
    Event,
    alert_time,
    as_int,
    basename,
    host_matches,
    iso,
    lower,
)
from cabhunt.investigate.scoring import finding

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "lineage"
SYSTEM_DIRS = ("c:\\windows\\system32\\", "c:\\windows\\syswow64\\")

# Parents that make an ingress-transfer reading more likely (shells, script hosts, Office, LOLBins).
SUSPICIOUS_PARENTS: dict[str, str] = {
    **dict.fromkeys(("powershell.exe", "pwsh.exe", "powershell_ise.exe"), "PowerShell"),
    "cmd.exe": "command shell",
    **dict.fromkeys(("wscript.exe", "cscript.exe"), "Windows Script Host"),
    "mshta.exe": "HTML application host",
    **dict.fromkeys(("winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe", "mspub.exe",
                     "onenote.exe", "visio.exe"), "Office application"),
    **dict.fromkeys(("rundll32.exe", "regsvr32.exe", "msiexec.exe", "wmic.exe", "certutil.exe", "bitsadmin.exe",
                     "forfiles.exe", "pcalua.exe", "schtasks.exe", "at.exe", "hh.exe", "cmstp.exe",
                     "installutil.exe", "regasm.exe", "regsvcs.exe", "odbcconf.exe", "wmiprvse.exe"),
                    "LOLBin"),
    **dict.fromkeys(("python.exe", "pythonw.exe", "py.exe", "node.exe", "java.exe", "javaw.exe"), "interpreter"),
}

# Parents that package cabinets as part of normal work (servicing, build, setup).
EXPECTED_PARENTS: dict[str, str] = {
    **dict.fromkeys(("iexpress.exe", "wextract.exe"), "IExpress packaging"),
    **dict.fromkeys(("tiworker.exe", "trustedinstaller.exe", "wusa.exe", "dism.exe", "dismhost.exe"),
                    "Windows servicing"),
    **dict.fromkeys(("msbuild.exe", "devenv.exe", "nmake.exe", "cmake.exe", "ninja.exe", "cl.exe", "link.exe",
                     "signtool.exe", "inf2cat.exe", "dotnet.exe", "vstest.console.exe", "wix.exe", "candle.exe",
                     "light.exe", "heat.exe", "makeappx.exe", "stampinf.exe", "jenkins-agent.exe",
                     "agent.listener.exe", "agent.worker.exe", "runner.worker.exe", "buildkite-agent.exe",
                     "tfsbuildservicehost.exe", "gitlab-runner.exe"), "build tooling"),
    **dict.fromkeys(("setup.exe", "install.exe", "ccmexec.exe", "ccmsetup.exe", "intunemanagementextension.exe"),
                    "setup / deployment"),
}
PRIORITY = ["Office application", "HTML application host", "Windows Script Host", "PowerShell", "LOLBin",
            "interpreter", "command shell"]
ORIGINAL_NAMES = {"makecab.exe", "diantz.exe"}


def _row_summary(ev: Event) -> dict[str, Any]:
    return {
        "entity_id": ev.get("process_entity_id"),
        "pid": ev.get("process_pid"),
        "executable": ev.get("process_executable"),
        "name": lower(ev.get("process_name") or basename(ev.get("process_executable"))),
        "command_line": ev.get("process_command_line"),
        "user": ev.get("user_name"),
        "@timestamp": iso(ev.get("ts")),
        "event_uid": ev.get("event_uid"),
        "parent_entity_id": ev.get("process_parent_entity_id"),
        "parent_pid": ev.get("process_parent_pid"),
        "parent_executable": ev.get("process_parent_executable"),
    }


def ancestors(alert: Alert, ctx: InvestigationContext) -> list[dict[str, Any]]:
    """Parent, grandparent, ... (nearest first), at most ``ctx.lineage_depth`` steps."""
    t = ctx.table()
    chain: list[dict[str, Any]] = []
    parent = alert.process.get("parent") or {}
    want_guid = parent.get("entity_id")
    want_pid = as_int(parent.get("pid"))
    before = alert_time(alert)
    seen: set[str] = set()
    codes = list(PROCESS_CODES)
    index = ctx.processes(alert.host, before)
    for _ in range(ctx.lineage_depth):
        row: Event | None = None
        if want_guid and want_guid not in seen:
            seen.add(want_guid)
            row = index.by_guid.get(str(want_guid)) if index is not None else None
            if row is None and (index is None or not index.complete):
                rows = ctx.rows(t.filter((t.process_entity_id == want_guid) & t.event_code.isin(codes)), limit=1)
                row = rows[0] if rows else None
        if row is None and want_pid is not None and alert.host:
            lo = before - timedelta(days=7)
            if index is not None and index.complete:
                row = index.latest_before(want_pid, before, lo)
            else:
                rows = ctx.rows(
                    t.filter(ctx.host_is(t.host_name, alert.host) & (t.process_pid == want_pid)
                             & t.event_code.isin(codes) & (t.ts <= before) & (t.ts >= lo)),
                    limit=None,
                )
                row = rows[-1] if rows else None
        if row is None:
            if not chain and (parent.get("executable") or want_pid is not None):
                chain.append({"entity_id": want_guid, "pid": want_pid, "executable": parent.get("executable"),
                              "name": lower(basename(parent.get("executable"))), "command_line":
                              parent.get("command_line"), "event_uid": None, "@timestamp": None,
                              "parent_executable": None})
            break
        summary = _row_summary(row)
        chain.append(summary)
        want_guid, want_pid = row.get("process_parent_entity_id"), as_int(row.get("process_parent_pid"))
        before = row.get("ts") or before
        if not want_guid and want_pid is None:
            if row.get("process_parent_executable"):
                chain.append({"entity_id": None, "pid": None, "executable": row.get("process_parent_executable"),
                              "name": lower(basename(row.get("process_parent_executable"))), "command_line":
                              row.get("process_parent_command_line"), "event_uid": None, "@timestamp": None,
                              "parent_executable": None})
            break
    return chain


def _signer(alert: Alert, ctx: InvestigationContext, exe: str) -> dict[str, Any] | None:
    """Sysmon EID 7 of the image itself, loaded into its own process (Signed / Signature)."""
    r = ctx.bulk("image_load", alert, lambda alerts: _image_loads(alerts, ctx))
    if r is None:
        return None
    return {"signed": r.get("dll_signed"), "signature": r.get("dll_signature"),
            "status": r.get("dll_signature_status"), "event_uid": r.get("event_uid")}


def _image_loads(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, Event | None]:
    """Per alert, the first EID 7 of its own image (in its process, else on its host): one query."""
    exes = sorted({lower(a.process.get("executable")) for a in alerts if a.process.get("executable")})
    if not exes:
        return {}
    t = ctx.table()
    rows = ctx.rows(t.filter((t.event_code == 7) & t.dll_path.lower().isin(exes)), limit=None)
    out: dict[int, Event | None] = {}
    for a in alerts:
        exe = lower(a.process.get("executable"))
        eid = a.process.get("entity_id") or a.extra.get("linked_entity_id")
        out[id(a)] = next((r for r in rows if lower(r.get("dll_path")) == exe and (
            r.get("process_entity_id") == eid if eid else host_matches(r.get("host_name"), a.host))), None)
    return out


def _hash_prevalence(alert: Alert, ctx: InvestigationContext, sha: str) -> dict[str, Any]:
    counts = ctx.bulk("hash_prevalence", alert, lambda alerts: _prevalence(alerts, ctx))
    hosts, runs = (counts or {}).get(sha.lower(), (0, 0))
    return {"sha256": sha.lower(), "hosts": hosts, "runs": runs, "fleet_hosts": ctx.fleet_host_count()}


def _alert_sha(alert: Alert) -> str | None:
    return (alert.process.get("hash") or {}).get("sha256") or _sha_from_hashes(alert.process.get("hashes"))


def _prevalence(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, dict[str, tuple[int, int]]]:
    """Hosts and runs of every alert image's SHA-256 across the store, one grouped query."""
    shas = sorted({s.lower() for a in alerts if (s := _alert_sha(a))})
    counts: dict[str, tuple[int, int]] = {}
    if shas:
        t = ctx.table()
        f = t.filter(t.process_hash_sha256.lower().isin(shas) & t.event_code.isin(list(PROCESS_CODES)))
        g = f.mutate(sha=f.process_hash_sha256.lower())
        for row in query.rows(g.group_by("sha").aggregate(hosts=g.host_name.lower().nunique(), runs=g.count())):
            counts[row["sha"]] = (int(row["hosts"] or 0), int(row["runs"] or 0))
    return {id(a): counts for a in alerts}


def _sha_from_hashes(hashes: str | None) -> str | None:
    m = re.search(r"SHA256=([0-9A-Fa-f]{64})", hashes or "")
    return m.group(1).lower() if m else None


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    findings: list[Finding] = []
    exe = alert.process.get("executable") or ""
    name = lower(alert.process.get("name") or basename(exe))
    ofn = lower((alert.process.get("pe") or {}).get("original_file_name"))
    ev_uid = alert.extra.get("process_creation_uid")
    evidence = [e for e in (exe, ev_uid) if e]
    info: dict[str, Any] = {"image": exe, "name": name, "original_file_name": ofn or None}
    if exe and not lower(exe).startswith(SYSTEM_DIRS):
        findings.append(finding("image.unexpected_path", STEP, "cabinet maker runs from outside System32/SysWOW64",
                                evidence))
    if ofn in ORIGINAL_NAMES and name and name not in MAKERS:
        findings.append(finding("image.renamed", STEP, f"renamed copy of {ofn} running as {name}",
                                [*evidence, f"OriginalFileName={ofn}"]))
    if exe:
        signer = _signer(alert, ctx, exe)
        info["signer"] = signer
        if signer is not None and (signer.get("signed") is False or "microsoft" not in lower(signer.get("signature"))):
            for f in findings:
                f.evidence.append(f"signer: signed={signer.get('signed')} {signer.get('signature') or ''}".strip())
    sha = _alert_sha(alert)
    if sha:
        info["hash_prevalence"] = _hash_prevalence(alert, ctx, sha)
    chain = ancestors(alert, ctx)
    info["chain"] = chain
    expected = next((c for c in chain if c.get("name") in EXPECTED_PARENTS), None)
    if expected:
        info["expected_parent"] = {"name": expected["name"], "why": EXPECTED_PARENTS[expected["name"]]}
    hits: list[tuple[int, int, dict[str, Any], str]] = []
    interactive: dict[str, Any] | None = None
    for depth, c in enumerate(chain):
        kind = SUSPICIOUS_PARENTS.get(c.get("name") or "")
        if expected is not None and chain.index(expected) <= depth:
            break  # everything above an expected packager is its normal tooling
        if kind is None or (kind in ("command shell", "PowerShell", "LOLBin") and expected is not None):
            continue
        if kind == "command shell" and _interactive_console(c, chain[depth + 1] if depth + 1 < len(chain) else None):
            interactive = c
            continue
        hits.append((PRIORITY.index(kind), depth, c, kind))
    if hits:
        _, depth, c, kind = min(hits, key=lambda h: (h[0], h[1]))
        rel = "parent" if depth == 0 else f"ancestor (depth {depth + 1})"
        chain_text = " -> ".join(reversed([x.get("name") or "?" for x in chain[: depth + 1]])) + f" -> {name}"
        findings.append(finding("parent.suspicious", STEP, f"launched under {c['name']} ({kind}) as {rel}",
                                [x for x in (c.get("executable"), c.get("command_line"), c.get("event_uid"),
                                             f"pid={c.get('pid')}" if c.get("pid") is not None else None,
                                             f"chain: {chain_text}") if x]))
    if expected is not None and expected["name"] == "iexpress.exe" and alert.cabinets and all(
            re.search(r"\\ixp\d{3}\.tmp\\", lower(c.path)) for c in alert.cabinets):
        _retract(alert, "cabinet.user_writable",
                 "IExpress always builds its cabinet in its own %TEMP%\\IXPnnn.TMP working folder")
    if expected is not None and not hits:
        _retract(alert, "parent.suspicious",
                 f"the chain runs under {expected['name']} ({EXPECTED_PARENTS[expected['name']]}); "
                 "the shell between is its own tooling")
    elif interactive is not None and not hits:
        info["interactive_console"] = interactive.get("event_uid")
        _retract(alert, "parent.suspicious",
                 "the parent is an interactive command prompt opened from explorer.exe (a user typing the "
                 "command), with no script host, Office or LOLBin above it")
    alert.extra["lineage"] = info
    return findings


def _interactive_console(c: dict[str, Any], parent: dict[str, Any] | None) -> bool:
    """cmd.exe started from explorer.exe without /c or /k: a console a user types into."""
    cl = lower(c.get("command_line"))
    if parent is None or parent.get("name") != "explorer.exe" or not c.get("event_uid"):
        return False
    return re.search(r"(^|\s)/[ck]\b", cl) is None


def _retract(alert: Alert, finding_id: str, why: str) -> None:
    """Withdraw a detection-time finding the deeper look disproves (kept in ``extra['retracted']``)."""
    gone = [f for f in alert.findings if f.id == finding_id]
    if gone:
        alert.findings = [f for f in alert.findings if f.id != finding_id]
        alert.extra.setdefault("retracted", []).extend(
            {"id": f.id, "evidence": f.evidence, "why": why} for f in gone)

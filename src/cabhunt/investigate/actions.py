"""Step 11 - actions: containment, prevention and recovery items built from this alert's evidence.

Every action names concrete targets (hosts, IPs, paths with hashes, PIDs/GUIDs, members with
secrets); an action whose target is unknown is not emitted. Benign and suppressed alerts only
get the review item the playbooks' false-positive sections ask for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cabhunt.investigate.context import MAKERS, Event, alert_time, host_matches, in_window, lower
from cabhunt.investigate.destination import destinations
from cabhunt.investigate.hostinfo import classify
from cabhunt.model import Action

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert

WEBDAV_ROWS = 200_000


def _ids(alert: Alert) -> set[str]:
    return set(alert.finding_ids())


def _evidence(alert: Alert, fid: str) -> list[str]:
    return [e for f in alert.findings if f.id == fid for e in f.evidence]


def _webdav_elsewhere(alert: Alert, ctx: InvestigationContext) -> bool:
    """Whether the host shows WebClient/WebDAV use outside this alert's correlation window."""
    at = alert_time(alert)
    lo, hi = ctx.band(at)
    corr = {r.event_uid for r in alert.related if r.event_uid}
    rows = ctx.bulk("webdav_use", alert, lambda alerts: _webdav_rows(alerts, ctx)) or []
    return any(r.get("event_uid") not in corr and not in_window(r, lo, hi) for r in rows)


def _webdav_rows(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """Per alert host, its first WebDAV client records (davclnt.dll calls, WebDAV user agents)."""
    hosts = sorted({a.host for a in alerts if a.host})
    if not hosts:
        return {}
    t = ctx.table()
    cl = t.process_command_line.lower()
    rows = ctx.rows(t.filter(ctx.host_is(t.host_name, *hosts)
                             & ((cl.contains("davclnt.dll")) | t.user_agent.lower().contains("webdav"))),
                    columns=("event_uid", "ts", "host_name"), limit=WEBDAV_ROWS)
    return {id(a): [r for r in rows if host_matches(r.get("host_name"), a.host)][:50] for a in alerts}


def plan(alert: Alert, ctx: InvestigationContext) -> list[Action]:
    ids = _ids(alert)
    acts: list[Action] = []
    host = alert.host or "the host"
    if alert.verdict in ("benign", "suppressed"):
        who = (alert.suppressed_by or {}).get("owner")
        if alert.verdict == "suppressed":
            sb = alert.suppressed_by or {}
            acts.append(Action("review_change", f"allowlist entry {sb.get('id')}",
                               f"suppressed as '{sb.get('reason')}'; owner {who} confirms the entry still applies"
                               + (f" (valid until {sb.get('valid_until')})" if sb.get("valid_until") else "")))
        else:
            acts.append(Action("review_change", f"{host}: {alert.process.get('command_line') or alert.rule.name}",
                               "confirm a change record and owner for this packaging job, then allowlist it"))
        return acts
    # containment: destinations
    for d in destinations(alert):
        target = str(d["host"])
        scope = d.get("scope") if d.get("scope") not in (None, "unknown") else classify(d.get("ip") or target, ctx.net).scope
        if scope == "external" or scope == "unknown" or alert.verdict == "malicious":
            port = f":{d['port']}" if d.get("port") else ""
            acts.append(Action("block_destination", f"{target}{port}",
                               f"{scope} {d['kind']} source of the job" + (f" ({d['path']})" if d.get("path") else "")))
    for ip in (alert.extra.get("corroboration") or {}).get("target_ips") or []:
        if classify(ip, ctx.net).scope == "external" and not any(a.target.startswith(ip) for a in acts):
            acts.append(Action("block_destination", ip, "resolved/contacted address of the source host"))
    # files
    for c in alert.cabinets:
        sha = next((x.get("sha256") for x in alert.extra.get("cabinet_files") or [] if x.get("path") == c.path), None)
        acts.append(Action("quarantine_file", f"{host}:{c.path}" + (f" sha256={sha}" if sha else ""),
                           "cabinet written by the job"))
    fo = alert.extra.get("followon") or {}
    for x in fo.get("extracted") or []:
        acts.append(Action("quarantine_file", f"{host}:{x['path']}" + (f" sha256={x['sha256']}" if x.get("sha256") else ""),
                           "file extracted from the cabinet"))
    # processes
    chain = [("job", alert.process)]
    suspicious = set(_evidence(alert, "parent.suspicious"))
    ancestors = (alert.extra.get("lineage") or {}).get("chain") or []
    if suspicious:
        for c in ancestors:
            chain.append(("ancestor", c))
            if c.get("executable") in suspicious or c.get("event_uid") in suspicious:
                break
    for ex in fo.get("executions") or []:
        chain.append(("follow-on", ex))
    for role, p in chain:
        pid, guid = p.get("pid"), p.get("entity_id")
        if pid is None and not guid:
            continue
        acts.append(Action("terminate_process", f"{host} pid={pid} guid={guid or '-'} {p.get('executable') or ''}".strip(),
                           f"{role} process of the chain (stop it if still running)"))
    if ids & {"followon.execution", "followon.persistence"}:
        acts.append(Action("isolate_host", host, "a cabinet member was executed or persisted: "
                           + "; ".join((_evidence(alert, "followon.execution") + _evidence(alert, "followon.persistence"))[1:3])))
    for p in fo.get("persistence") or []:
        acts.append(Action("remove_persistence", f"{host}: {p['what']}", "persistence pointing at a cabinet member"))
    # prevention
    if "source.webdav" in ids or "webdav.client_activity" in ids:
        if not _webdav_elsewhere(alert, ctx):
            acts.append(Action("disable_webclient", host, "no WebDAV use on this host apart from this job"))
        else:
            acts.append(Action("restrict_webdav", host, "WebDAV is used elsewhere on this host: allowlist WebDAV "
                               "destinations instead of disabling WebClient"))
    lineage = alert.extra.get("lineage") or {}
    if not lineage.get("expected_parent"):
        image = alert.process.get("executable") or "makecab.exe"
        extra = ""
        sha = (alert.process.get("hash") or {}).get("sha256")
        if lower(alert.process.get("name")) not in MAKERS:
            extra = f"; add a hash rule for the renamed copy {image}" + (f" (sha256 {sha})" if sha else "")
        acts.append(Action("app_control", f"{host}: makecab.exe, diantz.exe",
                           "AppLocker/WDAC deny rule for %SYSTEM32%\\makecab.exe and diantz.exe (and SysWOW64) for "
                           f"standard users on workstations like {host}{extra}"))
    ext = [d for d in destinations(alert)
           if (d.get("scope") or classify(d.get("ip") or d["host"], ctx.net).scope) == "external"]
    if ext:
        acts.append(Action("egress_filter", ", ".join(sorted({str(d["host"]) for d in ext})),
                           "deny SMB/WebDAV egress (445, 139, WebDAV over 80/443) to Internet hosts from endpoints"))
    # recovery
    for f in alert.findings:
        if f.id == "cab.secret":
            acts.append(Action("rotate_credentials", "; ".join(f.evidence[:3]),
                               "credentials packaged in the cabinet must be treated as exposed"))
    if any(s.kind in ("smb", "webdav") for s in alert.sources) and "net.share_mapped" in ids:
        acts.append(Action("remove_mapping", f"{host}: " + "; ".join(_evidence(alert, "net.share_mapped")[1:2]),
                           "remove the drive mapping used to reach the source share"))
    if alert.verdict == "suspicious":
        acts.append(Action("review_change", f"{host}: {alert.process.get('command_line') or alert.rule.name}",
                           "check change records for benign packaging before containment"))
    return _dedupe(acts)


def _dedupe(acts: list[Action]) -> list[Action]:
    seen: set[tuple[str, str]] = set()
    out = []
    for a in acts:
        k = (a.kind, a.target)
        if k not in seen:
            seen.add(k)
            out.append(a)
    return out


def run(alert: Alert, ctx: InvestigationContext) -> list[Any]:
    alert.actions = plan(alert, ctx)
    return []

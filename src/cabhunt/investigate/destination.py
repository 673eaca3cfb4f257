"""Step 4 - destination validation: scope, IP literals, ports, domain age, intel, and whether
the cabinet maker is expected on this asset at all (fleet baseline of host and peers).

Reputation and age come only from the local ``--intel`` file and the store itself (the first
time the fleet saw a name); no host named in the data is ever contacted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cabhunt import query
from cabhunt.investigate.context import Event, alert_time, as_int, iso, lower, short_host
from cabhunt.investigate.hostinfo import classify, is_ip
from cabhunt.investigate.scoring import finding, known

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "destination"
STANDARD_PORTS = {80, 443, 445, 139}


def destinations(alert: Alert) -> list[dict[str, Any]]:
    """Every remote endpoint of the alert: remote sources and (network rules) the EID 3 destination."""
    out: list[dict[str, Any]] = []
    for s in alert.sources:
        if s.kind in ("smb", "webdav", "http") and s.host:
            out.append({"host": s.host, "port": s.port, "kind": s.kind, "origin": "source", "path": s.path,
                        "scope": s.scope})
    d = alert.destination or {}
    if d.get("ip") or d.get("domain"):
        out.append({"host": d.get("domain") or d.get("ip"), "ip": d.get("ip"), "port": d.get("port"),
                    "kind": "network", "origin": "connection", "path": None, "scope": d.get("scope")})
    return out


def _first_seen(alert: Alert, ctx: InvestigationContext, domain: str) -> tuple[datetime | None, str | None]:
    seen = ctx.bulk("first_seen", alert, lambda alerts: _first_seen_all(alerts, ctx)) or {}
    return seen.get(domain.lower().rstrip("."), (None, None))


def _first_seen_all(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, dict[str, tuple[datetime, str]]]:
    """Earliest DNS query, connection or TLS name of every domain the batch's jobs name (3 queries)."""
    domains = sorted({str(d["host"]).lower().rstrip(".") for a in alerts for d in destinations(a)
                      if not is_ip(str(d["host"])) and "." in str(d["host"])})
    seen: dict[str, tuple[datetime, str]] = {}
    if domains:
        t = ctx.table()
        for col in ("dns_question_name", "destination_domain", "tls_server_name"):
            f = t.filter(t[col].lower().isin(domains))
            g = f.mutate(d=f[col].lower())
            q = g.group_by("d").aggregate(first=g.ts.min(), uid=g.event_uid.argmin(g.ts))
            for row in query.rows(q):
                if row["first"] is not None and (row["d"] not in seen or row["first"] < seen[row["d"]][0]):
                    seen[row["d"]] = (row["first"], row["uid"])
    return {id(a): seen for a in alerts}


def _alert_own(alert: Alert) -> tuple[str | None, set[str | None]]:
    me = alert.process.get("entity_id") or alert.extra.get("linked_entity_id")
    return me, {*alert.event_uids, alert.extra.get("process_creation_uid")}


def _own_runs(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """Each alert's own maker runs (same process GUID or one of its events), one pass for all."""
    by_guid: dict[str, list[Event]] = {}
    by_uid: dict[str, Event] = {}
    for r in ctx.maker_runs():
        if r.get("process_entity_id"):
            by_guid.setdefault(str(r["process_entity_id"]), []).append(r)
        if r.get("event_uid"):
            by_uid[str(r["event_uid"])] = r
    out: dict[int, list[Event]] = {}
    for a in alerts:
        me, own = _alert_own(a)
        mine: dict[int, Event] = {id(r): r for r in by_guid.get(str(me), [])} if me else {}
        for u in own:
            hit = by_uid.get(str(u)) if u else None
            if hit is not None:
                mine[id(hit)] = hit
        out[id(a)] = list(mine.values())
    return out


def maker_baseline(alert: Alert, ctx: InvestigationContext) -> dict[str, Any]:
    """How often this host and its peers (same name prefix) ran makecab/diantz, apart from this job."""
    counts = dict(ctx.maker_counts())
    for r in ctx.bulk("own_maker_runs", alert, lambda alerts: _own_runs(alerts, ctx)) or []:
        h = lower(r.get("host_name"))
        counts[h] -= 1  # this job itself is not its own baseline
    host = lower(alert.host)
    prefix = _prefix(host)
    all_hosts = ctx.fleet_hosts()
    peers = [h for h in all_hosts if h != host and _prefix(h) == prefix]
    peers_running = [h for h in peers if counts.get(h)]
    return {
        "host_runs": counts.get(host, 0) + counts.get(short_host(host), 0) * (short_host(host) != host),
        "peer_prefix": prefix,
        "peers": len(peers),
        "peers_running": len(peers_running),
        "fleet_hosts": len(all_hosts),
        "fleet_hosts_running": len([h for h in all_hosts if counts.get(h)]),
    }


def _prefix(host: str) -> str:
    m = re.match(r"[a-z_-]+", short_host(host))
    return m.group(0).rstrip("-_") if m else ""


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    findings: list[Finding] = []
    at = alert_time(alert)
    intel = ctx.intel_db()
    coverage = ctx.coverage_start()
    report: list[dict[str, Any]] = []
    for d in destinations(alert):
        host = str(d["host"])
        info = classify(host, ctx.net)
        scope_known = d.get("scope") if d.get("scope") not in (None, "unknown") else info.scope
        entry: dict[str, Any] = {**d, "scope": scope_known, "ip_literal": info.ip_literal, "intel": []}
        ev = [x for x in (d.get("path"), host if not d.get("path") else None) if x]
        if d["origin"] == "connection":
            ip = d.get("ip")
            ip_info = classify(ip, ctx.net) if ip else info
            scope = ip_info.scope if ip else scope_known
            entry["scope"] = scope
            ev = [f"{host}:{d.get('port')}", *alert.event_uids]
            if scope == "external":
                findings.append(finding("net.external", STEP, f"connection to external address {ip or host}", ev))
            if is_ip(host):
                findings.append(finding("net.ip_literal", STEP, f"connection to a raw IP address {host}", ev))
            port = as_int(d.get("port"))
            if port is not None and port not in STANDARD_PORTS:
                findings.append(finding("net.nonstandard_port", STEP, f"connection on non-standard port {port}", ev))
        for value in {host, str(d.get("ip") or "")} - {""}:
            for hit in intel.lookup(value):
                entry["intel"].append(hit.summary())
                if hit.reputation not in ("malicious", "suspicious"):
                    continue
                if known("intel.match"):
                    findings.append(finding("intel.match", STEP, f"{value} is {hit.reputation} in local intel",
                                            [hit.summary()]))
                elif entry["scope"] != "internal":
                    # until the vocabulary has intel.match: intel marks the host as an outside party
                    fid = "net.external" if d["origin"] == "connection" else "source.external"
                    findings.append(finding(fid, STEP, f"{value} is listed as {hit.reputation} in local intel",
                                            [hit.summary()]))
        if not is_ip(host) and "." in host and entry["scope"] not in ("internal", "loopback"):
            seen, uid = _first_seen(alert, ctx, host)
            intel_seen = min((h.first_seen for h in intel.lookup(host) if h.first_seen), default=None)
            entry["first_seen_store"] = iso(seen) if seen else None
            entry["first_seen_intel"] = iso(intel_seen) if intel_seen else None
            window = timedelta(days=ctx.new_domain_days)
            covered = coverage is not None and coverage <= at - window
            new_in_store = covered and (seen is None or seen >= at - window)
            new_in_intel = intel_seen is not None and intel_seen >= at - window
            if new_in_store or new_in_intel:
                why = []
                if new_in_store:
                    why.append(f"first seen in the fleet store {iso(seen) if seen else 'never before'}"
                               f" (store covers since {iso(coverage)})")
                if new_in_intel and intel_seen is not None:
                    why.append(f"intel first seen {intel_seen.date().isoformat()}")
                findings.append(finding("dns.new_domain", STEP,
                                        f"{host} is new (first seen within {ctx.new_domain_days} days)",
                                        [host, *why, *([uid] if uid else [])]))
            elif not covered:
                entry["new_domain"] = (f"unknown: the store covers only since {iso(coverage)}, less than "
                                       f"{ctx.new_domain_days} days before the alert")
        report.append(entry)
    baseline = maker_baseline(alert, ctx)
    alert.extra["destinations"] = report
    alert.extra["maker_baseline"] = baseline
    if alert.rule.slug.endswith("network") and baseline["host_runs"] == 0:
        peers, running = baseline["peers"], baseline["peers_running"]
        if peers == 0 or running * 10 <= peers:
            findings.append(finding(
                "fleet.rare_process", STEP,
                f"{alert.process.get('name') or 'the cabinet maker'} is not normally run on {alert.host}",
                [f"no other makecab/diantz run on {alert.host} in the store",
                 f"{running} of {peers} peer hosts ({baseline['peer_prefix'] or 'no prefix'}*) run it",
                 f"{baseline['fleet_hosts_running']} of {baseline['fleet_hosts']} fleet hosts run it"],
            ))
    return findings

"""Step 8 - fleet: does the same activity appear on other hosts, and is the destination rare?

Pivots the playbooks name: the cabinet hash, the DDF name, the source host in other cabinet
jobs, and the destination; plus how many hosts ever talk to the destination at all (a rare
process -> destination pair is a prevention signal in both playbooks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cabhunt import query
from cabhunt.investigate.context import MAKERS, basename, lower, same_host, short_host
from cabhunt.investigate.destination import destinations
from cabhunt.investigate.hostinfo import classify, is_ip
from cabhunt.investigate.scoring import finding, known

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "fleet"
MIN_FLEET = 3
SENSORS = ("zeek", "proxy")  # their host_name is the sensor, not an endpoint
HOST_LIMIT = 200  # other hosts listed per pivot


def _others(hosts: Iterable[str], me: str) -> list[str]:
    return sorted(h for h in set(hosts) if h and short_host(h) != short_host(me))[:HOST_LIMIT]


def _cabinet_hashes(alert: Alert) -> list[str]:
    return sorted({c["sha256"] for c in alert.extra.get("cabinet_files", []) if c.get("sha256")})


def _dest_keys(alert: Alert) -> list[tuple[str, list[str]]]:
    """(host, IPs it stands for) of each destination: its name or literal, resolved or logged IPs."""
    resolved = (alert.extra.get("corroboration") or {}).get("resolved") or {}
    out = []
    for d in destinations(alert):
        host = lower(d["host"]).strip("[]")
        ip = lower(d.get("ip"))
        ips = sorted({*(resolved.get(host) or []), *([ip] if ip else []), *([host] if is_ip(host) else [])})
        out.append((host, ips))
    return out


def _hash_holders(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, dict[str, set[str]]]:
    """Which endpoints logged a file with each cabinet hash of the batch: one query."""
    hashes = sorted({h.lower() for a in alerts for h in _cabinet_hashes(a)})
    holders: dict[str, set[str]] = {}
    if hashes:
        t = _endpoints(ctx.table())
        f = t.filter(t.file_hash_sha256.lower().isin(hashes))
        q = f.select(h=f.host_name.lower(), sha=f.file_hash_sha256.lower()).distinct()
        for r in query.rows(q):
            holders.setdefault(r["sha"], set()).add(r["h"])
    return {id(a): holders for a in alerts}


def _contacts(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[dict[str, Any]]]:
    """Distinct (endpoint, name, IP, maker connection?) records that touch any batch destination."""
    names = sorted({host for a in alerts for host, _ in _dest_keys(a) if host})
    ips = sorted({ip for a in alerts for _, x in _dest_keys(a) for ip in x})
    if not names and not ips:
        return {}
    t = _endpoints(ctx.table())
    cond = (t.destination_domain.lower().isin(names) | t.dns_question_name.lower().isin(names)
            | t.tls_server_name.lower().isin(names))
    if ips:
        cond = cond | t.destination_ip.isin(ips)
    makers = sorted(MAKERS)
    f = t.filter(cond)
    q = f.select(h=f.host_name.lower(), dd=f.destination_domain.lower(), dq=f.dns_question_name.lower(),
                 tls=f.tls_server_name.lower(), ip=f.destination_ip,
                 maker=(f.event_code == 3) & (f.process_name.lower().isin(makers)
                                               | f.process_pe_original_file_name.lower().isin(makers))).distinct()
    rows = query.rows(q)
    return {id(a): rows for a in alerts}


def _endpoints(t: ir.Table) -> ir.Table:
    return t.filter(t.event_provider.isnull() | ~t.event_provider.isin(list(SENSORS)))


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    me = lower(alert.host)
    findings: list[Finding] = []
    pivots: dict[str, Any] = {}
    commands = ctx.maker_commands()

    def maker_hosts(needle: str) -> list[str]:
        return sorted({h for cmd, hosts in commands.items() if needle in cmd for h in hosts if not same_host(h, me)})
    hashes = _cabinet_hashes(alert)
    if hashes:
        holders = ctx.bulk("cabinet_hash_hosts", alert, lambda alerts: _hash_holders(alerts, ctx)) or {}
        others = _others((h for sha in hashes for h in holders.get(sha.lower(), ())), me)
        pivots["cabinet_hash"] = {"values": hashes, "other_hosts": others}
    for ddf in alert.directive_files:
        name = lower(basename(ddf))
        if not name:
            continue
        others = maker_hosts(name)
        pivots.setdefault("ddf_name", {"values": [], "other_hosts": []})
        pivots["ddf_name"]["values"].append(name)
        pivots["ddf_name"]["other_hosts"] = sorted(set(pivots["ddf_name"]["other_hosts"]) | set(others))
    dests = destinations(alert)
    for d in dests:
        if d["origin"] != "source" or not d.get("path"):
            continue
        # the same staging location (the source file's folder), not merely the same server
        folder = _folder(str(d["path"]))
        key = f"source_location:{folder}"
        if folder and key not in pivots:
            pivots[key] = {"values": [folder], "other_hosts": maker_hosts(folder)}
    spread = {k: v for k, v in pivots.items() if v["other_hosts"]}
    # destination: who else talks to it at all
    fleet_size = ctx.fleet_host_count()
    rare: list[str] = []
    contacts = ctx.bulk("destination_contacts", alert, lambda alerts: _contacts(alerts, ctx)) or []
    for d, (host, ips) in zip(dests, _dest_keys(alert), strict=True):
        touching = [r for r in contacts if host in (r["dd"], r["dq"], r["tls"]) or (r["ip"] in ips)]
        talkers = sorted(set(_others((r["h"] for r in touching), me)) | set(maker_hosts("\\\\" + host)))
        scope = classify(host, ctx.net).scope
        pivots[f"destination:{host}"] = {"values": [host], "other_hosts": talkers, "scope": scope}
        if talkers:
            # the same activity elsewhere = a cabinet maker connecting there, not any browser
            makers = _others((r["h"] for r in touching if r["maker"]), me)
            if makers:
                spread[f"maker_connection:{host}"] = {"values": [host], "other_hosts": makers, "scope": scope}
        internal = (d.get("scope") if d.get("scope") not in (None, "unknown") else scope) in ("internal", "loopback")
        if not talkers and not internal and fleet_size >= MIN_FLEET and not any(same_host(host, r) for r in rare):
            rare.append(host)
    alert.extra["fleet"] = {"hosts_in_store": fleet_size, "pivots": pivots}
    findings += _hash_intel(alert, ctx)
    if spread:
        ev = [f"{k}: also on {', '.join(v['other_hosts'][:10])}" for k, v in spread.items()]
        n = len({h for v in spread.values() for h in v["other_hosts"]})
        findings.append(finding("fleet.spread", STEP, f"the same activity appears on {n} other host(s)", ev))
    if rare:
        findings.append(finding("fleet.rare_destination", STEP,
                                f"no other host of {fleet_size} talks to {', '.join(rare)}",
                                [f"{h}: only {alert.host} in the store" for h in rare]))
    return findings


def _folder(path: str) -> str:
    """``\\\\host\\share\\dir\\f.exe`` -> ``\\\\host\\share\\dir\\`` (lowercase), '' for local paths."""
    if "://" in path:
        return lower(path).rsplit("/", 1)[0] + "/"
    p = lower(path).replace("/", "\\")
    if not p.startswith("\\\\"):
        return ""
    return p.rsplit("\\", 1)[0] + "\\" if p.count("\\") > 3 else p


def _hash_intel(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    """Local intel on the cabinet, extracted-file and image hashes."""
    intel = ctx.intel_db()
    if not intel.hits:
        return []
    shas = {c.get("sha256") for c in alert.extra.get("cabinet_files") or []}
    shas |= {x.get("sha256") for x in (alert.extra.get("followon") or {}).get("extracted") or []}
    shas.add((alert.process.get("hash") or {}).get("sha256"))
    hits = [h for sha in sorted(x for x in shas if x) for h in intel.lookup(sha)]
    if not hits:
        return []
    alert.extra["intel_hash_hits"] = [h.summary() for h in hits]
    bad = [h for h in hits if h.reputation in ("malicious", "suspicious")]
    if bad and known("intel.match"):
        return [finding("intel.match", STEP, "a staged file's hash is listed in local intel", [h.summary() for h in bad])]
    return []

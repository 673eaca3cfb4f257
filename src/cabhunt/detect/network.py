"""The network rules: EID 3 by the cabinet maker, and the 60 s correlation with what Windows
attributes the traffic to instead.

Direct: an EID 3 whose image is makecab/diantz (the Sigma rule), or whose ProcessGuid belongs to
the EID 1 of a cabinet maker (a renamed copy has another image name but the same GUID).

Correlated: a cabinet-maker process followed, within ``WINDOW`` on the same host (a sliding
window anchored on each process start: ``start <= t <= start + 60 s``, no buckets), by
``System`` (PID 4) -> 445, a ``svchost.exe`` (WebClient) -> 80/443, or a ``rundll32
davclnt.dll,DavSetCookie`` process, towards a host the job names: the destination domain equals
the host (or its first label), the destination IP is the literal host, or an EID 22 answer on
that host resolved the name to that IP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cabhunt.detect.common import new_alert
from cabhunt.detect.engine import DETECT_COLUMNS, fetch, time_filter
from cabhunt.detect.process_rules import Verified, semantic_findings
from cabhunt.detect.scoring_seed import score_alert, weight
from cabhunt.model import Alert, Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.rules.loader import LoadedRule
    from cabhunt.windows import NetworkConfig

WINDOW = timedelta(seconds=60)
DNS_LOOKBACK = timedelta(minutes=10)
MAX_LITERAL_ANCHORS = 500  # above this, an IN list costs more to compile than the join saves
STEP = "network"
MAKER_RULE = {"makecab": "makecab_network", "diantz": "diantz_network"}
_STANDARD_PORTS = {80, 443, 445}
_CAB_MAKERS = ("makecab.exe", "diantz.exe")
_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/:@\s]+)", re.IGNORECASE)


def cab_maker_predicate(t: ir.Table) -> ir.BooleanValue:
    """Process events of makecab/diantz by image name or OriginalFileName."""
    name = t.process_executable.lower()
    ofn = t.process_pe_original_file_name.lower()
    by_image = name.endswith("\\makecab.exe") | name.endswith("\\diantz.exe") | name.isin(list(_CAB_MAKERS))
    return (by_image.fill_null(False) | ofn.isin(list(_CAB_MAKERS)).fill_null(False)) & t.event_code.isin([1, 4688])


def _candidates(t: ir.Table) -> ir.BooleanValue:
    """Connections/processes Windows makes on a cabinet maker's behalf."""
    pname = t.process_name.lower()
    system = (t.process_pid == 4) | (pname == "system") | (t.process_executable.lower() == "system")
    eid3 = (t.event_code == 3) & (t.event_provider == "sysmon")
    smb = eid3 & system.fill_null(False) & (t.destination_port == 445)
    webclient = eid3 & (pname == "svchost.exe") & t.destination_port.isin([80, 443])
    dav = (
        t.event_code.isin([1, 4688])
        & (pname == "rundll32.exe")
        & t.process_command_line.lower().contains("davsetcookie")
    )
    return (smb | webclient | dav).fill_null(False)


def direct_connections(
    events: ir.Table,
    matched: list[dict[str, Any]],
    since: datetime | None,
    until: datetime | None,
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """EID 3 rows of a cabinet maker, each with its process-creation row when one is stored.

    The Sigma rule finds connections by image name; an equality join on (host, ProcessGuid) with
    the cabinet makers' process creations adds those of renamed copies (EID 3 carries no
    OriginalFileName, the EID 1 of the same GUID does). The join is one query whatever the
    number of cabinet-maker processes in the store.
    """
    ev = time_filter(events, since, until)
    procs = events.filter(cab_maker_predicate(events))
    procs = procs.select(**{f"p__{c}": procs[c] for c in DETECT_COLUMNS})
    conns = ev.filter((ev.event_code == 3) & ev.process_entity_id.notnull())
    joined = conns.join(
        procs, [conns.host_name == procs.p__host_name, conns.process_entity_id == procs.p__process_entity_id]
    )
    rows: dict[str, dict[str, Any]] = {r["event_uid"]: r for r in matched}
    proc_of: dict[str, dict[str, Any]] = {}
    pcols = tuple(f"p__{c}" for c in DETECT_COLUMNS)
    for r in fetch(joined.select(*DETECT_COLUMNS, *pcols), (*DETECT_COLUMNS, *pcols)):
        proc_of[r["event_uid"]] = {c: r.pop(f"p__{c}") for c in DETECT_COLUMNS}
        rows[r["event_uid"]] = r
    ordered = sorted(rows.values(), key=lambda x: (x.get("ts") or datetime.min, x["event_uid"]))
    return [(row, proc_of.get(row["event_uid"])) for row in ordered]


def correlated_candidates(
    events: ir.Table, anchors: Iterable[str], since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """(anchor uid, candidate row) pairs within the sliding window, for the given anchor uids."""
    wanted = sorted(set(anchors))
    if not wanted:
        return []
    anchor_filter = cab_maker_predicate(events)
    if len(wanted) <= MAX_LITERAL_ANCHORS:  # else join every cabinet maker and keep ours below
        anchor_filter = anchor_filter & events.event_uid.isin(wanted)
    a = events.filter(anchor_filter).select(a_uid=events.event_uid, a_host=events.host_name.lower(), a_ts=events.ts)
    ev = time_filter(events, since, until if until is None else until + WINDOW)
    c = ev.filter(_candidates(ev))
    joined = c.join(
        a,
        [c.host_name.lower() == a.a_host, c.ts >= a.a_ts, c.ts <= a.a_ts + WINDOW],
    )
    cols = (*DETECT_COLUMNS, "a_uid", "a_ts")
    keep = set(wanted)
    return [r for r in fetch(joined.select(*DETECT_COLUMNS, "a_uid", "a_ts"), cols) if r["a_uid"] in keep]


def dns_answers(events: ir.Table, hosts: Iterable[str], start: datetime, end: datetime) -> dict[tuple[str, str], list[tuple[datetime, set[str]]]]:
    """EID 22 (and Zeek DNS) answers on those hosts: (host, name) -> [(ts, ips)]."""
    wanted = sorted({h.lower() for h in hosts if h})
    if not wanted:
        return {}
    t = events.filter(
        events.dns_question_name.notnull()
        & events.host_name.lower().isin(wanted)
        & (events.ts >= start - DNS_LOOKBACK)
        & (events.ts <= end)
    )
    out: dict[tuple[str, str], list[tuple[datetime, set[str]]]] = {}
    for r in fetch(t, ("event_uid", "ts", "host_name", "dns_question_name", "dns_answers")):
        name = str(r["dns_question_name"]).lower().rstrip(".")
        out.setdefault((str(r["host_name"]).lower(), name), []).append((r["ts"], parse_answers(r["dns_answers"])))
    return out


def parse_answers(text: str | None) -> set[str]:
    """IPs in a Sysmon QueryResults (``type:  5 x;::ffff:10.1.2.3;``) or Zeek answers string."""
    out: set[str] = set()
    for part in re.split(r"[;,\s]+", text or ""):
        p = part.strip()
        if p.lower().startswith("::ffff:") and "." in p:
            p = p[7:]
        if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", p) or (":" in p and re.fullmatch(r"[0-9a-fA-F:]+", p)):
            out.add(p.lower())
    return out


def _name_matches(named: str, domain: str | None) -> bool:
    if not domain:
        return False
    d = domain.lower().rstrip(".")
    return d == named or d.startswith(named + ".") or named.startswith(d + ".")


def match_destination(
    named: list[tuple[str, str | None]],
    row: dict[str, Any],
    anchor_host: str,
    dns: Mapping[tuple[str, str], list[tuple[datetime, set[str]]]],
) -> tuple[str, str] | None:
    """(named host, how) when the candidate goes where the job said, else None."""
    if row.get("event_code") in (1, 4688):
        tokens = re.split(r"[\s,\"]+", str(row.get("process_command_line") or "").lower())
        for host, ip in named:
            for tok in tokens:
                m = _URL_HOST.match(tok)
                if tok in (host, ip) or (m and m.group(1) in (host, ip)):
                    return host, "davsetcookie"
        return None
    dest_ip = str(row.get("destination_ip") or "").lower()
    domain = row.get("destination_domain")
    for host, ip in named:
        if ip and dest_ip and ip.lower() == dest_ip:
            return host, "ip"
        if _name_matches(host, domain):
            return host, "name"
        for (h, name), answers in dns.items():
            if h != anchor_host or not (name == host or name.startswith(host + ".")):
                continue
            if any(dest_ip in ips and (row.get("ts") is None or ts <= row["ts"]) for ts, ips in answers):
                return host, "dns"
    return None


def destination_of(row: dict[str, Any], named_host: str | None, net: NetworkConfig | None) -> dict[str, Any]:
    """``{ip, port, domain, scope, ip_literal}`` classified with ``classify_host``."""
    from cabhunt.windows import classify_host

    ip = row.get("destination_ip")
    port = row.get("destination_port")
    domain = row.get("destination_domain")
    if row.get("event_code") in (1, 4688):  # DavSetCookie: the destination is the named host
        ip, domain = None, named_host
        port = 443 if "https://" in str(row.get("process_command_line") or "").lower() else 80
    literal_host = named_host or domain or ip
    # Scope from the address when known (internal CIDRs), else from the name (internal domains).
    scope_info = classify_host(str(ip), net) if ip else (classify_host(str(literal_host), net) if literal_host else None)
    scope = scope_info.scope if scope_info is not None else "unknown"
    host_info = classify_host(str(literal_host), net) if literal_host else None
    ip_literal = bool(host_info.ip_literal) if host_info is not None else False
    return {"ip": ip, "port": port, "domain": domain, "scope": scope, "ip_literal": ip_literal}


def network_findings(dest: dict[str, Any], evidence: str, have: set[str]) -> list[Finding]:
    out = [Finding("net.corroborated", STEP, "Network activity attributed to the cabinet job", weight("net.corroborated"), [evidence])]
    if dest.get("scope") == "external" and "source.external" not in have:
        out.append(Finding("net.external", STEP, "The connection leaves the internal networks", weight("net.external"), [evidence]))
    if dest.get("ip_literal") and "source.ip_literal" not in have:
        out.append(Finding("net.ip_literal", STEP, "The destination is a raw IP address", weight("net.ip_literal"), [evidence]))
    port = dest.get("port")
    if port is not None and int(port) not in _STANDARD_PORTS and "source.nonstandard_port" not in have:
        out.append(Finding("net.nonstandard_port", STEP, "Destination port other than 80/443/445", weight("net.nonstandard_port"), [evidence]))
    return out


def _summary(row: dict[str, Any]) -> str:
    if row.get("event_code") in (1, 4688):
        return f"{row.get('process_executable')} {row.get('process_command_line')}"
    return (
        f"{row.get('process_executable') or row.get('process_name')} -> "
        f"{row.get('destination_domain') or row.get('destination_ip')}:{row.get('destination_port')}"
    )


def _network_alert(
    rule: LoadedRule,
    anchor: dict[str, Any],
    conn: dict[str, Any],
    dest: dict[str, Any],
    base_findings: list[Finding],
    extra: dict[str, Any],
) -> Alert:
    alert = new_alert(rule, anchor, ["T1105"])
    alert.timestamp = new_alert(rule, conn, []).timestamp
    alert.event_uids = [u for u in (conn.get("event_uid"), anchor.get("event_uid")) if u]
    alert.event_uids = list(dict.fromkeys(alert.event_uids))
    for f in base_findings:
        alert.add(Finding(f.id, f.step, f.title, f.weight, list(f.evidence)))
    have = {f.id for f in base_findings}
    for f in network_findings(dest, f"event {conn.get('event_uid')}: {_summary(conn)}", have):
        alert.add(f)
    alert.destination = dest
    alert.extra.update(extra)
    return score_alert(alert)


def network_alerts(
    events: ir.Table,
    rules: Mapping[str, LoadedRule],
    matched_by_slug: Mapping[str, list[dict[str, Any]]],
    verified: list[Verified],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    net: NetworkConfig | None = None,
) -> list[Alert]:
    """Direct and correlated network alerts."""
    from cabhunt.windows import analyze_job, cab_maker

    by_uid = {v.row["event_uid"]: v for v in verified if v.row.get("event_uid")}
    alerts: list[Alert] = []
    matched = [r for s in ("makecab_network", "diantz_network") for r in matched_by_slug.get(s, [])]

    for conn, proc in direct_connections(events, matched, since, until):
        maker = cab_maker(proc.get("process_executable"), proc.get("process_pe_original_file_name")) if proc else None
        maker = maker or cab_maker(conn.get("process_executable"), None) or "makecab"
        rule = rules[MAKER_RULE[maker]]
        anchor = proc or conn
        base: list[Finding] = []
        if proc is not None:
            v = by_uid.get(proc["event_uid"])
            if v is not None:
                base = semantic_findings(v.row, v.job)
            else:
                job = analyze_job(
                    proc.get("process_command_line") or "",
                    image=proc.get("process_executable"),
                    original_file_name=proc.get("process_pe_original_file_name"),
                    cwd=proc.get("process_working_directory"),
                    net=net,
                )
                base = semantic_findings(proc, job)
        dest = destination_of(conn, None, net)
        alerts.append(_network_alert(rule, anchor, conn, dest, base, {"network_match": "direct"}))

    anchors = {uid: v for uid, v in by_uid.items() if v.named_hosts}
    pairs = correlated_candidates(events, anchors, since, until)
    if not pairs:
        return alerts
    hosts = {str(p.get("host_name") or "") for p in pairs}
    start = min(p["a_ts"] for p in pairs)
    end = max(p["ts"] for p in pairs)
    dns = dns_answers(events, hosts, start, end)
    seen: set[tuple[str, str, str, Any]] = set()
    for pair in pairs:
        v = anchors.get(pair["a_uid"])
        if v is None:
            continue
        anchor_host = str(v.row.get("host_name") or "").lower()
        hit = match_destination(v.named_hosts, pair, anchor_host, dns)
        if hit is None:
            continue
        named, how = hit
        kind = (
            "davsetcookie"
            if pair.get("event_code") in (1, 4688)
            else ("smb_system" if pair.get("destination_port") == 445 else "webclient")
        )
        dest = destination_of(pair, named, net)
        key = (pair["a_uid"], kind, str(dest.get("ip") or dest.get("domain")), dest.get("port"))
        if key in seen:
            continue
        seen.add(key)
        maker = v.job.maker or "makecab"
        delay = (pair["ts"] - pair["a_ts"]).total_seconds() if pair.get("ts") and pair.get("a_ts") else None
        extra = {
            "network_match": "correlated",
            "correlation": {
                "kind": kind,
                "named_host": named,
                "matched_by": how,
                "delay_s": delay,
                "window_s": WINDOW.total_seconds(),
                "process_event_uid": pair["a_uid"],
            },
        }
        base = semantic_findings(v.row, v.job)
        alerts.append(_network_alert(rules[MAKER_RULE[maker]], v.row, pair, dest, base, extra))
    return alerts


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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cabhunt.detect.common import RuleIdentity, new_alert
from cabhunt.detect.engine import ROW_COLUMNS, any_of, naive, scan, time_condition, time_filter
from cabhunt.detect.process_rules import Verified, semantic_findings
from cabhunt.detect.scoring_seed import score_alert, weight
from cabhunt.model import Alert, Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.windows import NetworkConfig

WINDOW = timedelta(seconds=60)
DNS_LOOKBACK = timedelta(minutes=10)
MAX_LITERALS = 500  # above this, an IN list costs more to compile than a subquery
MAX_WINDOWS = 64  # correlation windows spelled out in the query; beyond, coarser ranges
# What the correlation reads of a candidate connection or a DNS answer.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "event_uid",
    "ts",
    "host_name",
    "event_code",
    "process_executable",
    "process_name",
    "process_command_line",
    "destination_ip",
    "destination_port",
    "destination_domain",
    "dns_question_name",
    "dns_answers",
)
MAX_NAMES = 50  # named hosts the DNS lookup is narrowed to; beyond, all answers on the hosts
STEP = "network"
MAKER_RULE = {"makecab": "makecab_network", "diantz": "diantz_network"}
_STANDARD_PORTS = {80, 443, 445}
_MAKER_IMAGE = r"(?:^|\\)(?:makecab|diantz)\.exe\z"  # endswith \makecab.exe / \diantz.exe, or equal
_MAKER_NAME = r"^(?:makecab|diantz)\.exe\z"  # equal to makecab.exe / diantz.exe
_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/:@\s]+)", re.IGNORECASE)


def cab_maker_predicate(t: ir.Table) -> ir.BooleanValue:
    """Process events of makecab/diantz by image name or OriginalFileName.

    Each column is tested with one regular expression on its lowercased value (``\\makecab.exe``
    or ``\\diantz.exe`` at the end of the image, or the bare name): lowercasing is what a string
    test costs, so doing it once per column matters on a scan of every process event. NULL
    where the columns are missing (false in a WHERE, falsy as a flag).
    """
    by_image = t.process_executable.lower().re_search(_MAKER_IMAGE)
    by_ofn = t.process_pe_original_file_name.lower().re_search(_MAKER_NAME)
    # The cheap event-code test first: the engine evaluates the rest only on process events.
    return t.event_code.isin([1, 4688]) & (by_ofn | by_image)


def maker_connections_query(events: ir.Table, since: datetime | None, until: datetime | None) -> ir.Table:
    """(host, ProcessGuid) of the connections (EID 3, in the time range) of cabinet-maker
    processes, as rows :func:`connection_keys` reads.

    A semi-join (``IN (SELECT ...)``) finds the connections of renamed copies (EID 3 carries no
    OriginalFileName, the EID 1 of the same GUID does). It is a query of its own returning two
    narrow columns: inside the rules' scan it would drag every connection event, with all the
    columns detection reads, through the join.
    """
    makers = events.filter(cab_maker_predicate(events)).process_entity_id
    t = time_filter(events, since, until)
    conns = t.filter((t.event_code == 3) & t.process_entity_id.notnull() & t.process_entity_id.isin(makers))
    return conns.select("host_name", "process_entity_id")  # few rows: deduplicated in connection_keys


def connection_keys(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(r["host_name"]), str(r["process_entity_id"])) for r in rows if r["host_name"] is not None}


def _candidates(t: ir.Table) -> ir.BooleanValue:
    """Connections/processes Windows makes on a cabinet maker's behalf (NULL counts as no)."""
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
    return smb | webclient | dav


@dataclass
class Anchor:
    """A cabinet-maker process the correlation window starts at."""

    uid: str
    host: str  # lowercased
    ts: datetime
    named: list[tuple[str, str | None]]


@dataclass
class NetworkRows:
    """What the network step's one query returns, split by why each row was wanted."""

    conns: list[dict[str, Any]] = field(default_factory=list)  # connections of cabinet-maker GUIDs
    procs: list[dict[str, Any]] = field(default_factory=list)  # cabinet makers of those connections
    candidates: list[dict[str, Any]] = field(default_factory=list)  # traffic on a maker's behalf
    dns: list[dict[str, Any]] = field(default_factory=list)  # name answers on the anchors' hosts


def network_rows(
    events: ir.Table,
    conn_guids: Iterable[str],
    anchors: list[Anchor],
    since: datetime | None,
    until: datetime | None,
) -> NetworkRows:
    """One query for everything the network rules still need once the rule matches are known.

    - the connections (in the time range) of the cabinet-maker GUIDs ``conn_guids`` and those
      makers' process creations (any time);
    - correlation candidates (``_candidates``) on an anchor's host within its window (merged
      windows, coarser ranges beyond :data:`MAX_WINDOWS`; the exact window is applied in Python);
    - DNS answers on the anchors' hosts from ``DNS_LOOKBACK`` before the first anchor, for the
      names the jobs use.
    """
    guids = sorted(set(conn_guids))
    if not guids and not anchors:
        return NetworkRows()
    flags = {
        "m__maker": cab_maker_predicate(events),
        "m__cand": _candidates(events),
        "m__dns": events.dns_question_name.notnull(),
    }

    def where(t: ir.Table) -> ir.BooleanValue:
        branches = []
        if guids:
            if len(guids) <= MAX_LITERALS:
                conn_in = proc_in = t.process_entity_id.isin(guids)
            else:  # subqueries: the makers' GUIDs, and the GUIDs of connections in range
                conn_in = t.process_entity_id.isin(events.filter(cab_maker_predicate(events)).process_entity_id)
                proc_in = t.process_entity_id.isin(_conn_guids(events, since, until))
            conn = (t.event_code == 3) & conn_in
            limit = time_condition(t, since, until)
            branches.append(conn if limit is None else conn & limit)
            branches.append(proc_in & t.m__maker)
        if anchors:
            host = t.host_name.lower()
            cand = _window_condition(t, host, anchors) & t.m__cand
            limit = time_condition(t, since, until if until is None else until + WINDOW)
            branches.append(cand if limit is None else cand & limit)
            first = min(a.ts for a in anchors)
            last = max(a.ts for a in anchors)
            dns = (
                t.m__dns
                & t.ts.between(first - DNS_LOOKBACK, last + WINDOW)
                & host.isin(sorted({a.host for a in anchors}))
            )
            names = sorted({h for a in anchors for h, _ in a.named})
            if names and len(names) <= MAX_NAMES:
                qname = t.dns_question_name.lower()
                dns = dns & any_of([qname.startswith(n) for n in names])
            branches.append(dns)
        return any_of(branches)

    out = NetworkRows()
    columns = tuple(dict.fromkeys((*ROW_COLUMNS, *CANDIDATE_COLUMNS))) if guids else CANDIDATE_COLUMNS
    wanted = set(guids)
    for r in scan(events, columns, flags, where):
        maker, cand, dns_row = r.pop("m__maker"), r.pop("m__cand"), r.pop("m__dns")
        if r.get("process_entity_id") in wanted:
            if maker:
                out.procs.append(r)
            if r.get("event_code") == 3 and _within(r.get("ts"), since, until, timedelta(0)):
                out.conns.append(r)
        if cand and anchors and _within(r.get("ts"), since, until, WINDOW):
            out.candidates.append(r)
        if dns_row and anchors:
            out.dns.append(r)
    return out


def _within(ts: datetime | None, since: datetime | None, until: datetime | None, slack: timedelta) -> bool:
    """``since <= ts <= until + slack``: a branch's time limit, for rows another branch fetched."""
    if ts is None:
        return False
    if since is not None and ts < naive(since):
        return False
    return until is None or ts <= naive(until) + slack


def _conn_guids(events: ir.Table, since: datetime | None, until: datetime | None) -> Any:
    """Subquery of connection GUIDs (when there are too many to list)."""
    t = time_filter(events, since, until)
    return t.filter((t.event_code == 3) & t.process_entity_id.notnull()).process_entity_id


def _window_condition(t: ir.Table, host: Any, anchors: list[Anchor]) -> ir.BooleanValue:
    """Rows on an anchor's host within [start, start + WINDOW] of one of its anchors (a superset)."""
    spans: dict[str, list[list[datetime]]] = {}
    for a in sorted(anchors, key=lambda a: (a.host, a.ts)):
        runs = spans.setdefault(a.host, [])
        if runs and a.ts <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], a.ts + WINDOW)
        else:
            runs.append([a.ts, a.ts + WINDOW])
    if sum(len(r) for r in spans.values()) > MAX_WINDOWS:  # one span per host
        spans = {h: [[r[0][0], r[-1][1]]] for h, r in spans.items()}
    if len(spans) > MAX_WINDOWS:  # one span for all hosts
        lo = min(r[0][0] for r in spans.values())
        hi = max(r[-1][1] for r in spans.values())
        return t.ts.between(lo, hi) & host.isin(sorted(spans))
    # Time first: the engine lowercases the host name only of rows inside a window.
    return any_of(
        [any_of([t.ts.between(lo, hi) for lo, hi in runs]) & (host == h) for h, runs in spans.items()]
    )


def direct_connections(
    rows: list[dict[str, Any]],
    matched: list[dict[str, Any]],
    procs: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """EID 3 rows of a cabinet maker, each with its process-creation row when one is stored.

    The Sigma rules' matches (``matched``, by image name) are kept whatever; the other
    connection rows (``rows``: those of cabinet-maker GUIDs) count when a cabinet maker's
    process creation on the same host has their GUID (an equality join on host and
    ProcessGuid, done here on the few rows).
    """
    proc_of_key: dict[tuple[str, str], dict[str, Any]] = {}
    for p in procs:  # time order: a later creation with the same GUID wins
        if p.get("host_name") is not None and p.get("process_entity_id") is not None:
            proc_of_key[(p["host_name"], p["process_entity_id"])] = p
    out: dict[str, dict[str, Any]] = {r["event_uid"]: r for r in matched}
    proc_of: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.get("event_code") != 3 or r.get("process_entity_id") is None or r.get("host_name") is None:
            continue
        creation = proc_of_key.get((r["host_name"], r["process_entity_id"]))
        if creation is None:
            continue
        proc_of[r["event_uid"]] = _plain(creation)
        out[r["event_uid"]] = r
    ordered = sorted(out.values(), key=lambda x: (x.get("ts") or datetime.min, x["event_uid"]))
    return [(_plain(row), proc_of.get(row["event_uid"])) for row in ordered]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row's event columns (without the scan's rule flags)."""
    return {c: row.get(c) for c in ROW_COLUMNS}


def correlated_candidates(anchors: list[Anchor], candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(anchor uid, candidate row) pairs within the sliding window: the candidate is on the
    anchor's host and ``start <= t <= start + WINDOW``; in candidate time order."""
    by_host: dict[str, list[Anchor]] = {}
    for a in sorted(anchors, key=lambda a: (a.ts, a.uid)):
        by_host.setdefault(a.host, []).append(a)
    pairs: list[dict[str, Any]] = []
    for c in candidates:  # already in (ts, event_uid) order
        ts = c.get("ts")
        host = c.get("host_name")
        if ts is None or host is None:
            continue
        for a in by_host.get(str(host).lower(), []):
            if a.ts <= ts <= a.ts + WINDOW:
                pairs.append({**c, "a_uid": a.uid, "a_ts": a.ts})
    return pairs


def dns_answers(
    rows: Iterable[dict[str, Any]], hosts: Iterable[str], start: datetime, end: datetime
) -> dict[tuple[str, str], list[tuple[datetime, set[str]]]]:
    """EID 22 (and Zeek DNS) answers on those hosts between ``start - DNS_LOOKBACK`` and ``end``:
    (host, name) -> [(ts, ips)]."""
    wanted = {h.lower() for h in hosts if h}
    lo = start - DNS_LOOKBACK
    out: dict[tuple[str, str], list[tuple[datetime, set[str]]]] = {}
    for r in rows:
        host = r.get("host_name")
        ts = r.get("ts")
        if r.get("dns_question_name") is None or host is None or ts is None:
            continue
        if str(host).lower() not in wanted or not lo <= ts <= end:
            continue
        name = str(r["dns_question_name"]).lower().rstrip(".")
        out.setdefault((str(host).lower(), name), []).append((ts, parse_answers(r["dns_answers"])))
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
    rule: RuleIdentity,
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
    rules: Mapping[str, RuleIdentity],
    rows: list[dict[str, Any]],
    verified: list[Verified],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    net: NetworkConfig | None = None,
    keys: set[tuple[str, str]] | None = None,
) -> list[Alert]:
    """Direct and correlated network alerts.

    ``rows`` are the detection scan's rows (rule flags ``m__<slug>``, the ``m__cab_maker``
    mark); ``rules`` maps slugs to rule identities; ``keys`` the (host, ProcessGuid) pairs
    of :func:`maker_connections_query`, asked beside the scan.
    """
    from cabhunt.windows import analyze_job, cab_maker

    by_uid = {v.row["event_uid"]: v for v in verified if v.row.get("event_uid")}
    alerts: list[Alert] = []
    matched = [r for r in rows if any(r.get(f"m__{s}") for s in ("makecab_network", "diantz_network"))]
    keys = keys or set()
    anchors = [
        Anchor(uid, str(v.row.get("host_name")).lower(), v.row["ts"], v.named_hosts)
        for uid, v in by_uid.items()
        if v.named_hosts and v.row.get("m__cab_maker") and v.row.get("ts") is not None and v.row.get("host_name") is not None
    ]
    fetched = network_rows(events, [guid for _, guid in keys], anchors, since, until)

    for conn, proc in direct_connections([*matched, *fetched.conns], matched, fetched.procs):
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

    pairs = correlated_candidates(anchors, fetched.candidates)
    if not pairs:
        return alerts
    hosts = {str(p.get("host_name") or "") for p in pairs}
    start = min(p["a_ts"] for p in pairs)
    end = max(p["ts"] for p in pairs)
    dns = dns_answers(fetched.dns, hosts, start, end)
    seen: set[tuple[str, str, str, Any]] = set()
    for pair in pairs:
        v = by_uid.get(pair["a_uid"])
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

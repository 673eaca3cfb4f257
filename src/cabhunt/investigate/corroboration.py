"""Step 5 - network and DNS corroboration around the process, attributed by host, time and name.

SMB reads show up as ``System`` (PID 4) connecting to 445 and WebDAV reads as the WebClient
``svchost.exe`` on 80/443 plus ``rundll32 davclnt.dll,DavSetCookie``, so connections are matched
by host, time window and destination name/IP - not only by process. When the store holds the
source server's own logs (4624 / 5140 / 5145), the Zeek sensor or the proxy, those confirm the
read from the other side. Every corroborating event becomes a ``Related`` entry.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cabhunt.investigate.context import (
    PROCESS_CODES,
    Event,
    alert_time,
    as_int,
    basename,
    events_between,
    host_matches,
    in_spans,
    in_window,
    iso,
    lower,
    same_host,
    short_host,
)
from cabhunt.investigate.destination import STANDARD_PORTS, destinations
from cabhunt.investigate.hostinfo import classify, is_ip
from cabhunt.investigate.scoring import finding
from cabhunt.model import Related

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "corroboration"
NET_USE_LOOKBACK = timedelta(hours=24)


def answers_ips(text: str | None) -> set[str]:
    """IP addresses in a Sysmon QueryResults / Zeek answers string."""
    out = set()
    for m in re.split(r"[;,\s|]+", text or ""):
        cand = m.strip("[]").removeprefix("::ffff:")
        try:
            out.add(str(ipaddress.ip_address(cand)))
        except ValueError:
            continue
    return out


def _ipv6_literal(host: str) -> str | None:
    """``fd00-20--50.ipv6-literal.net`` -> ``fd00:20::50`` (the UNC spelling of an IPv6 address)."""
    if not host.lower().endswith(".ipv6-literal.net"):
        return None
    try:
        from cabhunt.windows import decode_ipv6_literal_net
    except ImportError:
        return None
    ip = decode_ipv6_literal_net(host)
    return str(ipaddress.ip_address(ip)) if ip else None


def norm_ip(value: object) -> str | None:
    """``::ffff:10.1.2.3`` / ``[::1]`` -> canonical text, so Security and Sysmon IPs compare."""
    s = lower(value).strip("[]").removeprefix("::ffff:")
    return s or None


def _share_of(path: str | None) -> tuple[str, str] | None:
    """``\\\\host\\share\\dir\\f`` -> (share, 'dir\\f')."""
    p = (path or "").replace("/", "\\")
    m = re.match(r"^\\\\(?:\?\\UNC\\)?[^\\]+\\([^\\]+)\\?(.*)$", p, re.I)
    return (m.group(1), m.group(2)) if m else None


def _summary_conn(ev: Event) -> str:
    dest = ev.get("destination_domain") or ev.get("destination_ip")
    return (f"{ev.get('process_name') or basename(ev.get('process_executable')) or '?'} (pid {ev.get('process_pid')})"
            f" -> {dest}:{ev.get('destination_port')}")


def _targets(dests: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(host names, IP literals) the job's sources and connection name."""
    names = {lower(d["host"]) for d in dests if d.get("host") and not is_ip(str(d["host"]))}
    ips = {str(d["host"]).strip("[]") for d in dests if d.get("host") and is_ip(str(d["host"]))}
    ips |= {ip for d in dests if (ip := _ipv6_literal(str(d.get("host") or "")))}
    return names, {x for x in (norm_ip(i) for i in ips) if x}


def _window(alert: Alert, ctx: InvestigationContext) -> tuple[datetime, datetime]:
    return ctx.band(alert_time(alert))


def _net_use_span(alert: Alert, ctx: InvestigationContext) -> tuple[datetime, datetime]:
    return alert_time(alert) - NET_USE_LOOKBACK, _window(alert, ctx)[1]


def _server_hosts(alert: Alert) -> list[str]:
    names, ips = _targets(destinations(alert))
    return sorted({h for n in names for h in (n, short_host(n))} | ips)


def _net_use_rows(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """``net use`` runs and mapped-drive registry writes on each alert's host in the day before."""
    alerts = [a for a in alerts if a.host and destinations(a)]
    if not alerts:
        return {}
    t = ctx.table()
    # a day's spans per host overlap anyway, and the process/registry tests are selective
    where = ctx.host_is(t.host_name, *(a.host for a in alerts)) & in_spans(t.ts, [_net_use_span(a, ctx) for a in alerts])
    rows = ctx.rows(t.filter(where & t.event_code.isin([*PROCESS_CODES, 13])
                             & (t.process_name.lower().isin(["net.exe", "net1.exe"])
                                | t.registry_path.lower().contains("\\network\\"))), limit=None)
    out: dict[int, list[Event]] = {}
    for a in alerts:
        lo, hi = _net_use_span(a, ctx)
        out[id(a)] = [r for r in rows if host_matches(r.get("host_name"), a.host) and in_window(r, lo, hi)][:5000]
    return out


def _server_rows(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """Logons and share access on the source servers around each alert (their own Security log)."""
    wanted = [(a, hosts) for a in alerts if (hosts := _server_hosts(a))]
    if not wanted:
        return {}
    t = ctx.table()
    where = ctx.host_is(t.host_name, *(h for _, hosts in wanted for h in hosts)) & in_spans(
        t.ts, [_window(a, ctx) for a, _ in wanted])
    rows = ctx.rows(t.filter(where & t.event_code.isin([4624, 5140, 5145])), limit=None)
    out: dict[int, list[Event]] = {}
    for a, hosts in wanted:
        lo, hi = _window(a, ctx)
        out[id(a)] = [r for r in rows if in_window(r, lo, hi) and host_matches(r.get("host_name"), *hosts)][:5000]
    return out


SENSOR_COLUMNS: tuple[str, ...] = (
    "event_uid", "ts", "host_name", "event_provider", "event_dataset", "source_ip", "destination_ip",
    "destination_port", "destination_domain", "tls_server_name", "url_full", "http_request_method",
    "http_response_status_code", "http_response_bytes", "user_agent", "share_name", "file_path",
)
"""What :meth:`_Corroborator.sensors` reads of a Zeek or proxy record. Sensors log every host of
the fleet, so these rows grow with it: fetching only these columns keeps them small."""


def _sensor_rows(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """Zeek and proxy records in each alert's window (sensors log for every host at once)."""
    alerts = [a for a in alerts if destinations(a)]
    if not alerts:
        return {}
    t = ctx.table()
    rows = ctx.rows(t.filter(t.event_provider.isin(["zeek", "proxy"])
                             & in_spans(t.ts, [_window(a, ctx) for a in alerts])), SENSOR_COLUMNS, limit=None)
    out: dict[int, list[Event]] = {}
    for a in alerts:
        lo, hi = _window(a, ctx)
        out[id(a)] = events_between([rows], lo, hi)[:5000]
    return out


class _Corroborator:
    def __init__(self, alert: Alert, ctx: InvestigationContext) -> None:
        self.alert, self.ctx = alert, ctx
        self.at = alert_time(alert)
        self.lo, self.hi = ctx.band(self.at)
        self.findings: list[Finding] = []
        self.related: list[Related] = []
        self._uids: set[str] = set()
        self.dests = destinations(alert)
        self.names, self.literal_ips = _targets(self.dests)
        # the network rule's own destination address is a target, but a raw IP only when no name was logged
        self.target_ips = self.literal_ips | {x for x in (norm_ip(d.get("ip")) for d in self.dests) if x}
        self.client_ips: set[str] = set()
        self.resolved: dict[str, set[str]] = {}
        self.window = [e for e in ctx.host_events(alert.host, self.at) if in_window(e, self.lo, self.hi)]

    def relate(self, kind: str, ev: Event, summary: str) -> None:
        uid = ev.get("event_uid")
        if uid and uid in self._uids:
            return
        if uid:
            self._uids.add(uid)
        self.related.append(Related(kind=kind, timestamp=iso(ev.get("ts")), summary=summary, event_uid=uid))

    def add(self, fid: str, title: str, evidence: list[str]) -> None:
        self.findings.append(finding(fid, STEP, title, evidence))

    def names_host(self, value: object) -> bool:
        return any(same_host(value, n) for n in self.names)

    def mentions_host(self, text: object) -> bool:
        s = lower(text)
        return any(short_host(n) in s for n in self.names) or any(ip in s for ip in self.literal_ips)

    def to_target(self, ev: Event) -> bool:
        return (norm_ip(ev.get("destination_ip")) in self.target_ips) or self.names_host(ev.get("destination_domain"))

    # ------------------------------------------------------------------ client side
    def dns(self) -> None:
        for ev in self.window:
            if ev.get("event_code") == 22 or ev.get("event_dataset") == "zeek.dns":
                q = ev.get("dns_question_name")
                if q and (self.names_host(q)):
                    ips = answers_ips(ev.get("dns_answers"))
                    self.target_ips |= ips
                    for n in self.names:
                        if same_host(n, q):
                            self.resolved.setdefault(n, set()).update(ips)
                    self.relate("dns", ev, f"DNS {q} -> {', '.join(sorted(ips)) or 'no answer'}"
                                           f" by {ev.get('process_name') or '?'}")
                    self.add("dns.corroborated", f"DNS lookup of the source host {q} at the time of the job",
                             [ev.get("event_uid") or "", f"{q} -> {', '.join(sorted(ips))}"])

    def connections(self) -> None:
        me_guid = self.alert.process.get("entity_id") or self.alert.extra.get("linked_entity_id")
        me_pid = self.alert.process.get("pid")
        for ev in self.window:
            if ev.get("event_code") != 3:
                continue
            if norm_ip(ev.get("source_ip")):
                self.client_ips.add(str(norm_ip(ev.get("source_ip"))))
            own = (me_guid and ev.get("process_entity_id") == me_guid) or (
                (not me_guid or not ev.get("process_entity_id")) and me_pid is not None
                and ev.get("process_pid") == me_pid)
            name = lower(ev.get("process_name") or basename(ev.get("process_executable")))
            port = ev.get("destination_port")
            system = ev.get("process_pid") == 4 or name == "system"
            if own:
                self._conn(ev, f"the cabinet maker itself connected to {ev.get('destination_domain') or ev.get('destination_ip')}:{port}")
            elif system and port in (445, 139) and self.to_target(ev):
                self._conn(ev, f"System (PID 4) SMB session to {ev.get('destination_ip')}:{port}")
            elif name == "svchost.exe" and self.to_target(ev) and (port in (80, 443) or self._src_port(port)):
                self.relate("network", ev, _summary_conn(ev) + " (WebClient)")
                self.add("webdav.client_activity", "WebClient (svchost.exe) traffic to the WebDAV host",
                         [ev.get("event_uid") or "", _summary_conn(ev)])
                self._net_props(ev)
        for ev in self.window:
            if ev.get("event_code") in PROCESS_CODES and lower(ev.get("process_name")) == "rundll32.exe":
                cl = lower(ev.get("process_command_line"))
                if "davclnt.dll" in cl and "davsetcookie" in cl and self.mentions_host(cl):
                    self.relate("process", ev, f"rundll32 davclnt.dll,DavSetCookie: {ev.get('process_command_line')}")
                    self.add("webdav.client_activity", "WebDAV redirector cookie call naming the source host",
                             [ev.get("event_uid") or "", ev.get("process_command_line") or ""])

    def _src_port(self, port: object) -> bool:
        return any(d.get("port") == port for d in self.dests if d.get("port"))

    def _conn(self, ev: Event, title: str) -> None:
        self.relate("network", ev, _summary_conn(ev))
        self.add("net.corroborated", "network connection matching the job's remote source",
                 [ev.get("event_uid") or "", title])
        self._net_props(ev)

    def _net_props(self, ev: Event) -> None:
        ip, port, uid = ev.get("destination_ip"), ev.get("destination_port"), ev.get("event_uid") or ""
        if ip and classify(ip, self.ctx.net).scope == "external":
            self.add("net.external", f"corroborating connection goes to external address {ip}", [uid, f"{ip}:{port}"])
        if ip and norm_ip(ip) in self.literal_ips:
            self.add("net.ip_literal", f"connection to the raw IP the job named ({ip})", [uid, f"{ip}:{port}"])
        if as_int(port) is not None and as_int(port) not in STANDARD_PORTS:
            self.add("net.nonstandard_port", f"connection on non-standard port {port}", [uid, f"{ip}:{port}"])

    def net_use(self) -> None:
        rows = self.ctx.bulk("net_use", self.alert, lambda alerts: _net_use_rows(alerts, self.ctx)) or []
        for ev in rows:
            if ev.get("event_code") == 13:
                text = f"{ev.get('registry_path')} = {ev.get('registry_value')}"
                if "remotepath" in lower(ev.get("registry_path")) and self.mentions_host(ev.get("registry_value")):
                    self.relate("registry", ev, f"mapped drive: {text}")
                    self.add("net.share_mapped", "a drive was mapped to the source share", [ev.get("event_uid") or "", text])
                continue
            cl = ev.get("process_command_line") or ""
            if re.search(r"\buse\b", cl, re.I) and self.mentions_host(cl):
                self.relate("process", ev, f"net use: {cl}")
                self.add("net.share_mapped", "the source share was mapped with net use",
                         [ev.get("event_uid") or "", cl])

    def scope_from_resolution(self) -> None:
        """A source host of unknown scope that resolved only to external addresses is external."""
        for s in self.alert.sources:
            if s.scope != "unknown" or not s.host or s.kind not in ("smb", "webdav", "http"):
                continue
            ips = next((v for k, v in self.resolved.items() if same_host(k, s.host)), set())
            scopes = {classify(ip, self.ctx.net).scope for ip in ips}
            if ips and scopes == {"internal"}:
                s.scope = "internal"  # a name outside the configured domains that resolves inside
            elif ips and scopes == {"external"}:
                s.scope = "external"
                self.add("source.external", f"source host {s.host} resolved to external address(es)",
                         [s.path, f"{s.host} -> {', '.join(sorted(ips))}"])

    # ------------------------------------------------------------------ other side
    def server_side(self) -> None:
        rows = self.ctx.bulk("server_side", self.alert, lambda alerts: _server_rows(alerts, self.ctx))
        if rows is None:
            return
        shares = {s: rest for d in self.dests if (x := _share_of(d.get("path"))) for s, rest in [x]}
        for ev in rows:
            src = norm_ip(ev.get("source_ip"))
            from_client = src in self.client_ips or same_host(src, self.alert.host)
            if ev.get("event_code") == 4624 and ev.get("logon_type") == 3 and from_client:
                self.relate("logon", ev, f"network logon (type 3) on {ev.get('host_name')} from {src}"
                                         f" as {ev.get('user_name')}")
                self.add("logon.type3", f"the source server logged a network logon from {self.alert.host}",
                         [ev.get("event_uid") or "", f"{ev.get('host_name')}: 4624 type 3 from {src}"])
            elif ev.get("event_code") in (5140, 5145) and (from_client or (
                    not self.client_ips and lower(ev.get("user_name")) == lower(self.alert.user) != "")):
                share = lower(ev.get("share_name")).split("\\")[-1]
                if share and share in {lower(s) for s in shares}:
                    target = ev.get("share_relative_target") or ""
                    self.relate("share", ev, f"{ev.get('event_code')} share {ev.get('share_name')} {target}"
                                             f" from {src}")
                    self.add("net.corroborated", "the source server logged the share access",
                             [ev.get("event_uid") or "", f"{ev.get('host_name')}: {ev.get('share_name')}\\{target}"])

    def sensors(self) -> None:
        rows = self.ctx.bulk("sensors", self.alert, lambda alerts: _sensor_rows(alerts, self.ctx)) or []
        for ev in rows:
            src = norm_ip(ev.get("source_ip"))
            if self.client_ips and src not in self.client_ips and not same_host(ev.get("host_name"), self.alert.host):
                continue
            url_host = urlsplit(ev.get("url_full") or "").hostname
            ds = lower(ev.get("event_dataset"))
            if ds == "zeek.ssl" or ev.get("tls_server_name"):
                if self.names_host(ev.get("tls_server_name")) or ev.get("destination_ip") in self.target_ips:
                    self.relate("tls", ev, f"TLS to {ev.get('tls_server_name') or ev.get('destination_ip')} from {src}")
                    self.add("net.corroborated", "sensor saw TLS to the WebDAV host",
                             [ev.get("event_uid") or "", f"server_name={ev.get('tls_server_name')}"])
            elif ds in ("zeek.http", "squid") or ev.get("event_provider") == "proxy":
                if self.names_host(ev.get("destination_domain")) or self.names_host(url_host) or self.to_target(ev):
                    ua = ev.get("user_agent") or ""
                    desc = (f"{ev.get('http_request_method')} {ev.get('url_full') or ev.get('destination_domain')}"
                            f" -> {ev.get('http_response_status_code')} ({ev.get('http_response_bytes')} bytes) UA={ua}")
                    self.relate("proxy", ev, desc)
                    title = "proxy/HTTP log of the transfer" + (" (WebDAV client)" if "webdav" in ua.lower() else "")
                    self.add("proxy.corroborated", title, [ev.get("event_uid") or "", desc])
            elif ds.startswith(("zeek.smb", "zeek.conn")) and self.to_target(ev):
                self.relate("network", ev, f"{ds}: {src} -> {ev.get('destination_ip')}:{ev.get('destination_port')}"
                                           f" {ev.get('share_name') or ev.get('file_path') or ''}".rstrip())
                self.add("net.corroborated", f"sensor ({ds}) saw the session to the source host",
                         [ev.get("event_uid") or "", f"{src} -> {ev.get('destination_ip')}:{ev.get('destination_port')}"])


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    c = _Corroborator(alert, ctx)
    if not c.dests:
        alert.extra.setdefault("steps", {})[STEP] = "no remote source or destination to corroborate"
        return []
    c.dns()
    c.connections()
    c.net_use()
    c.server_side()
    c.sensors()
    c.scope_from_resolution()
    alert.related.extend(r for r in c.related if r.event_uid not in {x.event_uid for x in alert.related if x.event_uid})
    alert.extra["corroboration"] = {"client_ips": sorted(c.client_ips), "target_ips": sorted(c.target_ips),
                                    "resolved": {k: sorted(v) for k, v in c.resolved.items()},
                                    "window": [iso(c.lo), iso(c.hi)]}
    return c.findings



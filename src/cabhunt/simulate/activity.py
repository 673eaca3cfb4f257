"""The primitives every generator uses to make one host's events consistent.

``HostState`` keeps a host's long-lived processes (System, services, svchost, the WebClient
service, the user's explorer) across days; ``Activity`` emits the records of one host-day and
knows how Windows really shows each action: a process start is Sysmon EID 1 (and 4688 where
process auditing is on), an SMB read is ``System`` (PID 4) connecting to 445 plus the file
server's 4624/5140/5145 and Zeek ``smb_*`` records, a name lookup is EID 22 plus Zeek ``dns``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cabhunt.simulate import netrec, sysmon
from cabhunt.simulate.entities import Ev, Host, Logon, Net, Proc
from cabhunt.simulate.fleet import DNS_SERVER, DOMAIN, FILE_SHARES, Fleet

SYSTEM32 = "C:\\Windows\\System32"
PROGRAM_FILES = "C:\\Program Files"


@dataclass(slots=True)
class HostState:
    """Long-lived processes of one host; rebuilt at each boot."""

    host: Host
    system: Proc | None = None
    services: Proc | None = None
    winlogon: Proc | None = None
    svchosts: list[Proc] = field(default_factory=list)
    webclient: Proc | None = None
    explorer: Proc | None = None
    logon: Logon | None = None
    browser: Proc | None = None
    office: dict[str, Proc] = field(default_factory=dict)
    booted: bool = False
    smb_sessions: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # server -> (logon id, port, until)


@dataclass(slots=True)
class Chunk:
    """Records of one host-day: its own events, network-sensor records, events of other hosts."""

    events: list[Ev] = field(default_factory=list)
    net: list[Net] = field(default_factory=list)
    remote: list[tuple[str, Ev]] = field(default_factory=list)

    def count(self) -> int:
        return len(self.events) + len(self.net) + len(self.remote)


class Activity:
    """Emits the records of one host-day into a ``Chunk``."""

    def __init__(self, fleet: Fleet, state: HostState, chunk: Chunk, rng: random.Random, day_ms: int) -> None:
        self.fleet = fleet
        self.state = state
        self.host = state.host
        self.chunk = chunk
        self.rng = rng
        self.day_ms = day_ms
        self.audit_4688 = self.host.role == "buildserver"

    # --- processes -------------------------------------------------------------------------
    def spawn(self, parent: Proc | None, image: str, cmd: str, ts: int, cwd: str | None = None,
              logon: Logon | None = None, original: str | None = None, log: bool = True) -> Proc:
        """Start a process; its EID 1 names ``parent``. ``original`` is the PE OriginalFileName."""
        lg = logon or (parent.logon if parent else sysmon.system_logon())
        pe = sysmon.pe_for(image, original)
        p = Proc(self.host.new_guid(ts), self.host.new_pid(), image, cmd,
                 cwd or (parent.cwd if parent and parent.cwd and lg is parent.logon else SYSTEM32 + "\\"), lg, pe,
                 ts, parent)
        if log:
            self.chunk.events.append(sysmon.proc_create(p))
            if self.audit_4688:
                user = lg.user.split("\\", 1)[-1]
                sid = "S-1-5-18" if lg.integrity == "System" else self.host.user_sid
                self.chunk.events.append(sysmon.process_4688(p, sid, user, DOMAIN))
        return p

    def boot(self, ts: int) -> None:
        """Boot the host: System, smss, wininit, services, the usual svchost groups, winlogon."""
        st = self.state
        h = self.host
        sys_logon = sysmon.system_logon()
        st.system = Proc(h.new_guid(ts - 20000), 4, "System", "", "", sys_logon, sysmon.pe_for("System"),
                         ts - 20000, None)
        smss = self.spawn(st.system, f"{SYSTEM32}\\smss.exe", "\\SystemRoot\\System32\\smss.exe", ts)
        wininit = self.spawn(smss, f"{SYSTEM32}\\wininit.exe", "wininit.exe", ts + 900)
        st.services = self.spawn(wininit, f"{SYSTEM32}\\services.exe", "C:\\Windows\\system32\\services.exe",
                                 ts + 1100)
        self.spawn(wininit, f"{SYSTEM32}\\lsass.exe", "C:\\Windows\\system32\\lsass.exe", ts + 1150)
        st.winlogon = self.spawn(smss, f"{SYSTEM32}\\winlogon.exe", "winlogon.exe", ts + 1000)
        st.svchosts = []
        groups = ("-k DcomLaunch -p", "-k RPCSS -p", "-k netsvcs -p -s Schedule", "-k NetworkService -p -s Dnscache",
                  "-k LocalServiceNetworkRestricted -p", "-k netsvcs -p -s wuauserv")
        for i, grp in enumerate(groups):
            lg = sysmon.local_service_logon() if "LocalService" in grp else sys_logon
            st.svchosts.append(self.spawn(st.services, f"{SYSTEM32}\\svchost.exe",
                                          f"C:\\Windows\\system32\\svchost.exe {grp}", ts + 1500 + 120 * i,
                                          logon=lg))
        st.webclient = None
        st.explorer = None
        st.browser = None
        st.office = {}
        st.smb_sessions = {}
        st.booted = True

    def user_logon(self, ts: int) -> Proc:
        """Interactive logon (4624 type 2), userinit and explorer."""
        st = self.state
        h = self.host
        assert st.winlogon is not None
        lid = f"0x{self.rng.randrange(0x100000, 0xFFFFFF):x}"
        lg = Logon(f"{DOMAIN}\\{h.user}", lid, h.new_guid(ts).replace(h.guid_prefix, h.guid_prefix[::-1]), 1,
                   "Medium")
        st.logon = lg
        self.chunk.events.append(sysmon.logon_4624(
            ts, h.user_sid, h.user, DOMAIN, lid, 2, ip="127.0.0.1", port="0", workstation=h.name,
            logon_guid=lg.logon_guid, process=(hex(st.winlogon.pid), st.winlogon.image),
            subject=("S-1-5-18", f"{h.name}$", DOMAIN, "0x3e7")))
        userinit = self.spawn(st.winlogon, f"{SYSTEM32}\\userinit.exe", "C:\\Windows\\system32\\userinit.exe",
                              ts + 400, logon=lg, cwd=f"{SYSTEM32}\\")
        st.explorer = self.spawn(userinit, "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", ts + 900,
                                 logon=lg, cwd=f"{SYSTEM32}\\")
        st.explorer.cwd = f"C:\\Users\\{h.user}\\"
        return st.explorer

    def ensure_webclient(self, ts: int) -> Proc:
        """The WebClient service is demand-started by the first WebDAV access."""
        st = self.state
        if st.webclient is None:
            assert st.services is not None
            st.webclient = self.spawn(st.services, f"{SYSTEM32}\\svchost.exe",
                                      "C:\\Windows\\system32\\svchost.exe -k LocalService -p -s WebClient",
                                      ts, logon=sysmon.local_service_logon())
        return st.webclient

    # --- network ---------------------------------------------------------------------------
    def port(self) -> int:
        return self.rng.randrange(49700, 65500)

    def lookup(self, proc: Proc | None, ts: int, name: str, answers: list[str], cname: str | None = None,
               sysmon_event: bool = True) -> None:
        """A DNS resolution: Sysmon EID 22 by the asking process and a Zeek dns record."""
        rec = ([f"type:  5 {cname}"] if cname else []) + answers
        if sysmon_event and proc is not None:
            self.chunk.events.append(sysmon.dns_query(ts, proc, name, rec))
        zans = ([cname] if cname else []) + answers
        uid = netrec.zeek_uid(self.rng)
        sport = self.port()
        self.chunk.net.append(netrec.dns(ts - 3, uid, self.host.ip, sport, DNS_SERVER, name, zans,
                                         [300.0] * len(zans), self.rng.randrange(1, 65535)))
        self.chunk.net.append(netrec.conn(ts - 3, uid, self.host.ip, sport, DNS_SERVER, 53, "udp", "dns",
                                          0.0012, 34 + len(name), 50 + len(name) + 16 * len(zans), state="SF",
                                          history="Dd"))

    def tcp(self, proc: Proc | None, ts: int, dst_ip: str, dst_port: int, dst_host: str = "",
            service: str | None = None, ob: int = 900, rb: int = 6000, duration: float = 1.2) -> tuple[str, int]:
        """An outbound TCP connection: EID 3 when ``proc`` is given, always a Zeek conn record."""
        sport = self.port()
        if proc is not None:
            self.chunk.events.append(sysmon.net_connect(ts, proc, self.host.ip, sport, dst_ip, dst_port,
                                                        dst_host=dst_host, src_host=self.host.fqdn))
        uid = netrec.zeek_uid(self.rng)
        self.chunk.net.append(netrec.conn(ts, uid, self.host.ip, sport, dst_ip, dst_port, "tcp", service,
                                          duration, ob, rb))
        return uid, sport

    def https(self, proc: Proc | None, ts: int, domain: str, ip: str, rb: int = 8000, sni: bool = True) -> str:
        """A TLS session through the transparent proxy: conn + ssl on the edge, a Squid tunnel line."""
        uid, sport = self.tcp(proc, ts, ip, 443, domain, "ssl", ob=1400, rb=rb)
        self.chunk.net.append(netrec.ssl(ts + 40, uid, self.host.ip, sport, ip, 443, domain if sni else None))
        self.chunk.net.append(netrec.squid(ts + 1200, 1150 + rb // 50, self.host.ip, "TCP_TUNNEL", 200, rb + 1400,
                                           "CONNECT", f"{domain}:443", ip))
        return uid

    def smb_read(self, ts: int, server: Host | None, server_ip: str, server_name: str, share: str,
                 relpath: str, size: int, user_logon: Logon | None = None) -> int:
        """An SMB file read by the redirector: System EID 3 to 445, Zeek smb, file-server audit events.

        Returns the time the read completes (ms).
        """
        st = self.state
        h = self.host
        assert st.system is not None
        src = h.ip6 if ":" in server_ip and h.ip6 else h.ip
        sess = st.smb_sessions.get(server_ip)
        new_session = sess is None or sess[2] < ts
        if new_session:
            sport = self.port()
            lid = f"0x{self.rng.randrange(0x1000000, 0xFFFFFFF):x}"
            st.smb_sessions[server_ip] = (lid, sport, ts + 600_000)
            self.chunk.events.append(sysmon.net_connect(ts, st.system, src, sport, server_ip, 445,
                                                        dst_host=server_name, src_host=h.fqdn))
        else:
            assert sess is not None
            lid, sport, _ = sess
            st.smb_sessions[server_ip] = (lid, sport, ts + 600_000)
        uid = netrec.zeek_uid(self.rng)
        unc_share = f"\\\\{server_name}\\{share}"
        self.chunk.net.append(netrec.conn(ts, uid, src, sport, server_ip, 445, "tcp", "smb,gssapi,krb",
                                          2.0 + size / 4e6, 2400 + size // 40, size + 5000))
        self.chunk.net.append(netrec.smb_mapping(ts + 30, uid, src, sport, server_ip, unc_share))
        self.chunk.net.append(netrec.smb_files(ts + 60, uid, src, sport, server_ip,
                                               netrec.zeek_uid(self.rng, "F"), "SMB::FILE_OPEN",
                                               unc_share, relpath, size, ts - 86_400_000 * 3))
        self.chunk.net.append(netrec.smb_files(ts + 90, uid, src, sport, server_ip,
                                               netrec.zeek_uid(self.rng, "F"), "SMB::FILE_READ",
                                               unc_share, relpath, size, ts - 86_400_000 * 3))
        if server is not None and server.role == "fileserver":
            lg = user_logon or st.logon
            uname, usid = (lg.user.split("\\", 1)[-1], h.user_sid) if lg and lg.integrity != "System" \
                else (f"{h.name}$", f"{h.machine_sid}-1001")
            local = FILE_SHARES.get(share.lower(), f"D:\\Shares\\{share}")
            if new_session:
                self.chunk.remote.append((server.name, sysmon.logon_4624(
                    ts + 5, usid, uname, DOMAIN, lid, 3, ip=src, port=str(sport))))
                self.chunk.remote.append((server.name, sysmon.share_5140(
                    ts + 8, usid, uname, DOMAIN, lid, src, sport, share, local)))
            self.chunk.remote.append((server.name, sysmon.share_5145(
                ts + 12, usid, uname, DOMAIN, lid, src, sport, share, local, relpath)))
        return ts + 200 + size // 20000

    def webdav(self, ts: int, host: str, ip: str, port: int, ssl: bool, paths: list[tuple[str, int]],
               resolve: bool = True) -> int:
        """WebDAV reads by the WebClient service: its svchost's EID 22/3, davclnt rundll32, HTTP(S) legs.

        ``paths`` are (URL path, size). Returns the time the last read completes.
        """
        wc = self.ensure_webclient(ts)
        scheme = "https" if ssl else "http"
        hostport = host if (ssl and port == 443) or (not ssl and port == 80) else f"{host}:{port}"
        first = paths[0][0].rsplit("/", 1)[0] + "/"
        self.spawn(wc, f"{SYSTEM32}\\rundll32.exe",
                   f"C:\\Windows\\system32\\rundll32.exe C:\\Windows\\system32\\davclnt.dll,DavSetCookie {host} "
                   f"{scheme}://{hostport}{first}", ts + 40)
        if resolve:
            self.lookup(wc, ts + 80, host, [ip])
        ts += 150
        sport = self.port()
        self.chunk.events.append(sysmon.net_connect(ts, wc, self.host.ip, sport, ip, port, dst_host=host,
                                                    src_host=self.host.fqdn))
        uid = netrec.zeek_uid(self.rng)
        total = sum(s for _, s in paths)
        self.chunk.net.append(netrec.conn(ts, uid, self.host.ip, sport, ip, port, "tcp",
                                          "ssl" if ssl else "http", 3.0 + total / 2e6, 4000, total + 9000))
        t = ts + 60
        if ssl:
            self.chunk.net.append(netrec.ssl(t, uid, self.host.ip, sport, ip, port, host, version="TLSv12"))
            self.chunk.net.append(netrec.squid(t + 2500, 2400 + total // 3000, self.host.ip, "TCP_TUNNEL", 200,
                                               total + 9000, "CONNECT", f"{host}:{port}", ip))
            return t + 2600 + total // 3000
        depth = 1
        for method, path, size, status, mime in (
                [("OPTIONS", first, 0, 200, None), ("PROPFIND", first, 1873, 207, "text/xml")]
                + [("PROPFIND", p, 912, 207, "text/xml") for p, _ in paths]
                + [("GET", p, s, 200, "application/octet-stream") for p, s in paths]):
            self.chunk.net.append(netrec.http(
                t, uid, self.host.ip, sport, ip, port, method, host if port == 80 else f"{host}:{port}", path,
                "Microsoft-WebDAV-MiniRedir/10.0.19045", status, "OK" if status == 200 else "Multi-Status", size,
                mime=mime, depth=depth, fuid=netrec.zeek_uid(self.rng, "F") if method == "GET" else None))
            self.chunk.net.append(netrec.squid(
                t + 20, 15 + size // 5000, self.host.ip, "TCP_MISS", status, size + 320, method,
                f"http://{hostport}{path}", ip, mime or "-"))
            t += 35 + size // 8000
            depth += 1
        return t

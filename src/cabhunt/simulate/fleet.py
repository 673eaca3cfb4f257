"""The fleet plan: hosts, users, address plan, log formats and the outside world they talk to.

Everything here is small and derived from the seed, so a 10-million-event run still plans its
fleet in milliseconds; the events themselves are streamed later, host-day by host-day.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from cabhunt.simulate.entities import Host

DOMAIN = "CORP"
DNS_SUFFIX = "corp.example.com"
DNS_SERVER = "10.20.0.2"
PROXY_IP = "10.20.0.3"
PROXY_NAME = "proxy01"
EDGE_SENSOR = "zeek-edge"
CORE_SENSOR = "zeek-core"
WEBDAV_UA = "Microsoft-WebDAV-MiniRedir/10.0.19045"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"

_FIRST = ("anna", "ben", "carla", "david", "elena", "felix", "grace", "henrik", "ines", "jonas", "karin",
          "lukas", "maria", "nils", "olga", "paul", "quinn", "rosa", "sven", "tara", "umar", "vera", "wim",
          "xenia", "yusuf", "zoe")
_LAST = ("meyer", "schmidt", "novak", "berg", "costa", "dubois", "eriksen", "fischer", "garcia", "hansen",
         "ivanova", "jensen", "keller", "lang", "moreau", "nagy", "olsen", "petrov", "quist", "rossi")


@dataclass(frozen=True, slots=True)
class Site:
    """An outside destination of ordinary traffic."""

    domain: str
    ips: tuple[str, ...]
    cname: str | None
    kind: str  # saas | cdn | update | web


SITES: tuple[Site, ...] = (
    Site("outlook.office365.com", ("52.97.146.162", "52.98.163.18"), "outlook.ha.office365.com", "saas"),
    Site("login.microsoftonline.com", ("20.190.159.2", "40.126.31.67"), "ak.privatelink.msidentity.com", "saas"),
    Site("teams.microsoft.com", ("52.113.194.132",), "teams-ring.msedge.net", "saas"),
    Site("graph.microsoft.com", ("20.190.160.20",), "graph.ha.microsoft.com", "saas"),
    Site("www.office.com", ("13.107.6.156",), "www.office.com.edgekey.net", "saas"),
    Site("corp-my.sharepoint.com", ("13.107.136.10",), "dual-spo-0004.spo-msedge.net", "saas"),
    Site("slack.com", ("52.85.132.81", "52.85.132.22"), None, "saas"),
    Site("github.com", ("140.82.121.4",), None, "web"),
    Site("www.google.com", ("142.250.185.68",), None, "web"),
    Site("fonts.gstatic.com", ("142.250.186.35",), None, "cdn"),
    Site("cdn.jsdelivr.net", ("151.101.1.229", "151.101.65.229"), "jsdelivr.map.fastly.net", "cdn"),
    Site("ajax.googleapis.com", ("142.250.184.234",), None, "cdn"),
    Site("static.zdassets.com", ("104.18.72.113",), None, "cdn"),
    Site("www.wikipedia.org", ("185.15.59.224",), "dyna.wikimedia.org", "web"),
    Site("news.ycombinator.com", ("209.216.230.207",), None, "web"),
    Site("settings-win.data.microsoft.com", ("20.42.73.29",), "atm-settingsfe-prod-geo2.trafficmanager.net",
         "update"),
    Site("v10.events.data.microsoft.com", ("20.189.173.14",), "global.asimov.events.data.trafficmanager.net",
         "update"),
    Site("ctldl.windowsupdate.com", ("93.184.221.240",), "wu-bg-shim.trafficmanager.net", "update"),
    Site("download.windowsupdate.com", ("8.253.208.112", "8.253.208.120"), "wu.ec.azureedge.net", "update"),
    Site("officecdn.microsoft.com", ("23.44.229.167",), "officecdn.microsoft.com.edgesuite.net", "update"),
)


@dataclass(slots=True)
class Fleet:
    """Hosts in processing order (the file server last: it receives events from every client)."""

    hosts: list[Host]
    fileserver: Host
    buildserver: Host
    wsus: Host
    workstations: list[Host]

    def by_name(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)


def _prefix(seed: int, name: str) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8].upper()


def _format_for(i: int, rng: random.Random) -> str:
    """Mix formats: most Winlogbeat raw, some ECS, a few flat Sysmon and evtx_dump JSON."""
    forced = ("winlogbeat", "ecs", "flat", "evtxjson")
    if i < len(forced):
        return forced[i]
    r = rng.random()
    if r < 0.70:
        return "winlogbeat"
    if r < 0.85:
        return "ecs"
    if r < 0.93:
        return "flat"
    return "evtxjson"


def plan_fleet(hosts: int, seed: int) -> Fleet:
    """``hosts`` machines in total: three servers and the rest workstations (at least five overall)."""
    count = max(5, hosts)
    rng = random.Random(seed * 7 + 1)
    made: list[Host] = []
    n_ws = count - 3
    used_users: set[str] = set()
    for i in range(n_ws):
        name = f"WS{i + 1:04d}"
        while True:
            user = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}"
            if user not in used_users or len(used_users) > 400:
                break
        if user in used_users:
            user = f"{user}{i}"
        used_users.add(user)
        made.append(Host(
            index=i, name=name, fqdn=f"{name}.{DNS_SUFFIX}", ip=f"10.20.{1 + i // 250}.{10 + i % 250}",
            role="workstation", fmt=_format_for(i, rng), user=user, ip6=f"fd00:20:1::{10 + i:x}",
            user_sid=f"{DOMAIN_SID}-{1104 + i}", guid_prefix=_prefix(seed, name),
            machine_sid=f"S-1-5-21-{rng.randrange(10**9, 4 * 10**9)}-{rng.randrange(10**9, 4 * 10**9)}"))
    servers = (("BUILD01", "buildserver", "winlogbeat", "svc.build", "10.20.0.20"),
               ("WSUS01", "wsus", "ecs", "svc.wsus", "10.20.0.30"),
               ("FS01", "fileserver", "xml", "svc.backup", "10.20.0.10"))
    for j, (name, role, fmt, user, ip) in enumerate(servers):
        made.append(Host(
            index=n_ws + j, name=name, fqdn=f"{name}.{DNS_SUFFIX}", ip=ip, role=role, fmt=fmt, user=user,
            user_sid=f"{DOMAIN_SID}-{3001 + j}", guid_prefix=_prefix(seed, name),
            machine_sid=f"S-1-5-21-{rng.randrange(10**9, 4 * 10**9)}-{rng.randrange(10**9, 4 * 10**9)}"))
    ws = made[:n_ws]
    return Fleet(hosts=made, fileserver=made[-1], buildserver=made[-3], wsus=made[-2], workstations=ws)


FILE_SHARES: dict[str, str] = {
    # share name -> local path on FS01
    "users": "D:\\Shares\\Users",
    "public": "D:\\Shares\\Public",
    "swdist": "D:\\Shares\\SoftwareDist",
    "legacy-pkg": "D:\\Shares\\LegacyPackages",
    "scratch": "D:\\Shares\\Scratch",
    "it-tools": "D:\\Shares\\ITTools",
    "projects": "D:\\Shares\\Projects",
}

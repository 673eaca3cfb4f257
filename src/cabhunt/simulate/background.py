"""Ordinary activity of one host-day: logons, Office, browsers, updates, builds, CBS rotation.

Each generator is a small function emitting a coherent burst (process, loads, lookups,
connections, files). ``fill_day`` picks bursts by role until the host-day's share of the
requested event count is reached, so the volume scales without planning the fleet's events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cabhunt.simulate import netrec, sysmon
from cabhunt.simulate.activity import PROGRAM_FILES, SYSTEM32, Activity
from cabhunt.simulate.entities import Proc
from cabhunt.simulate.fleet import SITES, Site

OFFICE16 = f"{PROGRAM_FILES}\\Microsoft Office\\root\\Office16"
EDGE = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"
CHROME = f"{PROGRAM_FILES}\\Google\\Chrome\\Application\\chrome.exe"
_WEB = [s for s in SITES if s.kind in ("saas", "cdn", "web")]
_UPDATE = [s for s in SITES if s.kind == "update"]
_DOC_NAMES = ("Quarterly report", "Budget 2026", "Minutes", "Project plan", "Offer", "Travel expenses",
              "Roadmap", "Status update", "Invoice", "Contract draft")


def _work_ts(act: Activity) -> int:
    """A time in this host-day when its user works (servers: any time)."""
    if act.host.role == "workstation":
        return act.day_ms + act.rng.randrange(int(7.75 * 3600e3), int(18 * 3600e3))
    return act.day_ms + act.rng.randrange(0, 86_399_000)


def browse(act: Activity) -> None:
    st = act.state
    ts = _work_ts(act)
    if st.explorer is None or st.logon is None:
        return
    if st.browser is None or ts < st.browser.start_ms + 2000 or act.rng.random() < 0.1:
        image = EDGE if act.host.index % 3 else CHROME
        st.browser = act.spawn(st.explorer, image, f'"{image}" --single-argument', ts,
                               cwd=image.rsplit("\\", 1)[0] + "\\")
        ts += 1500
    site: Site = act.rng.choice(_WEB)
    ip = act.rng.choice(site.ips)
    act.lookup(st.browser, ts, site.domain, [ip], site.cname)
    act.https(st.browser, ts + 80, site.domain, ip, rb=act.rng.randrange(3000, 400_000))


def office(act: Activity) -> None:
    st = act.state
    if st.explorer is None or st.logon is None:
        return
    ts = _work_ts(act)
    app, exe = act.rng.choice((("winword", "WINWORD.EXE"), ("excel", "EXCEL.EXE")))
    ext = "docx" if app == "winword" else "xlsx"
    doc = f"{act.rng.choice(_DOC_NAMES)} {act.rng.randrange(1, 40)}.{ext}"
    fs = act.fleet.fileserver
    on_share = act.rng.random() < 0.5
    path = f"\\\\{fs.fqdn}\\projects\\{doc}" if on_share else f"C:\\Users\\{act.host.user}\\Documents\\{doc}"
    image = f"{OFFICE16}\\{exe}"
    p = act.spawn(st.explorer, image, f'"{image}" /n "{path}"', ts, cwd=f"C:\\Users\\{act.host.user}\\Documents\\")
    for i, dll in enumerate(("C:\\Windows\\System32\\mso20win32client.dll", "C:\\Windows\\System32\\msxml6.dll")):
        act.chunk.events.append(sysmon.image_load(ts + 200 + 50 * i, p, dll))
    if on_share:
        act.lookup(p, ts + 300, fs.fqdn, [fs.ip])
        act.smb_read(ts + 400, fs, fs.ip, fs.fqdn, "projects", doc, act.rng.randrange(30_000, 900_000))
    act.chunk.events.append(sysmon.file_create(
        ts + 900, p, f"C:\\Users\\{act.host.user}\\AppData\\Roaming\\Microsoft\\Office\\Recent\\{doc}.LNK"))
    act.https(p, ts + 1500, "officecdn.microsoft.com", "23.44.229.167", rb=act.rng.randrange(2000, 20000))


def system_noise(act: Activity) -> None:
    st = act.state
    ts = _work_ts(act)
    if not st.svchosts:
        return
    r = act.rng.random()
    sched = st.svchosts[2]
    if r < 0.35:
        act.spawn(sched, f"{SYSTEM32}\\taskhostw.exe", "taskhostw.exe Install $(Arg0)", ts,
                  logon=sched.logon)
    elif r < 0.6:
        svc = st.svchosts[5]
        site = act.rng.choice(_UPDATE)
        ip = site.ips[0]
        act.lookup(st.svchosts[3], ts, site.domain, [ip], site.cname)
        act.https(svc, ts + 100, site.domain, ip, rb=act.rng.randrange(2000, 60000))
    elif r < 0.8:
        act.spawn(st.svchosts[0], f"{SYSTEM32}\\SearchProtocolHost.exe",
                  '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipeMssGthrPipe1_ '
                  'Global\\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\\Microsoft\\Windows Search" '
                  '"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" '
                  '"C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc" "DownLevelDaemon"', ts)
    else:
        act.spawn(st.svchosts[5], f"{SYSTEM32}\\usoclient.exe", "C:\\Windows\\system32\\usoclient.exe StartScan",
                  ts)
        site = _UPDATE[2]
        uid, sport = act.tcp(st.svchosts[5], ts + 300, site.ips[0], 80, site.domain, "http", ob=400, rb=9000)
        act.chunk.net.append(netrec.http(
            ts + 320, uid, act.host.ip, sport, site.ips[0], 80, "GET", site.domain,
            "/msdownload/update/v3/static/trustedr/en/authrootstl.cab", "Microsoft-CryptoAPI/10.0", 200, "OK",
            8763, mime="application/vnd.ms-cab-compressed"))
        act.chunk.net.append(netrec.squid(ts + 340, 42, act.host.ip, "TCP_MISS", 200, 9100, "GET",
                                          f"http://{site.domain}/msdownload/update/v3/static/trustedr/en/"
                                          "authrootstl.cab", site.ips[0], "application/vnd.ms-cab-compressed"))


def admin_shell(act: Activity) -> None:
    st = act.state
    if st.explorer is None:
        return
    ts = _work_ts(act)
    cmd = act.spawn(st.explorer, f"{SYSTEM32}\\cmd.exe", '"C:\\Windows\\system32\\cmd.exe" ', ts)
    act.spawn(cmd, f"{SYSTEM32}\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
              ts + 30)
    for i, c in enumerate(act.rng.sample(("ipconfig /all", "whoami", "ping -n 2 fs01", "gpupdate /force",
                                          "nslookup proxy01", "tasklist"), 2)):
        exe = c.split()[0]
        act.spawn(cmd, f"{SYSTEM32}\\{exe}.exe", c, ts + 3000 * (i + 1))


def cbs_rotation(act: Activity, ts: int | None = None) -> tuple[str, Proc]:
    """TrustedInstaller's TiWorker compressing a persisted CBS log with makecab (benign)."""
    st = act.state
    assert st.services is not None
    ts = ts if ts is not None else _work_ts(act)
    act.spawn(st.services, "C:\\Windows\\servicing\\TrustedInstaller.exe",
              "C:\\Windows\\servicing\\TrustedInstaller.exe", ts)
    stamp = datetime.fromtimestamp(ts // 1000, UTC).strftime("%Y%m%d%H%M%S")
    worker_dir = "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.3565_none_7e1d5d2b7a8a7c6b"
    tiw = act.spawn(st.svchosts[0], f"{worker_dir}\\TiWorker.exe",
                    f"C:\\Windows\\winsxs\\{worker_dir.rsplit(chr(92), 1)[-1]}\\TiWorker.exe -Embedding", ts + 400)
    log = f"C:\\Windows\\Logs\\CBS\\CbsPersist_{stamp}.log"
    cab = f"C:\\Windows\\Logs\\CBS\\CbsPersist_{stamp}.cab"
    mk = act.spawn(tiw, f"{SYSTEM32}\\makecab.exe", f"C:\\Windows\\system32\\makecab.exe {log} {cab}",
                   ts + 60_000, cwd="C:\\Windows\\system32\\")
    act.chunk.events.append(sysmon.file_create(ts + 61_500, mk, cab))
    return cab, mk


def build_job(act: Activity) -> None:
    """Build server: msbuild with cl/link children, sources from git, signed output."""
    st = act.state
    assert st.services is not None
    ts = _work_ts(act)
    agent = act.spawn(st.services, "C:\\BuildAgent\\bin\\Agent.Listener.exe",
                      '"C:\\BuildAgent\\bin\\Agent.Listener.exe" run --startuptype service', ts)
    proj = act.rng.choice(("CorpAgent", "PrinterDriver", "Updater", "Telemetry"))
    git = act.spawn(agent, "C:\\Program Files\\Git\\cmd\\git.exe", "git fetch --tags --prune origin", ts + 500,
                    cwd=f"C:\\build\\{proj}\\")
    act.lookup(git, ts + 600, "github.com", ["140.82.121.4"])
    act.https(git, ts + 700, "github.com", "140.82.121.4", rb=act.rng.randrange(20_000, 800_000))
    msb_img = "C:\\Program Files\\Microsoft Visual Studio\\2022\\BuildTools\\MSBuild\\Current\\Bin\\amd64\\MSBuild.exe"
    msb = act.spawn(agent, msb_img, f'"{msb_img}" {proj}.sln /p:Configuration=Release /m', ts + 5000,
                    cwd=f"C:\\build\\{proj}\\")
    tools = "C:\\Program Files\\Microsoft Visual Studio\\2022\\BuildTools\\VC\\Tools\\MSVC\\14.38.33130\\bin\\HostX64\\x64"
    t = ts + 8000
    for _ in range(act.rng.randrange(2, 6)):
        src = f"src\\{act.rng.choice(('main', 'io', 'net', 'util', 'config', 'driver'))}.cpp"
        cl = act.spawn(msb, f"{tools}\\cl.exe", f'"{tools}\\cl.exe" /c /O2 /MD /EHsc {src}', t)
        act.chunk.events.append(sysmon.file_create(t + 900, cl, f"C:\\build\\{proj}\\obj\\Release\\"
                                                   f"{src[4:-4]}.obj"))
        t += act.rng.randrange(1500, 6000)
    link = act.spawn(msb, f"{tools}\\link.exe", f'"{tools}\\link.exe" /OUT:bin\\Release\\{proj}.exe @link.rsp', t)
    act.chunk.events.append(sysmon.file_create(t + 2000, link, f"C:\\build\\{proj}\\bin\\Release\\{proj}.exe"))


def driver_packaging(act: Activity, ts: int | None = None) -> tuple[str, str, Proc]:
    """Build server: makecab /F with a local DDF packaging a driver for submission (benign)."""
    st = act.state
    assert st.services is not None
    ts = ts if ts is not None else _work_ts(act)
    proj = "PrinterDriver"
    base = f"C:\\build\\{proj}"
    msb_img = "C:\\Program Files\\Microsoft Visual Studio\\2022\\BuildTools\\MSBuild\\Current\\Bin\\amd64\\MSBuild.exe"
    msb = act.spawn(st.services, msb_img, f'"{msb_img}" {proj}.vcxproj /t:Package /p:Configuration=Release',
                    ts, cwd=f"{base}\\")
    cmd = act.spawn(msb, f"{SYSTEM32}\\cmd.exe", f'C:\\Windows\\system32\\cmd.exe /Q /C "{base}\\pkg\\package.cmd"',
                    ts + 3000)
    ddf = f"{base}\\pkg\\{proj}.ddf"
    mk = act.spawn(cmd, f"{SYSTEM32}\\makecab.exe", f"makecab /f {ddf}", ts + 3500, cwd=f"{base}\\pkg\\")
    cab = f"{base}\\pkg\\disk1\\{proj}.cab"
    act.chunk.events.append(sysmon.file_create(ts + 6000, mk, cab))
    return ddf, cab, mk


def wsus_sync(act: Activity) -> None:
    st = act.state
    assert st.services is not None
    ts = _work_ts(act)
    svc = st.svchosts[1]
    site = _UPDATE[3]
    for i in range(act.rng.randrange(1, 4)):
        ip = site.ips[i % len(site.ips)]
        uid, sport = act.tcp(svc, ts + i * 4000, ip, 80, site.domain, "http", ob=800,
                             rb=act.rng.randrange(1_000_000, 40_000_000), duration=30.0)
        kb = act.rng.randrange(5000000, 5040000)
        uri = f"/c/msdownload/update/software/secu/2026/02/windows10.0-kb{kb}-x64_{kb:x}.cab"
        act.chunk.net.append(netrec.http(ts + i * 4000 + 10, uid, act.host.ip, sport, ip, 80, "GET", site.domain,
                                         uri, "Microsoft BITS/7.8", 200, "OK", 12_000_000,
                                         mime="application/vnd.ms-cab-compressed"))
        act.chunk.net.append(netrec.squid(ts + i * 4000 + 30_000, 29_800, act.host.ip, "TCP_MISS", 200, 12_000_400,
                                          "GET", f"http://{site.domain}{uri}", ip,
                                          "application/vnd.ms-cab-compressed"))


def fileserver_noise(act: Activity) -> None:
    st = act.state
    ts = _work_ts(act)
    if not st.svchosts:
        return
    if act.rng.random() < 0.5:
        act.spawn(st.svchosts[2], f"{SYSTEM32}\\taskhostw.exe", "taskhostw.exe", ts)
    else:
        p = act.spawn(st.services, "C:\\Program Files\\Backup\\BackupAgent.exe",
                      '"C:\\Program Files\\Backup\\BackupAgent.exe" --incremental D:\\Shares', ts)
        act.tcp(p, ts + 2000, "10.20.0.40", 10000, "backup01.corp.example.com", None, ob=40_000_000, rb=20_000,
                duration=600.0)


Burst = Callable[[Activity], None]

ROLE_MIX: dict[str, tuple[tuple[Burst, float], ...]] = {
    "workstation": ((browse, 0.5), (office, 0.2), (system_noise, 0.25), (admin_shell, 0.05)),
    "buildserver": ((build_job, 0.6), (system_noise, 0.4)),
    "wsus": ((wsus_sync, 0.5), (system_noise, 0.5)),
    "fileserver": ((fileserver_noise, 0.4), (system_noise, 0.6)),
}


def fill_day(act: Activity, budget: int) -> None:
    """Emit bursts until the chunk holds ``budget`` records."""
    mix = ROLE_MIX[act.host.role]
    fns = [f for f, _ in mix]
    weights = [w for _, w in mix]
    guard = 0
    while act.chunk.count() < budget and guard < budget * 4 + 10:
        guard += 1
        act.rng.choices(fns, weights)[0](act)

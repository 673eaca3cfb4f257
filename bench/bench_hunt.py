"""Hunt throughput: a full ``cabhunt hunt`` over Winlogbeat-raw NDJSON, against two baselines.

Generates N Winlogbeat-raw events (Sysmon EID 1/3/11/22 from a small fleet with a few makecab and
diantz jobs among ordinary activity, padded with the rendered ``message`` Winlogbeat ships, about
2.6 KB per event), then measures, each in its own process under /usr/bin/time:

1. ``cabhunt hunt FILE --format json`` (start-up, ingest, detect, investigate if installed);
2. DuckDB bare ``read_json`` of the same file (count and a makecab filter): the floor for ingest;
3. the public Sigma rules for makecab/diantz (logic as summarized in the reference notes),
   converted with pysigma-backend-sqlite and run in SQLite after loading the same events.

    python bench/bench_hunt.py                      # 100,000 events
    python bench/bench_hunt.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
S32 = "C:\\Windows\\System32\\"

ORDINARY = [
    (S32 + "svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"),
    (S32 + "conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", '"chrome.exe" --type=renderer --field-trial-handle=1'),
    (S32 + "WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe -NoProfile -Command Get-Process"),
    (S32 + "cmd.exe", 'cmd.exe /c "echo %DATE% >> C:\\Temp\\log.txt"'),
    (S32 + "makecab.exe", "makecab.exe C:\\Windows\\Logs\\CBS\\CbsPersist_20260302.log C:\\Windows\\Logs\\CBS\\CbsPersist_20260302.cab"),
]
SUSPICIOUS = [
    (S32 + "makecab.exe", "makecab.exe \\\\fs01\\share\\tool.exe C:\\Users\\Public\\t.cab"),
    (S32 + "diantz.exe", "diantz.exe \\\\198.51.100.7@SSL\\DavWWWRoot\\p.exe %TEMP%\\p.cab"),
    (S32 + "makecab.exe", "makecab.exe /D SourceDir=\\\\10.0.0.99\\drop /F C:\\Users\\Public\\job.ddf"),
    (S32 + "makecab.exe", "makecab c:\\ADS\\autoruns.exe c:\\ADS\\cabtest.txt:autoruns.cab"),
    (S32 + "makecab.exe", "makecab \\\\?\\C:\\build\\file.dll \\\\?\\C:\\build\\file.cab"),
]
PAD = "Process Create: RuleName: - UtcTime: {ts} ProcessGuid: {guid} ProcessId: {pid} Image: {image} " \
      "FileVersion: 10.0.19041.1 (WinBuild.160101.0800) Description: Windows Host Process Product: Microsoft Windows " \
      "Operating System Company: Microsoft Corporation OriginalFileName: {ofn} CommandLine: {cmd} CurrentDirectory: " \
      "C:\\Windows\\system32\\ User: CORP\\user LogonGuid: {{b7f3e2a1-0000-0000-0000-000000000000}} LogonId: 0x3E7 " \
      "TerminalSessionId: 0 IntegrityLevel: System Hashes: SHA1=0000000000000000000000000000000000000000,MD5=" \
      "00000000000000000000000000000000,SHA256=0000000000000000000000000000000000000000000000000000000000000000,IMPHASH=" \
      "00000000000000000000000000000000 ParentProcessGuid: {{00000000-0000-0000-0000-000000000000}} ParentProcessId: 4 " \
      "ParentImage: C:\\Windows\\System32\\services.exe ParentCommandLine: C:\\Windows\\system32\\services.exe"


def make_event(i: int, rnd: random.Random, t0: datetime, hosts: int) -> dict[str, object]:
    ts = t0 + timedelta(milliseconds=i * 37)
    host = f"WS{rnd.randrange(hosts):04d}.corp.example.com"
    guid = f"{{{i:08x}-{rnd.randrange(1 << 16):04x}-0000-0000-000000000000}}"
    kind = rnd.random()
    image, cmd = SUSPICIOUS[(i // 5000) % len(SUSPICIOUS)] if i % 5000 == 17 else rnd.choice(ORDINARY)
    data: dict[str, object] = {"UtcTime": ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid,
                               "ProcessId": str(1000 + i % 60000), "Image": image, "User": "CORP\\user"}
    if kind < 0.45 or i % 5000 == 17:
        code = 1
        data.update({"CommandLine": cmd, "OriginalFileName": image.rsplit("\\", 1)[-1], "CurrentDirectory": "C:\\Windows\\system32\\",
                     "ParentImage": S32 + "services.exe", "ParentCommandLine": S32 + "services.exe",
                     "IntegrityLevel": "System", "Hashes": "SHA256=" + "0" * 64})
    elif kind < 0.75:
        code = 3
        data["Image"] = image = rnd.choice([S32 + "svchost.exe", "System", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"])
        data.update({"Protocol": "tcp", "Initiated": "true", "SourceIp": "10.0.0.21", "SourcePort": "50123",
                     "DestinationIp": f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                     "DestinationPort": rnd.choice(["443", "80", "445", "135"]), "DestinationHostname": "srv.corp.example.com"})
    elif kind < 0.9:
        code = 11
        data.update({"TargetFilename": f"C:\\Users\\user\\AppData\\Local\\Temp\\tmp{i:06x}.tmp", "CreationUtcTime": data["UtcTime"]})
    else:
        code = 22
    if code != 1 and image.lower().endswith(("makecab.exe", "diantz.exe")):
        data["Image"] = image = S32 + "svchost.exe"  # cabinet makers only appear in their own jobs
        data.update({"QueryName": "srv.corp.example.com", "QueryStatus": "0", "QueryResults": "::ffff:10.0.0.5;"})
    message = PAD.format(ts=data["UtcTime"], guid=guid, pid=data["ProcessId"], image=image, ofn=image.rsplit("\\", 1)[-1], cmd=cmd)
    return {
        "@timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "agent": {"type": "winlogbeat", "version": "8.14.0", "hostname": host.split(".")[0], "name": host.split(".")[0],
                  "id": "5f1e2a3b-0000-0000-0000-000000000000", "ephemeral_id": "1c2d3e4f-0000-0000-0000-000000000000"},
        "ecs": {"version": "8.0.0"},
        "host": {"name": host, "hostname": host.split(".")[0], "os": {"family": "windows", "name": "Windows 10 Enterprise",
                 "kernel": "10.0.19041.3636", "build": "19045.3636", "platform": "windows", "version": "10.0", "type": "windows"},
                 "architecture": "x86_64", "id": "00000000-0000-0000-0000-000000000000", "ip": ["10.0.0.21", "fe80::1"],
                 "mac": ["00-00-00-00-00-00"]},
        "log": {"level": "information"},
        "message": message,
        "event": {"code": str(code), "kind": "event", "provider": "Microsoft-Windows-Sysmon", "created": "2026-03-02T10:00:00.000Z"},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": host, "event_id": str(code),
                   "provider_name": "Microsoft-Windows-Sysmon", "provider_guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
                   "record_id": i + 1, "api": "wineventlog", "opcode": "Info", "task": "Process Create (rule: ProcessCreate)",
                   "version": 5, "process": {"pid": 3064, "thread": {"id": 4012}},
                   "user": {"identifier": "S-1-5-18", "domain": "NT AUTHORITY", "name": "SYSTEM", "type": "User"},
                   "event_data": data},
    }


def generate(path: Path, n: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    t0 = datetime(2026, 3, 2, 8, 0, 0)
    hosts = max(20, n // 5000)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(make_event(i, rnd, t0, hosts), separators=(",", ":")))
            fh.write("\n")


def timed(cmd: list[str]) -> tuple[float, int, str, str]:
    """(wall s, peak RSS KiB, stdout, stderr) of a command in its own process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *cmd], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-3000:])
            raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd[:6])}")
        wall, rss = tf.read().split()[-2:]
    return float(wall), int(rss), out.stdout, out.stderr


DUCKDB_BARE = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect()
    q = "SELECT count(*), count(*) FILTER (WHERE lower(winlog.event_data.Image) LIKE '%makecab.exe') " \\
        "FROM read_json(?, format='newline_delimited', maximum_object_size=1048576, sample_size=-1)"
    print(con.execute(q, [sys.argv[1]]).fetchall())
    """
)

# Public makecab/diantz Sigma logic (SigmaHQ ids 185d7418, 6b369ced, 7f43c430 makecab branch,
# aa8e035d, 4b13db67, 2dbd9d3d) re-expressed for the comparison run.
PUBLIC_RULES = textwrap.dedent(
    r"""
    title: diantz remote cab (185d7418)
    logsource: {category: process_creation, product: windows}
    detection:
      selection:
        CommandLine|contains|all: ['diantz.exe', ' \\\\', '.cab']
      condition: selection
    ---
    title: diantz ads (6b369ced)
    logsource: {category: process_creation, product: windows}
    detection:
      selection:
        CommandLine|contains|all: ['diantz.exe', '.cab']
        CommandLine|re: ':[^\\]'
      condition: selection
    ---
    title: ads makecab branch (7f43c430)
    logsource: {category: process_creation, product: windows}
    detection:
      selection_stream:
        CommandLine|contains: 'txt:'
      selection_tools_makecab:
        CommandLine|contains|all: ['makecab ', '.cab']
      condition: selection_stream and selection_tools_makecab
    ---
    title: extrac32 (aa8e035d)
    logsource: {category: process_creation, product: windows}
    detection:
      selection_lolbas:
        - CommandLine|contains: extrac32.exe
        - Image|endswith: '\extrac32.exe'
        - OriginalFileName: 'extrac32.exe'
      selection_archive:
        CommandLine|contains: '.cab'
      selection_options:
        CommandLine|contains: ['/C', '/Y', ' \\\\']
      condition: all of selection_*
    ---
    title: extrac32 ads (4b13db67)
    logsource: {category: process_creation, product: windows}
    detection:
      selection:
        CommandLine|contains|all: ['extrac32.exe', '.cab']
        CommandLine|re: ':[^\\]'
      condition: selection
    ---
    title: webdav rundll32 (2dbd9d3d)
    logsource: {category: process_creation, product: windows}
    detection:
      selection:
        ParentImage|endswith: '\svchost.exe'
        Image|endswith: '\rundll32.exe'
        CommandLine|contains: 'C:\windows\system32\davclnt.dll,DavSetCookie'
      condition: selection
    """
)

SQLITE_RUN = textwrap.dedent(
    """
    import json, re, sqlite3, sys, time
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.processing.pipeline import ProcessingPipeline
    rules = open(sys.argv[2]).read()
    pipe = ProcessingPipeline.from_yaml(open(sys.argv[3]).read())
    queries = sqliteBackend(pipe).convert(SigmaCollection.from_yaml(rules))
    cols = ["EventID", "Computer", "Image", "CommandLine", "OriginalFileName", "ParentImage", "ParentCommandLine",
            "CurrentDirectory", "User", "TargetFilename", "DestinationIp", "DestinationPort", "DestinationHostname",
            "QueryName", "QueryResults", "UtcTime", "ProcessGuid"]
    con = sqlite3.connect(":memory:")
    con.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, v) is not None, deterministic=True)
    con.execute("CREATE TABLE logs (" + ", ".join(cols) + ")")
    t = time.perf_counter()
    batch = []
    with open(sys.argv[1], encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            ed = d["winlog"]["event_data"]
            row = [int(d["winlog"]["event_id"]), d["winlog"]["computer_name"]] + [ed.get(c) for c in cols[2:]]
            batch.append(row)
            if len(batch) >= 10000:
                con.executemany("INSERT INTO logs VALUES (" + ",".join("?" * len(cols)) + ")", batch)
                batch = []
    con.executemany("INSERT INTO logs VALUES (" + ",".join("?" * len(cols)) + ")", batch)
    load = time.perf_counter() - t
    t = time.perf_counter()
    hits = sum(len(con.execute(q).fetchall()) for q in queries)
    print(json.dumps({"load_s": load, "query_s": time.perf_counter() - t, "hits": hits, "rules": len(queries)}))
    """
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[1]
    env_py = [sys.executable]
    sysmon_pipeline = repo / "src" / "cabhunt" / "rules" / "pipelines" / "sysmon.yml"
    for n in (int(s) for s in args.sizes.split(",")):
        path = OUT / f"winlogbeat-{n}.ndjson"
        if not path.exists():
            generate(path, n)
        mb = path.stat().st_size / 1e6
        print(f"{n:,} Winlogbeat-raw events, {mb:,.0f} MB ({path})")
        print(f"  {'run':<34} {'wall s':>7} {'events/s':>10} {'MB/s':>7} {'peak MiB':>9}  notes")

        wall, rss, out, _err = timed([*env_py, "-m", "cabhunt", "hunt", str(path), "--format", "json"])
        doc = json.loads(out)
        timings = doc["summary"].get("timings", {})
        ing, det = timings.get("ingest", 0.0), timings.get("detect", 0.0)
        note = (f"ingest {ing:.2f}s detect {det:.2f}s ({100 * det / ing if ing else 0:.0f}% of ingest) "
                f"investigate {timings.get('investigate', 0.0):.2f}s; {len(doc['alerts'])} alerts, "
                f"{doc['summary']['verified_benign']} verified benign")
        print(f"  {'cabhunt hunt (full, start-up incl.)':<34} {wall:>7.2f} {n / wall:>10,.0f} {mb / wall:>7.1f} {rss / 1024:>9.0f}  {note}")

        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(DUCKDB_BARE)
        wall, rss, out, _ = timed([*env_py, f.name, str(path)])
        os.unlink(f.name)
        print(f"  {'duckdb bare read_json':<34} {wall:>7.2f} {n / wall:>10,.0f} {mb / wall:>7.1f} {rss / 1024:>9.0f}  {out.strip()}")

        with tempfile.TemporaryDirectory() as td:
            script, rules = Path(td) / "run.py", Path(td) / "rules.yml"
            script.write_text(SQLITE_RUN)
            rules.write_text(PUBLIC_RULES)
            wall, rss, out, _ = timed([*env_py, str(script), str(path), str(rules), str(sysmon_pipeline)])
        r = json.loads(out)
        print(f"  {'public Sigma rules on sqlite':<34} {wall:>7.2f} {n / wall:>10,.0f} {mb / wall:>7.1f} {rss / 1024:>9.0f}  "
              f"load {r['load_s']:.2f}s query {r['query_s']:.3f}s, {r['rules']} rules, {r['hits']} hits")
        if not args.keep:
            path.unlink()
    print(f"(cpu count {os.cpu_count()}; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()

"""Ingest throughput and peak memory, side by side with the raw ceilings of the libraries we use.

Scenarios (each in its own process, so peak RSS is that scenario's alone):
  ndjson        cabhunt ingest of a generated Winlogbeat-raw file (N events, ~2.5 KB each)
  ndjson_raw    DuckDB read_json alone over the same bytes, every field materialised
  evtx          cabhunt ingest of the shared EVTX fixtures and the hayabusa corpus
  evtx_raw      iterating evtx records_json() alone over the same files, same thread count
  evtx_large    the same pair on the largest EVTX file at hand, by records (one file: no per-file overhead),
                and on one large EVTX stitched from the chunks of all of them (bench/evtx_stitch.py)
  xml           cabhunt ingest of a generated wevtutil-style XML export
  rss_small / rss_large   the ndjson ingest at N/10 and N events: peak RSS must grow <= 1.25x

Each row also gives the process CPU seconds (all threads), a steadier figure than wall time on
a shared machine. ``--repeat R`` runs the ndjson pair R times, alternating, and also prints the
best and the spread of the ratio (wall and CPU): one run on a busy machine says little; the
EVTX pairs (``evtx``, both of ``evtx_large``) are repeated the same way.

Usage: python bench/bench_ingest.py [--events N] [--xml-events N] [--rss] [--threads T] [--only S] [--repeat R]
(env CABHUNT_BENCH_EVENTS sets N; files go to bench/out/, which is not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
SHARED = Path(os.environ.get("CABHUNT_SHARED", REPO.parent / "shared"))


# -- data --------------------------------------------------------------------------------------
def _event(i: int, rng: random.Random, pad: int) -> dict[str, Any]:
    """One Winlogbeat-raw Sysmon event; ``pad`` sizes it (the CommandLine carries the bulk)."""
    code = rng.choice((1, 1, 3, 3, 11, 22, 5, 10))
    host = f"WS{rng.randrange(500):04d}.corp.example"
    ts = f"2026-03-02T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
    data: dict[str, Any] = {
        "RuleName": "-",
        "UtcTime": ts[:-1].replace("T", " "),
        "ProcessGuid": f"{{6a1c2f3e-{i % 65536:04x}-65e3-2a01-{i:012x}}}",
        "ProcessId": str(1000 + i % 60000),
        "Image": rng.choice(("C:\\Windows\\System32\\makecab.exe", "C:\\Windows\\System32\\svchost.exe",
                             "C:\\Program Files\\App\\app.exe")),
        "User": "CORP\\user" + str(i % 300),
    }
    if code == 1:
        data.update({
            "CommandLine": "app.exe /run " + "x" * pad,
            "CurrentDirectory": "C:\\Users\\bob\\",
            "OriginalFileName": "APP.EXE",
            "Hashes": "SHA256=" + f"{i:064x}" + ",MD5=" + f"{i:032x}",
            "ParentProcessGuid": "{6a1c2f3e-0000-65e3-2a01-000000000001}",
            "ParentProcessId": "4100",
            "ParentImage": "C:\\Windows\\explorer.exe",
            "ParentCommandLine": "explorer.exe",
            "IntegrityLevel": "Medium",
            "LogonId": "0x3e7",
        })
    elif code == 3:
        data.update({"Protocol": "tcp", "Initiated": "true", "SourceIp": "10.0.0.15", "SourcePort": str(50000 + i % 10000),
                     "DestinationIp": f"10.1.{i % 250}.{i % 200}", "DestinationPort": "445",
                     "DestinationHostname": "fs01.corp.example", "Description": "y" * pad})
    else:
        data.update({"TargetFilename": "C:\\Users\\Public\\" + "f" * min(pad, 200) + ".cab", "QueryName": "x.example",
                     "Details": "z" * pad})
    return {
        "@timestamp": ts,
        "event": {"code": str(code), "kind": "event", "provider": "Microsoft-Windows-Sysmon", "created": ts},
        "host": {"name": host.split(".")[0].lower()},
        "agent": {"type": "winlogbeat", "version": "8.12.0", "id": "a" * 36, "hostname": host},
        "ecs": {"version": "8.0.0"},
        "log": {"level": "information"},
        "message": "Process Create: " + "m" * (pad // 2),
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "provider_name": "Microsoft-Windows-Sysmon",
                   "computer_name": host, "event_id": str(code), "record_id": i, "process": {"pid": 3020, "thread": {"id": 4000}},
                   "user": {"identifier": "S-1-5-18", "domain": "NT AUTHORITY", "name": "SYSTEM", "type": "User"},
                   "version": 5, "opcode": "Info", "task": "Process Create (rule: ProcessCreate)", "event_data": data},
    }


def make_ndjson(path: Path, n: int, size: int = 2500) -> Path:
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(1105)
    tmp = path.with_suffix(".part")
    probe = len(json.dumps(_event(1, random.Random(1), 0)))
    pad = max(0, (size - probe) * 2 // 3)
    with tmp.open("w", encoding="utf-8") as fh:
        for i in range(1, n + 1):
            fh.write(json.dumps(_event(i, rng, pad), separators=(",", ":")))
            fh.write("\n")
    tmp.rename(path)
    return path


def make_xml(path: Path, n: int) -> Path:
    from xml.sax.saxutils import escape, quoteattr

    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(143)
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for i in range(1, n + 1):
            ev = _event(i, rng, 300)
            w = ev["winlog"]
            parts = [
                "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
                f"<Provider Name='{w['provider_name']}'/><EventID>{w['event_id']}</EventID>",
                f"<TimeCreated SystemTime='{ev['@timestamp']}'/><EventRecordID>{i}</EventRecordID>",
                f"<Channel>{w['channel']}</Channel><Computer>{w['computer_name']}</Computer></System><EventData>",
            ]
            parts += [f"<Data Name={quoteattr(k)}>{escape(v)}</Data>" for k, v in w["event_data"].items()]
            parts.append("</EventData></Event>\n")
            fh.write("".join(parts))
    tmp.rename(path)
    return path


def evtx_inputs() -> list[Path]:
    """The shared EVTX fixtures plus the hayabusa corpus (extracted once into bench/out/)."""
    files = sorted((SHARED / "fixtures" / "evtx").glob("*.evtx"))
    archive = SHARED / "corpora" / "hayabusa-sample-evtx.tar.xz"
    corpus = OUT / "hayabusa"
    if archive.exists() and not corpus.exists():
        tmp = Path(tempfile.mkdtemp(dir=OUT))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        tmp.rename(corpus)
    if corpus.exists():
        files += sorted(p for p in corpus.rglob("*") if p.is_file())
    return files


def make_stitched(files: list[Path], mib: int) -> tuple[Path, int]:
    """One large EVTX laid out from the chunks of ``files`` (see ``evtx_stitch.py``); its records."""
    sys.path.insert(0, str(HERE))
    from evtx_stitch import stitch

    out = OUT / f"evtx_stitched_{mib}mib.evtx"
    return out, stitch(files, out, mib << 20)


def _most_records(files: list[Path]) -> Path:
    """Of the ten largest EVTX files, the one holding the most records (size alone misleads:
    EVTX chunks are preallocated, and some logs have few, long records)."""
    import evtx

    def count(p: Path) -> int:
        n = 0
        for _ in evtx.PyEvtxParser(str(p)).records():
            n += 1
        return n

    return max(sorted(files, key=lambda p: p.stat().st_size)[-10:], key=count)


# -- scenarios (run in a child process) --------------------------------------------------------
def run_ingest(paths: list[Path], threads: int | None) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "src"))
    import contextlib

    # Warm up: lazy imports (pyarrow, numpy, evtx) and map compilation are not throughput. Nor is
    # the detection start-up (Ibis, pandas, the compiled rules) that a temporary store does in
    # a background thread for the hunt that follows: done here first, that thread finds it done
    # instead of taking CPU from the ingest being measured.
    import evtx  # noqa: F401
    import ibis.backends.duckdb  # noqa: F401
    import numpy  # noqa: F401
    import pyarrow  # noqa: F401

    from cabhunt.detect import warm_up
    from cabhunt.errors import Problems
    from cabhunt.ingest import (
        ingest_paths,
        loader,  # noqa: F401
    )
    from cabhunt.normalize import compile_map
    from cabhunt.store import Store

    warm_up()
    for shape in ("winlogbeat_raw", "evtx_json"):
        compile_map(shape)
    store = Store.open(threads=threads)
    problems = Problems()
    c0 = time.process_time()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(None):  # per-record problems of the corpus files
        summary = ingest_paths(store, paths, problems)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    store.close()
    return {"seconds": secs, "cpu": cpu, "records": summary.records, "normalized": summary.normalized,
            "errors": summary.errors}


def run_ndjson_raw(path: Path, threads: int | None) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads or os.cpu_count() or 1}")
    c0 = time.process_time()
    t0 = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM read_json('{path}', format = 'newline_delimited')")
    n = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "records": int(n)}


def run_evtx_raw(paths: list[Path], threads: int | None) -> dict[str, Any]:
    import evtx

    c0 = time.process_time()
    t0 = time.perf_counter()
    n = 0
    for p in paths:
        it = evtx.PyEvtxParser(str(p), number_of_threads=threads or os.cpu_count() or 1).records_json()
        while True:
            try:
                next(it)
            except StopIteration:
                break
            except RuntimeError:
                pass
            n += 1
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "records": n}


def child(args: argparse.Namespace) -> None:
    paths = [Path(p) for p in args.paths]
    if args.child == "ingest":
        res = run_ingest(paths, args.threads)
    elif args.child == "ndjson_raw":
        res = run_ndjson_raw(paths[0], args.threads)
    else:
        res = run_evtx_raw(paths, args.threads)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    res["peak_rss_mib"] = usage.ru_maxrss / 1024
    res["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole child, start-up included
    print(json.dumps(res))


def measure(kind: str, paths: list[Path], threads: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, *(["--threads", str(threads)] if threads else []), *map(str, paths)]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["mb"] = sum(p.stat().st_size for p in paths) / 1e6
    return res


def row(name: str, r: dict[str, Any]) -> str:
    eps = r["records"] / r["seconds"] if r["seconds"] else 0.0
    return (f"{name:<14} {r['records']:>11,} rec {r['seconds']:>8.2f} s {eps:>11,.0f} ev/s "
            f"{r['mb'] / r['seconds'] if r['seconds'] else 0:>8.1f} MB/s  cpu {r.get('cpu', 0):>6.2f} s  "
            f"peak RSS {r['peak_rss_mib']:>7.0f} MiB")


def spread(pairs: list[tuple[float, float]]) -> str:
    """Best, median and worst of (wall, CPU-seconds) ratios over repeated runs."""
    walls, cpus = sorted(p[0] for p in pairs), sorted(p[1] for p in pairs)
    return (f"  over {len(pairs)} runs: wall ratio best {walls[-1]:.2f}, median {walls[len(walls) // 2]:.2f}, "
            f"worst {walls[0]:.2f}; CPU-seconds ratio best {cpus[-1]:.2f}, median {cpus[len(cpus) // 2]:.2f}, "
            f"worst {cpus[0]:.2f}")


def ratio_pair(fmt: str, ceiling: str, raw_kind: str, paths: list[Path], threads: int | None, repeat: int,
               what: str, expected: int | None = None) -> None:
    """cabhunt ingest against the ``raw_kind`` ceiling over ``paths``, ``repeat`` times, alternating."""
    pairs = []
    for _ in range(max(1, repeat)):
        ing, raw = measure("ingest", paths, threads), measure(raw_kind, paths, threads)
        if expected is not None and raw["records"] != expected:
            raise SystemExit(f"stitched EVTX: the parser reads {raw['records']:,} records, the chunks hold {expected:,}")
        print(row(f"{fmt} ingest", ing))
        print(row(ceiling, raw))
        print(f"  ratio {fmt} ingest / {ceiling} throughput: {raw['seconds'] / ing['seconds']:.2f} ({what})")
        pairs.append((raw["seconds"] / ing["seconds"], raw["cpu"] / ing["cpu"]))
    if len(pairs) > 1:
        print(spread(pairs))


def evtx_pair(paths: list[Path], threads: int | None, repeat: int, what: str, expected: int | None = None) -> None:
    ratio_pair("evtx", "records_json", "evtx_raw", paths, threads, repeat, what, expected)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=int(os.environ.get("CABHUNT_BENCH_EVENTS", "100000")))
    ap.add_argument("--xml-events", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rss", action="store_true", help="also compare peak RSS at N/10 and N events (small events)")
    ap.add_argument("--rss-event-size", type=int, default=600)
    ap.add_argument("--only", choices=("ndjson", "evtx", "evtx_large", "xml"), default=None)
    ap.add_argument("--stitch-mib", type=int, default=128, help="size of the stitched EVTX of evtx_large")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each pair (best and spread are printed)")
    ap.add_argument("--child", default=None)
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    OUT.mkdir(exist_ok=True)
    threads = args.threads
    print(f"cabhunt ingest benchmark ({os.cpu_count()} cores, threads={threads or 'all'})")
    if args.only in (None, "ndjson"):
        nd = make_ndjson(OUT / f"winlogbeat_raw_{args.events}.ndjson", args.events)
        ratio_pair("ndjson", "read_json", "ndjson_raw", [nd], threads, args.repeat, "target >= 0.50")
    if args.only in (None, "evtx"):
        files = evtx_inputs()
        if files:
            print(f"EVTX corpus: {len(files)} files ({sum(p.stat().st_size for p in files) / 1e6:.1f} MB)")
            evtx_pair(files, threads, args.repeat, "target >= 0.70")
    if args.only in (None, "evtx_large"):
        files = evtx_inputs()
        if files:
            big = [_most_records(files)]
            print(f"largest EVTX: {big[0].name} ({big[0].stat().st_size / 1e6:.1f} MB)")
            evtx_pair(big, threads, args.repeat, "one file")
            stitched, expected = make_stitched(files, args.stitch_mib)
            print(f"stitched EVTX: {stitched.name} ({stitched.stat().st_size / 1e6:.1f} MB, "
                  f"{expected:,} records from the chunks of {len(files)} files)")
            evtx_pair([stitched], threads, args.repeat, "stitched", expected)
    if args.only in (None, "xml"):
        xml = make_xml(OUT / f"wevtutil_{args.xml_events}.xml", args.xml_events)
        print(row("xml ingest", measure("ingest", [xml], threads)))
    if args.rss:
        small_n, large_n = max(1, args.events // 10), args.events
        small = make_ndjson(OUT / f"rss_{small_n}_{args.rss_event_size}.ndjson", small_n, args.rss_event_size)
        large = make_ndjson(OUT / f"rss_{large_n}_{args.rss_event_size}.ndjson", large_n, args.rss_event_size)
        a, b = measure("ingest", [small], threads), measure("ingest", [large], threads)
        print(row(f"rss {small_n:,}", a))
        print(row(f"rss {large_n:,}", b))
        print(f"  peak RSS ratio {large_n:,} / {small_n:,} events: {b['peak_rss_mib'] / a['peak_rss_mib']:.2f} "
              f"(target <= 1.25, and <= 4096 MiB)")


if __name__ == "__main__":
    main()

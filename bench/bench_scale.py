"""Fleet-scale hunt benchmark: time and peak RSS of whole `cabhunt` runs at several sizes.

For each size it simulates a fleet (gzip NDJSON/XML/Zeek/Squid), then measures, each command in
its own process under /usr/bin/time so peak RSS is that command's own:
  1. `hunt` straight over the simulated logs (NDJSON in: ingest + detect + investigate),
  2. `ingest --store` into a Parquet store,
  3. `hunt --store` over the Parquet store on DuckDB,
  4. the same on Spark local (`--engine spark`) when the [spark] extra is installed.
The stage split (ingest / detect / investigate) comes from the hunt's JSON summary.

    python bench/bench_scale.py                 # 1M, 3M, 10M events
    python bench/bench_scale.py --sizes 100000  # a quick run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def timed(cmd: list[str], stdout_path: Path | None = None) -> tuple[float, int, str]:
    """Run a command; return (wall seconds, peak RSS KiB, stdout text)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *cmd]
        out = subprocess.run(full, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-2000:])
            raise SystemExit(f"failed: {' '.join(cmd)}")
        wall, rss = tf.read().split()[-2:]
    if stdout_path is not None:
        stdout_path.write_text(out.stdout)
    return float(wall), int(rss), out.stdout


def stage_split(summary_json: str) -> str:
    try:
        doc = json.loads(summary_json)
    except ValueError:
        return ""
    timings = (doc.get("summary") or {}).get("timings") or {}
    if not timings:
        return ""
    total = sum(float(v) for v in timings.values()) or 1.0
    return " ".join(f"{k} {float(v):.1f}s ({100 * float(v) / total:.0f}%)" for k, v in timings.items())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    ap.add_argument("--spark-sizes", default="1000000", help="sizes also hunted on Spark local (slow)")
    ap.add_argument("--keep", action="store_true", help="keep generated data in bench/out")
    args = ap.parse_args()
    cab = [sys.executable, "-m", "cabhunt"]
    spark = importlib.util.find_spec("pyspark") is not None
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{'events':>10} {'run':<22} {'wall s':>8} {'events/s':>10} {'peak RSS MiB':>13}  stages")
    for size in (int(s) for s in args.sizes.split(",")):
        root = OUT / f"scale-{size}"
        shutil.rmtree(root, ignore_errors=True)
        logs, store = root / "logs", root / "store"
        hosts = max(50, size // 20000)
        wall, rss, _ = timed([*cab, "simulate", "--out", str(logs), "--hosts", str(hosts), "--events", str(size), "--seed", "1"])
        print(f"{size:>10} {'simulate':<22} {wall:>8.1f} {size / wall:>10,.0f} {rss / 1024:>13.0f}")
        runs = [
            ("hunt ndjson (duckdb)", [*cab, "hunt", str(logs), "--format", "json"]),
            ("ingest --store", [*cab, "ingest", str(logs), "--store", str(store), "--format", "json"]),
            ("hunt --store (duckdb)", [*cab, "hunt", "--store", str(store), "--format", "json"]),
        ]
        if spark and str(size) in args.spark_sizes.split(","):
            runs.append(("hunt --store (spark)", [*cab, "hunt", "--store", str(store), "--engine", "spark", "--format", "json"]))
        for name, cmd in runs:
            wall, rss, out = timed(cmd)
            print(f"{size:>10} {name:<22} {wall:>8.1f} {size / wall:>10,.0f} {rss / 1024:>13.0f}  {stage_split(out)}")
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"(cpu count {os.cpu_count()}; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()

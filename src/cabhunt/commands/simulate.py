"""`cabhunt simulate`: write a simulated fleet's telemetry, artifacts and ground truth."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command("simulate")
    def simulate_cmd(
        out: Annotated[Path, typer.Option("--out", help="Output folder (created if missing).")],
        hosts: Annotated[int, typer.Option("--hosts", min=5, help="Machines in the fleet (at least 5).")] = 20,
        events: Annotated[int, typer.Option("--events", min=0, help="Approximate total number of records.")] = 20_000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same output.")] = 1,
        days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days of activity.")] = 21,
    ) -> None:
        """Simulate a fleet (Sysmon, Security, Zeek, Squid) with makecab/diantz scenarios mixed in."""
        from cabhunt.simulate import simulate

        if out.exists() and not out.is_dir():
            print(f"cabhunt: {out}: not a directory", file=sys.stderr)
            raise typer.Exit(2)
        t0 = time.perf_counter()

        def progress(day: int, total: int) -> None:
            if sys.stderr.isatty():
                end = "\n" if day == total else ""
                print(f"\rsimulating day {day}/{total}", end=end, file=sys.stderr, flush=True)

        try:
            manifest = simulate(out, hosts, events, seed, days=days, progress=progress)
        except OSError as exc:
            print(f"cabhunt: {out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            raise typer.Exit(1) from None
        dt = time.perf_counter() - t0
        total = manifest.total_records
        print(f"wrote {total:,} records in {len(manifest.files):,} files for {len(manifest.hosts)} hosts "
              f"over {manifest.days} days to {out} ({dt:.1f}s, {total / max(dt, 1e-9):,.0f} records/s)")
        for fmt, n in manifest.counts_by_format().items():
            print(f"  {fmt:<11} {n:>12,}")
        attack = sum(1 for s in manifest.scenarios if s["kind"] == "attack")
        print(f"  scenarios: {len(manifest.scenarios)} ({attack} attack, {len(manifest.scenarios) - attack} benign); "
              f"artifacts: {len(manifest.artifacts)}")
        print(f"  ground truth: {out / 'manifest.json'}; allowlist: {out / 'allowlist.yaml'}")

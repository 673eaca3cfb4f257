"""`cabhunt demo`: simulate a small fleet with attacks mixed in, hunt it, point at the worst case.

This is what `make demo` runs: the whole pipeline (simulate -> ingest -> detect -> investigate
-> case bundles) on data generated on the spot, so a new user sees real output in one command.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("demo")(demo)


def demo(
    out: Annotated[Path, typer.Option("--out", help="folder for the simulated fleet, the store and the cases")] = Path(
        "demo-out"
    ),
    hosts: Annotated[int, typer.Option("--hosts", min=5, help="hosts in the simulated fleet")] = 25,
    events: Annotated[int, typer.Option("--events", min=1000, help="approximate number of events")] = 40_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same fleet)")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="table, jsonl, json or markdown")] = "table",
) -> None:
    """Simulate a fleet, hunt it, and print where the worst alert's HTML report is."""
    from cabhunt.commands.hunt import hunt
    from cabhunt.simulate import simulate

    fleet = out / "fleet"
    db = out / "cabhunt.duckdb"
    cases = out / "cases"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(cases, ignore_errors=True)
    print(f"cabhunt demo: simulating {hosts} hosts, ~{events:,} events (seed {seed}) into {fleet}", file=sys.stderr)
    simulate(fleet, hosts=hosts, events=events, seed=seed)
    network = json.loads((fleet / "manifest.json").read_text(encoding="utf-8")).get("network") or {}
    allowlist = fleet / "allowlist.yaml"
    artifacts = fleet / "artifacts"
    logs = [p for p in (fleet / "logs", fleet / "network") if p.exists()]
    print(f"cabhunt demo: hunting {', '.join(str(p) for p in logs)}", file=sys.stderr)
    try:
        hunt(
            paths=logs,
            db=db,
            allowlist=allowlist if allowlist.is_file() else None,
            artifacts=artifacts if artifacts.is_dir() else None,
            out=cases,
            fmt=fmt,
            internal_cidr=list(network.get("internal_cidrs") or []),
        )
    except typer.Exit as done:
        if done.exit_code:
            raise
    worst = _worst_case(cases)
    if worst is None:
        print("cabhunt demo: no case bundle was written", file=sys.stderr)
        raise typer.Exit(1)
    print(f"cabhunt demo: store {db}; ground truth {fleet / 'manifest.json'}", file=sys.stderr)
    print(f"cabhunt demo: worst alert report: {worst}", file=sys.stderr)


def _worst_case(cases: Path) -> Path | None:
    """The report.html of the highest-scoring alert among the written case bundles."""
    best: tuple[int, str] | None = None
    best_path: Path | None = None
    for alert_json in sorted(cases.glob("*/alert.json")):
        try:
            doc = json.loads(alert_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        key = (int((doc.get("cabhunt") or {}).get("score") or 0), str(doc.get("@timestamp")))
        report = alert_json.with_name("report.html")
        if report.is_file() and (best is None or key > best):
            best, best_path = key, report
    return best_path.resolve() if best_path else None

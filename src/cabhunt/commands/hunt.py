"""``cabhunt hunt PATH...``: ingest logs, run the rules, verify, investigate, report alerts.

Stages: ingest (one-line ledger summary on stderr) -> detect (Sigma prefilter, semantic
verification, network correlation, first score) -> investigate (when the investigation package
is installed) -> output (table on stderr by default, ``jsonl``/``json``/``markdown`` on stdout)
and, with ``--out``, one case bundle per alert. ``--db`` keeps events and alerts.
Exit status: 0 done (alerts or not, some input unreadable or not), 1 no readable input or an
internal failure, 2 bad usage.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cabhunt.commands import close_store

if TYPE_CHECKING:
    from cabhunt.model import Alert
    from cabhunt.windows import NetworkConfig

FORMATS = ("table", "jsonl", "json", "markdown")
ENGINES = ("duckdb", "spark")


def _usage(message: str) -> typer.Exit:
    print(f"cabhunt: {message}", file=sys.stderr)
    return typer.Exit(code=2)


def _fail(message: str) -> typer.Exit:
    print(f"cabhunt: {message}", file=sys.stderr)
    return typer.Exit(code=1)


def parse_time(text: str | None, option: str) -> datetime | None:
    """ISO 8601 (``2026-03-02``, ``2026-03-02T10:15:04Z``, offsets) -> naive UTC; ValueError if bad."""
    if text is None:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{option}: not an ISO 8601 time: {text!r}") from exc
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _optional(module: str, name: str) -> Any | None:
    """An attribute of an optional stage's module, or None when that stage is not installed."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def _network_config(domains: list[str], cidrs: list[str]) -> NetworkConfig | None:
    if not domains and not cidrs:
        return None
    import ipaddress

    from cabhunt.windows import NetworkConfig

    for cidr in cidrs:
        ipaddress.ip_network(cidr.strip(), strict=False)  # ValueError -> usage error

    return NetworkConfig(internal_domains=tuple(domains), internal_cidrs=tuple(cidrs))


def _ingest(store: Any, paths: list[Path], problems: Any, show_progress: bool) -> Any:
    from cabhunt.ingest import ingest_paths

    if not show_progress:
        return ingest_paths(store, paths, problems)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from cabhunt.render.console import make_console

    console = make_console(stderr=True)
    with Progress(
        TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        return ingest_paths(store, paths, problems, progress=progress)


def _investigate(alerts: list[Alert], store: Any, opts: dict[str, Any]) -> list[Alert]:
    investigate = _optional("cabhunt.investigate", "investigate")
    context = _optional("cabhunt.investigate", "InvestigationContext")
    if investigate is None or context is None:
        return alerts
    try:
        ctx = context(
            store=store,
            artifacts=opts["artifacts"],
            allowlist=opts["allowlist"],
            intel=opts["intel"],
            net=opts["net"],
        )
        return list(investigate(alerts, ctx))
    except Exception as exc:  # keep the detection alerts rather than lose them
        print(
            f"cabhunt: investigation failed, reporting detection results only: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}",
            file=sys.stderr,
        )
        return alerts


def _markdown(alerts: list[Alert], summary: dict[str, Any]) -> str:
    render = _optional("cabhunt.render.markdown", "render_hunt")
    if render is not None:
        return str(render(alerts))
    lines = ["# cabhunt hunt", "", f"{len(alerts)} alert(s); verified benign: {summary.get('verified_benign', 0)}", ""]
    lines.append("| verdict | score | time (UTC) | host | rule | process | findings | id |")
    lines.append("|---|---|---|---|---|---|---|---|")
    from cabhunt.render.table import sort_alerts

    for a in sort_alerts(alerts):
        cells = [
            a.verdict,
            str(a.score),
            a.timestamp,
            a.host or "",
            a.rule.name,
            str(a.process.get("command_line") or a.process.get("executable") or ""),
            ", ".join(a.finding_ids()),
            a.id,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _emit(alerts: list[Alert], summary: dict[str, Any], fmt: str) -> None:
    from cabhunt.render.jsonl import write_json, write_jsonl

    if fmt == "jsonl":
        write_jsonl(alerts, sys.stdout)
    elif fmt == "json":
        write_json(alerts, summary, sys.stdout)
    elif fmt == "markdown":
        sys.stdout.write(_markdown(alerts, summary))
    else:
        from cabhunt.render.console import make_console
        from cabhunt.render.table import print_table

        print_table(alerts, make_console(stderr=True), summary)
    sys.stdout.flush()


def _bundles(alerts: list[Alert], out: Path, store: Any) -> None:
    write_bundles = _optional("cabhunt.render.bundle", "write_bundles")
    out.mkdir(parents=True, exist_ok=True)
    if write_bundles is not None:
        write_bundles(alerts, out, store)
        return
    from cabhunt.render.jsonl import write_jsonl

    with (out / "alerts.jsonl").open("w", encoding="utf-8") as fh:
        write_jsonl(alerts, fh)


def hunt(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="log files or folders (walked); none = hunt the store as it is")
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file that keeps events and alerts")] = None,
    store_dir: Annotated[Path | None, typer.Option("--store", help="Parquet store folder")] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark")] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL (default local[*]); with --engine spark")
    ] = None,
    allowlist: Annotated[Path | None, typer.Option("--allowlist", help="allowlist YAML")] = None,
    artifacts: Annotated[Path | None, typer.Option("--artifacts", help="collected files (.cab, .ddf)")] = None,
    intel: Annotated[Path | None, typer.Option("--intel", help="threat intel file")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write one case bundle per alert here")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, jsonl, json or markdown")] = "table",
    since: Annotated[str | None, typer.Option("--since", help="only events at or after (ISO 8601, UTC)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="only events at or before (ISO 8601, UTC)")] = None,
    internal_domain: Annotated[
        list[str] | None, typer.Option("--internal-domain", help="DNS suffix of internal hosts (repeatable)")
    ] = None,
    internal_cidr: Annotated[
        list[str] | None, typer.Option("--internal-cidr", help="internal network (repeatable)")
    ] = None,
) -> None:
    """Hunt makecab/diantz ingress tool transfer in logs and report alerts."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise _usage(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    engine = engine.strip().lower()
    if engine not in ENGINES:
        raise _usage(f"--engine must be duckdb or spark, not {engine!r}")
    if db is not None and store_dir is not None:
        raise _usage("--db and --store are exclusive")
    if store_dir is not None and not _available("cabhunt.store.parquet"):
        raise _usage("--store (Parquet store) is not available yet in this build")
    if engine == "spark" and not _available("cabhunt.engine.spark"):
        raise _usage("--engine spark is not available yet in this build")
    paths = list(paths or [])
    if not paths and db is None and store_dir is None:
        raise _usage("give log PATHs to hunt, or an existing --db/--store")
    if engine == "spark" and paths:
        raise _usage("--engine spark reads an existing Parquet store: run 'cabhunt ingest --store DIR' first")
    try:
        t_since = parse_time(since, "--since")
        t_until = parse_time(until, "--until")
    except ValueError as exc:
        raise _usage(str(exc)) from exc
    for opt, p in (("--allowlist", allowlist), ("--intel", intel)):
        if p is not None and not p.is_file():
            raise _usage(f"{opt}: no such file: {p}")
    if artifacts is not None and not artifacts.is_dir():
        raise _usage(f"--artifacts: no such folder: {artifacts}")
    try:
        net = _network_config(list(internal_domain or []), list(internal_cidr or []))
    except ValueError as exc:
        raise _usage(f"--internal-domain/--internal-cidr: {exc}") from exc

    from cabhunt.errors import Problems

    problems = Problems()
    existing = []
    for p in paths:
        if p.exists():
            existing.append(p)
        else:
            problems.add(p, "no such file or directory")
    if paths and not existing:
        raise _fail("no readable input")

    total = sum(_size(p) for p in existing)
    # A one-shot hunt without case bundles never reads the raw records back.
    keep_raw = db is not None or store_dir is not None or out is not None
    store = _open_store(db, store_dir, engine, spark_master, input_bytes=_expanded(existing, total), keep_raw=keep_raw)
    timings: dict[str, float] = {}
    try:
        ingest_line = None
        if existing:
            started = time.perf_counter()
            summary_ingest = _ingest(store, existing, problems, sys.stderr.isatty() and total > 50_000_000)
            timings["ingest"] = time.perf_counter() - started
            ingest_line = summary_ingest.one_line()
            print(f"cabhunt: {ingest_line}", file=sys.stderr)
            if not getattr(summary_ingest, "readable", True):
                raise _fail("no readable input")
        opts = {"artifacts": artifacts, "allowlist": allowlist, "intel": intel, "net": net}
        run(store, fmt, t_since, t_until, net, opts, out, keep=db is not None or store_dir is not None,
            timings=timings, ingest_line=ingest_line)
    except typer.Exit:
        raise
    except Exception as exc:  # an internal failure: one line, exit 1, never a traceback
        raise _fail(f"hunt failed: {type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    finally:
        close_store(store, db or store_dir or "temporary store", kept=db is not None or store_dir is not None)


def _open_store(db: Path | None, store_dir: Path | None, engine: str, master: str | None = None,
                input_bytes: int | None = None, keep_raw: bool = True) -> Any:
    if not _available("cabhunt.ingest") or not _available("cabhunt.store"):
        raise _fail("hunt needs the ingest and store packages, which are not installed")
    factory = _optional("cabhunt.store.factory", "open_store")
    try:
        if factory is not None:
            return factory(db, store_dir, engine=engine, master=master, input_bytes=input_bytes, keep_raw=keep_raw)
        from cabhunt.store import Store

        store = Store.open(db)
        store.keep_raw = keep_raw
        return store
    except ValueError as exc:  # StoreChoiceError: a usage problem
        raise _usage(" ".join(str(exc).split())) from exc
    except Exception as exc:
        where = store_dir or db or "store"
        raise _fail(f"{where}: cannot open the store: {' '.join(str(exc).split())}") from exc


def _expanded(paths: list[Path], stored: int) -> int:
    """The inputs' size once decompressed, which sizes the temporary store (gzip sizes come from
    their trailers). Once past the small-input size the count stops: the rest would not change
    the choice."""
    from cabhunt.ingest.source import expanded_size
    from cabhunt.store.factory import SMALL_INPUT_BYTES

    total = stored
    if stored <= SMALL_INPUT_BYTES:
        total = 0
        for f in (f for p in paths for f in ([p] if p.is_file() else p.rglob("*"))):
            with contextlib.suppress(OSError):
                total += expanded_size(f) if f.is_file() else 0
            if total > SMALL_INPUT_BYTES:
                break
    return total


def _size(path: Path) -> int:
    try:
        if path.is_file():
            return path.stat().st_size
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    except OSError:
        return 0


def run(
    store: Any,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    net: NetworkConfig | None,
    opts: dict[str, Any],
    out: Path | None,
    *,
    keep: bool,
    timings: dict[str, float] | None = None,
    ingest_line: str | None = None,
) -> list[Alert]:
    """Detect, investigate, keep, render: the hunt after ingest."""
    from cabhunt.detect import detect_with_summary

    timings = timings if timings is not None else {}
    started = time.perf_counter()
    alerts, summary = detect_with_summary(store, since=since, until=until, net=net)
    timings["detect"] = time.perf_counter() - started
    started = time.perf_counter()
    alerts = _investigate(alerts, store, opts)
    timings["investigate"] = time.perf_counter() - started
    verdicts: dict[str, int] = {}
    for a in alerts:
        verdicts[a.verdict] = verdicts.get(a.verdict, 0) + 1
    summary.verdicts = verdicts
    doc = summary.to_dict()
    doc["alert_count"] = len(alerts)
    doc["ingest"] = ingest_line
    doc["timings"] = {k: round(v, 3) for k, v in timings.items()}
    if keep and hasattr(store, "save_alerts"):
        store.save_alerts([a.to_dict() for a in alerts])
    _emit(alerts, doc, fmt)
    if out is not None:
        _bundles(alerts, out, store)
    print(
        f"cabhunt: {len(alerts)} alert(s) "
        f"({', '.join(f'{k} {v}' for k, v in sorted(verdicts.items())) or 'none'}); "
        f"{summary.verified_benign} cabinet job(s) verified benign",
        file=sys.stderr,
    )
    return alerts


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("hunt")(hunt)

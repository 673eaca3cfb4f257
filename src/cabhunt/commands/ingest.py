"""`cabhunt ingest PATH... --db FILE`: load logs into a store and print the ingest ledger."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cabhunt.commands import close_store


class Format(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("ingest")(ingest_command)


def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Log files or directories (walked).", show_default=False)],
    db: Annotated[
        Path | None, typer.Option("--db", help="DuckDB store to create or extend (default: temporary).")
    ] = None,
    store_dir: Annotated[
        Path | None, typer.Option("--store", help="Parquet fleet store directory to create or extend.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Ledger output: table or json.")] = Format.table,
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="DuckDB memory limit.")] = "3GB",
    threads: Annotated[int | None, typer.Option("--threads", help="DuckDB and EVTX parser threads.")] = None,
) -> None:
    """Read logs (EVTX, Windows XML, NDJSON, Zeek, Squid; gzip too) into the event store."""
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store.factory import StoreChoiceError, open_store

    problems = Problems()
    try:
        store = open_store(db, store_dir, memory_limit=memory_limit, threads=threads)
    except StoreChoiceError as exc:
        print(f"cabhunt: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except Exception as exc:  # duckdb raises its own exception types for locked/corrupt files
        print(f"cabhunt: {db or store_dir}: cannot open store: {' '.join(str(exc).split())}", file=sys.stderr)
        raise typer.Exit(1) from None
    try:
        summary = ingest_paths(store, paths, problems)
        rows = summary.rows
        if fmt is Format.json:
            doc = {"summary": _summary_dict(summary), "files": [_jsonable(r) for r in rows]}
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            _print_table(rows)
            print(summary.one_line(), file=sys.stderr)
    except Exception as exc:  # an internal failure (bad input never raises): one line, exit 1
        print(f"cabhunt: ingest failed: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        close_store(store, db or store_dir or "temporary store", kept=db is not None or store_dir is not None)
    if not summary.readable:
        raise typer.Exit(1)


def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "files": summary.files,
        "unreadable": summary.unreadable,
        "already_ingested": summary.already,
        "records": summary.records,
        "normalized": summary.normalized,
        "skipped": summary.skipped,
        "errors": summary.errors,
        "seconds": round(summary.seconds, 3),
        "line": summary.one_line(),
    }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("started", "finished"):
        val = out.get(key)
        if val is not None and not isinstance(val, str):
            out[key] = val.isoformat(timespec="milliseconds") + "Z"
    return out


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from cabhunt.render.console import make_console

    table = Table(title="ingest ledger", show_lines=False)
    for col, justify in (
        ("file", "left"),
        ("format", "left"),
        ("status", "left"),
        ("read", "right"),
        ("normalized", "right"),
        ("skipped", "right"),
        ("errors", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        skipped = row.get("skipped") or {}
        detail = ", ".join(f"{k}: {v:,}" for k, v in skipped.items())
        table.add_row(
            str(row["path"]),
            str(row["format"]),
            str(row["status"]),
            f"{row['records_read']:,}",
            f"{row['normalized']:,}",
            f"{sum(skipped.values()):,}" + (f" ({detail})" if detail else ""),
            f"{row['errors']:,}",
        )
    make_console().print(table)

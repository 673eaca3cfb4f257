"""`cabhunt investigate ALERT_ID`: re-run the playbook on a stored alert and save it back.

Used after new logs were ingested or artifacts collected: the alert is loaded from the store,
every investigation step runs again (the store, ``--artifacts``, ``--allowlist``, ``--intel``),
and the updated alert replaces the stored one.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cabhunt.commands import close_store


class Format(StrEnum):
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("investigate")(investigate_command)


def _fail(where: object, reason: str, code: int = 1) -> typer.Exit:
    from cabhunt.errors import report

    report(where, reason)
    return typer.Exit(code)


def investigate_command(
    alert_id: Annotated[str, typer.Argument(help="Alert id (event.id) as saved by `cabhunt hunt`.", show_default=False)],
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB store holding the events and the alert.")] = None,
    store_dir: Annotated[
        Path | None, typer.Option("--store", help="Parquet store directory (instead of --db).", file_okay=False)
    ] = None,
    artifacts: Annotated[
        Path | None,
        typer.Option("--artifacts", help="Collected files: DIR/<host>/<drive>/<path>, UNC/..., or by SHA-256.",
                     exists=True, file_okay=False),
    ] = None,
    allowlist: Annotated[
        Path | None, typer.Option("--allowlist", help="Allowlist YAML (entries with reason and owner).", exists=True,
                                  dir_okay=False)
    ] = None,
    intel: Annotated[
        Path | None, typer.Option("--intel", help="Local intel: CSV, STIX 2.1 bundle or MISP JSON (file or folder).",
                                  exists=True)
    ] = None,
    net: Annotated[
        Path | None, typer.Option("--net", help="Network config YAML/JSON (internal domains and CIDRs).", exists=True,
                                  dir_okay=False)
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write a case bundle for the alert under DIR.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output: the alert JSON or a Markdown report.")] = Format.json,
) -> None:
    """Run every playbook step on one stored alert; print it and save it back."""
    from cabhunt.errors import InputError, Problems
    from cabhunt.model import Alert
    from cabhunt.store.factory import StoreChoiceError, open_store

    if db is None and store_dir is None:
        raise _fail("investigate", "give --db FILE or --store DIR", 2)
    if db is not None and not db.exists():
        raise _fail(db, "no such store")
    try:
        store = open_store(db, store_dir)
    except StoreChoiceError as exc:
        raise _fail("investigate", str(exc), 2) from None
    except Exception as exc:  # locked / corrupt database files raise engine-specific errors
        raise _fail(db or store_dir, f"cannot open store: {exc}") from None
    problems = Problems()
    try:
        doc = store.load_alert(alert_id)
        if doc is None:
            raise _fail(db or store_dir, f"no alert with id {alert_id} in the store")
        try:
            alert = Alert.from_dict(doc)
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(db or store_dir, f"stored alert {alert_id} is not readable: {exc}") from None
        netcfg: Any = None
        if net is not None:
            from cabhunt.windows.hosts import NetworkConfig

            try:
                netcfg = NetworkConfig.from_file(net)
            except InputError as exc:
                raise _fail(net, str(exc)) from None
        from cabhunt.investigate import InvestigationContext, investigate

        ctx = InvestigationContext(store=store, artifacts=artifacts, allowlist=allowlist, intel=intel, net=netcfg,
                                   problems=problems)
        [alert] = investigate([alert], ctx)
        store.save_alerts([alert.to_dict()])
        if out is not None:
            from cabhunt.render.bundle import write_bundle

            folder = write_bundle(alert, out, store)
            print(f"cabhunt: case bundle written to {folder}", file=sys.stderr)
        if fmt is Format.markdown:
            from cabhunt.render.markdown import render_alert

            sys.stdout.write(render_alert(alert))
        else:
            sys.stdout.write(json.dumps(alert.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    finally:
        close_store(store, db or store_dir, kept=True)

"""The ``cabhunt`` command line: wiring only, every command's logic lives in ``cabhunt.commands``.

Command modules import only the standard library and typer at top level; heavy libraries
(DuckDB, Ibis, pySigma, evtx) are imported inside the command bodies so start-up stays fast.
"""

from __future__ import annotations

import sys

import typer

from cabhunt.commands import cab, demo, hunt, ingest, investigate, rules, simulate, windows

app = typer.Typer(
    name="cabhunt",
    help="Detect and investigate makecab/diantz abuse for ingress tool transfer (MITRE ATT&CK T1105).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (ingest, hunt, investigate, windows, cab, rules, simulate, demo):
    module.register(app)


def main() -> None:
    """Console-script entry point: never a traceback, exit 2 on bad usage (click's default)."""
    try:
        app()
    except KeyboardInterrupt:
        print("cabhunt: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()

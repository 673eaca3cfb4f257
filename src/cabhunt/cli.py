"""The ``cabhunt`` command line: wiring only, every command's logic lives in ``cabhunt.commands``.

Command modules import only the standard library and typer at top level; heavy libraries
(DuckDB, Ibis, pySigma, evtx) are imported inside the command bodies so start-up stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

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
        _exit(130)
    except SystemExit as done:
        code = done.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        _exit(code or 0)
    _exit(0)


def _exit(code: int) -> NoReturn:
    """End the process once the command is done, without tearing its heap down.

    Every store, file and temporary folder is closed by the command itself, so what is left at
    this point is freeing hundreds of thousands of objects and unloading DuckDB: a third of a
    second after a hunt. Only the console streams still need flushing. A Spark session is left
    to shut down the normal way (its gateway stops on interpreter exit).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (| head): nothing more to say
            stream.flush()
    if "pyspark" in sys.modules:
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    main()

"""One module per command group; each exposes ``register(app)`` and keeps heavy imports lazy."""

from __future__ import annotations

import sys
from typing import Any

import typer


def close_store(store: Any, where: object, *, kept: bool) -> None:
    """Close a command's store. A failure is one line naming the store; for a kept store (what the
    command was to leave behind may be incomplete) it also ends the command with status 1."""
    try:
        store.close()
    except Exception as exc:
        print(f"cabhunt: {where}: closing the store failed: {' '.join(str(exc).split())}", file=sys.stderr)
        if kept:
            raise typer.Exit(1) from exc

"""Pick the store a command works on: a DuckDB file, a Parquet directory, or Parquet on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cabhunt.store.duckdb_store import Store

DUCKDB_HUNT_MEMORY_LIMIT = "512MB"
"""DuckDB memory limit of a hunt's DuckDB store (temporary or ``--db``)."""
SMALL_INPUT_BYTES = 384 * 1024 * 1024
"""Input up to this size is held in memory whole by a hunt's temporary store: its table takes about
1.3 times the input, and ingest needs a few hundred megabytes beside it."""
SMALL_INPUT_MEMORY_LIMIT = "1GB"


class StoreChoiceError(ValueError):
    """The combination of --db / --store / --engine cannot work (a usage error)."""


def open_store(
    db: Path | None = None,
    store_dir: Path | None = None,
    *,
    engine: str = "duckdb",
    master: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    input_bytes: int | None = None,
    keep_raw: bool = True,
) -> Any:
    """The store for these options; Spark reads a Parquet store that already exists.

    Without ``memory_limit`` (a hunt), DuckDB is held to 512 MB for a DuckDB store and to
    :data:`cabhunt.store.parquet.HUNT_MEMORY_LIMIT` for a Parquet one, whose events are read
    from a compressed copy; past the limit it spills, so memory stays flat as stores grow. A
    temporary store for at most :data:`SMALL_INPUT_BYTES` of (decompressed) input, ``input_bytes``,
    gets :data:`SMALL_INPUT_MEMORY_LIMIT` instead: all of it then fits in memory, where spilling
    it would cost a fifth of its ingest.
    """
    if db is not None and store_dir is not None:
        raise StoreChoiceError("give either --db or --store, not both")
    if engine == "spark":
        if store_dir is None:
            raise StoreChoiceError("--engine spark reads a Parquet store: give --store DIR")
        from cabhunt.engine.spark import SparkStore

        return SparkStore(store_dir, master=master or "local[*]")
    if engine != "duckdb":
        raise StoreChoiceError(f"unknown engine {engine!r} (duckdb or spark)")
    if store_dir is not None:
        from cabhunt.store.parquet import HUNT_MEMORY_LIMIT, ParquetStore

        pstore = ParquetStore.open_dir(store_dir, memory_limit=memory_limit or HUNT_MEMORY_LIMIT, threads=threads)
        if memory_limit is None:
            # ``hunt PATH --store DIR`` ingests first: as much memory as a DuckDB hunt's ingest
            pstore.ingest_memory_limit = DUCKDB_HUNT_MEMORY_LIMIT
        return pstore
    if memory_limit is None:
        small = db is None and input_bytes is not None and input_bytes <= SMALL_INPUT_BYTES
        memory_limit = SMALL_INPUT_MEMORY_LIMIT if small else DUCKDB_HUNT_MEMORY_LIMIT
    store = Store.open(db, memory_limit=memory_limit, threads=threads)
    store.keep_raw = keep_raw or db is not None
    return store

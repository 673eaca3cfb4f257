"""Pick the store a command works on: a DuckDB file, a Parquet directory, or Parquet on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cabhunt.store.duckdb_store import Store

DUCKDB_HUNT_MEMORY_LIMIT = "256MB"
"""DuckDB memory limit of a hunt's DuckDB store (temporary or ``--db``) for more than
:data:`SMALL_INPUT_BYTES` of input. Its table outgrows memory anyway, and a larger pool only
holds blocks that ingest does not read again: over 1M/10M simulated events peak RSS was 705/808 MiB
here against 790/1,063-1,101 MiB with 512 MB, for an ingest about a fifth slower at 10M."""
SMALL_INPUT_BYTES = 384 * 1024 * 1024
"""Input up to this size is held in memory whole by a hunt's temporary store: its table takes about
1.3 times the input, and ingest needs a few hundred megabytes beside it."""
SMALL_INPUT_MEMORY_LIMIT = "1GB"
STORE_INGEST_MEMORY_LIMIT = "1GB"
"""``hunt PATH --store DIR`` ingests as ``ingest --store`` does (its copies to Parquet buffer the raw
records of every open partition)."""


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

    Without ``memory_limit`` (a hunt), DuckDB is held to 256 MB for a DuckDB store and to
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
            pstore.ingest_memory_limit = STORE_INGEST_MEMORY_LIMIT
        return pstore
    small = db is None and input_bytes is not None and input_bytes <= SMALL_INPUT_BYTES
    limit = memory_limit or (SMALL_INPUT_MEMORY_LIMIT if small else DUCKDB_HUNT_MEMORY_LIMIT)
    store = Store.open(db, memory_limit=limit, threads=threads)
    store.keep_raw = keep_raw or db is not None
    return store

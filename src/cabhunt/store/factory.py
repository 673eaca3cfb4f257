"""Pick the store a command works on: a DuckDB file, a Parquet directory, or Parquet on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cabhunt.store.duckdb_store import Store


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
) -> Any:
    """The store for these options; Spark reads a Parquet store that already exists.

    Without ``memory_limit`` (a hunt), DuckDB is held to 512 MB for a DuckDB store and to
    :data:`cabhunt.store.parquet.HUNT_MEMORY_LIMIT` for a Parquet one, whose events are read
    from a compressed copy; past the limit it spills, so memory stays flat as stores grow.
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

        return ParquetStore.open_dir(store_dir, memory_limit=memory_limit or HUNT_MEMORY_LIMIT, threads=threads)
    return Store.open(db, memory_limit=memory_limit or "512MB", threads=threads)

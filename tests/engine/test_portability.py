"""Portability guard: every query a whole hunt executes compiles for DuckDB, PySpark, Trino, ClickHouse.

The queries are recorded while detection and investigation run over a simulated fleet, so
anything non-portable that slips into any step (as-of joins, recursive CTEs, engine-only
functions) fails here, without needing those engines installed.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from cabhunt import query
from cabhunt.errors import Problems
from cabhunt.ingest import ingest_paths
from cabhunt.store import Store
from tests.engine.fleet import hunt_store, make_fleet

DIALECTS = ("duckdb", "pyspark", "trino", "clickhouse")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[object], list[dict[str, object]]]:
    root, manifest = make_fleet(tmp_path_factory.mktemp("fleet"))
    with Store.open(None) as store:
        ingest_paths(store, [root / "logs", root / "network"], Problems())
        with query.recording() as seen:
            docs = hunt_store(store, root, manifest)
    return seen, docs


def test_hunt_executes_queries_and_finds_alerts(recorded: tuple[list[object], list[dict[str, object]]]) -> None:
    seen, docs = recorded
    assert len(docs) >= 10
    assert len(seen) >= 20


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_executed_query_compiles(recorded: tuple[list[object], list[dict[str, object]]], dialect: str) -> None:
    seen, _ = recorded
    failures = []
    for expr in seen:
        try:
            sql = ibis.to_sql(expr, dialect=dialect)  # type: ignore[arg-type]
        except Exception as exc:  # any compiler error is a portability failure
            failures.append(f"{type(exc).__name__}: {exc}")
            continue
        upper = str(sql).upper()
        if "ASOF" in upper or "RECURSIVE" in upper:
            failures.append(f"non-portable construct in: {str(sql)[:200]}")
    assert not failures, f"{len(failures)} of {len(seen)} queries not portable to {dialect}: {failures[:3]}"


def test_parquet_store_gives_the_same_alerts(
    recorded: tuple[list[object], list[dict[str, object]]], tmp_path: Path
) -> None:
    """The same events through the Parquet store (DuckDB reading Parquet) give identical alerts."""
    from cabhunt.store.parquet import ParquetStore
    from tests.engine.fleet import comparable

    _, docs = recorded
    root, manifest = make_fleet(tmp_path / "fleet")
    store = ParquetStore.open_dir(tmp_path / "pq")
    try:
        ingest_paths(store, [root / "logs", root / "network"], Problems())
        store.flush()
        assert comparable(hunt_store(store, root, manifest)) == comparable(docs)  # type: ignore[arg-type]
    finally:
        store.close()

"""The Spark engine reads the Parquet store with the same schema and rows as DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabhunt import query
from cabhunt.errors import Problems
from cabhunt.ingest import ingest_paths
from cabhunt.store.parquet import ParquetStore
from tests.store.test_parquet import _ndjson

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark")
    logs = root / "logs"
    logs.mkdir()
    _ndjson(logs / "a.json", "WS01", 7)
    _ndjson(logs / "b.json", "WS02", 4, day="2026-03-03")
    store = ParquetStore.open_dir(root / "fleet")
    ingest_paths(store, [logs], Problems())
    store.close()
    return root / "fleet"


def test_spark_store_matches_duckdb(fleet: Path) -> None:
    pytest.importorskip("pyspark")
    from cabhunt.engine.spark import SparkStore

    duck = ParquetStore.open_dir(fleet)
    spark = SparkStore(fleet, master="local[1]")
    try:
        assert spark.events().columns == duck.events().columns

        def per_host(store: object) -> list[dict[str, object]]:
            t = store.events()  # type: ignore[attr-defined]
            expr = (
                t.filter(t.process_command_line.lower().contains("\\\\10.0.0.5\\"))
                .group_by("host_name")
                .agg(n=t.event_uid.count())
                .order_by("host_name")
            )
            return query.rows(expr)

        assert per_host(spark) == per_host(duck) == [{"host_name": "WS01", "n": 7}, {"host_name": "WS02", "n": 4}]
    finally:
        spark.close()
        duck.close()

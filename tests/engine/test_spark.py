"""The Spark engine: same schema, same rows, and the same hunt results as DuckDB on one Parquet store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cabhunt import query
from cabhunt.errors import Problems
from cabhunt.ingest import ingest_paths
from cabhunt.store.parquet import ParquetStore
from tests.engine.fleet import comparable, hunt_store, make_fleet, subset_logs

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    root, manifest = make_fleet(tmp_path_factory.mktemp("fleet"))
    store_dir = root.parent / "store"
    store = ParquetStore.open_dir(store_dir)
    ingest_paths(store, subset_logs(root), Problems())
    store.close()
    return root, store_dir, manifest


@pytest.fixture(scope="module")
def spark_store(fleet: tuple[Path, Path, dict[str, Any]]) -> Any:
    pytest.importorskip("pyspark")
    from cabhunt.engine.spark import SparkStore

    store = SparkStore(fleet[1], master="local[2]")
    yield store
    store.close()


def test_same_schema_and_counts(fleet: tuple[Path, Path, dict[str, Any]], spark_store: Any) -> None:
    duck = ParquetStore.open_dir(fleet[1])
    try:
        assert spark_store.events().columns == duck.events().columns

        def per_host(store: Any) -> list[dict[str, Any]]:
            t = store.events()
            return query.rows(t.group_by("host_name").agg(n=t.event_uid.count()).order_by("host_name"))

        assert per_host(spark_store) == per_host(duck)
    finally:
        duck.close()


def test_spark_hunt_equals_duckdb_hunt(fleet: tuple[Path, Path, dict[str, Any]], spark_store: Any) -> None:
    root, store_dir, manifest = fleet
    duck = ParquetStore.open_dir(store_dir)
    try:
        on_duckdb = hunt_store(duck, root, manifest)
    finally:
        duck.close()
    on_spark = hunt_store(spark_store, root, manifest)
    assert len(on_duckdb) >= 3
    assert comparable(on_spark) == comparable(on_duckdb)
    verdicts = {d["cabhunt"]["verdict"] for d in on_spark}
    assert "malicious" in verdicts or "suspicious" in verdicts, json.dumps(verdicts)

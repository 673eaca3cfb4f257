"""The same detection code on Spark gives the same alerts as on DuckDB (Parquet store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cabhunt.rules.loader import RULES_DIR

pytestmark = pytest.mark.spark


def test_spark_and_duckdb_agree(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    pytest.importorskip("cabhunt.store.parquet")
    from cabhunt.detect import detect
    from cabhunt.engine.spark import SparkStore
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store.parquet import ParquetStore

    logs = tmp_path / "logs"
    logs.mkdir()
    for slug in ("makecab_download_cab", "diantz_network", "makecab_network"):
        events = json.loads((RULES_DIR / "regression" / slug / "events.json").read_text(encoding="utf-8"))
        with (logs / f"{slug}.ndjson").open("w", encoding="utf-8") as fh:
            for e in events:
                fh.write(json.dumps({**e, "Channel": "Microsoft-Windows-Sysmon/Operational"}) + "\n")
    fleet = tmp_path / "fleet"
    store = ParquetStore.open_dir(fleet)
    ingest_paths(store, [logs], Problems())
    store.close()

    duck = ParquetStore.open_dir(fleet)
    spark = SparkStore(fleet, master="local[1]")
    try:
        on_duck = sorted((a.id, a.rule.slug, a.score) for a in detect(duck))
        on_spark = sorted((a.id, a.rule.slug, a.score) for a in detect(spark))
    finally:
        spark.close()
        duck.close()
    assert on_duck and on_duck == on_spark
    assert {"makecab_download_cab", "diantz_network", "makecab_network"} <= {s for _, s, _ in on_duck}

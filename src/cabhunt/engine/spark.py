"""A read-only view of a Parquet fleet store through Ibis on PySpark.

Detection, correlation and investigation only ever call ``events()`` and run Ibis expressions
through :mod:`cabhunt.query`; this class gives them the same tables on Spark that
:class:`cabhunt.store.parquet.ParquetStore` gives on DuckDB, so there is one code path compiled
per engine. Alerts and the ledger are small JSON Lines files beside the Parquet data and are
read/written with plain Python, identically for both engines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cabhunt.store.parquet as layout


class SparkStore:
    """Events of a Parquet store (``cabhunt ingest --store DIR``) on a Spark session."""

    engine = "spark"

    def __init__(self, store_dir: Path, master: str = "local[*]", app_name: str = "cabhunt") -> None:
        try:
            import ibis
            from pyspark.sql import SparkSession
        except ImportError as exc:  # the [spark] extra is optional
            raise RuntimeError("the Spark engine needs the [spark] extra: pip install 'cabhunt[spark]'") from exc
        self.store_dir = Path(store_dir)
        events_dir = layout.events_dir(self.store_dir)
        if not any(events_dir.rglob("*.parquet")):
            raise FileNotFoundError(f"{self.store_dir}: no Parquet events (run 'cabhunt ingest --store')")
        builder = (
            SparkSession.builder.master(master)
            .appName(app_name)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.driver.memory", "2g")
        )
        self.spark = builder.getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        self.con = ibis.pyspark.connect(self.spark)
        raw = self.con.read_parquet(str(events_dir), table_name="cabhunt_events_raw")
        keep = [c for c in raw.columns if c not in layout.PARTITION_COLUMNS]
        self._raw_events = raw.select(keep)
        # Persisted once, without the raw record (most of the bytes): a hunt asks many questions
        # of the same events; the raw record is read from the files only for evidence export.
        self._events = raw.select([c for c in keep if c != "raw"]).cache()

    def events(self) -> Any:
        return self._events

    def raw_events(self) -> Any:
        """Every event column including ``raw`` (for evidence export)."""
        return self._raw_events

    def ledger(self) -> list[dict[str, Any]]:
        return layout.read_ledger(self.store_dir)

    def save_alerts(self, alerts: list[dict[str, Any]]) -> None:
        layout.save_alerts(self.store_dir, alerts)

    def alerts(self) -> list[dict[str, Any]]:
        return layout.read_alerts(self.store_dir)

    def load_alert(self, alert_id: str) -> dict[str, Any] | None:
        return layout.find_alert(self.store_dir, alert_id)

    def close(self) -> None:
        self.spark.stop()

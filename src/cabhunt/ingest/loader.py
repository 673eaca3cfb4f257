"""Batches of raw JSON records -> the events table, normalized by a compiled field map in SQL.

Each batch becomes an Arrow table registered with DuckDB; one statement parses every record
once into a staging table (all the map's JSON paths at a time), one counts the broken and
skipped records, one INSERT ... SELECT writes the events. No per-record Python work.
"""

from __future__ import annotations

from collections.abc import Iterable

from cabhunt.ingest.batch import Batch
from cabhunt.ingest.ledger import FileStats
from cabhunt.normalize import CompiledMap
from cabhunt.store import Store

_FIRST_BAD = 5


def load_batches(
    store: Store,
    cmap: CompiledMap,
    batches: Iterable[Batch],
    stats: FileStats,
    *,
    key: str | None = None,
    record_label: str = "line",
) -> None:
    """Normalize and store every batch; counts land in ``stats``."""
    import numpy as np
    import pyarrow as pa

    duck = store.duck
    digest16 = stats.sha256[:16]
    insert = cmap.events_sql("_cabhunt_stage", digest16=digest16, src_file=str(stats.path), src_format=stats.format, key=key)
    reasons = cmap.reasons_sql("_cabhunt_stage", key=key)
    for batch in batches:
        if not batch.texts:
            continue
        if batch.ids is not None:
            ids = pa.array(batch.ids, type=pa.int64())
        else:
            ids = pa.array(np.arange(batch.first_id, batch.first_id + len(batch.texts), dtype=np.int64))
        table = pa.table({"id": ids, "line": pa.array(batch.texts, type=pa.string())})
        duck.register("_cabhunt_batch", table)
        try:
            duck.execute(
                "CREATE OR REPLACE TEMP TABLE _cabhunt_stage AS "
                "SELECT id, line, try(json_extract_string(line, ?::VARCHAR[])) AS v "
                "FROM (SELECT id, rtrim(line, e' \\t\\r\\n') AS line FROM _cabhunt_batch) WHERE line <> ''",
                [cmap.paths],
            )
        finally:
            duck.unregister("_cabhunt_batch")
        total, bad = duck.execute(
            "SELECT count(*), count(*) FILTER (WHERE v IS NULL) FROM _cabhunt_stage"
        ).fetchall()[0]
        stats.records_read += int(total)
        if bad:
            shown = max(0, _FIRST_BAD - stats.errors)
            first: list[int] = []
            if shown:
                first = [
                    int(r[0])
                    for r in duck.execute(
                        f"SELECT id FROM _cabhunt_stage WHERE v IS NULL ORDER BY id LIMIT {shown}"
                    ).fetchall()
                ]
            for rec in first:
                stats.error("not valid JSON", rec, label=record_label)
            stats.errors += int(bad) - len(first)
        for reason, count in duck.execute(reasons).fetchall():
            stats.skip(str(reason), int(count))
        stats.normalized += store.append_events(insert)
    duck.execute("DROP TABLE IF EXISTS _cabhunt_stage")

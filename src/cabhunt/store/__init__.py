"""Where normalized events, the ingest ledger and alerts live (DuckDB by default, Ibis access).

Readers of the store use ``events()`` (an Ibis table), ``ledger()``, ``alerts()``,
``load_alert()`` and ``save_alerts()``. Ingest writes through a small seam, so a store kept
elsewhere (Parquet files) can stage in DuckDB and move the rows out:

- ``duck``: a DuckDB connection for staging (temporary tables, Arrow registration);
- ``append_events(select_sql)``: add the rows of a SELECT producing the event columns;
- ``mark_pending(files)`` / ``finish_files(rows)`` / ``recover()``: the crash-safety marks and
  the ledger rows (``record_ledger(row)`` for one row; a subclass overriding it sees every row);
- ``digests()``: content already ingested (digest -> path), read once per run.
"""

from __future__ import annotations

from cabhunt.store.duckdb_store import Store

__all__ = ["Store"]

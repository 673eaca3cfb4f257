"""Where normalized events, the ingest ledger and alerts live (DuckDB by default, Ibis access)."""

from __future__ import annotations

from cabhunt.store.duckdb_store import Store

__all__ = ["Store"]

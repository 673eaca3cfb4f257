"""Helpers for the ingest tests: run an ingest into a fresh store, read rows back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cabhunt.errors import Problems
from cabhunt.ingest import IngestSummary, ingest_paths
from cabhunt.store import Store

DATA = Path(__file__).resolve().parent / "data"


@contextmanager
def ingested(*paths: Path, store: Store | None = None) -> Iterator[tuple[Store, IngestSummary, Problems]]:
    own = store is None
    st = store if store is not None else Store.open(memory_limit="1GB", threads=2)
    problems = Problems()
    try:
        summary = ingest_paths(st, list(paths), problems)
        yield st, summary, problems
    finally:
        if own:
            st.close()


def rows(store: Store, where: str = "true", columns: Sequence[str] = ("*",)) -> list[dict[str, Any]]:
    cur = store.duck.execute(f"SELECT {', '.join(columns)} FROM events WHERE {where} ORDER BY src_file, src_record_id, event_uid")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def ledger_by_name(store: Store) -> dict[str, dict[str, Any]]:
    return {Path(r["path"]).name: r for r in store.ledger()}


def accounted(row: dict[str, Any]) -> bool:
    """The ledger invariant: every record read is normalized, skipped or an error."""
    return bool(row["records_read"] == row["normalized"] + sum(row["skipped"].values()) + row["errors"])

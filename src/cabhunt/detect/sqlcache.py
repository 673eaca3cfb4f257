"""Detection's fixed scans, compiled once per rule set, code, libraries and time range, and kept.

Three of detection's queries depend only on the rules and the hunt's time range: the rules'
scan, the supporting rules' counts and the cabinet makers' connections. Building and compiling
them with Ibis costs a few tens of milliseconds a run -- a fifth of detection on a
100,000-event hunt -- and gives the same SQL every time. The SQL is kept beside the compiled
rules (:func:`cabhunt.rules.cache.cache_dir`) in a file named by a digest of everything it
depends on: the compiled rules' own key, the sources that build the queries, the Ibis, sqlglot
and DuckDB versions, the events table as compiled and the time range. An edited rule, a changed
source file or an upgrade gives another name, never stale SQL; the file also carries a digest of
its SQL, so a damaged one is compiled again rather than run. DuckDB stores only; while queries
are being recorded (the portability guard) the expressions are built and run as usual.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FORMAT = 1
KIND = "detect-sql"
_SOURCES = ("detect/__init__.py", "detect/engine.py", "detect/network.py", "detect/process_rules.py",
            "detect/common.py", "detect/sqlcache.py", "rules/ir.py", "query.py")


def fixed_rows(events: Any, build: Callable[[], Sequence[Any | None]], parts: Sequence[object]
               ) -> list[list[dict[str, Any]] | None]:
    """The rows of the expressions ``build()`` returns (None stays None), run side by side.

    ``parts`` are the values besides the code that the expressions depend on (time range,
    options); with them the compiled SQL is looked up first and ``build`` not called at all.
    """
    from cabhunt import query

    backend = query.duckdb_backend(events)
    key = _key(backend, events, parts) if backend is not None and not query.recording_active() else None
    if key is None:
        exprs = list(build())
        answers = iter(query.rows_together([e for e in exprs if e is not None]))
        return [next(answers) if e is not None else None for e in exprs]
    sqls = _load(key)
    if sqls is None:
        sqls = [str(backend.compile(e)) if e is not None else None for e in build()]
        _save(key, sqls)
    answers = iter(query.sql_rows_together(backend.con, [s for s in sqls if s is not None]))
    return [next(answers) if s is not None else None for s in sqls]


def _key(backend: Any, events: Any, parts: Sequence[object]) -> str:
    """Digest of everything the compiled SQL depends on (``backend``: the events' DuckDB backend)."""
    import duckdb
    import ibis
    import sqlglot

    from cabhunt.rules.cache import cache_key

    h = hashlib.sha256(f"cabhunt-{KIND}-{FORMAT}\0{cache_key()}\0".encode())
    root = Path(__file__).resolve().parents[1]
    for name in _SOURCES:
        h.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    h.update(f"{ibis.__version__}\0{sqlglot.__version__}\0{duckdb.__version__}\0".encode())
    h.update(f"{backend.compile(events)}\0{events.schema()!r}\0".encode())
    h.update(json.dumps([str(p) for p in parts]).encode())
    return h.hexdigest()


def _sql_digest(sqls: Sequence[str | None]) -> str:
    return hashlib.sha256(json.dumps(list(sqls)).encode()).hexdigest()


def _load(key: str) -> list[str | None] | None:
    from cabhunt.rules.cache import read_cached

    doc = read_cached(KIND, key)
    if doc is None:
        return None
    sqls = doc.get("sql")
    if not isinstance(sqls, list) or not all(s is None or isinstance(s, str) for s in sqls):
        return None
    return sqls if doc.get("digest") == _sql_digest(sqls) else None


def _save(key: str, sqls: Sequence[str | None]) -> None:
    from cabhunt.rules.cache import write_cached

    write_cached(KIND, key, {"sql": list(sqls), "digest": _sql_digest(sqls)})

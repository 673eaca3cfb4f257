"""The one place where cabhunt executes Ibis expressions.

Detection, correlation and investigation build engine-neutral Ibis expressions and run them
through :func:`rows` / :func:`scalar`, so that (a) the same code runs on DuckDB and on Spark and
(b) a test can record every query actually executed and compile it for other SQL dialects
(the portability guard).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

_recording: list[Any] | None = None


@contextlib.contextmanager
def recording() -> Iterator[list[Any]]:
    """Collect every expression executed inside the block (for the portability guard)."""
    global _recording
    previous, _recording = _recording, []
    try:
        yield _recording
    finally:
        _recording = previous


def _note(expr: Any) -> None:
    if _recording is not None:
        _recording.append(expr)


def rows(expr: Any) -> list[dict[str, Any]]:
    """Execute an Ibis table expression and return its rows as dicts (column name -> value)."""
    _note(expr)
    return _dicts(_arrow(expr))


def rows_together(exprs: Sequence[Any]) -> list[list[dict[str, Any]]]:
    """:func:`rows` of several independent expressions, run side by side where the engine allows.

    On DuckDB each runs on a cursor of its own in a thread (DuckDB releases the GIL): a store
    smaller than a couple of row groups is scanned by one thread per query, so independent
    scans would otherwise leave cores idle. Elsewhere they run one after the other.
    """
    for expr in exprs:
        _note(expr)
    backends = [duckdb_backend(expr) for expr in exprs]
    first = backends[0] if backends else None
    if len(exprs) < 2 or first is None or any(b is not first for b in backends):
        return [_dicts(_arrow(expr)) for expr in exprs]
    return sql_rows_together(first.con, [str(first.compile(expr)) for expr in exprs])


def duckdb_backend(expr: Any) -> Any:
    """The Ibis DuckDB backend an expression runs on; None for any other engine."""
    import ibis

    backend = ibis.get_backend(expr)
    return backend if getattr(backend, "name", None) == "duckdb" else None


def sql_rows_together(con: Any, sqls: Sequence[str]) -> list[list[dict[str, Any]]]:
    """The rows of DuckDB SELECTs compiled from Ibis expressions, run side by side (see
    :func:`rows_together`), each on a cursor of ``con``."""
    from concurrent.futures import ThreadPoolExecutor

    # a cursor starts from the global settings: the session's time zone is set again
    zone = str(con.execute("SELECT current_setting('TimeZone')").fetchall()[0][0]).replace("'", "''")

    def run(sql: str) -> Any:
        cursor = con.cursor()
        try:
            cursor.execute(f"SET TimeZone = '{zone}'")
            return cursor.sql(sql).to_arrow_table()
        finally:
            cursor.close()

    if len(sqls) < 2:
        return [_dicts(con.sql(sql).to_arrow_table()) for sql in sqls]
    with ThreadPoolExecutor(max_workers=len(sqls), thread_name_prefix="cabhunt-query") as pool:
        tables = list(pool.map(run, sqls))
    return [_dicts(t) for t in tables]


def recording_active() -> bool:
    """Whether executed expressions are being recorded (a cache of compiled SQL stands aside)."""
    return _recording is not None


def _dicts(table: Any) -> list[dict[str, Any]]:
    """An Arrow table's rows as dicts, every column a key in column order."""
    n = table.num_rows
    if n == 0:
        return []
    # Most event columns are empty for any one kind of event: a column that is all nulls is
    # neither converted value by value nor zipped row by row, its keys are copied in at once
    # (this is most of the cost of a wide fetch).
    names = table.column_names
    template = dict.fromkeys(names)  # every key, in column order, None
    live = [(name, col.to_pylist()) for name, col in zip(names, table.columns, strict=True) if col.null_count != n]
    if not live:
        return [template.copy() for _ in range(n)]
    live_names = [name for name, _ in live]
    out = []
    for values in zip(*(values for _, values in live), strict=True):
        row = template.copy()
        row.update(zip(live_names, values, strict=True))
        out.append(row)
    return out


def _arrow(expr: Any) -> Any:
    """The expression's result as an Arrow table.

    On DuckDB the compiled SQL runs on the backend's connection directly: Ibis's own
    ``to_pyarrow`` adds only a schema coercion that the conversion to Python values makes moot,
    and its result converter imports pandas, a fifth of a second of every run.
    """
    backend = duckdb_backend(expr)
    if backend is not None:
        return backend.con.sql(str(backend.compile(expr))).to_arrow_table()
    return expr.to_pyarrow()


def scalar(expr: Any) -> Any:
    """Execute an Ibis scalar expression (a count, a min) and return the Python value."""
    _note(expr)
    backend = duckdb_backend(expr)
    if backend is not None:  # as in :func:`_arrow`
        rows = backend.con.execute(str(backend.compile(expr))).fetchall()
        return rows[0][0] if rows else None
    value = expr.to_pyarrow()
    return value.as_py() if hasattr(value, "as_py") else value

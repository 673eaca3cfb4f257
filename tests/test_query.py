import duckdb
import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt import query


def test_rows_and_scalar_record_expressions() -> None:
    con = ibis.duckdb.from_connection(duckdb.connect())
    t = con.create_table("t", ibis.memtable({"a": [1, 2, 3], "b": ["x", "y", "x"]}))
    with query.recording() as seen:
        got = query.rows(t.filter(t.b == "x").order_by("a"))
        n = query.scalar(t.count())
    assert got == [{"a": 1, "b": "x"}, {"a": 3, "b": "x"}]
    assert n == 3
    assert len(seen) == 2
    assert "SELECT" in ibis.to_sql(seen[0], dialect="trino")


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-5, 5)), st.one_of(st.none(), st.text(max_size=3)),
                          st.none()), max_size=8))
def test_rows_are_the_table_rows_with_every_key_in_column_order(data: list[tuple[int | None, str | None, None]]) -> None:
    import pyarrow as pa

    duck = duckdb.connect()
    table = pa.table({"a": pa.array([r[0] for r in data], pa.int64()), "b": pa.array([r[1] for r in data], pa.string()),
                      "c": pa.array([r[2] for r in data], pa.string())})
    duck.register("t", table)
    t = ibis.duckdb.from_connection(duck).table("t")
    got = query.rows(t.select("a", "b", "c"))
    assert got == table.to_pylist()
    assert all(list(row) == ["a", "b", "c"] for row in got)


def test_queries_run_side_by_side_see_the_session_time_zone() -> None:
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'Asia/Tokyo'")
    sql = "SELECT hour(TIMESTAMPTZ '2026-03-02 00:00:00+00') AS h"
    assert query.sql_rows_together(duck, [sql, sql]) == [[{"h": 9}], [{"h": 9}]]

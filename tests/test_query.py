import duckdb
import ibis

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

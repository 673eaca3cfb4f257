"""Portability guard: every query detection executes compiles for Spark and other SQL engines."""

from __future__ import annotations

import ibis

from cabhunt import query
from cabhunt.detect import detect
from tests.detect.helpers import make_store, proc


def test_detection_queries_compile_for_other_engines() -> None:
    events = [
        proc(r"makecab.exe \\fs09\pub\a.exe C:\Users\Public\a.cab", ProcessGuid="{p}", UtcTime="2026-03-02 10:00:00.000"),
        {"EventID": 3, "Computer": "WS01", "Image": "System", "ProcessId": 4, "DestinationIp": "10.9.9.9",
         "DestinationPort": 445, "UtcTime": "2026-03-02 10:00:05.000"},
        {"EventID": 22, "Computer": "WS01", "QueryName": "fs09", "QueryResults": "10.9.9.9;", "UtcTime": "2026-03-02 10:00:04.000"},
        {"EventID": 3, "Computer": "WS01", "Image": r"C:\Windows\System32\makecab.exe", "ProcessGuid": "{p}",
         "DestinationIp": "10.9.9.9", "DestinationPort": 445, "UtcTime": "2026-03-02 10:00:06.000"},
    ]
    store = make_store(events)
    with query.recording() as executed:
        alerts = detect(store)
    # the rules' scan, the supporting counts, the maker-GUID connections, the window/DNS query
    assert alerts and len(executed) == 4
    for expr in executed:
        for dialect in ("pyspark", "trino", "postgres"):
            sql = ibis.to_sql(expr, dialect=dialect)
            assert "SELECT" in sql
            assert "ASOF" not in sql.upper() and "RECURSIVE" not in sql.upper()

"""Every query investigation runs compiles for Spark SQL too (no DuckDB-only constructs)."""

from __future__ import annotations

import ibis
import pytest

from cabhunt import query
from cabhunt.investigate import InvestigationContext, investigate
from tests.investigate import scenarios


@pytest.mark.parametrize("name", ["webdav_chain", "internal_network", "build_server"])
def test_investigation_queries_compile_for_spark(name: str) -> None:
    case = getattr(scenarios, name)()
    with query.recording() as seen:
        investigate([case.alert], InvestigationContext(store=case.store))
    assert len(seen) >= 5
    for expr in seen:
        sql = ibis.to_sql(expr, dialect="pyspark")
        assert "SELECT" in sql
        assert "RECURSIVE" not in sql.upper() and "ASOF" not in sql.upper()

"""Load the regression data shipped beside the rules (SigmaHQ regression convention)."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import yaml

from cabhunt.rules.loader import RULES_DIR, LoadedCorrelation, LoadedRule


@dataclass
class RegressionCase:
    rule: LoadedRule | LoadedCorrelation
    events: list[dict[str, Any]]
    match_count: int
    alert_count: int | None


def load_case(rule: LoadedRule | LoadedCorrelation) -> RegressionCase:
    info_path = rule.regression_info
    assert info_path is not None and info_path.is_file(), f"{rule.slug}: no regression data"
    info = yaml.safe_load(info_path.read_text(encoding="utf-8"))
    test = info["regression_tests_info"][0]
    assert info["id"] == rule.uuid
    events = json.loads((RULES_DIR / test["path"]).read_text(encoding="utf-8"))
    return RegressionCase(rule, events, int(test["match_count"]), test.get("alert_count"))


def _regexp(pattern: str, value: object) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def sqlite_count(query: str, events: list[dict[str, Any]]) -> int:
    """Run a pysigma-backend-sqlite query over the events in an in-memory ``logs`` table."""
    from tests.detect.helpers import field_map

    columns = sorted({k for e in events for k in e} | set(field_map()) | {"timestamp"})
    events = [{**e, "timestamp": e.get("UtcTime")} for e in events]  # the sqlite backend's time field
    con = sqlite3.connect(":memory:")
    con.create_function("regexp", 2, _regexp, deterministic=True)
    con.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in columns) + ")")
    con.executemany(
        "INSERT INTO logs VALUES (" + ", ".join("?" for _ in columns) + ")",
        [[e.get(c) for c in columns] for e in events],
    )
    try:
        return len(con.execute(query).fetchall())
    finally:
        con.close()

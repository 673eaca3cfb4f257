"""Run compiled Sigma rules on the store's events table and return the matching rows.

One Ibis query per rule, restricted by the rule's logsource (via the pipeline) and the hunt's
time range; only the columns detection needs are fetched (never ``raw``), so a hunt over a large
store moves little data out of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabhunt.schema import COLUMN_NAMES

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.rules.loader import LoadedRule

# Everything but the raw record: detection reads typed columns, evidence keeps the event_uid.
DETECT_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMN_NAMES if c != "raw")


def time_filter(events: ir.Table, since: datetime | None, until: datetime | None) -> ir.Table:
    """Restrict to ``since <= ts <= until`` (naive UTC datetimes, as stored)."""
    if since is not None:
        events = events.filter(events.ts >= _naive(since))
    if until is not None:
        events = events.filter(events.ts <= _naive(until))
    return events


def _naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        from datetime import UTC

        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def rule_matches(
    events: ir.Table, rule: LoadedRule, *, since: datetime | None = None, until: datetime | None = None
) -> ir.Table:
    """The (lazy) table of events matching ``rule``."""
    from cabhunt.rules.compiler import compile_rule

    predicate = compile_rule(rule)
    table = time_filter(events, since, until)
    return table.filter(predicate(table))


def flagged_rows(
    events: ir.Table,
    predicates: dict[str, Any],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """One query for many rules: rows matching any predicate, with one boolean column per name.

    Compiling and running one Ibis expression instead of one per rule keeps detection a single
    scan of the events table, whatever the number of rules.
    """
    table = time_filter(events, since, until)
    flags = {f"m__{name}": pred(table) for name, pred in predicates.items()}
    if not flags:
        return []
    exprs = list(flags.values())
    anyof = exprs[0]
    for e in exprs[1:]:
        anyof = anyof | e
    cols = [table[c] for c in DETECT_COLUMNS if c in table.columns]
    selected = table.filter(anyof).select(*cols, **flags)
    return fetch(selected, (*DETECT_COLUMNS, *flags))


def flag_counts(
    events: ir.Table,
    predicates: dict[str, Any],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Match counts of many rules in one aggregate query (rules whose rows detection does not need)."""
    from cabhunt import query

    if not predicates:
        return {}
    table = time_filter(events, since, until)
    aggs = {name: pred(table).cast("int64").sum() for name, pred in predicates.items()}
    [row] = query.rows(table.aggregate(**aggs))
    return {name: int(row[name] or 0) for name in predicates}


def fetch(table: ir.Table, columns: Sequence[str] = DETECT_COLUMNS) -> list[dict[str, Any]]:
    """Materialize rows as dicts ordered by time (small results: rule matches, not the store)."""
    from cabhunt import query

    cols = [c for c in columns if c in table.columns]
    return query.rows(table.select(*cols).order_by(["ts", "event_uid"]))


def run_rule(
    store: Any, slug: str, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Matches of one shipped rule by slug (the investigation runs the supporting rules this way)."""
    from cabhunt.rules.loader import load_rules

    rules = load_rules([slug])
    if not rules:
        raise KeyError(f"no shipped rule with slug {slug!r}")
    return fetch(rule_matches(store.events(), rules[0], since=since, until=until))


def count_matches(
    events: ir.Table, rule: LoadedRule, *, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Number of events matching a rule (regression tests compare it with ``match_count``)."""
    from cabhunt import query

    return int(query.scalar(rule_matches(events, rule, since=since, until=until).count()))

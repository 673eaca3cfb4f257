"""Detection: run the shipped Sigma rules on the store, verify matches semantically, seed scores.

``detect(store)`` is the entry point; ``detect_with_summary`` also returns the counts a hunt
prints (prefilter matches, verified benign, alerts per rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cabhunt.model import Alert
    from cabhunt.windows import NetworkConfig


@dataclass
class DetectSummary:
    """What detection did, for the hunt summary."""

    prefilter_matches: dict[str, int] = field(default_factory=dict)  # per rule slug
    process_jobs: int = 0  # distinct cabinet-maker processes verified
    verified_benign: int = 0  # prefilter matches that are local-only packaging
    alerts: dict[str, int] = field(default_factory=dict)  # per rule slug
    verdicts: dict[str, int] = field(default_factory=dict)
    supporting: dict[str, int] = field(default_factory=dict)  # supporting rule matches

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefilter_matches": dict(self.prefilter_matches),
            "process_jobs": self.process_jobs,
            "verified_benign": self.verified_benign,
            "alerts": dict(self.alerts),
            "verdicts": dict(self.verdicts),
            "supporting_matches": dict(self.supporting),
        }


def warm_up() -> None:
    """Do detection's one-time work ahead of it: import its modules (with ``cabhunt.windows``
    and Ibis's DuckDB backend) and load the compiled rules.

    Work that otherwise lands on the first detection query. Meant for a
    background thread started while ingest runs (DuckDB releases the GIL there); safe to call
    more than once, and a failure here only means the work happens later, in :func:`detect`.
    """
    import contextlib

    with contextlib.suppress(Exception):
        import ibis.backends.duckdb  # noqa: F401

        import cabhunt.detect.engine
        import cabhunt.detect.network
        import cabhunt.windows  # noqa: F401
        from cabhunt.rules.cache import compiled_rules

        compiled_rules()


def detect(
    store: Any,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    net: NetworkConfig | None = None,
) -> list[Alert]:
    """Alerts of the four playbook rules, semantically verified, with a first score/verdict."""
    return detect_with_summary(store, since=since, until=until, net=net)[0]


def detect_with_summary(
    store: Any,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    net: NetworkConfig | None = None,
    supporting: bool = True,
) -> tuple[list[Alert], DetectSummary]:
    from cabhunt.detect.engine import counts_of, flag_counts_query, flagged_rows_query, sort_rows
    from cabhunt.detect.network import (
        cab_maker_predicate,
        connection_keys,
        maker_connections_query,
        network_alerts,
    )
    from cabhunt.detect.process_rules import NET_USE_FLAG, mappings_from_rows, net_use_predicate, verify
    from cabhunt.rules.cache import compiled_rules
    from cabhunt.rules.loader import PLAYBOOK_SLUGS

    events = store.events()
    rules = compiled_rules()
    summary = DetectSummary()
    predicates: dict[str, Any] = {slug: rules[slug].condition for slug in PLAYBOOK_SLUGS}
    predicates[NET_USE_FLAG] = net_use_predicate
    others = {slug: rule.condition for slug, rule in rules.items() if slug not in PLAYBOOK_SLUGS} if supporting else {}

    def scans() -> list[Any]:
        """Three independent scans: the rules' rows, the supporting rules' counts, the cabinet
        makers' connections."""
        return [flagged_rows_query(events, predicates, since=since, until=until, marks={"cab_maker": cab_maker_predicate}),
                flag_counts_query(events, others, since=since, until=until) if others else None,
                maker_connections_query(events, since, until)]

    from cabhunt.detect.sqlcache import fixed_rows

    scanned, counted, connections = fixed_rows(events, scans, (since, until, sorted(others)))
    rows = sort_rows(scanned or [])
    if counted is not None:
        summary.supporting = counts_of(counted, others)
    keys = connection_keys(connections or [])
    matched: dict[str, list[dict[str, Any]]] = {
        slug: [r for r in rows if r.get(f"m__{slug}")] for slug in predicates
    }
    for slug in PLAYBOOK_SLUGS:
        summary.prefilter_matches[slug] = len(matched[slug])

    mappings = mappings_from_rows(matched[NET_USE_FLAG])
    verified = verify(matched, rules, mappings=mappings, net=net)
    summary.process_jobs = len(verified)
    alerts = [v.alert for v in verified if v.alert is not None]
    summary.verified_benign = sum(1 for v in verified if v.alert is None)
    alerts.extend(network_alerts(events, rules, rows, verified, since=since, until=until, net=net, keys=keys))
    alerts.sort(key=lambda a: (a.timestamp, a.rule.slug, a.id))
    for a in alerts:
        summary.alerts[a.rule.slug] = summary.alerts.get(a.rule.slug, 0) + 1
        summary.verdicts[a.verdict] = summary.verdicts.get(a.verdict, 0) + 1
    return alerts, summary

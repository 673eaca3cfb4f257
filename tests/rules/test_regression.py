"""Every shipped rule against its regression events: our engine and the SQLite conversion agree."""

from __future__ import annotations

import pytest

from cabhunt.detect.engine import count_matches
from cabhunt.rules.convert import convert_correlation, convert_rule
from cabhunt.rules.loader import load_correlations, load_rules
from tests.detect.helpers import make_store
from tests.rules.regression import load_case, sqlite_count

RULES = load_rules()
SLUGS = [r.slug for r in RULES]


def _rule(slug: str):  # type: ignore[no-untyped-def]
    return next(r for r in load_rules() if r.slug == slug)


@pytest.mark.parametrize("slug", SLUGS)
def test_engine_reproduces_match_count(slug: str) -> None:
    case = load_case(_rule(slug))
    store = make_store(case.events)
    assert count_matches(store.events(), case.rule) == case.match_count


@pytest.mark.parametrize("slug", SLUGS)
def test_sqlite_conversion_reproduces_match_count(slug: str) -> None:
    case = load_case(_rule(slug))
    conv = convert_rule(case.rule, "sqlite", "sysmon")
    assert conv.error is None
    assert len(conv.queries) == 1
    assert sqlite_count(conv.queries[0], case.events) == case.match_count


@pytest.mark.parametrize("slug", [r.slug for r in RULES if r.playbook])
def test_semantic_alert_count(slug: str) -> None:
    pytest.importorskip("cabhunt.windows", reason="semantic verification needs cabhunt.windows")
    from cabhunt.detect import detect

    case = load_case(_rule(slug))
    assert case.alert_count is not None
    alerts = detect(make_store(case.events))
    assert sum(1 for a in alerts if a.rule.slug == slug) == case.alert_count


CORRELATIONS = [c.slug for c in load_correlations()]


@pytest.mark.parametrize("slug", CORRELATIONS)
def test_correlation_sqlite_and_engine_counts(slug: str) -> None:
    """The SIEM form (sqlite, sliding) and cabhunt's own correlation agree on the samples."""
    corr = next(c for c in load_correlations() if c.slug == slug)
    case = load_case(corr)  # type: ignore[arg-type]
    conv = convert_correlation(corr, "sqlite", "sysmon")
    assert conv.error is None and len(conv.queries) == 1
    assert sqlite_count(conv.queries[0], case.events) == case.match_count
    pytest.importorskip("cabhunt.windows", reason="semantic verification needs cabhunt.windows")
    from cabhunt.detect import detect

    maker = slug.split("_", 1)[0]
    alerts = detect(make_store(case.events))
    correlated = [a for a in alerts if a.rule.slug == f"{maker}_network" and a.extra.get("network_match") == "correlated"]
    assert len(correlated) == case.alert_count


def test_every_rule_has_negative_samples() -> None:
    for rule in RULES:
        case = load_case(rule)
        assert 0 < case.match_count < len(case.events), rule.slug

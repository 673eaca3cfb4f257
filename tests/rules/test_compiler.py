"""Sigma -> Ibis: each modifier and value type against small in-memory event tables."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection

from cabhunt.detect.engine import count_matches
from cabhunt.rules.compiler import RuleCompileError, compile_rule
from cabhunt.rules.loader import LoadedRule, _wrap
from tests.detect.helpers import make_store

S32 = "C:\\Windows\\System32\\"


def make_rule(tmp_path: Path, detection: str, category: str = "process_creation") -> LoadedRule:
    text = textwrap.dedent(
        """\
        title: test rule
        id: 0c1e0d3a-1111-4111-8111-111111111111
        status: test
        slug: test_rule
        logsource:
            category: {category}
            product: windows
        detection:
        {detection}
        level: low
        """
    ).format(category=category, detection=textwrap.indent(textwrap.dedent(detection), "    "))
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    return _wrap(SigmaCollection.from_yaml(text).rules[0], path)


def count(tmp_path: Path, detection: str, events: list[dict[str, Any]], category: str = "process_creation") -> int:
    rule = make_rule(tmp_path, detection, category)
    return count_matches(make_store(events).events(), rule)


def ev(cmd: str | None = None, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"EventID": 1, "Computer": "WS01", "Image": S32 + "makecab.exe"}
    if cmd is not None:
        d["CommandLine"] = cmd
    d.update(kw)
    return d


def test_endswith_is_case_insensitive(tmp_path: Path) -> None:
    det = """
    sel:
        Image|endswith: '\\makecab.exe'
    condition: sel
    """
    events = [ev(Image="C:\\WINDOWS\\SYSTEM32\\MAKECAB.EXE"), ev(Image=S32 + "makecab.exe.bak")]
    assert count(tmp_path, det, events) == 1


def test_contains_startswith_and_exact(tmp_path: Path) -> None:
    events = [ev("makecab \\\\fs\\s\\a b.cab"), ev("makecab a b"), ev(None)]
    assert count(tmp_path, "sel:\n    CommandLine|contains: '\\\\\\\\'\ncondition: sel", events) == 1
    assert count(tmp_path, "sel:\n    CommandLine|startswith: 'MAKECAB a'\ncondition: sel", events) == 1
    assert count(tmp_path, "sel:\n    CommandLine: 'makecab A B'\ncondition: sel", events) == 1


def test_inner_wildcards_use_a_regex(tmp_path: Path) -> None:
    events = [ev("makecab x.exe y.cab"), ev("makecab x.exe y.zip"), ev("makecab xy")]
    assert count(tmp_path, "sel:\n    CommandLine: 'makecab *.exe ?.cab'\ncondition: sel", events) == 1


def test_regex_is_case_sensitive_unless_i(tmp_path: Path) -> None:
    events = [ev("a.txt:b.cab"), ev("A.TXT:B.CAB"), ev("C:\\x\\y.cab")]
    assert count(tmp_path, "sel:\n    CommandLine|re: ':[a-z]'\ncondition: sel", events) == 1
    assert count(tmp_path, "sel:\n    CommandLine|re|i: ':[a-z]'\ncondition: sel", events) == 2


def test_windash_matches_dash_and_slash(tmp_path: Path) -> None:
    events = [ev("makecab /f x.ddf"), ev("makecab -F x.ddf"), ev("makecab x.ddf")]
    assert count(tmp_path, "sel:\n    CommandLine|contains|windash: ' /f '\ncondition: sel", events) == 2


def test_all_modifier(tmp_path: Path) -> None:
    events = [ev("diantz a.cab \\\\h"), ev("diantz a.cab")]
    det = "sel:\n    CommandLine|contains|all: ['diantz', '.cab', '\\\\\\\\']\ncondition: sel"
    assert count(tmp_path, det, events) == 1


def test_cidr_number_and_bool(tmp_path: Path) -> None:
    events = [
        {"EventID": 3, "Image": "x", "DestinationIp": "10.1.2.3", "DestinationPort": 445, "Initiated": "true"},
        {"EventID": 3, "Image": "x", "DestinationIp": "100.1.2.3", "DestinationPort": 445, "Initiated": "false"},
        {"EventID": 3, "Image": "x", "DestinationIp": "192.168.1.1", "DestinationPort": 80, "Initiated": "true"},
    ]
    assert count(tmp_path, "sel:\n    DestinationIp|cidr: 10.0.0.0/8\ncondition: sel", events, "network_connection") == 1
    assert count(tmp_path, "sel:\n    DestinationPort: 445\ncondition: sel", events, "network_connection") == 2
    assert count(tmp_path, "sel:\n    Initiated: 'true'\ncondition: sel", events, "network_connection") == 2


def test_null_and_not_on_missing_field(tmp_path: Path) -> None:
    events = [ev("a", OriginalFileName="makecab.exe"), ev("b")]
    assert count(tmp_path, "sel:\n    OriginalFileName: null\ncondition: sel", events) == 1
    det = "sel:\n    Image|endswith: '.exe'\nf:\n    OriginalFileName: 'makecab.exe'\ncondition: sel and not f"
    assert count(tmp_path, det, events) == 1


def test_logsource_restricts_event_code(tmp_path: Path) -> None:
    events = [ev("x"), {**ev("x"), "EventID": 3}, {**ev("x"), "EventID": 4688}, {**ev("x"), "EventID": 5}]
    assert count(tmp_path, "sel:\n    CommandLine: x\ncondition: sel", events) == 2


def test_one_of_and_all_of(tmp_path: Path) -> None:
    events = [ev("a b"), ev("a"), ev("c")]
    det_any = "s_a:\n    CommandLine|contains: a\ns_b:\n    CommandLine|contains: b\ncondition: 1 of s_*"
    det_all = "s_a:\n    CommandLine|contains: a\ns_b:\n    CommandLine|contains: b\ncondition: all of s_*"
    assert count(tmp_path, det_any, events) == 2
    assert count(tmp_path, det_all, events) == 1


def test_unknown_field_is_a_compile_error(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "sel:\n    NoSuchField: x\ncondition: sel")
    with pytest.raises(RuleCompileError, match="NoSuchField"):
        compile_rule(rule)


def test_keyword_search_is_a_compile_error(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "keywords:\n    - makecab\ncondition: keywords")
    with pytest.raises(RuleCompileError, match="keyword"):
        compile_rule(rule)


def test_predicate_compiles_to_other_sql_dialects(tmp_path: Path) -> None:
    """Only portable operations: the same predicate compiles for Spark, Trino, Postgres."""
    import ibis

    from cabhunt.rules.loader import load_rules
    from cabhunt.schema import EVENT_COLUMNS

    schema = {c: ("timestamp" if t == "TIMESTAMP" else {"VARCHAR": "string", "INTEGER": "int32", "BIGINT": "int64", "BOOLEAN": "boolean"}[t]) for c, t in EVENT_COLUMNS.items()}
    table = ibis.table(schema, name="events")
    for rule in load_rules():
        expr = table.filter(compile_rule(rule)(table))
        for dialect in ("pyspark", "trino", "postgres"):
            assert "SELECT" in ibis.to_sql(expr, dialect=dialect)

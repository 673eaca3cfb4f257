"""The plain-data rule form: folding string tests into one regular expression keeps the meaning."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabhunt.detect.engine import count_matches
from cabhunt.rules.compiler import rule_conditions
from cabhunt.rules.ir import regex_literal, simplify
from tests.detect.helpers import make_store
from tests.rules.test_compiler import make_rule

# Regular-expression metacharacters, a newline (``$`` may match before a final one) and text.
SPECIAL = "ab.\\^$|()[]{}+:\n"
needles = st.text(alphabet="ab.\\^$|()[]{}+:", min_size=1, max_size=3)
haystacks = st.lists(st.text(alphabet=SPECIAL, max_size=7), min_size=1, max_size=10)


def _yaml(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _kinds(nodes: object) -> set[str]:
    """Every node kind in an IR tree."""
    out: set[str] = set()
    if isinstance(nodes, list | tuple) and nodes and isinstance(nodes[0], str) and nodes[0] in ("or", "and"):
        out.add(nodes[0])
        out |= _kinds(nodes[1])
    elif isinstance(nodes, list | tuple) and nodes and isinstance(nodes[0], str):
        out.add(nodes[0])
        if nodes[0] == "not":
            out |= _kinds(nodes[1])
    elif isinstance(nodes, list | tuple):
        for n in nodes:
            out |= _kinds(n)
    return out


def test_simplify_folds_string_tests_on_one_field() -> None:
    node = (
        "or",
        [
            ("str", "process_command_line", "contains", "a", False),
            ("or", [("str", "process_command_line", "endswith", "b", False), ("isnull", "user_name")]),
            ("str", "process_executable", "eq", "x", False),
            ("str", "process_command_line", "contains", "a", False),
        ],
    )
    out = simplify(node)
    assert out[0] == "or"
    kinds = [n[0] for n in out[1]]
    assert kinds == ["anyof", "isnull", "str"]
    assert out[1][0] == ("anyof", "process_command_line", [["contains", "a"], ["endswith", "b"]], False)


def test_negated_tests_fold_only_with_each_other() -> None:
    node = ("or", [("str", "f", "contains", "a", True), ("str", "f", "contains", "b", False)])
    assert [n[0] for n in simplify(node)[1]] == ["str", "str"]


def test_regex_literal_escapes_metacharacters() -> None:
    import re

    text = r"a.b\c^$|()[]{}+*?"
    assert re.fullmatch(regex_literal(text), text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contains=st.lists(needles, min_size=1, max_size=3),
    starts=needles,
    ends=needles,
    exact=needles,
    texts=haystacks,
)
def test_folded_tests_match_python(
    tmp_path: Path, contains: list[str], starts: str, ends: str, exact: str, texts: list[str]
) -> None:
    det = (
        "sel_c:\n    CommandLine|contains:\n"
        + "".join(f"        - {_yaml(c)}\n" for c in contains)
        + f"sel_s:\n    CommandLine|startswith: {_yaml(starts)}\n"
        + f"sel_e:\n    CommandLine|endswith: {_yaml(ends)}\n"
        + f"sel_x:\n    CommandLine: {_yaml(exact)}\n"
        + "condition: 1 of sel_*"
    )
    rule = make_rule(tmp_path, det)
    assert "anyof" in _kinds(rule_conditions(rule))  # the five tests became one regular expression
    events = [{"EventID": 1, "Image": "x", "CommandLine": t} for t in texts]

    def hit(t: str) -> bool:
        low = t.lower()
        return (
            any(c.lower() in low for c in contains)
            or low.startswith(starts.lower())
            or low.endswith(ends.lower())
            or low == exact.lower()
        )

    assert count_matches(make_store(events).events(), rule) == sum(hit(t) for t in texts)

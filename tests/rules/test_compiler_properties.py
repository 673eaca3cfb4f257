"""Property: compiled Sigma string matches agree with the Sigma semantics computed in Python."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabhunt.detect.engine import count_matches
from tests.detect.helpers import make_store
from tests.rules.test_compiler import make_rule

ALPHABET = "ab\\:. /"
texts = st.text(alphabet=ALPHABET, min_size=0, max_size=8)


def _yaml_quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _sigma_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    needle=st.text(alphabet=ALPHABET, min_size=1, max_size=3),
    haystacks=st.lists(texts, min_size=1, max_size=12),
    modifier=st.sampled_from(["contains", "startswith", "endswith", "exact"]),
)
def test_string_modifiers_match_python(tmp_path: Path, needle: str, haystacks: list[str], modifier: str) -> None:
    field = "CommandLine" if modifier == "exact" else f"CommandLine|{modifier}"
    det = f"sel:\n    {field}: {_yaml_quote(_sigma_escape(needle))}\ncondition: sel"
    rule = make_rule(tmp_path, det)
    events = [{"EventID": 1, "Image": "x", "CommandLine": h} for h in haystacks]
    n, h = needle.lower(), [x.lower() for x in haystacks]
    expected = {
        "contains": sum(n in x for x in h),
        "startswith": sum(x.startswith(n) for x in h),
        "endswith": sum(x.endswith(n) for x in h),
        "exact": sum(x == n for x in h),
    }[modifier]
    assert count_matches(make_store(events).events(), rule) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.text(alphabet="ab.", min_size=1, max_size=2), min_size=1, max_size=3),
    wilds=st.lists(st.sampled_from(["*", "?"]), min_size=3, max_size=3),
    haystacks=st.lists(st.text(alphabet="ab.", max_size=7), min_size=1, max_size=12),
)
def test_inner_wildcards_match_fnmatch(tmp_path: Path, parts: list[str], wilds: list[str], haystacks: list[str]) -> None:
    pattern = "".join(p + w for p, w in zip(parts, wilds, strict=False)).rstrip("*?") or parts[0]
    rule = make_rule(tmp_path, f"sel:\n    CommandLine: {_yaml_quote(pattern)}\ncondition: sel")
    events = [{"EventID": 1, "Image": "x", "CommandLine": h} for h in haystacks]
    expected = sum(fnmatch.fnmatchcase(h.lower(), pattern.lower()) for h in haystacks)
    assert count_matches(make_store(events).events(), rule) == expected

"""Compile a Sigma rule's detection to an Ibis boolean expression over the events table.

pySigma does the parsing, the modifiers and the field mapping (``pipelines/cabhunt.yml``, which
also turns the logsource into an ``event_code`` filter); this module walks the resulting condition
tree and emits only portable Ibis operations (lower / startswith / endswith / contains /
re_search / isin / isnull), so the same predicate runs on DuckDB and on Spark.

Sigma string matching is case-insensitive: both sides are lowercased. ``|re`` is case-sensitive
unless the rule sets the ``i`` flag. A comparison on a NULL column is false, so its ``not`` is
true (SQL's three-valued NULL never leaks into a rule), which is how SIEM backends treat a
missing field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cabhunt.schema import EVENT_COLUMNS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.rules.loader import LoadedRule

Predicate = Callable[["ir.Table"], "ir.BooleanValue"]

_INT_TYPES = {"INTEGER", "BIGINT"}


class RuleCompileError(ValueError):
    """A rule uses something the Ibis compiler cannot express (keyword search, unknown field...)."""


def compile_rule(rule: LoadedRule, pipeline: str = "cabhunt") -> Predicate:
    """Predicate for ``rule`` on the events table; the rule is parsed afresh from its file."""
    from cabhunt.rules.loader import load_pipeline, parse_file

    coll = parse_file(rule.path)
    fresh: Any = next((r for r in coll.rules if str(r.id) == rule.uuid), coll.rules[0])
    if not hasattr(fresh, "detection"):
        raise RuleCompileError(f"{rule.slug}: correlation rules are evaluated by cabhunt.detect, not compiled")
    load_pipeline(pipeline).apply(fresh)
    conditions = [_compile_node(pc.parsed, rule.slug) for pc in fresh.detection.parsed_condition]

    def predicate(table: ir.Table) -> ir.BooleanValue:
        exprs = [c(table) for c in conditions]
        out = exprs[0]
        for e in exprs[1:]:
            out = out | e
        return out.fill_null(False)

    return predicate


def _compile_node(node: Any, slug: str, negated: bool = False) -> Predicate:
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )

    if isinstance(node, ConditionAND | ConditionOR):
        parts = [_compile_node(a, slug, negated) for a in node.args]
        is_and = isinstance(node, ConditionAND)

        def combine(t: ir.Table) -> ir.BooleanValue:
            out = parts[0](t)
            for p in parts[1:]:
                out = (out & p(t)) if is_and else (out | p(t))
            return out

        return combine
    if isinstance(node, ConditionNOT):
        inner = _compile_node(node.args[0], slug, not negated)
        return lambda t: ~inner(t)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _compile_field(node.field, node.value, slug, negated)
    if isinstance(node, ConditionValueExpression):
        raise RuleCompileError(f"{slug}: keyword (field-less) search is not supported")
    raise RuleCompileError(f"{slug}: unsupported condition node {type(node).__name__}")


def _compile_field(field: str, value: Any, slug: str, negated: bool = False) -> Predicate:
    from sigma.types import (
        SigmaBool,
        SigmaCIDRExpression,
        SigmaExpansion,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaString,
    )

    if field not in EVENT_COLUMNS:
        raise RuleCompileError(f"{slug}: field {field!r} has no column in the events table")
    col_type = EVENT_COLUMNS[field]

    def _guard(field: str, make: Callable[[Any], Any]) -> Predicate:
        return _null_false(field, make, negated)

    if isinstance(value, SigmaExpansion):
        parts = [_compile_field(field, v, slug, negated) for v in value.values]

        def any_of(t: ir.Table) -> ir.BooleanValue:
            out = parts[0](t)
            for p in parts[1:]:
                out = out | p(t)
            return out

        return any_of
    if isinstance(value, SigmaNull):
        return lambda t: t[field].isnull()
    if isinstance(value, SigmaBool):
        return _guard(field, lambda c: c == value.boolean)
    if isinstance(value, SigmaNumber):
        num = value.number
        if col_type in _INT_TYPES:
            return _guard(field, lambda c: c == num)
        return _guard(field, lambda c: c == str(num))
    if isinstance(value, SigmaRegularExpression):
        pattern = str(value.regexp)
        flags = {getattr(f, "name", str(f)).lower() for f in value.flags}
        prefix = "".join(
            flag for name, flag in (("ignorecase", "i"), ("multiline", "m"), ("dotall", "s")) if name in flags
        )
        regex = f"(?{prefix}){pattern}" if prefix else pattern
        return _guard(field, lambda c: (c if col_type == "VARCHAR" else c.cast("string")).re_search(regex))
    if isinstance(value, SigmaCIDRExpression):
        prefixes = [p.rstrip("*") for p in value.expand(wildcard="*")]

        def in_cidr(c: Any) -> Any:
            out = c.startswith(prefixes[0])
            for p in prefixes[1:]:
                out = out | c.startswith(p)
            return out

        return _guard(field, in_cidr)
    if isinstance(value, SigmaString):
        return _compile_string(field, value, col_type, negated)
    raise RuleCompileError(f"{slug}: unsupported value type {type(value).__name__} for {field}")


def _null_false(field: str, make: Callable[[Any], Any], negated: bool) -> Predicate:
    """Apply ``make`` to the column; under ``not`` a NULL result must become false first
    (``not NULL`` is NULL in SQL), elsewhere the rule's final NULL -> false is enough."""
    if negated:
        return lambda t: make(t[field]).fill_null(False)
    return lambda t: make(t[field])


def _compile_string(field: str, value: Any, col_type: str, negated: bool) -> Predicate:
    from sigma.types import SpecialChars

    def _guard(field: str, make: Callable[[Any], Any]) -> Predicate:
        return _null_false(field, make, negated)

    def _lower(col: Any) -> Any:
        return col.lower() if col_type == "VARCHAR" else col.cast("string").lower()

    parts = list(value.s)
    if col_type == "BOOLEAN" and not value.contains_special():
        plain = value.to_plain().strip().lower()
        if plain in ("true", "false"):
            return _guard(field, lambda c: c == (plain == "true"))
    if col_type in _INT_TYPES and not value.contains_special():
        plain = value.to_plain().strip()
        if re.fullmatch(r"-?\d+", plain):
            return _guard(field, lambda c: c == int(plain))
        return lambda t: t[field].isnull() & t[field].notnull()  # a non-number never equals a number column

    wild = SpecialChars.WILDCARD_MULTI
    text_only = all(isinstance(p, str) for p in parts)
    if text_only:
        lit = "".join(parts).lower()
        return _guard(field, lambda c: _lower(c) == lit)
    if len(parts) == 3 and parts[0] is wild and parts[2] is wild and isinstance(parts[1], str):
        lit = parts[1].lower()
        return _guard(field, lambda c: _lower(c).contains(lit))
    if len(parts) == 2 and parts[0] is wild and isinstance(parts[1], str):
        lit = parts[1].lower()
        return _guard(field, lambda c: _lower(c).endswith(lit))
    if len(parts) == 2 and parts[1] is wild and isinstance(parts[0], str):
        lit = parts[0].lower()
        return _guard(field, lambda c: _lower(c).startswith(lit))
    if parts == [wild]:
        return lambda t: t[field].notnull()
    regex = "^" + "".join(_part_regex(p) for p in parts) + "$"
    return _guard(field, lambda c: _lower(c).re_search(regex))


def _part_regex(part: Any) -> str:
    from sigma.types import SpecialChars

    if isinstance(part, str):
        return re.escape(part.lower())
    if part is SpecialChars.WILDCARD_MULTI:
        return "(?s:.*)"
    if part is SpecialChars.WILDCARD_SINGLE:
        return "(?s:.)"
    raise RuleCompileError(f"placeholder {part!r} is not supported")


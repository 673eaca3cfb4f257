"""Compile a Sigma rule's detection to an Ibis boolean expression over the events table.

pySigma does the parsing, the modifiers and the field mapping (``pipelines/cabhunt.yml``, which
also turns the logsource into an ``event_code`` filter); this module walks the resulting condition
tree into the plain-data form of :mod:`cabhunt.rules.ir`, which emits only portable Ibis
operations (lower / startswith / endswith / contains / re_search / isin / isnull), so the same
predicate runs on DuckDB and on Spark.

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
Node = tuple[Any, ...]

_INT_TYPES = {"INTEGER", "BIGINT"}


class RuleCompileError(ValueError):
    """A rule uses something the Ibis compiler cannot express (keyword search, unknown field...)."""


def compile_rule(rule: LoadedRule, pipeline: str = "cabhunt") -> Predicate:
    """Predicate for ``rule`` on the events table (never NULL); the rule is parsed afresh from its file."""
    from cabhunt.rules.ir import predicate

    return predicate(rule_conditions(rule, pipeline))


def rule_conditions(rule: LoadedRule, pipeline: str = "cabhunt") -> list[Node]:
    """The rule's detection as IR conditions (any of them matching is a match)."""
    from cabhunt.rules.loader import load_pipeline, parse_file

    coll = parse_file(rule.path)
    fresh: Any = next((r for r in coll.rules if str(r.id) == rule.uuid), coll.rules[0])
    return sigma_conditions(fresh, rule.slug, load_pipeline(pipeline))


def sigma_conditions(sigma_rule: Any, slug: str, pipeline: Any) -> list[Node]:
    """IR of a freshly parsed pySigma rule after ``pipeline`` (which mutates the rule)."""
    from cabhunt.rules.ir import simplify

    if not hasattr(sigma_rule, "detection"):
        raise RuleCompileError(f"{slug}: correlation rules are evaluated by cabhunt.detect, not compiled")
    pipeline.apply(sigma_rule)
    return [simplify(_node(pc.parsed, slug)) for pc in sigma_rule.detection.parsed_condition]


def _node(node: Any, slug: str, negated: bool = False) -> Node:
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )

    if isinstance(node, ConditionAND | ConditionOR):
        kind = "and" if isinstance(node, ConditionAND) else "or"
        return (kind, [_node(a, slug, negated) for a in node.args])
    if isinstance(node, ConditionNOT):
        return ("not", _node(node.args[0], slug, not negated))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field(node.field, node.value, slug, negated)
    if isinstance(node, ConditionValueExpression):
        raise RuleCompileError(f"{slug}: keyword (field-less) search is not supported")
    raise RuleCompileError(f"{slug}: unsupported condition node {type(node).__name__}")


def _field(field: str, value: Any, slug: str, negated: bool = False) -> Node:
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

    if isinstance(value, SigmaExpansion):
        return ("or", [_field(field, v, slug, negated) for v in value.values])
    if isinstance(value, SigmaNull):
        return ("isnull", field)
    if isinstance(value, SigmaBool):
        return ("eq", field, bool(value.boolean), negated)
    if isinstance(value, SigmaNumber):
        num = value.number
        if col_type in _INT_TYPES:
            return ("eq", field, num, negated)
        return ("eq", field, str(num), negated)
    if isinstance(value, SigmaRegularExpression):
        pattern = str(value.regexp)
        flags = {getattr(f, "name", str(f)).lower() for f in value.flags}
        prefix = "".join(
            flag for name, flag in (("ignorecase", "i"), ("multiline", "m"), ("dotall", "s")) if name in flags
        )
        return ("re", field, f"(?{prefix}){pattern}" if prefix else pattern, False, negated)
    if isinstance(value, SigmaCIDRExpression):
        return ("cidr", field, [p.rstrip("*") for p in value.expand(wildcard="*")], negated)
    if isinstance(value, SigmaString):
        return _string(field, value, col_type, negated)
    raise RuleCompileError(f"{slug}: unsupported value type {type(value).__name__} for {field}")


def _string(field: str, value: Any, col_type: str, negated: bool) -> Node:
    from sigma.types import SpecialChars

    parts = list(value.s)
    if col_type == "BOOLEAN" and not value.contains_special():
        plain = value.to_plain().strip().lower()
        if plain in ("true", "false"):
            return ("eq", field, plain == "true", negated)
    if col_type in _INT_TYPES and not value.contains_special():
        plain = value.to_plain().strip()
        if re.fullmatch(r"-?\d+", plain):
            return ("eq", field, int(plain), negated)
        return ("never", field)  # a non-number never equals a number column

    wild = SpecialChars.WILDCARD_MULTI
    if all(isinstance(p, str) for p in parts):
        return ("str", field, "eq", "".join(parts).lower(), negated)
    if len(parts) == 3 and parts[0] is wild and parts[2] is wild and isinstance(parts[1], str):
        return ("str", field, "contains", parts[1].lower(), negated)
    if len(parts) == 2 and parts[0] is wild and isinstance(parts[1], str):
        return ("str", field, "endswith", parts[1].lower(), negated)
    if len(parts) == 2 and parts[1] is wild and isinstance(parts[0], str):
        return ("str", field, "startswith", parts[0].lower(), negated)
    if parts == [wild]:
        return ("notnull", field)
    regex = "^" + "".join(_part_regex(p) for p in parts) + "$"
    return ("re", field, regex, True, negated)


def _part_regex(part: Any) -> str:
    from sigma.types import SpecialChars

    if isinstance(part, str):
        return re.escape(part.lower())
    if part is SpecialChars.WILDCARD_MULTI:
        return "(?s:.*)"
    if part is SpecialChars.WILDCARD_SINGLE:
        return "(?s:.)"
    raise RuleCompileError(f"placeholder {part!r} is not supported")

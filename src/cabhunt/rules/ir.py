"""A compiled rule's detection as plain data, and its translation to Ibis.

The Sigma compiler (:mod:`cabhunt.rules.compiler`) turns a rule into this small tree of tuples
once; building the Ibis predicate from it needs neither pySigma nor the rule file, so the tree can
be cached on disk (:mod:`cabhunt.rules.cache`) and a hunt starts without parsing any Sigma.

Nodes (JSON-safe: tuples become lists on disk, both are accepted):

- ``("or", [nodes])`` / ``("and", [nodes])`` / ``("not", node)``
- ``("isnull", field)`` / ``("notnull", field)`` / ``("never", field)`` (always false)
- ``("eq", field, value, guard)``: the raw column equals ``value`` (int, bool or text)
- ``("str", field, op, literal, guard)``: the lowercased column ``eq`` / ``contains`` /
  ``startswith`` / ``endswith`` the lowercased literal
- ``("anyof", field, [[op, literal], ...], guard)``: the lowercased column passes any of the
  ``str`` tests, as one regular expression: the column is lowercased once per row, not once per
  literal (lowercasing is most of a string test's cost, and engines expand a short ``IN`` list
  into one comparison per value)
- ``("re", field, pattern, lowered, guard)``: regular-expression search
- ``("cidr", field, [prefixes], guard)``: the raw column starts with any prefix

``guard`` is true under ``not``: a NULL column must then give false before the negation (``not
NULL`` is NULL in SQL); elsewhere the rule's final NULL -> false is enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cabhunt.schema import EVENT_COLUMNS

if TYPE_CHECKING:
    import ibis.expr.types as ir

Node = Sequence[Any]

# Characters with a meaning in RE2 / Java / PCRE outside a character class; a backslash before
# punctuation is a literal in all of them, so escaping exactly these keeps the text literal.
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def regex_literal(text: str) -> str:
    """``text`` as a regular expression matching itself, portable across SQL engines' regex dialects."""
    return _REGEX_SPECIAL.sub(r"\\\1", text)


class Builder:
    """Builds Ibis predicates from IR nodes over one table, sharing column sub-expressions."""

    def __init__(self, table: ir.Table) -> None:
        self.table = table
        self._lower: dict[str, Any] = {}
        self._text: dict[str, Any] = {}

    def text(self, field: str) -> Any:
        """The column as text (non-text columns are cast, as Sigma compares their string form)."""
        if field not in self._text:
            col = self.table[field]
            self._text[field] = col if EVENT_COLUMNS.get(field) == "VARCHAR" else col.cast("string")
        return self._text[field]

    def lower(self, field: str) -> Any:
        if field not in self._lower:
            self._lower[field] = self.text(field).lower()
        return self._lower[field]

    def build(self, node: Node) -> ir.BooleanValue:
        kind = node[0]
        if kind in ("or", "and"):
            parts = [self.build(n) for n in node[1]]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if kind == "and" else (out | p)
            return out
        if kind == "not":
            return ~self.build(node[1])
        field = node[1]
        col = self.table[field]
        if kind == "isnull":
            return col.isnull()
        if kind == "notnull":
            return col.notnull()
        if kind == "never":
            return col.isnull() & col.notnull()
        expr = self._compare(kind, node)
        return expr.fill_null(False) if node[-1] else expr

    def _compare(self, kind: str, node: Node) -> Any:
        field = node[1]
        if kind == "eq":
            return self.table[field] == node[2]
        if kind == "str":
            op, lit = node[2], node[3]
            low = self.lower(field)
            if op == "eq":
                return low == lit
            if op == "contains":
                return low.contains(lit)
            if op == "startswith":
                return low.startswith(lit)
            if op == "endswith":
                return low.endswith(lit)
            raise ValueError(f"unknown string operation {op!r}")
        if kind == "anyof":
            tests = [(str(op), str(lit)) for op, lit in node[2]]
            return self.lower(field).re_search("|".join(_test_regex(op, lit) for op, lit in tests))
        if kind == "re":
            target = self.lower(field) if node[3] else self.text(field)
            return target.re_search(node[2])
        if kind == "cidr":
            col = self.table[field]
            out = col.startswith(node[2][0])
            for p in node[2][1:]:
                out = out | col.startswith(p)
            return out
        raise ValueError(f"unknown rule node {kind!r}")


def _test_regex(op: str, lit: str) -> str:
    """One ``str`` test as a regular-expression alternative (``\\z``: the very end, as
    ``endswith``; ``$`` may also match before a final newline in some engines)."""
    text = regex_literal(lit)
    if op == "contains":
        return text
    if op == "startswith":
        return "^" + text
    if op == "endswith":
        return text + "\\z"
    if op == "eq":
        return "^" + text + "\\z"
    raise ValueError(f"unknown string operation {op!r}")


def condition(table: ir.Table, conditions: Sequence[Node], builder: Builder | None = None) -> ir.BooleanValue:
    """The rule's match, NULL where SQL leaves it unknown (a WHERE treats that as false).

    Without the final ``fill_null`` a filter stays a plain conjunction the engine can
    short-circuit; wrapping it in COALESCE makes DuckDB evaluate every branch on every row.
    """
    b = builder or Builder(table)
    exprs = [b.build(c) for c in conditions]
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def predicate(conditions: Sequence[Node]) -> Callable[[ir.Table], ir.BooleanValue]:
    """``table -> boolean`` that is never NULL (a missing field does not match)."""

    def pred(table: ir.Table) -> ir.BooleanValue:
        return condition(table, conditions).fill_null(False)

    return pred


def simplify(node: Node) -> tuple[Any, ...]:
    """Flatten nested and/or, and fold an or's string tests on one field into one ``anyof``."""
    kind = node[0]
    if kind == "not":
        return ("not", simplify(node[1]))
    if kind not in ("or", "and"):
        return tuple(node)
    flat: list[tuple[Any, ...]] = []
    for child in (simplify(n) for n in node[1]):
        if child[0] == kind:
            flat.extend(child[1])
        else:
            flat.append(child)
    if kind == "or":
        flat = _fold_tests(flat)
    if len(flat) == 1:
        return flat[0]
    return (kind, flat)


def _tests(n: tuple[Any, ...]) -> tuple[tuple[str, bool], list[list[str]]] | None:
    """(field, guard) and the [op, literal] tests of a ``str`` or ``anyof`` node, else None."""
    if n[0] == "str":
        return (n[1], bool(n[4])), [[n[2], n[3]]]
    if n[0] == "anyof":
        return (n[1], bool(n[3])), [list(t) for t in n[2]]
    return None


def _fold_tests(nodes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One ``anyof`` per (field, guard), in place of the first of its sibling string tests."""
    groups: dict[tuple[str, bool], list[list[str]]] = {}
    for n in nodes:
        t = _tests(n)
        if t is not None:
            groups.setdefault(t[0], []).extend(t[1])
    out: list[tuple[Any, ...]] = []
    done: set[tuple[str, bool]] = set()
    for n in nodes:
        t = _tests(n)
        if t is None:
            out.append(n)
            continue
        key = t[0]
        tests = [list(x) for x in dict.fromkeys(tuple(x) for x in groups[key])]
        if len(tests) < 2:
            out.append(n)
        elif key not in done:
            done.add(key)
            out.append(("anyof", key[0], tests, key[1]))
    return out

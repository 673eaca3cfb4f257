"""Shipped Sigma rules, their loader and the Sigma -> Ibis compiler.

The YAML under ``sigma/`` is the single source of every detection: the engine compiles it to Ibis
predicates over the events table, and ``cabhunt rules convert`` turns the same files into SIEM
queries through pySigma backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cabhunt.rules.loader import LoadedRule


def load_rules() -> list[LoadedRule]:
    """The shipped rules, freshly parsed (see :func:`cabhunt.rules.loader.load_rules`)."""
    from cabhunt.rules.loader import load_rules as _load

    return _load()


def compile_rule(rule: LoadedRule) -> Any:
    """A callable ``table -> boolean expression`` for one rule (see :mod:`cabhunt.rules.compiler`)."""
    from cabhunt.rules.compiler import compile_rule as _compile

    return _compile(rule)

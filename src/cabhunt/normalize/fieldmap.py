"""Loading the field maps (package data YAML, one per input shape) and their building blocks.

A map says where each normalized column comes from; :mod:`cabhunt.normalize.sql` turns it
into one DuckDB SELECT so normalization runs inside the database, never record by record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

WINDOWS_SHAPES: tuple[str, ...] = ("evtx_json", "winlogbeat_raw", "flat_sysmon", "ecs")
KEYED_SHAPES: tuple[str, ...] = ("zeek", "squid")


class FieldMapError(ValueError):
    """A shipped field map is malformed (a packaging bug, caught by the tests)."""


@dataclass(frozen=True)
class Candidate:
    """One source for a column: JSON paths (first non-null wins) or an SQL template, then a transform."""

    paths: tuple[str, ...] = ()
    transform: str = "str"
    sql: str | None = None  # template with {field} placeholders (fields resolved by the family)


@cache
def load_map(name: str) -> dict[str, Any]:
    """The parsed YAML of map ``name`` (``windows``, ``evtx_json``, ``zeek``, ...)."""
    ref = resources.files("cabhunt.normalize").joinpath("maps", f"{name}.yml")
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FieldMapError(f"no field map named {name!r}") from exc
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise FieldMapError(f"field map {name!r} is not a mapping")
    return data


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def path_candidates(spec: object) -> list[Candidate]:
    """Candidates from a shape's ``[path | {path, as}]`` list (system fields, overrides)."""
    out: list[Candidate] = []
    for item in as_list(spec):
        if isinstance(item, str):
            out.append(Candidate(paths=(item,)))
        elif isinstance(item, dict) and "path" in item:
            out.append(Candidate(paths=tuple(as_list(item["path"])), transform=str(item.get("as", "str"))))
        else:
            raise FieldMapError(f"bad path entry: {item!r}")
    return out


def field_candidate(spec: object, field_path: Any) -> Candidate:
    """A candidate from a ``NAME | {field: NAME|[NAMES], as} | {sql: TEMPLATE}`` entry.

    ``field_path`` turns a field name into the JSON path for the shape at hand.
    """
    if isinstance(spec, str):
        return Candidate(paths=(field_path(spec),))
    if isinstance(spec, dict):
        if "sql" in spec:
            return Candidate(sql=str(spec["sql"]), transform=str(spec.get("as", "raw")))
        if "field" in spec:
            names = as_list(spec["field"])
            return Candidate(paths=tuple(field_path(n) for n in names), transform=str(spec.get("as", "str")))
    raise FieldMapError(f"bad field entry: {spec!r}")


def quote_key(name: str) -> str:
    """A JSONPath member step for a key that may contain dots or other specials."""
    return '"' + name.replace('"', '\\"') + '"'

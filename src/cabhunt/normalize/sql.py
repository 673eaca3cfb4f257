"""Compile a field map into DuckDB SQL over a staging table of raw records.

The staging table has ``id`` (record id or line number), ``line`` (the record's JSON text) and
``_s`` -- every JSON path the map needs, parsed in one ``json_transform(line, structure)`` call
into a STRUCT of text fields, so each record is parsed once (``_s`` is NULL when the line is not
JSON). The compiled SELECT then only reads struct fields, casts and combines; the events table
gets one INSERT per flush.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cabhunt.normalize.fieldmap import (
    KEYED_SHAPES,
    WINDOWS_SHAPES,
    Candidate,
    FieldMapError,
    as_list,
    field_candidate,
    load_map,
    path_candidates,
    quote_key,
)
from cabhunt.schema import EVENT_COLUMNS

# Columns computed in the last step from the others (never taken from a map directly).
# Staging columns carried through every level of the compiled SELECT.
_PASS = "_fk, id, line, _s, _uid_prefix, _src_file, _src_format, _default_key"
_PASS_OUT = "_fk, id, line, _uid_prefix, _src_file, _src_format"
_DERIVED = {"event_uid", "process_name", "process_parent_name", "src_file", "src_format", "src_record_id", "raw"}


def sql_literal(text: str | None) -> str:
    if text is None:
        return "NULL"
    return "'" + text.replace("'", "''") + "'"


def ts_expr(x: str) -> str:
    """Any of our timestamp spellings -> TIMESTAMP (UTC, milliseconds).

    Epoch seconds (Zeek, Squid: ``1614694504.123``), ISO 8601 with ``Z`` or an offset, and
    zone-less text (Sysmon ``UtcTime``), which the UTC session time zone reads as UTC.
    """
    return (
        f"date_trunc('millisecond', (CASE WHEN regexp_full_match({x}, '[0-9]{{9,11}}(\\.[0-9]*)?') "
        f"THEN try(to_timestamp(try_cast({x} AS DOUBLE))) ELSE try_cast({x} AS TIMESTAMPTZ) END) "
        "AT TIME ZONE 'UTC')"
    )


def sha256_expr(x: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({x}, '[0-9A-Fa-f]{{64}}') THEN lower({x}) "
        f"ELSE nullif(lower(regexp_extract({x}, '(?i)SHA256=([0-9a-f]{{64}})', 1)), '') END"
    )


_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda x: x,
    "str": lambda x: f"nullif({x}, '')",
    "nodash": lambda x: f"nullif(nullif(trim({x}), ''), '-')",
    "int": lambda x: f"try_cast(trim({x}) AS BIGINT)",
    "bool": lambda x: (
        f"CASE lower(trim({x})) WHEN 'true' THEN true WHEN '1' THEN true "
        f"WHEN 'false' THEN false WHEN '0' THEN false END"
    ),
    "direction": lambda x: (
        f"CASE lower({x}) WHEN 'egress' THEN true WHEN 'outbound' THEN true "
        f"WHEN 'ingress' THEN false WHEN 'inbound' THEN false END"
    ),
    "sha256": sha256_expr,
    "squash": lambda x: f"nullif(trim(regexp_replace({x}, '\\s+', ' ', 'g')), '')",
    "list_join": lambda x: (
        f"CASE WHEN left({x}, 1) = '[' THEN try(array_to_string(json_extract_string({x}, '$[*]'), ';')) "
        f"ELSE nullif({x}, '') END"
    ),
    "ecs_dns_answers": lambda x: (
        f"CASE WHEN left({x}, 1) = '[' THEN try(array_to_string(json_extract_string({x}, '$[*].data'), ';')) "
        f"ELSE nullif({x}, '') END"
    ),
    "ts": ts_expr,
    # Security 4688 MandatoryLabel SIDs -> the names Sysmon writes in IntegrityLevel
    "integrity_sid": lambda x: (
        f"CASE upper({x}) WHEN 'S-1-16-0' THEN 'Untrusted' WHEN 'S-1-16-4096' THEN 'Low' "
        f"WHEN 'S-1-16-8192' THEN 'Medium' WHEN 'S-1-16-8448' THEN 'Medium' WHEN 'S-1-16-12288' THEN 'High' "
        f"WHEN 'S-1-16-16384' THEN 'System' WHEN 'S-1-16-20480' THEN 'System' ELSE nullif(nullif({x}, ''), '-') END"
    ),
}


class PathTable:
    """The JSON paths a map reads, parsed once per record into one typed STRUCT column ``_s``.

    ``ref(path)`` hands out a placeholder; :meth:`resolve` replaces it by the struct field
    access once every path is known. A path that is a prefix of another (EVTX ``EventID`` is a
    number, or an object with ``#text`` when it has qualifiers) is kept as JSON text and the
    longer path is read from that small text.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._index: dict[str, int] = {}

    def ref(self, path: str) -> str:
        path = "$" + "".join(f".{quote_key(k)}" for k in path_segments(path))  # one spelling per path
        if path not in self._index:
            self._index[path] = len(self.paths)
            self.paths.append(path)
        return f"__cabhunt_p{self._index[path]}__"

    def structure(self) -> str:
        """The ``json_transform`` structure: every leaf VARCHAR (numbers and objects as text)."""
        tree: dict[str, Any] = {}
        for segs in self._roots().values():
            node = tree
            for key in segs[:-1]:
                node = node.setdefault(key, {})
            node[segs[-1]] = "VARCHAR"
        _check_case(tree)
        return json.dumps(tree, ensure_ascii=False)

    def resolve(self, sql: str) -> str:
        roots = self._roots()
        exprs: dict[str, str] = {}
        for path in self.paths:
            segs = path_segments(path)
            for n in range(1, len(segs) + 1):
                prefix = tuple(segs[:n])
                root = next((p for p, s in roots.items() if tuple(s) == prefix), None)
                if root is not None:
                    break
            assert root is not None
            expr = "_s"
            for key in segs[:n]:
                expr = f"struct_extract({expr}, {sql_literal(key)})"
            rest = segs[n:]
            if rest:
                sub = "$" + "".join(f".{quote_key(k)}" for k in rest)
                expr = f"CASE WHEN left({expr}, 1) = '{{' THEN json_extract_string({expr}, {sql_literal(sub)}) END"
            exprs[f"__cabhunt_p{self._index[path]}__"] = f"({expr})"
        return re.sub(r"__cabhunt_p\d+__", lambda m: exprs[m.group(0)], sql)

    def subset(self, sql: str) -> tuple[str, str]:
        """``(structure, resolved sql)`` for a query reading only the paths ``sql`` refers to.

        Each path keeps the root it has in the full table (a prefix kept as JSON text stays
        one), so every path reads exactly the value it reads in the full structure.
        """
        used = sorted({int(m) for m in re.findall(r"__cabhunt_p(\d+)__", sql)})
        if not used:  # the decision reads no field: parse as the full map does (same NULLs)
            return self.structure(), self.resolve(sql)
        roots = self._roots()
        sub = PathTable()
        for i in used:
            segs = path_segments(self.paths[i])
            root = next(p for p, r in roots.items() if segs[: len(r)] == r)
            sub.ref(root)
        renamed = {f"__cabhunt_p{i}__": sub.ref(self.paths[i]) for i in used}
        sql = re.sub(r"__cabhunt_p\d+__", lambda m: renamed[m.group(0)], sql)
        return sub.structure(), sub.resolve(sql)

    def _roots(self) -> dict[str, list[str]]:
        parsed = {p: path_segments(p) for p in self.paths}
        roots = {}
        for p, segs in parsed.items():
            if not any(len(o) < len(segs) and segs[: len(o)] == o for o in parsed.values()):
                roots[p] = segs
        return roots


def _check_case(node: dict[str, Any], where: str = "$") -> None:
    """DuckDB matches struct keys case-insensitively: two keys differing only by case collide."""
    seen: dict[str, str] = {}
    for key, child in node.items():
        if key.lower() in seen:
            raise FieldMapError(f"keys {seen[key.lower()]!r} and {key!r} under {where} differ only by case")
        seen[key.lower()] = key
        if isinstance(child, dict):
            _check_case(child, f"{where}.{key}")


_SEGMENT = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^."]+))')


def path_segments(path: str) -> list[str]:
    """``$.a."b.c".d`` -> ``["a", "b.c", "d"]``."""
    if not path.startswith("$"):
        raise FieldMapError(f"JSON path must start with $: {path!r}")
    segs = []
    pos = 1
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            raise FieldMapError(f"bad JSON path {path!r}")
        segs.append(m.group(1).replace('\\"', '"') if m.group(1) is not None else m.group(2))
        pos = m.end()
    if not segs:
        raise FieldMapError(f"JSON path selects the whole record: {path!r}")
    return segs


def transform(name: str, x: str) -> str:
    try:
        return _TRANSFORMS[name](x)
    except KeyError:
        raise FieldMapError(f"unknown transform {name!r}") from None


def candidate_expr(cand: Candidate, paths: PathTable, field_path: Callable[[str], str]) -> str:
    if cand.sql is not None:

        def sub(m: re.Match[str]) -> str:
            return f"nullif({paths.ref(field_path(m.group(1)))}, '')"

        return transform(cand.transform, re.sub(r"\{([^{}]+)\}", sub, cand.sql))
    parts = [transform(cand.transform, paths.ref(p)) for p in cand.paths]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def coalesce(exprs: list[str]) -> str:
    exprs = [e for e in exprs if e and e != "NULL"]
    if not exprs:
        return "NULL"
    return exprs[0] if len(exprs) == 1 else f"coalesce({', '.join(exprs)})"


@dataclass
class CompiledMap:
    """A field map ready to run: the paths to extract and the SQL over the staging table."""

    shape: str
    paths: list[str]
    structure: str  # json_transform structure producing the staging column ``_s``
    # staging table -> one row per JSON record: id, line, _keep, _reason, columns. ``{stage}`` is
    # the staging relation; ``{keep}`` the place of the row filter, before the column projection,
    # so the columns of a skipped record are never computed.
    prepared_sql: str
    # The same ``_keep``/``_reason`` decision from only the paths it needs (a much smaller
    # structure): one row ``_row, _keep, _reason`` per parsed record of ``{stage}``, whose
    # ``_s`` is parsed with ``keep_structure``.
    keep_structure: str = "{}"
    keep_sql: str = ""

    def events_sql(self, stage: str) -> str:
        """SELECT of the event columns (schema order) for the kept records of ``stage``.

        ``stage`` carries, besides ``id``/``line``/``_s``, the per-file columns ``_fk``,
        ``_uid_prefix`` (``<digest16>:``), ``_src_file``, ``_src_format`` and ``_default_key``.
        """
        cols = []
        for name, typ in EVENT_COLUMNS.items():
            cols.append(f'try_cast({self._final(name)} AS {typ}) AS "{name}"')
        return f"SELECT {', '.join(cols)} FROM ({self._inner(stage, keep=True)})"

    @staticmethod
    def event_columns() -> str:
        """The event column list, quoted, in schema order."""
        return ", ".join(f'"{name}"' for name in EVENT_COLUMNS)

    def counts_sql(self, stage: str) -> str:
        """Per file: how many records are kept, and how many are skipped for which reason."""
        return (
            f"SELECT _fk, _keep, CASE WHEN _keep THEN NULL ELSE _reason END AS reason, count(*) "
            f"FROM ({self._inner(stage)}) GROUP BY ALL"
        )

    def decisions_sql(self, stage: str) -> str:
        """Per parsed record of ``stage`` (parsed with :attr:`keep_structure`): ``_row``, ``_keep``,
        and the skip ``_reason`` (NULL when kept); records that are not JSON give no row."""
        return self.keep_sql.replace("{stage}", stage)

    def _inner(self, stage: str, *, keep: bool = False) -> str:
        # ``{keep}`` first: ``stage`` may be SQL text holding any characters.
        return self.prepared_sql.replace("{keep}", " WHERE _keep" if keep else "").replace("{stage}", stage)

    @staticmethod
    def _final(name: str) -> str:
        if name == "event_uid":
            return "_uid_prefix || CAST(id AS VARCHAR)"
        if name in ("process_name", "process_parent_name"):
            src = "process_executable" if name == "process_name" else "process_parent_executable"
            return f"nullif(lower(regexp_extract({src}, '[^\\\\/]+$')), '')"
        if name == "process_hash_sha256":
            return f"coalesce(process_hash_sha256, {sha256_expr('process_hashes')})"
        if name == "user_name":
            return "coalesce(user_name, CASE WHEN contains(_user, '\\') THEN nullif(substr(_user, strpos(_user, '\\') + 1), '') ELSE nullif(nullif(_user, ''), '-') END)"
        if name == "user_domain":
            return "coalesce(user_domain, CASE WHEN contains(_user, '\\') THEN nullif(substr(_user, 1, strpos(_user, '\\') - 1), '') END)"
        if name in ("src_file", "src_format"):
            return f"_{name}"
        if name == "src_record_id":
            return "coalesce(_record_id, id)"
        if name == "raw":
            return "line"
        return f'"{name}"'


# ---------------------------------------------------------------------------------------------
# Windows family: a shape file (where things are) + windows.yml (what the event data means).


def _windows(shape: str) -> CompiledMap:
    spec = load_map(shape)
    win = load_map("windows")
    paths = PathTable()
    prefix = str(spec["event_data"])

    def field_path(name: str) -> str:
        return f"{prefix}.{quote_key(name)}"

    def system(key: str) -> str:
        return coalesce(
            [candidate_expr(c, paths, field_path) for c in path_candidates(spec["system"].get(key))]
        )

    code, channel, provider = system("event_code"), system("channel"), system("provider_name")
    host, systime, record_id = system("host_name"), system("time"), system("record_id")

    providers: dict[str, dict[str, Any]] = win["providers"]
    kind_whens: list[str] = []
    fallback_whens: list[str] = []
    keep_terms: list[str] = []
    # column -> expression -> list of (provider, code)
    branches: dict[str, dict[str, list[tuple[str, int]]]] = {}
    time_whens: list[str] = []
    for pname, pdef in providers.items():
        channels = ", ".join(sql_literal(c.lower()) for c in pdef.get("channels", []))
        pnames = ", ".join(sql_literal(c.lower()) for c in pdef.get("provider_names", []))
        kind_whens.append(f"WHEN lower(_channel) IN ({channels}) OR lower(_provider) IN ({pnames}) THEN '{pname}'")
        codes = sorted(int(c) for c in pdef["events"])
        code_list = ", ".join(str(c) for c in codes)
        keep_terms.append(f"(_kind = '{pname}' AND _code IN ({code_list}))")
        # Records that name neither channel nor provider (some flat exports): Sysmon needs UtcTime.
        if pdef.get("time_fields"):
            probe = coalesce([f"nullif({paths.ref(field_path(f))}, '')" for f in pdef["time_fields"]])
            fallback_whens.append(f"WHEN _code IN ({code_list}) AND {probe} IS NOT NULL THEN '{pname}'")
            tcands = [ts_expr(f"nullif({paths.ref(field_path(f))}, '')") for f in pdef["time_fields"]]
            time_whens.append(f"WHEN _kind = '{pname}' THEN {coalesce(tcands)}")
        else:
            fallback_whens.append(f"WHEN _code IN ({code_list}) THEN '{pname}'")
        common = pdef.get("common") or {}
        for c, edef in pdef["events"].items():
            fields = {**common, **(edef.get("fields") or {})}
            fields["event_category"] = {"sql": sql_literal(edef["category"])}
            for col, fspec in fields.items():
                expr = candidate_expr(field_candidate(fspec, field_path), paths, field_path)
                branches.setdefault(col, {}).setdefault(expr, []).append((pname, int(c)))

    overrides = {col: path_candidates(v) for col, v in (spec.get("overrides") or {}).items()}

    def column(col: str) -> str:
        whens = []
        for expr, where in branches.get(col, {}).items():
            by_provider: dict[str, list[int]] = {}
            for p, c in where:
                by_provider.setdefault(p, []).append(c)
            cond = " OR ".join(
                f"(_kind = '{p}' AND _code IN ({', '.join(str(c) for c in sorted(cs))}))"
                for p, cs in by_provider.items()
            )
            whens.append(f"WHEN {cond} THEN {expr}")
        mapped = f"CASE {' '.join(whens)} END" if whens else "NULL"
        over = [candidate_expr(c, paths, field_path) for c in overrides.get(col, [])]
        return coalesce([*over, mapped])

    cols = []
    for col in EVENT_COLUMNS:
        if col in _DERIVED:
            continue
        if col == "ts":
            sys_ts = ts_expr(f"nullif({systime}, '')") if systime != "NULL" else "NULL"
            own = f"CASE {' '.join(time_whens)} END" if time_whens else "NULL"
            over = [ts_expr(candidate_expr(c, paths, field_path)) for c in overrides.get("ts", [])]
            expr = coalesce([*over, own, sys_ts])
        elif col == "host_name":
            expr = coalesce([*[candidate_expr(c, paths, field_path) for c in overrides.get(col, [])], "nullif(_host, '')"])
        elif col in ("event_provider", "event_dataset"):
            expr = "_kind"
        elif col == "event_code":
            expr = "_code"
        else:
            expr = column(col)
        cols.append(f'{expr} AS "{col}"')
    cols.append(f"{column('user')} AS _user")

    def level1(columns: str, more: str = "") -> str:
        return (
            f"SELECT {columns}, {code} AS _code, {channel} AS _channel, {provider} AS _provider{more} "
            f"FROM {{stage}} WHERE _s IS NOT NULL"
        )

    def level3(inner: str) -> str:
        level2 = (
            f"SELECT *, CASE {' '.join(kind_whens)} "
            f"WHEN _channel IS NULL AND _provider IS NULL THEN CASE {' '.join(fallback_whens)} END END AS _kind "
            f"FROM ({inner})"
        )
        return (
            f"SELECT *, coalesce({' OR '.join(keep_terms)}, false) AS _keep, "
            f"CASE WHEN _code IS NULL THEN 'no event id' ELSE 'event id not used' END AS _reason FROM ({level2})"
        )

    full = level1(_PASS, f", {host} AS _host, {record_id} AS _record_id")
    prepared = f"SELECT {_PASS_OUT}, _keep, _reason, _record_id, {', '.join(cols)} FROM ({level3(full)}){{keep}}"
    keep_structure, keep_sql = paths.subset(_decisions(level3(level1("_row, _s"))))
    return CompiledMap(
        shape=shape, paths=paths.paths, structure=paths.structure(), prepared_sql=paths.resolve(prepared),
        keep_structure=keep_structure, keep_sql=keep_sql,
    )


def _decisions(inner: str) -> str:
    return f"SELECT _row, _keep, CASE WHEN _keep THEN NULL ELSE _reason END AS _reason FROM ({inner})"


# ---------------------------------------------------------------------------------------------
# Keyed family (Zeek, Squid): one flat record per line, a log type picks the column set.


def _keyed(shape: str) -> CompiledMap:
    spec = load_map(shape)
    paths = PathTable()

    def field_path(name: str) -> str:
        return f"$.{quote_key(name)}"

    key_field = spec.get("key_field")
    default = f"coalesce(_default_key, {sql_literal(spec.get('default_key'))})"
    key_expr = f"coalesce(nullif({paths.ref(field_path(key_field))}, ''), {default})" if key_field else default
    types: dict[str, dict[str, Any]] = spec["types"]
    common = spec.get("common") or {}
    branches: dict[str, dict[str, list[str]]] = {}
    for tname, tdef in types.items():
        fields = {**common, **(tdef.get("fields") or {})}
        fields["event_category"] = {"sql": sql_literal(tdef["category"])}
        for col, fspec in fields.items():
            expr = candidate_expr(field_candidate(fspec, field_path), paths, field_path)
            branches.setdefault(col, {}).setdefault(expr, []).append(tname)
    tcands = [ts_expr(f"nullif({paths.ref(field_path(f))}, '')") for f in as_list(spec.get("time_fields"))]
    prefix = str(spec.get("dataset_prefix") or "")

    cols = []
    for col in EVENT_COLUMNS:
        if col in _DERIVED:
            continue
        if col == "ts":
            expr = coalesce(tcands)
        elif col == "event_provider":
            expr = sql_literal(str(spec["provider"]))
        elif col == "event_dataset":
            expr = f"{sql_literal(prefix)} || _key" if prefix else "_key"
        elif col == "event_code":
            expr = "0"
        else:
            whens = [
                f"WHEN _key IN ({', '.join(sql_literal(t) for t in ts)}) THEN {expr}"
                for expr, ts in branches.get(col, {}).items()
            ]
            expr = f"CASE {' '.join(whens)} END" if whens else "NULL"
        cols.append(f'{expr} AS "{col}"')
    cols.append("NULL::VARCHAR AS _user")
    type_list = ", ".join(sql_literal(t) for t in types)

    def level2(columns: str, more: str = "") -> str:
        level1 = f"SELECT {columns}, {key_expr} AS _key{more} FROM {{stage}} WHERE _s IS NOT NULL"
        return (
            f"SELECT *, coalesce(_key IN ({type_list}), false) AS _keep, "
            f"CASE WHEN _key IS NULL THEN 'unknown log type' ELSE 'log type not used' END AS _reason FROM ({level1})"
        )

    full = level2(_PASS, ", NULL::BIGINT AS _record_id")
    prepared = f"SELECT {_PASS_OUT}, _keep, _reason, _record_id, {', '.join(cols)} FROM ({full}){{keep}}"
    keep_structure, keep_sql = paths.subset(_decisions(level2("_row")))
    return CompiledMap(
        shape=shape,
        paths=paths.paths,
        structure=paths.structure(),
        prepared_sql=paths.resolve(prepared),
        keep_structure=keep_structure,
        keep_sql=keep_sql,
    )


@cache
def compile_map(shape: str) -> CompiledMap:
    """The compiled map for an input shape (``evtx_json``, ``winlogbeat_raw``, ``zeek``, ...)."""
    if shape in WINDOWS_SHAPES:
        return _windows(shape)
    if shape in KEYED_SHAPES:
        return _keyed(shape)
    raise FieldMapError(f"no field map for shape {shape!r}")

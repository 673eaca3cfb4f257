"""Zeek logs: ASCII TSV with the real ``#separator``/``#fields``/``#types`` header, or JSON lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from cabhunt.simulate.entities import Net
from cabhunt.simulate.netrec import ZEEK_SCHEMAS

_TIME_FIELDS = {"ts", "times.modified", "times.accessed", "times.created", "times.changed"}


def _tsv_value(name: str, v: Any) -> str:
    if v is None:
        return "-"
    if v is True:
        return "T"
    if v is False:
        return "F"
    if name in _TIME_FIELDS:
        return f"{v / 1000:.6f}"
    if isinstance(v, float):
        return f"{v:.6f}"
    if isinstance(v, list):
        if not v:
            return "(empty)"
        return ",".join(f"{x:.6f}" if isinstance(x, float) else str(x) for x in v)
    s = str(v)
    return s if s else "(empty)"


def tsv_header(path: str, opened_ms: int) -> bytes:
    fields, types = ZEEK_SCHEMAS[path]
    stamp = datetime.fromtimestamp(opened_ms / 1000, UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
            f"#path\t{path}\n#open\t{stamp}\n#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types)
            + "\n").encode()


def tsv_footer(closed_ms: int) -> bytes:
    stamp = datetime.fromtimestamp(closed_ms / 1000, UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return f"#close\t{stamp}\n".encode()


def _fmt_time(v: Any) -> str:
    return "-" if v is None else f"{v // 1000}.{v % 1000:03d}000"


def _fmt_plain(v: Any) -> str:
    if v.__class__ is str:
        return v or "(empty)"
    if v.__class__ is int:
        return str(v)
    return _tsv_value("", v)


_FORMATTERS = {kind: tuple(_fmt_time if n in _TIME_FIELDS else _fmt_plain for n in fields)
               for kind, (fields, _) in ZEEK_SCHEMAS.items()}


def render_tsv(rec: Net) -> bytes:
    fmts = _FORMATTERS[rec.kind]
    return "\t".join([f(v) for f, v in zip(fmts, rec.fields, strict=True)]).encode()


def render_json(rec: Net) -> bytes:
    fields, _ = ZEEK_SCHEMAS[rec.kind]
    doc: dict[str, Any] = {}
    for n, v in zip(fields, rec.fields, strict=True):
        if v is None:
            continue
        if n in _TIME_FIELDS:
            v = round(v / 1000, 6)
        doc[n] = v
    return orjson.dumps(doc)

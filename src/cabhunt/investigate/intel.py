"""Local threat intelligence: indicator files read from disk, never a network lookup.

Accepted inputs (format detected from content): CSV with a header (``indicator``/``value``,
optional ``type``, ``reputation``, ``first_seen``, ``description``, ``source``; a two-column
``domain,first_seen`` list of domain ages also works), a STIX 2.1 bundle (``indicator`` objects
with equality patterns on domain-name / ipv4-addr / ipv6-addr / url / file SHA-256), and MISP
event JSON (``Event``/``Attribute``/``Object``, or a ``response`` list of events).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cabhunt.errors import Problems

STIX_EQ = re.compile(
    r"\[\s*(domain-name|ipv4-addr|ipv6-addr|url|file)\s*:\s*(value|hashes\s*\.\s*'?SHA-?256'?|name)\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]",
    re.I,
)
MISP_TYPES = {
    "domain": "domain", "hostname": "domain", "ip-dst": "ip", "ip-src": "ip", "url": "url", "uri": "url",
    "sha256": "sha256", "domain|ip": "domain", "ip-dst|port": "ip", "filename|sha256": "sha256",
}


@dataclass(frozen=True)
class IntelHit:
    value: str
    type: str  # domain | ip | url | sha256
    reputation: str  # malicious | suspicious | benign | unknown
    first_seen: datetime | None
    source: str
    description: str = ""

    def summary(self) -> str:
        age = f", first seen {self.first_seen.date().isoformat()}" if self.first_seen else ""
        desc = f" - {self.description}" if self.description else ""
        return f"intel {self.source}: {self.type} {self.value} is {self.reputation}{age}{desc}"


def infer_type(value: str) -> str:
    v = value.strip()
    try:
        ipaddress.ip_address(v.strip("[]"))
        return "ip"
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-F]{64}", v):
        return "sha256"
    if re.match(r"^[a-z][a-z0-9+.-]*://", v, re.I):
        return "url"
    return "domain"


def _date(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    s = str(value).strip()
    if re.fullmatch(r"\d{9,11}", s):
        return datetime.fromtimestamp(int(s), UTC).replace(tzinfo=None)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is None else dt.astimezone(UTC).replace(tzinfo=None)


def _rep(value: Any, default: str = "unknown") -> str:
    s = str(value or "").lower()
    if any(w in s for w in ("malicious", "malware", "bad", "c2", "compromised", "attribution")):
        return "malicious"
    if any(w in s for w in ("suspicious", "anomalous", "unknown-bad")):
        return "suspicious"
    if any(w in s for w in ("benign", "good", "clean", "allow")):
        return "benign"
    return default


@dataclass
class IntelDB:
    hits: dict[str, list[IntelHit]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def add(self, hit: IntelHit) -> None:
        key = norm_key(hit.value, hit.type)
        if key:
            self.hits.setdefault(key, []).append(hit)

    def lookup(self, value: str | None) -> list[IntelHit]:
        """Hits for a domain (also its parent domains), IP, URL (also its host) or hash."""
        if not value:
            return []
        t = infer_type(value)
        out = list(self.hits.get(norm_key(value, t), []))
        host = urlsplit(value).hostname if t == "url" else (value if t == "domain" else None)
        if host:
            labels = host.lower().rstrip(".").split(".")
            for i in range(len(labels) - 1):
                parent = ".".join(labels[i:])
                if parent != value.lower():
                    out += self.hits.get(norm_key(parent, "domain"), [])
        return out

    @classmethod
    def load(cls, path: Path | None, problems: Problems) -> IntelDB:
        db = cls()
        if path is None:
            return db
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for p in paths:
            try:
                text = p.read_bytes().decode("utf-8-sig", errors="replace")
            except OSError as exc:
                problems.add(p, f"cannot read intel file: {exc.strerror or exc}")
                continue
            before = sum(len(v) for v in db.hits.values())
            try:
                _parse_into(db, text, p.name, problems, p)
            except (ValueError, TypeError, KeyError, AttributeError, csv.Error, RecursionError) as exc:
                problems.add(p, f"not a usable intel file: {exc}")
                continue
            if sum(len(v) for v in db.hits.values()) == before:
                problems.add(p, "no indicators found (expected CSV, STIX 2.1 bundle or MISP JSON)")
            db.files.append(str(p))
        return db


def norm_key(value: str, typ: str) -> str:
    v = value.strip().lower()
    if typ == "domain":
        v = v.rstrip(".")
    if typ == "ip":
        v = v.strip("[]")
    return f"{typ}:{v}" if v else ""


def _parse_into(db: IntelDB, text: str, name: str, problems: Problems, path: Path) -> None:
    s = text.lstrip()
    if s.startswith(("{", "[")):
        doc = json.loads(s)
        if isinstance(doc, dict) and doc.get("type") == "bundle":
            _stix(db, doc, name)
        else:
            _misp(db, doc, name)
        return
    _csv(db, text, name, problems, path)


def _stix(db: IntelDB, doc: dict[str, Any], name: str) -> None:
    for obj in doc.get("objects") or []:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        labels = " ".join([*(obj.get("indicator_types") or []), *(obj.get("labels") or [])])
        rep = _rep(labels, "malicious")
        for m in STIX_EQ.finditer(str(obj.get("pattern") or "")):
            obj_type, prop, value = m.group(1).lower(), m.group(2).lower(), m.group(3).replace("\\'", "'")
            typ = {"domain-name": "domain", "ipv4-addr": "ip", "ipv6-addr": "ip", "url": "url"}.get(obj_type)
            if obj_type == "file":
                if "sha" not in prop:
                    continue
                typ = "sha256"
            db.add(IntelHit(value, typ or "domain", rep, _date(obj.get("x_first_seen") or obj.get("first_seen")),
                            f"{name} (STIX {obj.get('id', '')})", str(obj.get("name") or obj.get("description") or "")))


def _misp_events(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [e for d in doc for e in _misp_events(d)]
    if not isinstance(doc, dict):
        return []
    if "response" in doc:
        return _misp_events(doc["response"])
    if "Event" in doc and isinstance(doc["Event"], dict):
        return [doc["Event"]]
    if "Attribute" in doc:
        return [doc]
    return []


def _misp(db: IntelDB, doc: Any, name: str) -> None:
    for ev in _misp_events(doc):
        attrs = list(ev.get("Attribute") or [])
        for obj in ev.get("Object") or []:
            attrs += list((obj or {}).get("Attribute") or [])
        for a in attrs:
            typ = MISP_TYPES.get(str(a.get("type") or "").lower())
            value = str(a.get("value") or "")
            if not typ or not value:
                continue
            if "|" in value:
                left, right = value.split("|", 1)
                value = right if typ == "sha256" else left
            rep = "malicious" if a.get("to_ids") in (True, "1", 1, "true") else "suspicious"
            seen = _date(a.get("first_seen")) or _date(ev.get("date"))
            db.add(IntelHit(value, typ, rep, seen, f"{name} (MISP event {ev.get('id') or ev.get('uuid') or '?'})",
                            str(a.get("comment") or ev.get("info") or "")))


def _csv(db: IntelDB, text: str, name: str, problems: Problems, path: Path) -> None:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [r for r in rows if r and not r[0].lstrip().startswith("#")]
    if not rows:
        return
    header = [h.strip().lower().replace("-", "_").replace(" ", "_") for h in rows[0]]
    keys = {"indicator", "value", "ioc", "domain", "ip", "sha256", "url", "host"}
    vcol = next((i for i, h in enumerate(header) if h in keys), None)
    if vcol is None:
        raise ValueError("CSV header has no indicator/value/domain column")

    def col(*names: str) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    tcol, rcol = col("type", "indicator_type"), col("reputation", "verdict", "label", "labels", "category")
    fcol, dcol = col("first_seen", "firstseen", "created", "registered"), col("description", "comment", "note")
    scol = col("source", "feed")
    for n, r in enumerate(rows[1:], start=2):
        if vcol >= len(r) or not r[vcol].strip():
            problems.add(path, "row has no indicator value", n)
            continue
        value = r[vcol].strip()

        def get(i: int | None, row: list[str] = r) -> str:
            return row[i].strip() if i is not None and i < len(row) else ""

        typ = get(tcol).lower() or infer_type(value)
        typ = {"hostname": "domain", "domain-name": "domain", "ipv4": "ip", "ipv6": "ip", "ip-dst": "ip",
               "ipv4-addr": "ip", "hash": "sha256", "sha-256": "sha256"}.get(typ, typ)
        if typ not in ("domain", "ip", "url", "sha256"):
            typ = infer_type(value)
        rep = _rep(get(rcol)) if rcol is not None else ("unknown" if fcol is not None else "malicious")
        db.add(IntelHit(value, typ, rep, _date(get(fcol)), get(scol) or name, get(dcol)))

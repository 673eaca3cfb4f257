"""Step 10 - false positives: allowlist entries turn a match into ``suppressed``, never silence.

YAML: ``entries: [{id, reason, owner, valid_from?, valid_until?, match: {host?, user?, parent?,
path_prefix?, share_prefix?, destination?, cidr?, sha256?, rule?}}]``. Every given match key must
match; a key with several values (a list) matches when any value does. Keys over the job's paths
require *all* of them to be covered (one approved share does not vouch for a second, unknown
one). Validity (a change window) is checked against the alert's time; an entry that matches but
is expired or not yet valid does not suppress and is reported. A malformed entry is reported
and ignored.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cabhunt.errors import Problems, report
from cabhunt.investigate.context import alert_time, basename, iso, lower, same_host
from cabhunt.investigate.scoring import finding

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "allowlist"
MATCH_KEYS = ("host", "user", "parent", "path_prefix", "share_prefix", "destination", "cidr", "sha256", "rule")


@dataclass
class Entry:
    id: str
    reason: str
    owner: str
    match: dict[str, list[str]]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = ""

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "owner": self.owner,
                "valid_from": iso(self.valid_from) if self.valid_from else None,
                "valid_until": iso(self.valid_until) if self.valid_until else None, "file": self.source}


def _when(value: Any, end: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time.max if end else time.min)
    else:
        s = str(value).strip()
        try:
            if len(s) == 10:
                dt = datetime.combine(date.fromisoformat(s), time.max if end else time.min)
            else:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"bad date {s!r}") from exc
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def parse_entry(raw: Any, source: str) -> Entry:
    """One entry, or ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("entry is not a mapping")
    eid = raw.get("id")
    if not eid:
        raise ValueError("entry has no id")
    for key in ("reason", "owner"):
        if not str(raw.get(key) or "").strip():
            raise ValueError(f"entry {eid}: '{key}' is required")
    m = raw.get("match")
    if not isinstance(m, dict) or not m:
        raise ValueError(f"entry {eid}: 'match' must be a non-empty mapping")
    unknown = sorted(set(m) - set(MATCH_KEYS))
    if unknown:
        raise ValueError(f"entry {eid}: unknown match key(s) {', '.join(map(str, unknown))}")
    match: dict[str, list[str]] = {}
    for k, v in m.items():
        vals = [str(x) for x in (v if isinstance(v, list) else [v]) if x is not None and str(x) != ""]
        if not vals:
            raise ValueError(f"entry {eid}: match key '{k}' is empty")
        if k == "cidr":
            for c in vals:
                try:
                    ipaddress.ip_network(c, strict=False)
                except ValueError as exc:
                    raise ValueError(f"entry {eid}: bad cidr {c!r}") from exc
        match[k] = vals
    entry = Entry(str(eid), str(raw["reason"]).strip(), str(raw["owner"]).strip(), match,
                  _when(raw.get("valid_from"), end=False), _when(raw.get("valid_until"), end=True), source)
    if entry.valid_from and entry.valid_until and entry.valid_from > entry.valid_until:
        raise ValueError(f"entry {eid}: valid_from is after valid_until")
    return entry


@dataclass
class Allowlist:
    entries: list[Entry]
    rejected: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, problems: Problems) -> Allowlist:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            problems.add(path, f"cannot read allowlist: {exc.strerror or exc}")
            return cls([])
        except yaml.YAMLError as exc:
            problems.add(path, f"allowlist is not valid YAML: {str(exc).splitlines()[0]}")
            return cls([])
        raw_entries = doc.get("entries") if isinstance(doc, dict) else doc if isinstance(doc, list) else None
        if not isinstance(raw_entries, list):
            problems.add(path, "allowlist has no 'entries' list")
            return cls([])
        out, rejected = [], []
        for n, raw in enumerate(raw_entries, start=1):
            try:
                out.append(parse_entry(raw, str(path)))
            except ValueError as exc:
                problems.add(path, f"allowlist entry ignored: {exc}", n)
                rejected.append(f"entry {n}: {exc}")
        return cls(out, rejected)


def _facts(alert: Alert) -> dict[str, Any]:
    lineage = alert.extra.get("lineage") or {}
    chain = lineage.get("chain") or []
    parents = [c.get("executable") for c in chain if c.get("executable")]
    parent = (alert.process.get("parent") or {}).get("executable")
    if parent and parent not in parents:
        parents.insert(0, parent)
    local = [s.resolved or s.path for s in alert.sources if s.kind == "local"] + [c.path for c in alert.cabinets]
    remote = [s.resolved or s.path for s in alert.sources if s.kind != "local"]
    dests = [s.host for s in alert.sources if s.kind != "local" and s.host]
    d = alert.destination or {}
    dests += [x for x in (d.get("domain"), d.get("ip")) if x]
    ips = [x for x in dests if _ip(x)]
    ips += list((alert.extra.get("corroboration") or {}).get("target_ips") or [])
    hashes = [c.get("sha256") for c in alert.extra.get("cabinet_files") or [] if c.get("sha256")]
    img = (alert.process.get("hash") or {}).get("sha256")
    return {"host": alert.host, "user": alert.user, "parents": parents, "local": local, "remote": remote,
            "dests": dests, "ips": ips, "hashes": [lower(h) for h in [*hashes, img] if h],
            "rule": [alert.rule.id, alert.rule.slug, alert.rule.name]}


def _ip(x: str) -> bool:
    try:
        ipaddress.ip_address(x.strip("[]"))
        return True
    except ValueError:
        return False


def _glob(value: object, pattern: str) -> bool:
    v, p = lower(value), pattern.lower()
    return fnmatch.fnmatchcase(v, p) if any(ch in p for ch in "*?[") else v == p


def _prefix_all(paths: list[str], prefixes: list[str]) -> bool:
    norm = [lower(p).replace("/", "\\") for p in prefixes]
    return bool(paths) and all(any(lower(x).replace("/", "\\").startswith(n) for n in norm) for x in paths)


def key_matches(key: str, vals: list[str], f: dict[str, Any]) -> bool:
    if key == "host":
        return any(_glob(f["host"], v) or same_host(f["host"], v) for v in vals)
    if key == "user":
        return any(_glob(f["user"], v) or _glob(f["user"], v.split("\\")[-1]) for v in vals)
    if key == "parent":
        return any(_glob(p, v) or _glob(basename(p), v) for p in f["parents"] for v in vals)
    if key == "path_prefix":
        return _prefix_all(f["local"], vals)
    if key == "share_prefix":
        return _prefix_all(f["remote"], vals)
    if key == "destination":
        return bool(f["dests"]) and all(any(_glob(d, v) or same_host(d, v) for v in vals) for d in f["dests"])
    if key == "cidr":
        nets = [ipaddress.ip_network(v, strict=False) for v in vals]
        ips = [ipaddress.ip_address(i.strip("[]")) for i in f["ips"] if _ip(i)]
        return bool(ips) and all(any(ip in n for n in nets) for ip in ips)
    if key == "sha256":
        return any(lower(v) in f["hashes"] for v in vals)
    if key == "rule":
        return any(_glob(r, v) for r in f["rule"] for v in vals)
    return False


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    allow = ctx.allowlist_entries()
    if not allow.entries:
        return []
    facts = _facts(alert)
    at = alert_time(alert)
    findings: list[Finding] = []
    for e in allow.entries:
        if not all(key_matches(k, v, facts) for k, v in e.match.items()):
            continue
        if (e.valid_until and at > e.valid_until) or (e.valid_from and at < e.valid_from):
            state = "expired" if e.valid_until and at > e.valid_until else "not yet valid"
            note = {**e.ref(), "state": state, "note": f"matched but {state} at {alert.timestamp}; not applied"}
            alert.extra.setdefault("allowlist_not_applied", []).append(note)
            report(e.source or "allowlist", f"entry {e.id} matches alert {alert.id} but is {state}"
                   f" (valid {note['valid_from'] or '-'} .. {note['valid_until'] or '-'}); not applied")
            continue
        if alert.suppressed_by is None:
            alert.suppressed_by = {k: v for k, v in e.ref().items() if k in ("id", "reason", "owner", "valid_until")}
        findings.append(finding("allowlist.match", STEP, f"allowlisted by {e.id}: {e.reason} (owner {e.owner})",
                                [f"{k}={', '.join(v)}" for k, v in e.match.items()]))
    return findings

"""Step 6 - artifacts: the cabinet's creation and hash, Internet-zone marks on staged files,
staging behaviour (bursts, disguised or random names), and the cabinet's members when it was
collected (by path or by the SHA-256 Sysmon logged for it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cabhunt.investigate.context import (
    MAKERS,
    PROCESS_CODES,
    Event,
    alert_time,
    basename,
    host_matches,
    in_window,
    iso,
    lower,
)
from cabhunt.investigate.scoring import finding, known
from cabhunt.model import Related

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, CabinetRef, Finding

STEP = "artifacts"
DISGUISE_EXTS = {".txt", ".log", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".pdf", ".doc", ".docx", ".xls",
                 ".dat", ".tmp", ".ini", ".xml", ".json", ".csv", ".ico", ".mp3", ".mp4", ".zip", ".db"}
BURST_MIN = 3


def _ext(name: str) -> str:
    m = re.search(r"(\.[^.\\/:]+)$", name)
    return m.group(1).lower() if m else ""


def randomish(stem: str) -> bool:
    """A machine-made looking name: long hex, or letters with almost no vowels mixed with digits."""
    s = stem.lower()
    if len(s) < 6 or re.search(r"[\s_-]", s) or re.search(r"(19|20)\d{6}", s):
        return False
    if re.fullmatch(r"[0-9a-f]{8,}", s) and re.search(r"\d", s) and re.search(r"[a-f]", s):
        return True
    if re.fullmatch(r"\{?[0-9a-f]{8}-[0-9a-f-]{27,}\}?", s):
        return True
    letters = re.sub(r"[^a-z]", "", s)
    digits = len(re.sub(r"[^0-9]", "", s))
    if len(letters) >= 4 and digits >= 2:
        vowels = sum(ch in "aeiouy" for ch in letters)
        return vowels / len(letters) < 0.2
    return False


def odd_name(path: str) -> str | None:
    """Why a cabinet's name is odd (disguised extension, random name), or None."""
    name = basename(path)
    stream = None
    if ":" in name:
        name, stream = name.split(":", 1)
    ext = _ext(name)
    if stream is not None:
        return f"stored in stream '{stream}' of {name}"
    if ext in DISGUISE_EXTS:
        return f"cabinet disguised with extension {ext}"
    stem = name[: -len(ext)] if ext else name
    if randomish(stem):
        return f"random-looking name '{name}'"
    return None


def _matches(ev_path: object, cab: CabinetRef) -> bool:
    a, b = lower(ev_path), lower(cab.path)
    if not a or not b:
        return False
    if a == b:
        return True
    host_file = b.split(":", 2)
    if cab.ads and len(host_file) == 3:  # C:\x\file.txt:payload.cab -> EID 11 of C:\x\file.txt
        return a == ":".join(host_file[:2])
    return "\\" not in b and basename(a) == b


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    findings: list[Finding] = []
    at = alert_time(alert)
    events = ctx.host_events(alert.host, at)
    me = alert.process.get("entity_id") or alert.extra.get("linked_entity_id")
    lo, hi = at - ctx.window_before, at + ctx.followon_window
    created: dict[str, dict[str, Any]] = {}
    outputs: list[dict[str, Any]] = []
    for ev in events:
        if ev.get("event_code") not in (11, 15) or not in_window(ev, lo, hi):
            continue
        fp = ev.get("file_path") or ""
        by_me = bool(me) and ev.get("process_entity_id") == me
        for cab in alert.cabinets:
            if _matches(fp, cab):
                rec = created.setdefault(cab.path, {"path": cab.path, "events": [], "sha256": None})
                rec["events"].append(ev.get("event_uid"))
                rec["sha256"] = rec["sha256"] or lower(ev.get("file_hash_sha256")) or None
                alert.related.append(Related("file", iso(ev.get("ts")), f"EID {ev.get('event_code')} created {fp}"
                                             + (f" sha256={ev.get('file_hash_sha256')}" if ev.get("file_hash_sha256") else ""),
                                             ev.get("event_uid")))
                break
        else:
            if by_me:
                outputs.append({"path": fp, "sha256": ev.get("file_hash_sha256"), "event_uid": ev.get("event_uid")})
    alert.extra["cabinet_files"] = list(created.values())
    alert.extra["other_outputs"] = outputs
    findings += _zone(alert, ctx)
    findings += _burst(alert, ctx, events)
    for cab in alert.cabinets:
        why = odd_name(cab.path)
        if why:
            findings.append(finding("cabinet.odd_name", STEP, f"odd cabinet name: {why}", [cab.path]))
    findings += _analyze(alert, ctx, created)
    return findings


def _zone_paths(alert: Alert) -> set[str]:
    return {lower(s.resolved or s.path) + ":zone.identifier" for s in alert.sources if s.kind == "local"}


def _zone_rows(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, list[Event]]:
    """EID 15 Zone.Identifier records of every alert's local sources on its host: one query."""
    wanted = [(a, paths) for a in alerts if a.host and (paths := _zone_paths(a))]
    if not wanted:
        return {}
    t = ctx.table()
    rows = ctx.rows(t.filter((t.event_code == 15) & ctx.host_is(t.host_name, *(a.host for a, _ in wanted))
                             & t.file_path.lower().isin(sorted(set().union(*(p for _, p in wanted))))), limit=None)
    return {id(a): [r for r in rows if lower(r.get("file_path")) in paths
                    and host_matches(r.get("host_name"), a.host)][:5000] for a, paths in wanted}


def _zone(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    """EID 15 Zone.Identifier of the job's local sources: ZoneId=3 / HostUrl means Internet-sourced."""
    local = [s for s in alert.sources if s.kind == "local"]
    if not local or not alert.host:
        return []
    rows = ctx.bulk("zone_identifier", alert, lambda alerts: _zone_rows(alerts, ctx)) or []
    out: list[Finding] = []
    for ev in rows:
        text = ev.get("file_contents") or ""
        zone = re.search(r"ZoneId\s*=\s*(\d+)", text)
        url = re.search(r"HostUrl\s*=\s*(\S+)", text)
        if (zone and int(zone.group(1)) >= 3) or url:
            desc = f"{ev.get('file_path')}: ZoneId={zone.group(1) if zone else '?'}" + (f" HostUrl={url.group(1)}" if url else "")
            alert.related.append(Related("file", iso(ev.get("ts")), f"Mark of the Web {desc}", ev.get("event_uid")))
            out.append(finding("source.external", STEP, "a staged source file came from the Internet zone",
                               [ev.get("event_uid") or "", desc]))
    return out


def _burst(alert: Alert, ctx: InvestigationContext, events: list[Event]) -> list[Finding]:
    at = alert_time(alert)
    lo, hi = at - ctx.burst_window, at + ctx.burst_window
    cabs: dict[str, str] = {}
    runs: list[str] = []
    for ev in events:
        if not in_window(ev, lo, hi):
            continue
        if ev.get("event_code") == 11 and lower(ev.get("file_path")).endswith(".cab"):
            cabs.setdefault(lower(ev.get("file_path")), ev.get("event_uid") or "")
        if ev.get("event_code") in PROCESS_CODES and (
            lower(ev.get("process_name")) in MAKERS or lower(ev.get("process_pe_original_file_name")) in MAKERS
        ):
            runs.append(ev.get("event_uid") or "")
    n = max(len(cabs), len(runs))
    alert.extra["staging"] = {"cabinets_nearby": len(cabs), "maker_runs_nearby": len(runs),
                              "window_minutes": ctx.burst_window.total_seconds() / 60}
    if n >= BURST_MIN:
        return [finding("cabinet.burst", STEP,
                        f"{n} cabinets made on {alert.host} within {int(ctx.burst_window.total_seconds() // 60)} minutes",
                        [*sorted(cabs)[:10], *runs[:10]])]
    return []


def _analyze(alert: Alert, ctx: InvestigationContext, created: dict[str, dict[str, Any]]) -> list[Finding]:
    index = ctx.artifact_index()
    if index is None:
        return []
    out: list[Finding] = []
    analyses: dict[str, Any] = {}
    for cab in alert.cabinets:
        sha = (created.get(cab.path) or {}).get("sha256")
        found: Path | None = index.by_path(alert.host, cab.path) or index.by_sha256(sha)
        if found is None:
            continue
        try:
            from cabhunt.cab.analyze import analyze_file
        except ImportError:
            alert.extra.setdefault("steps", {})[STEP] = f"cabinet {found} collected but cabhunt.cab.analyze is not available"
            break
        key = str(found)
        if key not in ctx.cab_cache:
            try:
                ctx.cab_cache[key] = analyze_file(found)
            except Exception as exc:  # a hostile cabinet must not stop the investigation
                ctx.problems.add(found, f"cabinet analysis failed: {type(exc).__name__}: {exc}")
                ctx.cab_cache[key] = {"error": f"{type(exc).__name__}: {exc}"}
        doc = ctx.cab_cache[key]
        if isinstance(doc, dict) and "error" in doc and "members" not in doc:
            analyses[cab.path] = {"artifact": key, **doc}
            continue
        analyses[cab.path] = {"artifact": str(found), **(doc if isinstance(doc, dict) else {"result": doc})}
        for f in (doc.get("findings") or []) if isinstance(doc, dict) else []:
            fid = str(f.get("id") or "")
            if not fid.startswith("cab.") or not known(fid):
                continue
            ev = f.get("evidence")
            evidence = [str(x) for x in ev] if isinstance(ev, list) else ([str(ev)] if ev else [])
            if f.get("member"):
                evidence.insert(0, f"member {f['member']}")
            evidence.insert(0, f"{cab.path} ({found.name})")
            out.append(finding(fid, STEP, str(f.get("title") or f.get("message") or fid), evidence))
    if analyses:
        alert.extra["cab"] = analyses
    return out


def cab_members(alert: Alert) -> list[dict[str, Any]]:
    """Members of analysed cabinets (name, size, sha256, type) - for follow-on and reports."""
    out: list[dict[str, Any]] = []
    for doc in (alert.extra.get("cab") or {}).values():
        for m in doc.get("members") or [] if isinstance(doc, dict) else []:
            if isinstance(m, dict):
                out.append(m)
    return out

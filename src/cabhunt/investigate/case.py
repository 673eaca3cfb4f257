"""Case views every report shares: the timeline and the process tree of one alert.

Built only from the alert document (findings, related events, preserved records, lineage and
follow-on outputs), so Markdown, HTML and Timesketch renderings always agree with the JSON.
"""

from __future__ import annotations

from typing import Any

from cabhunt.model import Alert

UID_HINT = ":"  # event uids are "<16 hex>:<record>"


def timeline(alert: Alert) -> list[dict[str, Any]]:
    """Time-ordered entries: the process creations of the chain, the alert, and every related event."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    lineage = alert.extra.get("lineage") or {}
    for c in reversed(lineage.get("chain") or []):
        if c.get("@timestamp"):
            out.append({"@timestamp": c["@timestamp"], "kind": "process",
                        "summary": f"ancestor started: {c.get('command_line') or c.get('executable')}",
                        "event_uid": c.get("event_uid")})
    for r in alert.extra.get("preserved") or []:
        if r.get("@timestamp"):
            what = r.get("process.command_line") or r.get("process.executable")
            if r.get("event_code") == 3 and r.get("destination"):
                d = r["destination"]
                what = f"{r.get('process.executable')} connected to {d.get('domain') or d.get('ip')}:{d.get('port')}"
            out.append({"@timestamp": r["@timestamp"], "kind": "alert",
                        "summary": f"[{alert.rule.name}] {what}", "event_uid": r.get("event_uid")})
    if not any(e["kind"] == "alert" for e in out):
        out.append({"@timestamp": alert.timestamp, "kind": "alert",
                    "summary": f"[{alert.rule.name}] {alert.process.get('command_line') or ''}".strip(),
                    "event_uid": alert.event_uids[0] if alert.event_uids else None})
    for r in alert.related:
        out.append({"@timestamp": r.timestamp, "kind": r.kind, "summary": r.summary, "event_uid": r.event_uid})
    uniq = []
    for e in sorted(out, key=lambda e: (e["@timestamp"] or "", e["kind"] != "alert")):
        key = e.get("event_uid") or f"{e['@timestamp']}|{e['summary']}"
        if key in seen:
            continue
        seen.add(key)
        uniq.append(e)
    return uniq


def process_tree(alert: Alert) -> list[tuple[int, str, str]]:
    """(depth, label, role) rows: ancestors, the job, then follow-on processes under it."""
    rows: list[tuple[int, str, str]] = []
    chain = list(reversed((alert.extra.get("lineage") or {}).get("chain") or []))
    for depth, c in enumerate(chain):
        rows.append((depth, _label(c), "ancestor"))
    depth = len(chain)
    p = alert.process
    rows.append((depth, _label(p), "job"))
    fo = alert.extra.get("followon") or {}
    for x in [*(fo.get("executions") or [])]:
        rows.append((depth + 1, _label(x), "follow-on"))
    return rows


def _label(p: dict[str, Any]) -> str:
    exe = p.get("executable") or p.get("name") or "?"
    cmd = p.get("command_line")
    pid = p.get("pid")
    guid = p.get("entity_id")
    bits = [f"pid {pid}" if pid is not None else None, guid]
    tail = ", ".join(b for b in bits if b)
    return f"{cmd or exe}" + (f"  ({tail})" if tail else "")


def evidence_uids(alert: Alert) -> list[str]:
    """Every event uid the alert cites: matched records, preserved ones, related and finding evidence."""
    uids: list[str] = list(alert.event_uids)
    uids += [r.get("event_uid") for r in alert.extra.get("preserved") or [] if r.get("event_uid")]
    uids += [c.get("event_uid") for c in (alert.extra.get("lineage") or {}).get("chain") or [] if c.get("event_uid")]
    uids += [r.event_uid for r in alert.related if r.event_uid]
    for f in alert.findings:
        uids += [e for e in f.evidence if UID_HINT in e and " " not in e and "\\" not in e and len(e) < 80]
    out, seen = [], set()
    for u in uids:
        if u and u not in seen:
            seen.add(u)
            out.append(u)
    return out


def context_facts(alert: Alert) -> list[tuple[str, str]]:
    """Extra summary rows: job switches, signer, image-hash prevalence, maker baseline, user/IL."""
    out: list[tuple[str, str]] = []
    job = alert.extra.get("job") or {}
    if job:
        bits = [f"mode {job.get('mode')}" if job.get("mode") else None,
                f"CompressionType {job.get('compression_type')}" if job.get("compression_type") else None,
                f"/V{job.get('verbosity')}" if job.get("verbosity") is not None else None]
        defines = ", ".join(f"{k}={v}" for k, v in (tuple(d) for d in job.get("defines") or []))
        if defines:
            bits.append(f"/D {defines}")
        out.append(("job", "; ".join(b for b in bits if b) or "defaults"))
    pre = next((r for r in alert.extra.get("preserved") or [] if r.get("event_code") in (1, 4688)), None)
    if pre:
        out.append(("integrity level", str(pre.get("process.integrity_level") or "unknown")))
    lineage = alert.extra.get("lineage") or {}
    signer = lineage.get("signer")
    if signer:
        out.append(("signer", f"signed={signer.get('signed')} {signer.get('signature') or ''} "
                              f"{signer.get('status') or ''}".strip()))
    prev = lineage.get("hash_prevalence")
    if prev:
        out.append(("image hash", f"{prev['sha256']} on {prev['hosts']} of {prev['fleet_hosts']} hosts ({prev['runs']} runs)"))
    if lineage.get("expected_parent"):
        ep = lineage["expected_parent"]
        out.append(("expected parent", f"{ep['name']} ({ep['why']})"))
    base = alert.extra.get("maker_baseline")
    if base:
        out.append(("makecab/diantz baseline", f"{base['host_runs']} other run(s) on this host; "
                                                f"{base['peers_running']} of {base['peers']} peers; "
                                                f"{base['fleet_hosts_running']} of {base['fleet_hosts']} fleet hosts"))
    return out

"""Markdown case reports: one alert (``report.md`` of a case bundle) or a whole hunt.

Plain GitHub-flavoured Markdown so a report pastes into a ticket unchanged; every value from
the data is escaped so a hostile command line cannot break the table layout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from cabhunt.investigate.case import context_facts, process_tree, timeline
from cabhunt.model import Alert

VERDICT_ORDER = {"malicious": 0, "suspicious": 1, "suppressed": 2, "benign": 3}


def esc(value: Any) -> str:
    """Escape a value for a Markdown table cell / inline text."""
    s = "" if value is None else str(value)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_")
    s = s.replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


def code(value: Any) -> str:
    """Inline code span safe for any content (backticks and pipes)."""
    s = " ".join(("" if value is None else str(value)).split()).replace("|", "\\|")
    fence = "``" if "`" in s else "`"
    return f"{fence} {s} {fence}" if fence == "``" else f"`{s}`"


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render_alert(alert: Alert, level: int = 1) -> str:
    h = "#" * level
    d = alert
    lines = [f"{h} {esc(d.rule.name)} on {esc(d.host)} — {d.verdict.upper()} ({d.score}/100)", ""]
    lines += [f"**Why:** {esc(d.why)}", ""]
    lines += _table(["field", "value"], [
        ["alert id", code(d.id)], ["time (UTC)", esc(d.timestamp)],
        ["rule", f"{esc(d.rule.id)} · {esc(d.rule.slug)}"], ["technique", esc(", ".join(d.techniques))],
        ["host", esc(d.host)], ["user", esc(d.user)],
        ["image", code(d.process.get("executable"))], ["command line", code(d.process.get("command_line"))],
        ["parent", code((d.process.get("parent") or {}).get("executable"))],
        ["working directory", code(d.working_directory)],
        *[[esc(k), esc(v)] for k, v in context_facts(d)],
    ])
    if d.suppressed_by:
        sb = d.suppressed_by
        lines += ["", f"> **Suppressed** by allowlist entry {code(sb.get('id'))}: {esc(sb.get('reason'))} "
                  f"(owner {esc(sb.get('owner'))}, valid until {esc(sb.get('valid_until') or 'open-ended')})."]
    for note in d.extra.get("allowlist_not_applied") or []:
        lines += ["", f"> Allowlist entry {code(note.get('id'))} matched but is **{esc(note.get('state'))}** "
                  f"(valid {esc(note.get('valid_from') or '-')} … {esc(note.get('valid_until') or '-')}); not applied."]
    lines += ["", f"{h}# Findings", ""]
    lines += _table(["finding", "weight", "step", "what", "evidence"], [
        [code(f.id), f"+{f.weight}", esc(f.step), esc(f.title), "<br>".join(esc(e) for e in f.evidence[:6])]
        for f in sorted(d.findings, key=lambda f: (-f.weight, f.id))
    ]) if d.findings else ["No findings."]
    for r in d.extra.get("retracted") or []:
        lines += ["", f"> Withdrawn after investigation: {code(r.get('id'))} — {esc(r.get('why'))}"]
    lines += ["", f"{h}# Timeline", ""]
    lines += _table(["time (UTC)", "kind", "event", "event id"],
                    [[esc(e["@timestamp"]), esc(e["kind"]), esc(e["summary"]), code(e.get("event_uid") or "")]
                     for e in timeline(d)])
    lines += ["", f"{h}# Process tree", "", "```"]
    for depth, label, role in process_tree(d):
        lines.append(("  " * depth) + ("└─ " if depth else "") + f"{label.replace('```', '` ` `')}  [{role}]")
    lines += ["```", "", f"{h}# Sources and destinations", ""]
    lines += _table(["path", "kind", "host", "port", "scope", "via"],
                    [[code(s.path), esc(s.kind), esc(s.host), esc(s.port), esc(s.scope), esc(s.via)] for s in d.sources]
                    ) if d.sources else ["No source recorded."]
    dests = d.extra.get("destinations") or []
    if dests:
        lines += [""]
        lines += _table(["destination", "origin", "scope", "first seen (store)", "intel"],
                        [[esc(x.get("host")), esc(x.get("origin")), esc(x.get("scope")),
                          esc(x.get("first_seen_store") or x.get("new_domain") or ""),
                          esc("; ".join(x.get("intel") or []))] for x in dests])
    lines += ["", f"{h}# Artifacts", ""]
    files = {c["path"]: c for c in d.extra.get("cabinet_files") or []}
    lines += _table(["cabinet", "ADS", "user-writable", "sha256", "created by"],
                    [[code(c.path), "yes" if c.ads else "no", "yes" if c.user_writable else "no",
                      code((files.get(c.path) or {}).get("sha256") or "unknown"),
                      esc(", ".join((files.get(c.path) or {}).get("events") or []) or "not seen")] for c in d.cabinets]
                    ) if d.cabinets else ["No cabinet recorded."]
    for path, doc in (d.extra.get("cab") or {}).items():
        members = doc.get("members") or []
        lines += ["", f"Members of {code(path)} (collected as {code(doc.get('artifact'))}):", ""]
        lines += _table(["member", "size", "type", "sha256"],
                        [[code(m.get("name") or m.get("path")), esc(m.get("size")), esc(m.get("type") or m.get("kind")),
                          code(m.get("sha256") or "")] for m in members[:200]]) if members else [
            esc(doc.get("error") or "no members")]
    fo = d.extra.get("followon") or {}
    if fo.get("extracted"):
        lines += ["", "Extracted files:", ""]
        lines += [f"- {code(x.get('path'))} sha256 {code(x.get('sha256') or 'unknown')}" for x in fo["extracted"]]
    lines += ["", f"{h}# Actions", ""]
    lines += _table(["action", "target", "reason"], [[esc(a.kind), code(a.target), esc(a.reason)] for a in d.actions]
                    ) if d.actions else ["No action."]
    steps = d.extra.get("steps") or {}
    if steps:
        lines += ["", f"{h}# Steps that did not fully run", ""]
        lines += [f"- **{esc(k)}**: {esc(v)}" for k, v in steps.items()]
    return "\n".join(lines) + "\n"


def render_hunt(alerts: list[Alert]) -> str:
    """The ``hunt --format markdown`` document: a summary table, then one section per alert."""
    ordered = sorted(alerts, key=lambda a: (VERDICT_ORDER.get(a.verdict, 9), -a.score, a.timestamp))
    counts: Counter[str] = Counter(str(a.verdict) for a in alerts)
    lines = ["# cabhunt hunt report", ""]
    summary = ", ".join(f"{counts[v]} {v}" for v in VERDICT_ORDER if counts[v]) or "no alerts"
    lines += [f"{len(alerts)} alert(s): {summary}.", ""]
    if alerts:
        lines += _table(["verdict", "score", "time (UTC)", "host", "rule", "why", "alert id"],
                        [[a.verdict, str(a.score), esc(a.timestamp), esc(a.host), esc(a.rule.name), esc(a.why),
                          code(a.id)] for a in ordered])
    for a in ordered:
        lines += ["", render_alert(a, level=2)]
    return "\n".join(lines) + "\n"

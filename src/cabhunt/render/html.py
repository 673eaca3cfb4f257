"""One self-contained HTML page per case: inline CSS, no scripts, no external resources.

Everything from the data is HTML-escaped; the page must be safe to open even when the command
line or file names were crafted by an attacker.
"""

from __future__ import annotations

from html import escape
from typing import Any

from cabhunt.investigate.case import context_facts, process_tree, timeline
from cabhunt.model import Alert

COLOURS = {"malicious": "#b42318", "suspicious": "#b54708", "benign": "#027a48", "suppressed": "#475467"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#101828;background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:24px}
header{display:flex;gap:18px;align-items:center;flex-wrap:wrap}
h1{font-size:22px;margin:0}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e4e7ec;padding-bottom:4px}
.badge{color:#fff;border-radius:6px;padding:6px 12px;font-weight:700;font-size:16px;letter-spacing:.04em}
.score{font-size:15px;color:#344054}
.why{background:#fff;border-left:4px solid var(--v);padding:10px 14px;margin:14px 0;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001;margin:6px 0}
th,td{border:1px solid #e4e7ec;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600}
td code,li code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Consolas,monospace;word-break:break-all}
pre{background:#fff;border:1px solid #e4e7ec;padding:10px;white-space:pre-wrap;margin:6px 0}
.w{font-weight:700;white-space:nowrap}
.kv td:first-child{width:170px;white-space:nowrap}
code.fid{word-break:normal;white-space:nowrap}
span.t{white-space:nowrap;font-size:12.5px}
.note{background:#fffaeb;border:1px solid #fedf89;padding:8px 12px;margin:8px 0}
.muted{color:#667085}
.ev{margin:0;padding-left:16px}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _c(value: Any) -> str:
    return f"<code>{_e(value)}</code>" if value not in (None, "") else '<span class="muted">unknown</span>'


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(alert: Alert) -> str:
    a = alert
    colour = COLOURS.get(a.verdict, "#475467")
    parts: list[str] = []
    parts.append(f'<header><span class="badge" id="verdict" style="background:{colour}">{_e(a.verdict.upper())}</span>'
                 f'<h1>{_e(a.rule.name)} on {_e(a.host)}</h1>'
                 f'<span class="score">score <b id="score">{a.score}</b>/100</span></header>')
    parts.append(f'<p class="why" style="--v:{colour}"><b>Why:</b> {_e(a.why)}</p>')
    if a.suppressed_by:
        sb = a.suppressed_by
        parts.append(f'<p class="note"><b>Suppressed</b> by allowlist entry {_c(sb.get("id"))}: {_e(sb.get("reason"))}'
                     f' (owner {_e(sb.get("owner"))}, valid until {_e(sb.get("valid_until") or "open-ended")}).</p>')
    for note in a.extra.get("allowlist_not_applied") or []:
        parts.append(f'<p class="note">Allowlist entry {_c(note.get("id"))} matched but is <b>{_e(note.get("state"))}</b>'
                     f' (valid {_e(note.get("valid_from") or "-")} … {_e(note.get("valid_until") or "-")}); not applied.</p>')
    parent = (a.process.get("parent") or {}).get("executable")
    parts.append("<h2>Summary</h2>" + _table(["field", "value"], [
        ["alert id", _c(a.id)], ["time (UTC)", _e(a.timestamp)],
        ["rule", f"{_e(a.rule.id)} · {_e(a.rule.slug)} · ATT&amp;CK {_e(', '.join(a.techniques))}"],
        ["host", _e(a.host)], ["user", _e(a.user)], ["image", _c(a.process.get("executable"))],
        ["command line", _c(a.process.get("command_line"))], ["parent", _c(parent)],
        ["working directory", _c(a.working_directory)],
        *[[_e(k), _e(v)] for k, v in context_facts(a)],
    ], "kv"))
    rows = []
    for f in sorted(a.findings, key=lambda f: (-f.weight, f.id)):
        ev = "".join(f"<li><code>{_e(x)}</code></li>" for x in f.evidence[:8])
        rows.append([f'<code class="fid">{_e(f.id)}</code>', f'<span class="w">+{f.weight}</span>', _e(f.step),
                     _e(f.title), f'<ul class="ev">{ev}</ul>'])
    parts.append("<h2>Findings</h2>" + (_table(["finding", "weight", "step", "what", "evidence"], rows)
                                        if rows else "<p>No findings.</p>"))
    for r in a.extra.get("retracted") or []:
        parts.append(f'<p class="note">Withdrawn after investigation: {_c(r.get("id"))} - {_e(r.get("why"))}</p>')
    parts.append("<h2>Timeline</h2>" + _table(["time (UTC)", "kind", "event", "event id"], [
        [f'<span class="t">{_e(e["@timestamp"])}</span>', _e(e["kind"]), _e(e["summary"]), _c(e.get("event_uid"))]
        for e in timeline(a)]))
    tree = "\n".join(("    " * d) + ("└─ " if d else "") + f"{label}  [{role}]" for d, label, role in process_tree(a))
    parts.append(f"<h2>Process tree</h2><pre>{_e(tree)}</pre>")
    src_rows = [[_c(s.path), _e(s.kind), _e(s.host), _e(s.port), _e(s.scope), _e(s.via)] for s in a.sources]
    parts.append("<h2>Sources and destinations</h2>" + (
        _table(["path", "kind", "host", "port", "scope", "via"], src_rows) if src_rows else "<p>No source recorded.</p>"))
    dests = a.extra.get("destinations") or []
    if dests:
        parts.append(_table(["destination", "origin", "scope", "first seen (store)", "intel"], [
            [_e(d.get("host")), _e(d.get("origin")), _e(d.get("scope")),
             _e(d.get("first_seen_store") or d.get("new_domain") or ""), _e("; ".join(d.get("intel") or []))]
            for d in dests]))
    files = {c["path"]: c for c in a.extra.get("cabinet_files") or []}
    cab_rows = [[_c(c.path), "yes" if c.ads else "no", "yes" if c.user_writable else "no",
                 _c((files.get(c.path) or {}).get("sha256"))] for c in a.cabinets]
    parts.append("<h2>Artifacts and cabinet members</h2>" + (
        _table(["cabinet", "ADS", "user-writable", "sha256"], cab_rows) if cab_rows else "<p>No cabinet recorded.</p>"))
    for path, doc in (a.extra.get("cab") or {}).items():
        members = doc.get("members") or []
        parts.append(f"<p>Members of {_c(path)} (collected as {_c(doc.get('artifact'))}):</p>")
        parts.append(_table(["member", "size", "type", "sha256"], [
            [_c(m.get("name") or m.get("path")), _e(m.get("size")), _e(m.get("type") or m.get("kind")), _c(m.get("sha256"))]
            for m in members[:500]]) if members else f"<p>{_e(doc.get('error') or 'no members')}</p>")
    fo = a.extra.get("followon") or {}
    if fo.get("extracted"):
        parts.append(_table(["extracted file", "sha256", "time"], [
            [_c(x.get("path")), _c(x.get("sha256")), _e(x.get("@timestamp"))] for x in fo["extracted"]]))
    parts.append("<h2>Actions</h2>" + (_table(["action", "target", "reason"], [
        [_e(x.kind), _c(x.target), _e(x.reason)] for x in a.actions]) if a.actions else "<p>No action.</p>"))
    steps = a.extra.get("steps") or {}
    if steps:
        parts.append("<h2>Steps that did not fully run</h2><ul>"
                     + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in steps.items()) + "</ul>")
    title = f"cabhunt case {a.id}: {a.verdict} - {a.rule.name} on {a.host}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body><main>{''.join(parts)}</main></body></html>\n")

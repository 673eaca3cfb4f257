"""The terminal table of a hunt: one row per alert, most serious first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cabhunt.model import Alert

_VERDICT_STYLE = {"malicious": "bold red", "suspicious": "yellow", "benign": "green", "suppressed": "dim"}
_ORDER = {"malicious": 0, "suspicious": 1, "benign": 2, "suppressed": 3}


def _what(alert: Alert) -> str:
    if alert.destination:
        d = alert.destination
        return f"-> {d.get('domain') or d.get('ip')}:{d.get('port')} ({d.get('scope')})"
    remote = [s for s in alert.sources if s.kind != "local"]
    if remote:
        return ", ".join(f"{s.kind}:{s.host or s.path}" for s in remote[:2])
    if alert.directive_files:
        return "ddf " + ", ".join(alert.directive_files[:2])
    if alert.cabinets:
        return alert.cabinets[0].path
    return ""


def sort_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (_ORDER.get(a.verdict, 9), -a.score, a.timestamp))


def print_table(alerts: Sequence[Alert], console: Any, summary: dict[str, Any] | None = None) -> None:
    """Render alerts on a rich ``Console`` (the default ``hunt`` output)."""
    from rich.table import Table

    table = Table(title=f"cabhunt: {len(alerts)} alert(s)", show_lines=False, expand=False)
    for col in ("verdict", "score", "time (UTC)", "host", "rule", "process", "what", "findings", "id"):
        table.add_column(col, overflow="fold")
    for a in sort_alerts(alerts):
        style = _VERDICT_STYLE.get(a.verdict, "")
        table.add_row(
            f"[{style}]{a.verdict}[/]" if style else a.verdict,
            str(a.score),
            a.timestamp.replace("T", " ").rstrip("Z"),
            a.host or "",
            a.rule.slug,
            str(a.process.get("name") or a.process.get("executable") or ""),
            _what(a),
            ", ".join(a.finding_ids()),
            a.id,
        )
    console.print(table)
    if summary:
        verdicts = summary.get("verdicts") or {}
        parts = [f"{k} {v}" for k, v in sorted(verdicts.items())]
        benign = summary.get("verified_benign")
        line = "verdicts: " + (", ".join(parts) if parts else "none")
        if benign is not None:
            line += f"; verified benign (local-only packaging): {benign}"
        console.print(line)

"""Investigation: every playbook step run on every alert, each adding findings with evidence.

Order matters only where a step reads another's output: inputs (sources, cabinets) before
corroboration, which resolves source hosts (their scope) before destination validation; artifacts (cabinet hashes, members) before follow-on and fleet;
scoring after every finding; allowlists after the facts they match on; actions last, from the
final verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cabhunt.investigate.context import InvestigationContext, StoreLike

if TYPE_CHECKING:
    from cabhunt.model import Alert, Finding

__all__ = ["InvestigationContext", "StoreLike", "investigate", "investigate_one"]


def _steps() -> list[tuple[str, Callable[[Alert, InvestigationContext], list[Finding]]]]:
    from cabhunt.investigate import (
        allowlist,
        artifacts,
        corroboration,
        destination,
        fleet,
        followon,
        inputs,
        lineage,
        preserve,
    )

    return [
        ("preserve", preserve.run),
        ("input_semantics", inputs.run),
        ("lineage", lineage.run),
        ("corroboration", corroboration.run),
        ("destination", destination.run),
        ("artifacts", artifacts.run),
        ("followon", followon.run),
        ("fleet", fleet.run),
        ("allowlist", allowlist.run),
    ]


def investigate_one(alert: Alert, ctx: InvestigationContext) -> Alert:
    """Run every step on one alert; a step that fails is recorded, the others still run."""
    return investigate([alert], ctx)[0]


def _reset(alert: Alert) -> None:
    from cabhunt.model import Finding

    # Re-investigation starts again from detection's findings, so a finding whose reason went
    # away (an allowlist entry removed, an expected parent now known) does not linger.
    if "seed_findings" not in alert.extra:
        alert.extra["seed_findings"] = [f.to_dict() for f in alert.findings if f.id != "allowlist.match"]
    alert.findings = [Finding(**f) for f in alert.extra["seed_findings"]]
    alert.suppressed_by = None
    for key in ("allowlist_not_applied", "steps", "retracted"):
        alert.extra.pop(key, None)
    alert.extra["timings_ms"] = {}


def _step(alert: Alert, ctx: InvestigationContext, name: str,
          fn: Callable[[Alert, InvestigationContext], list[Finding]]) -> None:
    t0 = time.perf_counter()
    try:
        for f in fn(alert, ctx):
            alert.add(f)
    except Exception as exc:  # one broken step must not lose the others' evidence
        alert.extra.setdefault("steps", {})[name] = f"failed: {type(exc).__name__}: {exc}"
        ctx.problems.add(f"alert {alert.id}", f"investigation step {name} failed: {type(exc).__name__}: {exc}")
    alert.extra["timings_ms"][name] = round((time.perf_counter() - t0) * 1000, 1)


def _finish(alert: Alert, ctx: InvestigationContext) -> None:
    from cabhunt.investigate import actions
    from cabhunt.investigate.scoring import score_alert

    _dedupe_related(alert)
    score_alert(alert)
    t0 = time.perf_counter()
    try:
        actions.run(alert, ctx)
    except Exception as exc:
        alert.extra.setdefault("steps", {})["actions"] = f"failed: {type(exc).__name__}: {exc}"
    alert.extra["timings_ms"]["actions"] = round((time.perf_counter() - t0) * 1000, 1)


def _dedupe_related(alert: Alert) -> None:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for r in sorted(alert.related, key=lambda r: r.timestamp):
        key = (r.event_uid or "", r.summary if not r.event_uid else "", r.kind if not r.event_uid else "")
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    alert.related = out


def investigate(alerts: list[Alert], ctx: InvestigationContext) -> list[Alert]:
    """Fill findings, related events, actions, score, verdict and ``why`` of every alert.

    Steps run in order over all alerts (each alert's steps still see only that alert), so that
    a step's store questions are asked once for the whole batch (:meth:`InvestigationContext.bulk`).
    A step that fails on one alert is recorded there; the other steps and alerts still run.
    """
    alerts = list(alerts)
    previous, ctx.batch = ctx.batch, alerts
    try:
        for a in alerts:
            _reset(a)
        for name, fn in _steps():
            for a in alerts:
                _step(a, ctx, name, fn)
        for a in alerts:
            _finish(a, ctx)
    finally:
        ctx.batch = previous
    return alerts

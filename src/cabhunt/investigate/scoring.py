"""Explainable scoring: the score is the capped sum of named findings' documented weights.

Weights and verdict thresholds are data (``weights.yaml``, documented in docs/scoring.md) so
tuning never touches code and every point of a score can be traced to one finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from cabhunt.model import FINDING_IDS, Finding

if TYPE_CHECKING:
    from cabhunt.model import Alert


# A network finding that repeats what the job's own source already proves adds no points.
SAME_FACT: dict[str, str] = {
    "net.external": "source.external",
    "net.ip_literal": "source.ip_literal",
    "net.nonstandard_port": "source.nonstandard_port",
}


# Evidence that something came in from elsewhere (or was hidden in a stream): the substance of
# T1105 (and T1564.004). Without any of it, a high score comes from context alone -- local
# packaging with an odd parent or follow-on, e.g. the public UAC-bypass samples -- and the verdict
# stays at "suspicious" so an analyst looks, without calling it an ingress tool transfer.
INGRESS_EVIDENCE: frozenset[str] = frozenset(
    {
        "source.smb", "source.webdav", "source.http", "source.external", "source.ip_literal",
        "source.nonstandard_port", "ddf.remote", "ddf.remote_source", "net.corroborated",
        "net.external", "net.ip_literal", "net.nonstandard_port", "net.share_mapped",
        "proxy.corroborated", "webdav.client_activity", "logon.type3", "intel.match", "cabinet.ads",
    }
)


@dataclass(frozen=True)
class Weights:
    weights: dict[str, int]
    malicious: int
    suspicious: int

    def of(self, finding_id: str) -> int:
        return self.weights.get(finding_id, 0)


@lru_cache(maxsize=1)
def load_weights() -> Weights:
    """The shipped weight table (package data)."""
    text = resources.files("cabhunt.investigate").joinpath("weights.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    th = doc.get("thresholds") or {}
    return Weights(
        weights={str(k): int(v) for k, v in (doc.get("weights") or {}).items()},
        malicious=int(th.get("malicious", 60)),
        suspicious=int(th.get("suspicious", 25)),
    )


def known(finding_id: str) -> bool:
    """Whether an id is in the stable vocabulary (ids outside it are never emitted)."""
    return finding_id in FINDING_IDS


def finding(finding_id: str, step: str, title: str, evidence: list[str] | None = None) -> Finding:
    """A finding with its documented weight."""
    return Finding(id=finding_id, step=step, title=title, weight=load_weights().of(finding_id),
                   evidence=[str(e) for e in (evidence or []) if e is not None and str(e) != ""])


def score_alert(alert: Alert) -> None:
    """Set weights from the table, then score, verdict and the one-sentence ``why``."""
    w = load_weights()
    present = {f.id for f in alert.findings}
    for f in alert.findings:
        f.weight = w.of(f.id)
        twin = SAME_FACT.get(f.id)
        if twin in present:
            f.weight = 0  # the same fact seen twice (job and wire) counts once
            note = f"counted once: same fact as {twin}"
            if note not in f.evidence:
                f.evidence.append(note)
    total = sum(max(0, f.weight) for f in alert.findings)
    alert.score = max(0, min(100, total))
    if alert.suppressed_by:
        alert.verdict = "suppressed"
    elif alert.score >= w.malicious and present & INGRESS_EVIDENCE:
        alert.verdict = "malicious"
    elif alert.score >= w.suspicious:
        alert.verdict = "suspicious"
    else:
        alert.verdict = "benign"
    alert.why = explain(alert)


def top_findings(alert: Alert, n: int = 3) -> list[Finding]:
    ranked = sorted((f for f in alert.findings if f.weight > 0), key=lambda f: (-f.weight, f.id))
    return ranked[:n]


def explain(alert: Alert) -> str:
    """One sentence: verdict, score and the heaviest findings that produced it."""
    tops = top_findings(alert)
    parts = [f"{f.title} ({f.id}, +{f.weight})" for f in tops]
    more = len([f for f in alert.findings if f.weight > 0]) - len(tops)
    reasons = "; ".join(parts)
    if more > 0:
        reasons += f"; and {more} more finding{'s' if more != 1 else ''}"
    if alert.verdict == "suppressed" and alert.suppressed_by:
        sb = alert.suppressed_by
        base = (f"Suppressed by allowlist entry {sb.get('id')} ({sb.get('reason')}, owner {sb.get('owner')})"
                f"; without it the score would be {alert.score}")
        return base + (f": {reasons}." if reasons else ".")
    verdict = alert.verdict.capitalize()
    w = load_weights()
    if alert.verdict == "suspicious" and alert.score >= w.malicious:
        verdict += " (capped: no remote input or hidden stream is shown)"
    if not reasons:
        return f"{verdict} (score {alert.score}): no risk finding beyond the rule match itself."
    return f"{verdict} (score {alert.score}): {reasons}."

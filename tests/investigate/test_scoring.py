from __future__ import annotations

import re

from cabhunt.investigate.scoring import finding, load_weights, score_alert
from cabhunt.model import FINDING_IDS, Alert, RuleRef
from tests.conftest import REPO


def _alert() -> Alert:
    return Alert(timestamp="2026-03-02T10:15:04.123Z", rule=RuleRef("r", "n", "makecab_download_cab", "u"), host="h")


def test_every_finding_has_a_documented_weight() -> None:
    w = load_weights()
    assert set(w.weights) >= FINDING_IDS
    doc = (REPO / "docs" / "scoring.md").read_text(encoding="utf-8")
    for fid, weight in w.weights.items():
        assert re.search(rf"\| `{re.escape(fid)}` \| {weight} \|", doc), fid
    assert w.malicious > w.suspicious > 0


def test_score_is_capped_sum_and_verdict_follows_thresholds() -> None:
    w = load_weights()
    a = _alert()
    score_alert(a)
    assert (a.score, a.verdict) == (0, "benign")
    a.add(finding("source.smb", "s", "smb", ["x"]))
    score_alert(a)
    assert a.score == w.of("source.smb")
    for fid in ("followon.execution", "followon.persistence", "image.renamed", "source.external"):
        a.add(finding(fid, "s", fid, ["x"]))
    score_alert(a)
    assert a.score == 100 and a.verdict == "malicious"
    assert "followon.execution" in a.why and a.why.startswith("Malicious (score 100)")


def test_suppressed_keeps_score_and_says_why() -> None:
    a = _alert()
    a.add(finding("source.webdav", "s", "webdav", ["x"]))
    a.suppressed_by = {"id": "AL", "reason": "ok", "owner": "me", "valid_until": None}
    score_alert(a)
    assert a.verdict == "suppressed" and a.score == load_weights().of("source.webdav")
    assert "AL" in a.why and "source.webdav" in a.why


def test_the_same_fact_on_the_wire_counts_once() -> None:
    a = _alert()
    a.add(finding("source.external", "s", "ext", ["x"]))
    a.add(finding("net.external", "s", "ext conn", ["y"]))
    a.add(finding("net.nonstandard_port", "s", "port", ["z"]))
    score_alert(a)
    w = load_weights()
    assert a.score == w.of("source.external") + w.of("net.nonstandard_port")
    net = next(f for f in a.findings if f.id == "net.external")
    assert net.weight == 0 and "counted once: same fact as source.external" in net.evidence

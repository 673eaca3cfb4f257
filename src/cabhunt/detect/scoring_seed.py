"""The first score and verdict of an alert, from the semantic findings detection can prove.

Every point comes from a named finding, so the score explains itself (``Alert.why``). The
investigation later adds findings (DNS, proxy, cabinet content, follow-on execution...) and
rescores; these weights are its starting point.

Weights (tuned on the labelled command lines in tests/windows/data/cmdlines.yaml so that every
malicious line reaches at least ``suspicious`` on its own evidence and no benign line does):

=========================  ======  =========================================================
finding                    weight  why
=========================  ======  =========================================================
source.http                35      a URL as input is an explicit fetch intent
source.webdav              30      WebDAV (often over the Internet) pulled into a cabinet
ddf.remote_source          30      a DDF copy line reads from the network
cabinet.ads                30      a cabinet hidden in an alternate data stream (T1564.004);
                                   raised from 20: an ADS cabinet is malicious on its own
source.smb                 25      SMB UNC input: the T1105 pattern of the playbooks
ddf.remote                 25      the directive file itself is read from the network
image.renamed              25      OriginalFileName is a cabinet maker, the name is not
source.external            20      the source host is outside the internal networks
image.unexpected_path      15      the binary is not the System32/SysWOW64 copy
net.corroborated           15      a connection attributed to the job was observed
net.external               20      that connection went outside the internal networks
ddf.referenced             10      DDF mode: the sources are not on the command line
cabinet.user_writable      10      the cabinet lands in a user-writable/staging folder
source.ip_literal          10      raw IP instead of a name
source.nonstandard_port    10      @port other than 80/443/445
net.ip_literal             10      connection to a name-less destination
net.nonstandard_port       10      destination port other than 80/443/445
parent.suspicious          10      started by a script host, Office, or another LOLBin
=========================  ======  =========================================================

Verdict: ``malicious`` at 60 or more, ``suspicious`` at 25 or more, else ``benign``. The score is
capped at 100.
"""

from __future__ import annotations

from cabhunt.model import Alert, Verdict

WEIGHTS: dict[str, int] = {
    "source.http": 35,
    "source.webdav": 30,
    "ddf.remote_source": 30,
    "cabinet.ads": 30,
    "source.smb": 25,
    "ddf.remote": 25,
    "image.renamed": 25,
    "source.external": 20,
    "image.unexpected_path": 15,
    "net.corroborated": 15,
    "net.external": 20,
    "ddf.referenced": 10,
    "cabinet.user_writable": 10,
    "source.ip_literal": 10,
    "source.nonstandard_port": 10,
    "net.ip_literal": 10,
    "net.nonstandard_port": 10,
    "parent.suspicious": 10,
}

MALICIOUS_AT = 60
SUSPICIOUS_AT = 25


def weight(finding_id: str) -> int:
    return WEIGHTS.get(finding_id, 0)


def verdict_for(score: int) -> Verdict:
    if score >= MALICIOUS_AT:
        return "malicious"
    if score >= SUSPICIOUS_AT:
        return "suspicious"
    return "benign"


def score_alert(alert: Alert) -> Alert:
    """Set ``score``, ``verdict`` and ``why`` from the alert's findings (in place; returned)."""
    total = sum(f.weight for f in alert.findings)
    alert.score = max(0, min(100, total))
    alert.verdict = verdict_for(alert.score)
    parts = ", ".join(f"{f.id} ({f.weight})" for f in alert.findings if f.weight)
    alert.why = f"score {alert.score} from {parts}" if parts else f"score {alert.score}: no weighted finding"
    return alert

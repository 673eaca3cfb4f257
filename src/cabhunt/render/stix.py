"""STIX 2.1 bundle of a case: the T1105 attack pattern, indicators for the external hosts, IPs
and cabinet hashes, ``indicates`` relationships and one sighting on the alert's host.

Object ids are UUIDv5 of their content, so re-rendering a case yields the same bundle and a
threat-intel platform deduplicates it.
"""

from __future__ import annotations

import uuid
from typing import Any

from cabhunt.investigate.hostinfo import classify, is_ip
from cabhunt.model import Alert

NS = uuid.UUID("6d2b9d57-1f1e-4a44-9a3c-8b9c2f0c1105")


def _id(kind: str, *key: str) -> str:
    return f"{kind}--{uuid.uuid5(NS, '|'.join((kind, *key)))}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _observables(alert: Alert) -> list[tuple[str, str, str]]:
    """(pattern, name, description) for every external host / IP and every cabinet hash."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    hosts: list[tuple[str, str]] = []
    for s in alert.sources:
        if s.host and s.kind != "local":
            hosts.append((s.host, s.scope))
    d = alert.destination or {}
    for v in (d.get("domain"), d.get("ip")):
        if v:
            hosts.append((str(v), str(d.get("scope") or "unknown")))
    for ip in (alert.extra.get("corroboration") or {}).get("target_ips") or []:
        hosts.append((ip, "unknown"))
    for host, scope in hosts:
        h = host.strip("[]").lower()
        sc = scope if scope not in (None, "unknown") else classify(h).scope
        if sc != "external" or h in seen:
            continue
        seen.add(h)
        if is_ip(h):
            kind = "ipv6-addr" if ":" in h else "ipv4-addr"
            out.append((f"[{kind}:value = '{_quote(h)}']", f"Ingress source {h}", "external address the cabinet job read from"))
        else:
            out.append((f"[domain-name:value = '{_quote(h)}']", f"Ingress source {h}", "external host the cabinet job read from"))
    hashes = [(c.get("sha256"), c.get("path")) for c in alert.extra.get("cabinet_files") or [] if c.get("sha256")]
    hashes += [(x.get("sha256"), x.get("path")) for x in (alert.extra.get("followon") or {}).get("extracted") or []
               if x.get("sha256")]
    for sha, path in hashes:
        if sha.lower() in seen:
            continue
        seen.add(sha.lower())
        out.append((f"[file:hashes.'SHA-256' = '{sha.lower()}']", f"Staged file {path}", f"file written on {alert.host}"))
    return out


def build_bundle(alert: Alert) -> Any:
    import stix2

    ts = alert.timestamp
    identity = stix2.Identity(id=_id("identity", "cabhunt"), name="cabhunt", identity_class="system",
                              created=ts, modified=ts)
    host = stix2.Identity(id=_id("identity", "host", alert.host or ""), name=alert.host or "unknown host",
                          identity_class="system", created=ts, modified=ts)
    ap = stix2.AttackPattern(
        id=_id("attack-pattern", "T1105"), name="Ingress Tool Transfer", created=ts, modified=ts,
        created_by_ref=identity.id,
        external_references=[{"source_name": "mitre-attack", "external_id": "T1105",
                              "url": "https://attack.mitre.org/techniques/T1105/"}],
    )
    objects: list[Any] = [identity, host, ap]
    indicators = []
    for pattern, name, desc in _observables(alert):
        ind = stix2.Indicator(
            id=_id("indicator", pattern), name=name, description=f"{desc} (cabhunt alert {alert.id}, {alert.verdict})",
            pattern=pattern, pattern_type="stix", valid_from=ts, created=ts, modified=ts,
            indicator_types=["malicious-activity"] if alert.verdict == "malicious" else ["anomalous-activity"],
            created_by_ref=identity.id, confidence=alert.score,
        )
        indicators.append(ind)
        objects.append(ind)
        objects.append(stix2.Relationship(id=_id("relationship", ind.id, ap.id), relationship_type="indicates",
                                          source_ref=ind.id, target_ref=ap.id, created=ts, modified=ts,
                                          created_by_ref=identity.id))
    if indicators:
        objects.append(stix2.Sighting(
            id=_id("sighting", alert.id), sighting_of_ref=indicators[0].id, where_sighted_refs=[host.id],
            first_seen=ts, last_seen=ts, count=1, created=ts, modified=ts, created_by_ref=identity.id,
            description=f"{alert.rule.name} ({alert.rule.id}) on {alert.host}: {alert.why}",
        ))
    return stix2.Bundle(objects=objects, id=_id("bundle", alert.id), allow_custom=False)


def render_stix(alert: Alert) -> str:
    return str(build_bundle(alert).serialize(pretty=True))

"""The result document: alerts, findings, sources, actions.

Detection creates an :class:`Alert`, every investigation step appends :class:`Finding`s,
:class:`Related` events and :class:`Action`s to it, scoring fills ``score``/``verdict``, and every
renderer (JSONL, Markdown, HTML, STIX, Timesketch, terminal) reads only this document. The JSON
shape produced by :meth:`Alert.to_dict` is the public contract documented in the README
("Alert JSON"); keys are never omitted, unknown values are ``None``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["malicious", "suspicious", "benign", "suppressed"]
PathKind = Literal["local", "smb", "webdav", "http", "unknown"]
Scope = Literal["loopback", "internal", "external", "unknown"]

# Stable finding vocabulary: add, never rename.
FINDING_IDS: frozenset[str] = frozenset(
    {
        "image.unexpected_path",
        "image.renamed",
        "parent.suspicious",
        "source.smb",
        "source.webdav",
        "source.http",
        "source.ip_literal",
        "source.external",
        "source.nonstandard_port",
        "ddf.referenced",
        "ddf.remote",
        "ddf.remote_source",
        "ddf.bulk_sources",
        "cabinet.user_writable",
        "cabinet.ads",
        "cabinet.burst",
        "cabinet.odd_name",
        "net.share_mapped",
        "net.corroborated",
        "net.external",
        "net.ip_literal",
        "net.nonstandard_port",
        "dns.corroborated",
        "dns.new_domain",
        "logon.type3",
        "proxy.corroborated",
        "webdav.client_activity",
        "followon.extraction",
        "followon.execution",
        "followon.persistence",
        "cab.executable_member",
        "cab.script_member",
        "cab.extension_mismatch",
        "cab.high_entropy",
        "cab.parser_differential",
        "cab.nested_archive",
        "cab.secret",
        "cab.checksum_mismatch",
        "fleet.rare_process",
        "fleet.rare_destination",
        "fleet.spread",
        "allowlist.match",
        "intel.match",  # a source, destination or staged hash listed in the local threat-intel input
    }
)


@dataclass
class Finding:
    """One named observation with the evidence that proves it; the unit of scoring."""

    id: str
    step: str
    title: str
    weight: int = 0
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step": self.step,
            "title": self.title,
            "weight": self.weight,
            "evidence": list(self.evidence),
        }


@dataclass
class SourceRef:
    """A file the job reads (command-line source or a DDF copy line), classified."""

    path: str
    kind: PathKind = "unknown"
    host: str | None = None
    port: int | None = None
    ip_literal: bool = False
    scope: Scope = "unknown"
    resolved: str | None = None  # as resolved against cwd / SourceDir / mapped drives
    via: str | None = None  # "cmdline" | DDF path that named it

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "ip_literal": self.ip_literal,
            "scope": self.scope,
            "resolved": self.resolved,
            "via": self.via,
        }


@dataclass
class CabinetRef:
    """A cabinet the job writes."""

    path: str
    ads: bool = False
    user_writable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ads": self.ads, "user_writable": self.user_writable}


@dataclass
class Related:
    """An event that corroborates or extends the alert, summarised for the timeline."""

    kind: str  # network | dns | file | process | logon | proxy | share | registry | tls
    timestamp: str
    summary: str
    event_uid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "@timestamp": self.timestamp,
            "summary": self.summary,
            "event_uid": self.event_uid,
        }


@dataclass
class Action:
    """A containment, prevention or recovery step tailored to the findings."""

    kind: str  # block_destination | quarantine_file | terminate_process | isolate_host | disable_webclient | app_control | rotate_credentials | review_change | ...
    target: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "reason": self.reason}


@dataclass
class RuleRef:
    id: str
    name: str
    slug: str
    uuid: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "slug": self.slug, "uuid": self.uuid}


@dataclass
class Alert:
    """One rule match on one process (or one correlated connection), and its investigation."""

    timestamp: str  # ISO 8601 UTC with milliseconds and 'Z'
    rule: RuleRef
    host: str | None
    user: str | None = None
    process: dict[str, Any] = field(default_factory=dict)  # ECS process.* (entity_id, pid, executable, name, command_line, parent{...}, working_directory, pe{original_file_name})
    techniques: list[str] = field(default_factory=lambda: ["T1105"])
    verdict: Verdict = "suspicious"
    score: int = 0
    why: str = ""
    sources: list[SourceRef] = field(default_factory=list)
    cabinets: list[CabinetRef] = field(default_factory=list)
    directive_files: list[str] = field(default_factory=list)
    working_directory: str | None = None
    findings: list[Finding] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    suppressed_by: dict[str, Any] | None = None
    event_uids: list[str] = field(default_factory=list)  # the matched records (evidence)
    destination: dict[str, Any] | None = None  # network rules: ip, port, domain, scope, ip_literal
    extra: dict[str, Any] = field(default_factory=dict)  # step outputs (ddf, cab analysis, lineage, ...)

    @property
    def id(self) -> str:
        """Stable id: the same rule on the same process/event always yields the same id."""
        anchor = self.process.get("entity_id") or ""
        if not anchor or self.rule.slug.endswith("network"):
            anchor = f"{anchor}|{','.join(sorted(self.event_uids))}"
        key = f"{self.rule.slug}|{self.host or ''}|{anchor}|{self.timestamp}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]

    def add(self, finding: Finding) -> None:
        """Add a finding once per id (a later duplicate merges its evidence)."""
        for existing in self.findings:
            if existing.id == finding.id:
                for ev in finding.evidence:
                    if ev not in existing.evidence:
                        existing.evidence.append(ev)
                return
        self.findings.append(finding)

    def finding_ids(self) -> list[str]:
        return [f.id for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        cab = self.cabinets[0].to_dict() if self.cabinets else None
        proc = dict(self.process)
        proc.setdefault("entity_id", None)
        proc.setdefault("pid", None)
        proc.setdefault("executable", None)
        proc.setdefault("name", None)
        proc.setdefault("command_line", None)
        proc.setdefault("parent", {"executable": None, "command_line": None})
        return {
            "@timestamp": self.timestamp,
            "event": {
                "kind": "alert",
                "id": self.id,
                "severity": self.score,
                "risk_score": self.score,
            },
            "rule": self.rule.to_dict(),
            "threat": {"technique": [{"id": t} for t in self.techniques]},
            "host": {"name": self.host},
            "user": {"name": self.user},
            "process": proc,
            "destination": self.destination,
            "cabhunt": {
                "verdict": self.verdict,
                "score": self.score,
                "why": self.why,
                "sources": [s.to_dict() for s in self.sources],
                "cabinet": cab,
                "cabinets": [c.to_dict() for c in self.cabinets],
                "directive_files": list(self.directive_files),
                "working_directory": self.working_directory,
                "findings": [f.to_dict() for f in self.findings],
                "related": [r.to_dict() for r in self.related],
                "actions": [a.to_dict() for a in self.actions],
                "suppressed_by": self.suppressed_by,
                "event_uids": list(self.event_uids),
                "extra": self.extra,
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict` (alerts kept in a store are re-investigated from it)."""
        c = d.get("cabhunt", {})
        alert = cls(
            timestamp=d["@timestamp"],
            rule=RuleRef(**d["rule"]),
            host=(d.get("host") or {}).get("name"),
            user=(d.get("user") or {}).get("name"),
            process=dict(d.get("process") or {}),
            techniques=[t["id"] for t in (d.get("threat") or {}).get("technique", [])],
            verdict=c.get("verdict", "suspicious"),
            score=int(c.get("score", 0)),
            why=c.get("why", ""),
            sources=[SourceRef(**s) for s in c.get("sources", [])],
            cabinets=[CabinetRef(**x) for x in c.get("cabinets", [])],
            directive_files=list(c.get("directive_files", [])),
            working_directory=c.get("working_directory"),
            findings=[Finding(**f) for f in c.get("findings", [])],
            related=[
                Related(kind=r["kind"], timestamp=r["@timestamp"], summary=r["summary"], event_uid=r.get("event_uid"))
                for r in c.get("related", [])
            ],
            actions=[Action(**a) for a in c.get("actions", [])],
            suppressed_by=c.get("suppressed_by"),
            event_uids=list(c.get("event_uids", [])),
            destination=d.get("destination"),
            extra=dict(c.get("extra", {})),
        )
        return alert

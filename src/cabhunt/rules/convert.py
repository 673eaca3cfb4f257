"""Convert the shipped rules to SIEM queries with the installed pySigma backends.

Every conversion loads a fresh rule collection (pipelines mutate rules in place) and uses one of
our own YAML pipelines (``pipelines/{sysmon,winlogbeat,ecs}.yml``), never a plugin pipeline
(``@Pipeline`` plugins share one process-wide instance). A rule a backend cannot express is
skipped with one warning line; and since SIEM queries cannot run the makecab grammar or the
network correlation, each converted playbook rule carries a note that it is the broad prefilter.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from cabhunt.rules.loader import LoadedCorrelation, LoadedRule, load_correlations, load_pipeline, load_rules

# target -> (module, backend class, default pipeline, comment prefix for text output)
TARGETS: dict[str, tuple[str, str, str, str | None]] = {
    "splunk": ("sigma.backends.splunk", "SplunkBackend", "sysmon", "```"),
    "esql": ("sigma.backends.elasticsearch", "ESQLBackend", "ecs", "//"),
    "eql": ("sigma.backends.elasticsearch", "EqlBackend", "ecs", "//"),
    "lucene": ("sigma.backends.elasticsearch", "LuceneBackend", "ecs", None),
    "kusto": ("sigma.backends.kusto", "KustoBackend", "sysmon", "//"),
    "databricks": ("sigma.backends.databricks", "DatabricksBackend", "ecs", "--"),
    "sqlite": ("sigma.backends.sqlite", "sqliteBackend", "sysmon", "--"),
}
PIPELINES: tuple[str, ...] = ("sysmon", "winlogbeat", "ecs")

_PREFILTER_NOTE = {
    "process_creation": (
        "converted query is the broad prefilter; cabhunt's semantic verification (makecab grammar, "
        "/D SourceDir, mapped drives, ADS and user-writable cabinets, scoring) is not expressed"
    ),
    "network_connection": (
        "converted query covers EID 3 by makecab/diantz image only; the ProcessGuid join to renamed "
        "copies and the 60 s correlation with System:445, WebClient svchost and DavSetCookie are done by cabhunt"
    ),
}


# How each backend evaluates a temporal correlation (from probing the installed backends).
_CORRELATION_NOTE: dict[str, str | None] = {
    "sqlite": None,  # sliding windows anchored on each event, like cabhunt
    "eql": "EQL 'sample by' has no time span: the 60 s window is not enforced by the converted query",
    "splunk": (
        "correlation counts in tumbling buckets (bin _time span=60s): a job and a connection that straddle "
        "a bucket edge are missed; cabhunt uses a sliding window anchored on each job"
    ),
    "esql": (
        "correlation counts in tumbling buckets (date_trunc 60s): pairs straddling a bucket edge are missed; "
        "cabhunt uses a sliding window anchored on each job"
    ),
}
_CORRELATION_PREFILTER = (
    "correlation prefilter only: cabhunt also requires the connection to reach a host the job names "
    "(destination name, IP or DNS answer)"
)


@dataclass
class Conversion:
    """One rule's converted query, or why there is none."""

    slug: str
    rule_id: str
    uuid: str
    name: str
    target: str
    pipeline: str
    queries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "id": self.rule_id,
            "uuid": self.uuid,
            "name": self.name,
            "target": self.target,
            "pipeline": self.pipeline,
            "queries": list(self.queries),
            "warnings": list(self.warnings),
            "error": self.error,
        }


def _backend(target: str, pipeline_name: str) -> Any:
    module, cls, _, _ = TARGETS[target]
    backend_cls = getattr(importlib.import_module(module), cls)
    return backend_cls(processing_pipeline=load_pipeline(pipeline_name))


def convert(target: str, pipeline: str | None = None, slugs: list[str] | None = None) -> list[Conversion]:
    """Convert the shipped rules (or ``slugs``) for ``target``; never raises for one bad rule."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (choose from {', '.join(TARGETS)})")
    pipe = pipeline or TARGETS[target][2]
    if pipe not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipe!r} (choose from {', '.join(PIPELINES)})")
    out: list[Conversion] = []
    for rule in load_rules(slugs):  # fresh parse: nothing shared between conversions
        out.append(convert_rule(rule, target, pipe))
    for corr in load_correlations(slugs):
        out.append(convert_correlation(corr, target, pipe))
    return out


def convert_correlation(corr: LoadedCorrelation, target: str, pipeline: str) -> Conversion:
    """One correlation rule (with the rules it references) as the target's correlation query."""
    from cabhunt.rules.loader import correlation_collection

    conv = Conversion(corr.slug, corr.rule_id, corr.uuid, corr.name, target, pipeline)
    conv.warnings.append(_CORRELATION_PREFILTER)
    note = _CORRELATION_NOTE.get(target)
    if note:
        conv.warnings.append(note)
    try:
        backend = _backend(target, pipeline)
        coll = correlation_collection(corr.path)
        keep = [r for r in coll.rules if str(r.id) == corr.uuid]
        coll.rules = [r for r in coll.rules if str(r.id) == corr.uuid or r.name in corr.rules]
        result = backend.convert(coll)
        conv.queries = [q if isinstance(q, str) else str(q) for q in result][-len(keep) :] if result else []
    except Exception as exc:
        conv.error = " ".join(f"{type(exc).__name__}: {exc}".split())
    return conv


def convert_rule(rule: LoadedRule, target: str, pipeline: str) -> Conversion:
    from cabhunt.rules.loader import parse_file

    conv = Conversion(rule.slug, rule.rule_id, rule.uuid, rule.name, target, pipeline)
    if rule.playbook and rule.category in _PREFILTER_NOTE:
        conv.warnings.append(_PREFILTER_NOTE[rule.category])
    try:
        backend = _backend(target, pipeline)
        coll = parse_file(rule.path)
        result = backend.convert(coll)
        conv.queries = [q if isinstance(q, str) else str(q) for q in result]
    except Exception as exc:  # a backend that cannot express the rule: warn, emit nothing wrong
        conv.error = " ".join(f"{type(exc).__name__}: {exc}".split())
    return conv


def comment_prefix(target: str) -> str | None:
    return TARGETS[target][3]

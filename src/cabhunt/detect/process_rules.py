"""Semantic verification of process-creation matches: the rule applies on meaning, not substrings.

Each prefilter match is re-read with :func:`cabhunt.windows.analyze_job` (the makecab grammar,
argv rules, ``/D SourceDir``, mapped drives, path classification). An alert is raised only for a
remote source or directive file, a DDF job (content unknown at this stage), an ADS cabinet, or a
user-writable cabinet in a suspicious context (suspicious parent, renamed or misplaced binary,
binary run from the network). Everything else the prefilter caught is "verified benign": local
packaging into non-user-writable places.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabhunt.detect.common import RuleIdentity, image_in_system_dir, new_alert, parent_suspicious
from cabhunt.detect.scoring_seed import score_alert, weight
from cabhunt.model import Alert, Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.windows import JobAnalysis, NetworkConfig, PathInfo

STEP = "input_semantics"
MAKER_RULE = {"makecab": "makecab_download_cab", "diantz": "diantz_download_cab"}

_NET_USE = re.compile(
    r"\buse\s+([a-z]:)\s+\"?((?:\\\\|//)[^\"\s]+)",
    re.IGNORECASE,
)


@dataclass
class Verified:
    """One cabinet-maker process after semantic verification (alerted or not)."""

    row: dict[str, Any]
    job: JobAnalysis
    alert: Alert | None
    named_hosts: list[tuple[str, str | None]] = field(default_factory=list)  # (host, ip when literal)


def parse_net_use(command_line: str | None) -> tuple[str, str] | None:
    """``net use X: \\\\host\\share`` -> ``("X:", "\\\\host\\share")``."""
    if not command_line:
        return None
    m = _NET_USE.search(command_line)
    if not m:
        return None
    return m.group(1).upper(), m.group(2).rstrip("\\/")


NET_USE_FLAG = "net_use"


def net_use_predicate(t: ir.Table) -> ir.BooleanValue:
    """Process creations of ``net use`` (drive mappings that make ``X:\\...`` paths remote).

    NULL where a column is missing (false in a WHERE, falsy as a flag): wrapping the conjunction
    in COALESCE would make the engine evaluate every part on every row.
    """
    return (
        t.event_code.isin([1, 4688])
        & t.process_name.lower().isin(["net.exe", "net1.exe"])
        & t.process_command_line.lower().contains(" use ")
    )


def mappings_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, list[tuple[datetime, str, str]]]:
    """Per host (lowercased), the ``net use`` mappings seen: (ts, "X:", "\\\\host\\share"), by time."""
    out: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.get("ts") or datetime.min)):
        parsed = parse_net_use(r.get("process_command_line"))
        if parsed and r.get("ts") is not None:
            out[str(r.get("host_name") or "").lower()].append((r["ts"], parsed[0], parsed[1]))
    return dict(out)


def drive_map_at(mappings: list[tuple[datetime, str, str]], ts: datetime | None) -> dict[str, str]:
    """The drive map in force at ``ts``: the latest mapping of each letter made before it."""
    current: dict[str, str] = {}
    for when, letter, unc in mappings:
        if ts is not None and when > ts:
            break
        current[letter] = unc
    return current


def verify(
    rows_by_slug: Mapping[str, list[dict[str, Any]]],
    rules: Mapping[str, RuleIdentity],
    *,
    mappings: Mapping[str, list[tuple[datetime, str, str]]] | None = None,
    net: NetworkConfig | None = None,
) -> list[Verified]:
    """Verify every process match once (a row matched by both makecab and diantz rules is one job)."""
    from cabhunt.windows import analyze_job, cab_maker

    seen: set[str] = set()
    out: list[Verified] = []
    for slug in ("makecab_download_cab", "diantz_download_cab"):
        for row in rows_by_slug.get(slug, []):
            uid = row.get("event_uid") or ""
            if uid in seen:
                continue
            seen.add(uid)
            image = row.get("process_executable")
            ofn = row.get("process_pe_original_file_name")
            maker = cab_maker(image, ofn)
            if maker is None:
                continue
            host = str(row.get("host_name") or "").lower()
            dmap = drive_map_at(list((mappings or {}).get(host, [])), row.get("ts"))
            job = analyze_job(
                row.get("process_command_line") or "",
                image=image,
                original_file_name=ofn,
                cwd=row.get("process_working_directory"),
                drive_map=dmap or None,
                net=net,
            )
            rule = rules[MAKER_RULE[maker]]
            out.append(_verify_one(row, job, rule))
    return out


def _finding(fid: str, title: str, evidence: list[str]) -> Finding:
    return Finding(id=fid, step=STEP, title=title, weight=weight(fid), evidence=evidence)


def _describe(p: PathInfo) -> str:
    where = f"{p.kind}"
    if p.host:
        where += f" host {p.host}"
    if p.port:
        where += f" port {p.port}"
    text = f"{p.written} ({where})"
    if p.resolved and p.resolved != p.written:
        text += f" -> {p.resolved}"
    return text


def semantic_findings(row: dict[str, Any], job: JobAnalysis) -> list[Finding]:
    """The findings the command line, image and parent prove by themselves."""
    from cabhunt.windows import is_renamed

    found: list[Finding] = []
    add = _adder(found)
    sources = list(job.sources)
    sd = job.source_dir
    sd_used = bool(getattr(job, "source_dir_used", True))  # a fully known DDF may never use it
    if sd is not None and sd.remote and sd_used and not any(s.via == "/D SourceDir" for s in sources):
        sources.append(sd)
    for s in sources:
        if not s.remote:
            continue
        from_ddf = s.via not in (None, "cmdline", "/D SourceDir", "/F")
        if from_ddf:
            add("ddf.remote_source", "A directive file copies a file from the network", _describe(s))
        else:
            add(f"source.{s.kind}", f"The job reads a {s.kind.upper()} source", _describe(s))
        _qualify(add, s)
    for d in job.directive_files:
        add("ddf.referenced", "The job runs a directive file (sources not on the command line)", _describe(d))
        if d.remote:
            add("ddf.remote", "The directive file is read from the network", _describe(d))
            _qualify(add, d)
    for c in job.cabinets:
        if c.ads:
            add("cabinet.ads", "The cabinet is written to an alternate data stream", c.best)
        if c.user_writable:
            add("cabinet.user_writable", "The cabinet lands in a user-writable location", c.best)
    image = row.get("process_executable")
    ofn = row.get("process_pe_original_file_name")
    if is_renamed(image, ofn):
        add("image.renamed", "A renamed copy of the cabinet maker", f"{image} (OriginalFileName {ofn})")
    if image_in_system_dir(image) is False:
        add("image.unexpected_path", "The cabinet maker runs from outside System32/SysWOW64", str(image))
    if parent_suspicious(row):
        parent = row.get("process_parent_executable") or row.get("process_parent_name")
        add("parent.suspicious", "Started by a script host, Office or another LOLBin", str(parent))
    uid = row.get("event_uid")
    if uid:
        for f in found:
            f.evidence.append(f"event {uid}")
    return found


def _adder(found: list[Finding]) -> Any:
    def add(fid: str, title: str, evidence: str) -> None:
        for f in found:
            if f.id == fid:
                if evidence not in f.evidence:
                    f.evidence.append(evidence)
                return
        found.append(_finding(fid, title, [evidence]))

    return add


def _qualify(add: Any, p: PathInfo) -> None:
    if p.ip_literal:
        add("source.ip_literal", "The remote host is a raw IP address", _describe(p))
    if p.scope == "external":
        add("source.external", "The remote host is outside the internal networks", _describe(p))
    if p.nonstandard_port:
        add("source.nonstandard_port", "The remote path names a non-standard port", _describe(p))


def should_alert(job: JobAnalysis, findings: list[Finding], row: dict[str, Any]) -> bool:
    """The T1105 rule's meaning: remote input, DDF job, ADS cabinet, or staging in context."""
    ids = {f.id for f in findings}
    if job.remote_input or job.directive_files or job.ads_cabinet:
        return True
    if any(s.remote for s in job.sources):
        return True
    image = str(row.get("process_executable") or "")
    if image.startswith(("\\\\", "//")) and "\\\\?\\" not in image[:4]:
        return True
    context = bool(ids & {"parent.suspicious", "image.renamed", "image.unexpected_path"})
    return "cabinet.user_writable" in ids and context


def named_hosts(job: JobAnalysis) -> list[tuple[str, str | None]]:
    """Hosts the job names (sources, directive files, SourceDir): what its traffic should reach."""
    out: list[tuple[str, str | None]] = []
    paths = [*job.sources, *job.directive_files]
    if job.source_dir is not None and getattr(job, "source_dir_used", True):
        paths.append(job.source_dir)
    for p in paths:
        if p.remote and p.host:
            key = (p.host.lower(), p.ip)
            if key not in out:
                out.append(key)
    return out


def _verify_one(row: dict[str, Any], job: JobAnalysis, rule: RuleIdentity) -> Verified:
    findings = semantic_findings(row, job)
    hosts = named_hosts(job)
    if not should_alert(job, findings, row):
        return Verified(row=row, job=job, alert=None, named_hosts=hosts)
    techniques = ["T1105"]
    if job.ads_cabinet:
        techniques.append("T1564.004")
    alert = new_alert(rule, row, techniques)
    for f in findings:
        alert.add(f)
    alert.sources = [s.to_source_ref() for s in job.sources]
    alert.cabinets = [c.to_cabinet_ref() for c in job.cabinets]
    alert.directive_files = [d.written for d in job.directive_files]
    alert.working_directory = job.cwd or row.get("process_working_directory")
    alert.extra["job"] = job.to_dict()
    alert.extra["maker"] = job.maker
    score_alert(alert)
    return Verified(row=row, job=job, alert=alert, named_hosts=hosts)


"""Step 2 - inputs and outputs: what the job read and wrote, including the DDF's own content.

Detection parses the command line; here the job is re-analysed with a DDF loader backed by the
artifacts folder, so sources named only inside a directive file (``.Set SourceDir=\\\\host\\share``
plus copy lines) become visible. When the DDF content is not available, ``ddf.referenced`` says
exactly what is unknown instead of pretending the job was local.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cabhunt.investigate.context import alert_time, basename, lower, step_note
from cabhunt.investigate.scoring import finding
from cabhunt.model import CabinetRef, SourceRef

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "input_semantics"
REMOTE_KINDS = {"smb", "webdav", "http"}


def _is_remote_path(path: str) -> bool:
    p = path.strip().strip('"')
    return p.startswith(("\\\\", "//")) or bool(re.match(r"^https?://", p, re.I))


def make_loader(alert: Alert, ctx: InvestigationContext) -> Callable[[str], bytes | None]:
    """``ddf_loader`` for :func:`cabhunt.windows.analyze_job`: artifacts by path, then by hash."""
    loaded: dict[str, Any] = alert.extra.setdefault("ddf_loaded", {})
    index = ctx.artifact_index()

    def load(win_path: str) -> bytes | None:
        if index is None:
            return None
        found = index.by_path(alert.host, win_path)
        if found is None:
            for digest in _hashes_for_path(alert, ctx, win_path):
                found = index.by_sha256(digest)
                if found is not None:
                    break
        if found is None:
            return None
        try:
            data = found.read_bytes()
        except OSError as exc:
            ctx.problems.add(found, f"cannot read DDF artifact: {exc.strerror or exc}")
            return None
        loaded[win_path] = {"artifact": str(found), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return data

    return load


def _hashes_for_path(alert: Alert, ctx: InvestigationContext, win_path: str) -> list[str]:
    """SHA-256 values EID 11/15 logged for a file with this name on the alert's host."""
    name = lower(basename(win_path))
    out = []
    for ev in ctx.host_events(alert.host, alert_time(alert)):
        if ev.get("event_code") in (11, 15) and ev.get("file_hash_sha256"):
            fp = lower(ev.get("file_path"))
            if fp == lower(win_path) or basename(fp) == name:
                out.append(lower(ev["file_hash_sha256"]))
    return out


def _source_findings(alert: Alert, sources: list[SourceRef]) -> list[Finding]:
    out: list[Finding] = []
    for s in sources:
        ev = [s.path] + ([f"via {s.via}"] if s.via and s.via != "cmdline" else [])
        if s.kind == "smb":
            out.append(finding("source.smb", STEP, f"reads files from an SMB share on {s.host}", ev))
        elif s.kind == "webdav":
            out.append(finding("source.webdav", STEP, f"reads files over WebDAV from {s.host}", ev))
        elif s.kind == "http":
            out.append(finding("source.http", STEP, f"names an HTTP(S) source on {s.host}", ev))
        if s.ip_literal:
            out.append(finding("source.ip_literal", STEP, f"source host is a raw IP address ({s.host})", ev))
        if s.scope == "external":
            out.append(finding("source.external", STEP, f"source host {s.host} is outside the organisation", ev))
        if s.port is not None and s.kind in REMOTE_KINDS and s.port not in (80, 443, 445):
            out.append(finding("source.nonstandard_port", STEP, f"source uses non-standard port {s.port}", ev))
    return out


def _cabinet_findings(cabinets: list[CabinetRef]) -> list[Finding]:
    out: list[Finding] = []
    for c in cabinets:
        if c.user_writable:
            out.append(finding("cabinet.user_writable", STEP, "cabinet written to a user-writable folder", [c.path]))
        if c.ads:
            out.append(finding("cabinet.ads", STEP, "cabinet hidden in an alternate data stream", [c.path]))
    return out


def _job_facts(job: Any) -> dict[str, Any]:
    inv = getattr(job, "invocation", None)
    defines = list(getattr(inv, "defines", None) or [])
    facts: dict[str, Any] = {
        "mode": getattr(inv, "mode", None),
        "defines": [list(d) if isinstance(d, tuple | list) else d for d in defines],
        "verbosity": getattr(inv, "verbosity", None),
        "compression_type": None,
    }
    for d in defines:
        if isinstance(d, tuple | list) and len(d) == 2 and lower(d[0]) == "compressiontype":
            facts["compression_type"] = d[1]
    ddf = getattr(job, "ddf", None)
    variables = getattr(ddf, "variables", None)
    if isinstance(variables, dict):
        for k, v in variables.items():
            if lower(k) == "compressiontype":
                facts["compression_type"] = v
        facts["ddf_variables"] = {str(k): str(v) for k, v in variables.items()}
    return facts


def _refs_from_job(job: Any) -> tuple[list[SourceRef], list[CabinetRef], list[Any]]:
    sources = [p.to_source_ref() for p in getattr(job, "sources", []) or []]
    cabinets = [p.to_cabinet_ref() for p in getattr(job, "cabinets", []) or []]
    ddfs = list(getattr(job, "directive_files", []) or [])
    return sources, cabinets, ddfs


def _path_of(obj: Any) -> str:
    for attr in ("written", "path", "resolved"):
        v = getattr(obj, attr, None)
        if isinstance(v, str) and v:
            return v
    return str(obj)


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    cmd = alert.process.get("command_line")
    findings: list[Finding] = []
    job = None
    if cmd:
        try:
            from cabhunt.windows import analyze_job
        except ImportError:
            step_note(alert, STEP, "cabhunt.windows not available: kept detection's parse, DDF content not read")
        else:
            try:
                job = analyze_job(
                    cmd,
                    image=alert.process.get("executable"),
                    original_file_name=(alert.process.get("pe") or {}).get("original_file_name"),
                    cwd=alert.working_directory or alert.process.get("working_directory"),
                    drive_map=drive_map(alert, ctx) or None,
                    net=ctx.net,
                    ddf_loader=make_loader(alert, ctx),
                )
            except Exception as exc:  # analysed content must never stop the investigation
                step_note(alert, STEP, f"job analysis failed: {type(exc).__name__}: {exc}")
    else:
        step_note(alert, STEP, "no command line known for this process")
    ddf_paths: list[str] = list(alert.directive_files)
    unknown: list[str] = []
    if job is not None:
        sources, cabinets, ddfs = _refs_from_job(job)
        sources = _keep_richer(alert.sources, sources)
        if sources or not alert.sources:
            alert.sources = _merge_sources(alert.sources, sources)
        if cabinets or not alert.cabinets:
            alert.cabinets = cabinets or alert.cabinets
        ddf_paths = [_path_of(d) for d in ddfs] or ddf_paths
        alert.directive_files = ddf_paths
        unknown = [str(u) for u in getattr(job, "ddf_unknown", []) or []]
        alert.extra["job"] = _job_facts(job)
        for d in ddfs:
            kind = getattr(d, "kind", None)
            if kind in REMOTE_KINDS or (kind is None and _is_remote_path(_path_of(d))):
                findings.append(finding("ddf.remote", STEP, "the directive file itself is read from a remote share",
                                        [_path_of(d)]))
    else:
        unknown = list(alert.directive_files)
        for d in alert.directive_files:
            if _is_remote_path(d):
                findings.append(finding("ddf.remote", STEP, "the directive file itself is read from a remote share", [d]))
    ddf_sources = [s for s in alert.sources if s.via and s.via not in ("cmdline", "/D SourceDir")]
    remote_ddf = [s for s in ddf_sources if s.kind in REMOTE_KINDS]
    if remote_ddf:
        findings.append(finding("ddf.remote_source", STEP,
                                f"the directive file names {len(remote_ddf)} remote source(s)",
                                [s.path for s in remote_ddf][:20]))
    if len(ddf_sources) >= ctx.bulk_sources:
        findings.append(finding("ddf.bulk_sources", STEP, f"the directive file stages {len(ddf_sources)} files",
                                [f"{len(ddf_sources)} sources", *[s.path for s in ddf_sources][:10]]))
    if unknown:
        findings.append(finding(
            "ddf.referenced", STEP,
            "directive file referenced but its content is not available",
            [f"{u}: content not in artifacts; sources, cabinet names and remote references it sets are unknown"
             for u in unknown],
        ))
    elif ddf_paths and job is not None:
        findings.append(finding("ddf.referenced", STEP, "directive file referenced (content read from artifacts)",
                                [f"{p}: read" for p in ddf_paths]))
    findings += _source_findings(alert, alert.sources) + _cabinet_findings(alert.cabinets)
    return findings


NET_USE = re.compile(r"\buse\s+([A-Za-z]:)\s+\"?(\\\\[^\s\"]+)", re.I)


def drive_map(alert: Alert, ctx: InvestigationContext) -> dict[str, str]:
    """Drive letters mapped with ``net use X: \\\\host\\share`` on the host before the job (latest wins)."""
    at = alert_time(alert)
    index = ctx.processes(alert.host, at)
    out: dict[str, str] = {}
    if index is None:
        return out
    rows = [r for rows in index.by_pid.values() for r in rows
            if lower(r.get("process_name")) in ("net.exe", "net1.exe") and r.get("ts") is not None and r["ts"] <= at]
    for r in sorted(rows, key=lambda r: r["ts"]):
        m = NET_USE.search(r.get("process_command_line") or "")
        if m:
            out[m.group(1).upper()] = m.group(2).rstrip("\\")
    if out:
        alert.extra["drive_map"] = out
    return out


def _keep_richer(old: list[SourceRef], new: list[SourceRef]) -> list[SourceRef]:
    """Where the seed already resolved a source as remote (e.g. through a mapping), keep that reading."""
    by_path = {lower(s.path): s for s in old}
    out = []
    for s in new:
        prev = by_path.get(lower(s.path))
        out.append(prev if prev is not None and s.kind == "local" and prev.kind in REMOTE_KINDS else s)
    return out


def _merge_sources(old: list[SourceRef], new: list[SourceRef]) -> list[SourceRef]:
    seen = {(lower(s.path), s.via) for s in new}
    return new + [s for s in old if (lower(s.path), s.via) not in seen and lower(s.path) not in {lower(n.path) for n in new}]

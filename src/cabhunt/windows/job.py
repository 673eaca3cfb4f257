"""One call per process-creation event: what a makecab/diantz job reads, writes and references.

Detection and investigation both need the same answer — every source, cabinet and directive
file, resolved against the working directory and mapped drives and classified — so it is
computed here once. DDF content comes from a loader (the artifacts folder during investigation);
when it is missing, the command line still tells a lot (``/D SourceDir=\\\\host\\share``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cabhunt.windows.ddf import DdfResult, interpret_ddf
from cabhunt.windows.hosts import NetworkConfig
from cabhunt.windows.invocation import Invocation, parse_invocation
from cabhunt.windows.paths import PathInfo, classify_path, join

DdfLoader = Callable[[str], bytes | None]


@dataclass
class JobAnalysis:
    invocation: Invocation
    cwd: str | None = None
    sources: list[PathInfo] = field(default_factory=list)
    cabinets: list[PathInfo] = field(default_factory=list)
    directive_files: list[PathInfo] = field(default_factory=list)
    source_dir: PathInfo | None = None  # /D SourceDir from the command line, classified
    # False when the job provably reads nothing through it (DDF fully known and no copy line
    # used it, or an absolute single-file source)
    source_dir_used: bool = True
    ddf: DdfResult | None = None
    ddf_unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def maker(self) -> str | None:
        return self.invocation.maker

    @property
    def remote_sources(self) -> list[PathInfo]:
        return [s for s in self.sources if s.remote]

    @property
    def remote_directive_files(self) -> list[PathInfo]:
        return [d for d in self.directive_files if d.remote]

    @property
    def remote_input(self) -> bool:
        """Any source, directive file or SourceDir crosses the network."""
        sd = self.source_dir
        return bool(self.remote_sources or self.remote_directive_files or (sd is not None and sd.remote and self.source_dir_used))

    @property
    def ads_cabinet(self) -> bool:
        return any(c.ads for c in self.cabinets)

    @property
    def flagged(self) -> bool:
        """cabhunt's parser verdict for a cabinet maker: remote input or an ADS cabinet."""
        return self.maker is not None and (self.remote_input or self.ads_cabinet)

    def to_dict(self) -> dict[str, Any]:
        return {
            "invocation": self.invocation.to_dict(),
            "working_directory": self.cwd,
            "sources": [s.to_dict() for s in self.sources],
            "cabinets": [c.to_dict() for c in self.cabinets],
            "directive_files": [d.to_dict() for d in self.directive_files],
            "source_dir": self.source_dir.to_dict() if self.source_dir else None,
            "source_dir_used": self.source_dir_used,
            "ddf": self.ddf.to_dict() if self.ddf else None,
            "ddf_unknown": list(self.ddf_unknown),
            "remote_input": self.remote_input,
            "ads_cabinet": self.ads_cabinet,
            "flagged": self.flagged,
            "notes": list(self.notes),
        }


def analyze_job(
    command_line: str,
    *,
    image: str | None = None,
    original_file_name: str | None = None,
    cwd: str | None = None,
    drive_map: Mapping[str, str] | None = None,
    net: NetworkConfig | None = None,
    ddf_loader: DdfLoader | None = None,
) -> JobAnalysis:
    """Parse, resolve and classify one job; never raises (internal errors become ``notes``)."""
    inv = parse_invocation(command_line, image, original_file_name)
    job = JobAnalysis(invocation=inv, cwd=cwd or None)
    try:
        _analyze(job, drive_map, net, ddf_loader)
    except Exception as exc:  # defensive: a bug here must not lose the event
        job.notes.append(f"internal error: {type(exc).__name__}: {exc}")
    return job


def _analyze(
    job: JobAnalysis, drive_map: Mapping[str, str] | None, net: NetworkConfig | None, loader: DdfLoader | None
) -> None:
    inv = job.invocation
    cwd = job.cwd

    def classify(path: str, via: str | None) -> PathInfo:
        return classify_path(path, cwd, drive_map, net).with_via(via)

    source_dir_value = inv.define("SourceDir")
    if source_dir_value:
        job.source_dir = classify(source_dir_value, "/D SourceDir")

    for written in inv.directive_files:
        job.directive_files.append(classify(written, "/F"))

    if inv.source is not None:
        job.sources.append(classify(inv.source, "cmdline"))
        src = job.sources[0]
        if source_dir_value and src.relative:
            # Whether single-file mode honours SourceDir is not documented: keep both readings.
            job.sources.append(classify(join(source_dir_value, inv.source), "/D SourceDir"))
            job.notes.append("single-file source is relative and /D SourceDir is set: both readings kept")
    if inv.cabinet is not None:
        job.cabinets.append(classify(inv.cabinet, "cmdline"))
    if inv.alternate is not None:
        _add_alternate(job, inv.alternate, classify)

    if not inv.directive_files:
        if job.source_dir is not None and not (job.sources and job.sources[0].relative):
            job.source_dir_used = False
        return
    texts: list[tuple[str, bytes | str]] = []
    for info in job.directive_files:
        content = _load(loader, info, job)
        if content is None:
            job.ddf_unknown.append(info.written)
        else:
            texts.append((info.written, content))
    if texts:
        job.ddf = interpret_ddf(texts, inv.defines, cwd)
        for f in job.ddf.files:
            job.sources.append(classify(f.source_path, f.file))
        if job.source_dir is not None and not job.ddf_unknown:
            used = {d.lower() for d in job.ddf.source_dirs}
            job.source_dir_used = job.source_dir.written.lower() in used
        seen: set[str] = set()
        for cab in job.ddf.cabinets:
            key = cab.path.lower()
            if key not in seen:
                seen.add(key)
                job.cabinets.append(classify(cab.path, "ddf"))
    # DDF content unknown: the SourceDir location itself is what the job reads from.
    sd = job.source_dir
    if job.ddf_unknown and sd is not None and sd.remote and not any(s.via == "/D SourceDir" for s in job.sources):
        job.sources.append(sd)


def _add_alternate(job: JobAnalysis, alt: Invocation, classify: Callable[[str, str | None], PathInfo]) -> None:
    """Paths only the CommandLineToArgvW reading of the quotes yields: keep them too."""
    via = "cmdline (alternate quoting)"
    if alt.source is not None and alt.source not in {s.written for s in job.sources}:
        job.sources.append(classify(alt.source, via))
    if alt.cabinet is not None and alt.cabinet not in {c.written for c in job.cabinets}:
        job.cabinets.append(classify(alt.cabinet, via))
    for written in alt.directive_files:
        if written not in {d.written for d in job.directive_files}:
            job.directive_files.append(classify(written, via))
    sd = alt.define("SourceDir")
    if sd and (job.source_dir is None or job.source_dir.written != sd):
        info = classify(sd, "/D SourceDir")
        if job.source_dir is None or (info.remote and not job.source_dir.remote):
            job.source_dir = info


def _load(loader: DdfLoader | None, info: PathInfo, job: JobAnalysis) -> bytes | str | None:
    if loader is None:
        return None
    candidates = [info.resolved, info.written] if info.resolved and info.resolved != info.written else [info.written]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            data = loader(candidate)
        except Exception as exc:
            job.notes.append(f"ddf loader failed for {candidate}: {type(exc).__name__}: {exc}")
            continue
        if data is not None:
            return data
    return None

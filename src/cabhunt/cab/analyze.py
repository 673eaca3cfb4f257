"""Member analysis: the ``cab inspect`` document for one file.

Each folder is decoded once and its members are hashed as the bytes stream past (MD5, SHA-1,
SHA-256, byte histogram); a member is kept whole only up to ``Limits.analysis_buffer`` for the
checks that need it (PE, secrets, nested archives). Nested cabinets and zips are analysed the
same way, to a bounded depth and size. Nothing found in a cabinet is executed or opened.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cabhunt.cab.c_cab import COMP_NAMES, attribute_names
from cabhunt.cab.content import (
    ARCHIVE_TYPES,
    COMPRESSED_TYPES,
    EntropyCounter,
    extension_mismatch,
    round_entropy,
    script_kind,
    sniff,
    text_of,
)
from cabhunt.cab.errors import CabError, CabFormatError
from cabhunt.cab.folder import stream_members
from cabhunt.cab.forensics import Finding, cabinet_document, timestamp
from cabhunt.cab.limits import Budget, Limits
from cabhunt.cab.names import decode_name
from cabhunt.cab.pe import pe_facts
from cabhunt.cab.reader import Buffer, Cabinet, load, parse_cabinet
from cabhunt.cab.search import find_cabinets
from cabhunt.cab.secrets import scan_text
from cabhunt.cab.sets import CabSet, Member, build_set

HEAD = 65536
HIGH_ENTROPY = 7.2
HIGH_ENTROPY_MIN_SIZE = 4096
MAX_ZIP_ENTRIES = 1000


@dataclass
class Context:
    limits: Limits
    depth: int = 0
    prefix: str = ""  # "outer.cab/inner.zip/" for nested members
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class AnalysisSink:
    """Hashes and histograms one member while it streams; keeps a bounded copy.

    The member is described as soon as its last byte arrives and the copy is dropped, so a
    solid folder with many members holds at most the members being streamed at that moment.
    """

    def __init__(self, keep: int, doc: dict[str, Any], ctx: Context) -> None:
        self.doc = doc
        self.ctx = ctx
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.hist = EntropyCounter()
        self.keep = keep
        self.parts: list[bytes] = []
        self.kept = 0
        self.truncated = False
        self.done = False
        self.error: str | None = None

    def write(self, data: bytes) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.sha256.update(data)
        self.hist.update(data)
        room = self.keep - self.kept
        if room > 0:
            piece = data[:room]
            self.parts.append(piece)
            self.kept += len(piece)
        if len(data) > room:
            self.truncated = True

    def close(self) -> None:
        self.done = True
        doc = self.doc
        doc["status"] = "ok"
        doc["md5"], doc["sha1"], doc["sha256"] = self.md5.hexdigest(), self.sha1.hexdigest(), self.sha256.hexdigest()
        doc["entropy"] = round_entropy(self.hist.entropy())
        data = self.content()
        self.parts = []
        try:
            describe_content(doc, data, self.truncated, self.ctx)
        except CabError as exc:  # a nested archive's trouble must not abort the outer folder
            doc["error"] = f"content analysis failed: {exc}"
            self.ctx.errors.append(f"{self.ctx.prefix}{doc['name']}: {doc['error']}")

    def abort(self, reason: str) -> None:
        self.error = reason
        self.parts = []

    def content(self) -> bytes:
        return b"".join(self.parts)


def _member_base(member: Member, cset: CabSet) -> dict[str, Any]:
    f = member.entry
    name, name_problem = decode_name(f.name_raw, f.attribs)
    date, date_error = timestamp(f)
    folder = cset.folders[member.folder] if member.folder is not None and member.folder < len(cset.folders) else None
    cab = cset.cabinets[member.cab_index]
    doc: dict[str, Any] = {
        "name": name,
        "name_hex": f.name_raw.hex() if not f.name_raw.isascii() or name_problem else None,
        "name_problem": name_problem,
        "size": f.cb_file,
        "offset": f.uoff_folder_start,
        "date": date,
        "date_error": date_error,
        "attributes": attribute_names(f.attribs),
        "attribs": f"0x{f.attribs:04x}",
        "folder": member.folder,
        "compression": folder.folder.describe() if folder else None,
        "cabinet": str(cab.path.name) if cab.path and len(cset.cabinets) > 1 else None,
        "hidden": member.hidden,
        "status": "pending",
        "error": None,
        "md5": None, "sha1": None, "sha256": None,
        "type": None, "mime": None, "entropy": None,
        "extension_mismatch": None, "script": None, "pe": None, "nested": None, "secrets": [],
    }
    if folder is not None:
        doc["compression_method"] = COMP_NAMES.get(folder.folder.method, "unknown")
    return doc


def describe_content(doc: dict[str, Any], data: bytes, truncated: bool, ctx: Context) -> None:
    """Type, script, mismatch, PE, secrets, nested archive of a member's (possibly partial) bytes."""
    name = ctx.prefix + doc["name"]
    ctype = sniff(data[:HEAD], doc["name"])
    doc["type"], doc["mime"], doc["type_description"] = ctype.type, ctype.mime, ctype.description
    kind, how = script_kind(doc["name"], data[:HEAD], ctype)
    if kind:
        doc["script"] = {"kind": kind, "detected_by": how}
        ctx.findings.append(Finding("cab.script_member", f"{kind} script member", member=name,
                                    evidence=[f"{name} ({kind}, by {how}) sha256 {doc['sha256']}"]))
    why = extension_mismatch(doc["name"], ctype)
    doc["extension_mismatch"] = why
    if why:
        ctx.findings.append(Finding("cab.extension_mismatch", "extension does not match content", member=name,
                                    evidence=[f"{name}: {why}"]))
    if ctype.type in ("pe", "mz", "elf", "macho"):
        if ctype.type == "pe":
            doc["pe"] = pe_facts(data, truncated)
        pe = doc["pe"] or {}
        detail = ", ".join(f"{k} {pe[k]}" for k in ("machine", "timestamp", "imphash", "signed") if k in pe)
        ctx.findings.append(Finding("cab.executable_member", f"{ctype.type.upper()} executable member", member=name,
                                    evidence=[f"{name} sha256 {doc['sha256']}" + (f" ({detail})" if detail else "")]))
    entropy = doc["entropy"]
    if (entropy is not None and entropy >= HIGH_ENTROPY and doc["size"] >= HIGH_ENTROPY_MIN_SIZE
            and ctype.type not in COMPRESSED_TYPES):
        ctx.findings.append(Finding("cab.high_entropy", "high-entropy member (packed or encrypted?)", member=name,
                                    evidence=[f"{name}: entropy {entropy:.3f} bits/byte over {doc['size']} bytes, "
                                              f"type {ctype.type}"]))
    if ctype.type == "text":
        text = text_of(data)
        hits = scan_text(text) if text else []
        doc["secrets"] = [h.to_dict() for h in hits]
        if hits:
            ctx.findings.append(Finding("cab.secret", "credentials or keys in a member", member=name,
                                        evidence=[f"{name} line {h.line}: {h.kind}: {h.preview}" for h in hits[:10]]))
    if ctype.type in ARCHIVE_TYPES:
        ctx.findings.append(Finding("cab.nested_archive", f"nested {ctype.type} archive", member=name,
                                    evidence=[f"{name} ({ctype.type}, {doc['size']} bytes)"]))
        doc["nested"] = _nested(doc, data, truncated, ctype.type, ctx)


def _nested(doc: dict[str, Any], data: bytes, truncated: bool, kind: str, ctx: Context) -> dict[str, Any] | None:
    if kind not in ("cab", "zip"):
        return {"type": kind, "analysed": False, "reason": "listing only cab and zip archives"}
    if ctx.depth >= ctx.limits.max_depth:
        return {"type": kind, "analysed": False, "reason": f"depth limit {ctx.limits.max_depth}"}
    if truncated or len(data) > ctx.limits.nested_max_size:
        return {"type": kind, "analysed": False, "reason": f"larger than {ctx.limits.nested_max_size} bytes"}
    nested_limits = replace(
        ctx.limits,
        max_member=min(ctx.limits.max_member, ctx.limits.nested_max_size),
        max_total=min(ctx.limits.max_total, 4 * ctx.limits.nested_max_size),
        follow_sets=False,
    )
    sub = Context(nested_limits, ctx.depth + 1, ctx.prefix + doc["name"] + "/")
    if kind == "cab":
        try:
            cabs = [parse_cabinet(data, 0, None)]
        except CabError as exc:
            return {"type": kind, "analysed": False, "reason": f"not a readable cabinet: {exc}"}
        result = _analyse_cabinets(cabs, sub)
    else:
        result = _analyse_zip(data, sub)
    ctx.findings.extend(sub.findings)
    ctx.errors.extend(sub.errors)
    return {"type": kind, "analysed": True, **result}


def _analyse_zip(data: bytes, ctx: Context) -> dict[str, Any]:
    members: list[dict[str, Any]] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        return {"error": f"not a readable zip: {exc}", "members": []}
    total = 0
    for info in infos[:MAX_ZIP_ENTRIES]:
        doc: dict[str, Any] = {"name": info.filename, "size": info.file_size, "compressed_size": info.compress_size,
                               "date": "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*info.date_time), "status": "pending",
                               "error": None, "entropy": None, "sha256": None, "md5": None, "sha1": None,
                               "type": None, "script": None, "pe": None, "nested": None, "secrets": []}
        members.append(doc)
        if info.is_dir():
            doc["status"] = "directory"
            continue
        if info.file_size > ctx.limits.max_member or total + info.file_size > ctx.limits.max_total:
            doc.update(status="refused", error=f"declared size {info.file_size} exceeds the caps")
            continue
        try:
            with archive.open(info) as fh:
                blob = fh.read(info.file_size + 1)
        except Exception as exc:  # zipfile raises many types on corrupt/encrypted entries
            doc.update(status="error", error=f"cannot read: {exc}")
            continue
        if len(blob) > info.file_size:
            doc.update(status="error", error="entry is larger than declared")
            continue
        total += len(blob)
        _fill_hashes(doc, blob)
        doc["status"] = "ok"
        describe_content(doc, blob, False, ctx)
    return {"members": members, "entries": len(infos)}


def _fill_hashes(doc: dict[str, Any], blob: bytes) -> None:
    doc["md5"] = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    doc["sha1"] = hashlib.sha1(blob, usedforsecurity=False).hexdigest()
    doc["sha256"] = hashlib.sha256(blob).hexdigest()
    counter = EntropyCounter()
    counter.update(blob)
    doc["entropy"] = round_entropy(counter.entropy())


def _analyse_set(cset: CabSet, ctx: Context) -> list[dict[str, Any]]:
    limits = ctx.limits
    budget = Budget(limits, cset.input_size())
    docs = {id(m): _member_base(m, cset) for m in cset.members}
    sinks: dict[int, AnalysisSink] = {}
    declared = 0

    def open_sink(member: Member) -> AnalysisSink | str:
        nonlocal declared
        if member.size > limits.max_member:
            return f"declared size {member.size} exceeds the per-member cap {limits.max_member}; not decoded"
        if declared + member.size > limits.max_total:
            return f"declared sizes pass the total cap {limits.max_total}; not decoded"
        declared += member.size
        sink = AnalysisSink(limits.analysis_buffer, docs[id(member)], ctx)
        sinks[id(member)] = sink
        return sink

    for outcome in stream_members(cset, budget, open_sink):
        doc = docs[id(outcome.member)]
        sink = sinks.get(id(outcome.member))
        if not outcome.ok or sink is None:
            doc["status"] = "refused" if sink is None and not outcome.member.error else "error"
            doc["error"] = outcome.reason
            ctx.errors.append(f"{ctx.prefix}{doc['name']}: {outcome.reason}")
    return [docs[id(m)] for m in cset.members]


def _analyse_cabinets(cabs: list[Cabinet], ctx: Context) -> dict[str, Any]:
    cabinets: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for cab in cabs:
        cset = build_set(cab, follow=ctx.limits.follow_sets)
        cdoc, findings = cabinet_document(cset, cab, standalone=len(cabs) == 1 and cab.base == 0)
        for f in findings:
            f.member = f.member or (ctx.prefix.rstrip("/") or None)
        ctx.findings.extend(findings)
        cabinets.append(cdoc)
        for m in _analyse_set(cset, ctx):
            if len(cabs) > 1:
                m["cabinet_offset"] = cab.base
            members.append(m)
    return {"cabinet": cabinets[0] if cabinets else None,
            **({"cabinets": cabinets} if len(cabinets) > 1 else {}),
            "members": members}


def _file_hash(buf: Buffer) -> str:
    digest = hashlib.sha256()
    view = memoryview(buf)  # type: ignore[arg-type]
    for start in range(0, len(buf), 1 << 20):
        digest.update(view[start : start + (1 << 20)])
    return digest.hexdigest()


def analyze_file(
    path: Path | str | bytes, *, limits: Limits | None = None, search: bool = False
) -> dict[str, Any]:
    """The inspect document of one file (or of bytes); raises CabFormatError when it holds no cabinet."""
    limits = limits or Limits()
    buf, real = load(path)
    if search:
        cabs = find_cabinets(buf, real)
        if not cabs:
            raise CabFormatError("no cabinet found (searched the whole file)")
    else:
        try:
            cabs = [parse_cabinet(buf, 0, real)]
        except CabFormatError as exc:
            raise CabFormatError(f"{exc} (use --search for embedded cabinets)") from exc
    ctx = Context(limits)
    result = _analyse_cabinets(cabs, ctx)
    return {
        "path": str(path) if not isinstance(path, bytes) else None,
        "sha256": _file_hash(buf),
        "size": len(buf),
        **result,
        "findings": [f.to_dict() for f in ctx.findings],
        "errors": ctx.errors,
    }

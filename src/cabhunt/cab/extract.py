"""Safe extraction: every member under one directory, with caps, and a report of what happened.

Names are made safe first (names.py) and every final path is checked to stay under the output
directory; directories are created one level at a time and a symlink anywhere on the way is a
refusal, files are created with O_EXCL|O_NOFOLLOW and never made executable. A member whose
declared size passes a cap is refused before any decoding; decoding itself is capped by total
output and expansion ratio (limits.py). Nothing extracted is ever opened or run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from cabhunt.cab.errors import CabError, CabFormatError
from cabhunt.cab.folder import stream_members
from cabhunt.cab.forensics import cabinet_document, timestamp
from cabhunt.cab.limits import Budget, Limits
from cabhunt.cab.names import NameAllocator, SafeName, decode_name, make_safe
from cabhunt.cab.reader import Cabinet, load, parse_cabinet
from cabhunt.cab.search import find_cabinets
from cabhunt.cab.sets import Member, build_set

HIDDEN_PREFIX = "_coffFiles_table"
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_BINARY = getattr(os, "O_BINARY", 0)


class UnsafeDestinationError(CabError):
    """The output directory (or a path inside it) is not safe to write to."""


def check_destination(to: Path) -> Path:
    """Create ``to`` if needed and refuse it when any existing component is a symlink."""
    absolute = Path(os.path.abspath(to))
    probe = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        probe = probe / part
        if probe.is_symlink():
            raise UnsafeDestinationError(f"output directory path contains a symlink: {probe}")
        if probe.exists() and not probe.is_dir():
            raise UnsafeDestinationError(f"output path component is not a directory: {probe}")
    absolute.mkdir(parents=True, exist_ok=True)
    return absolute


def _inside(root: Path, rel: str) -> Path:
    """The absolute path of ``rel`` under ``root``; refuses anything that would leave it."""
    target = Path(os.path.normpath(os.path.join(root, rel)))
    if os.path.commonpath([root, target]) != str(root) or target == root:
        raise UnsafeDestinationError(f"{rel!r} resolves outside the output directory")
    return target


def _make_parents(root: Path, target: Path) -> None:
    """Create the directories between ``root`` and ``target``, refusing symlinks and files."""
    rel = target.relative_to(root).parts[:-1]
    probe = root
    for part in rel:
        probe = probe / part
        try:
            st = os.lstat(probe)
        except FileNotFoundError:
            os.mkdir(probe, 0o755)
            continue
        if os.path.islink(probe):
            raise UnsafeDestinationError(f"refusing to write through symlink {probe}")
        if not os.path.isdir(probe):
            raise UnsafeDestinationError(f"{probe} exists and is not a directory")
        del st


class FileSink:
    """Writes one member; opens the file on first use so only streaming members hold a handle."""

    def __init__(self, root: Path, target: Path, mtime: float | None) -> None:
        self.root = root
        self.target = target
        self.mtime = mtime
        self.fd: int | None = None
        self.sha256 = hashlib.sha256()
        self.written = 0
        self.error: str | None = None

    def _open(self) -> int:
        if self.fd is None:
            _make_parents(self.root, self.target)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_BINARY
            self.fd = os.open(self.target, flags, 0o644)
        return self.fd

    def write(self, data: bytes) -> None:
        if self.error:
            return
        try:
            fd = self._open()
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except (OSError, UnsafeDestinationError) as exc:
            self.error = f"cannot write {self.target}: {exc}"
            return
        self.sha256.update(data)
        self.written += len(data)

    def close(self) -> None:
        if self.error:
            self._discard()
            return
        try:
            fd = self._open()
            os.close(fd)
            self.fd = None
            if self.mtime is not None:
                os.utime(self.target, (self.mtime, self.mtime), follow_symlinks=False)
        except (OSError, UnsafeDestinationError) as exc:
            self.error = f"cannot write {self.target}: {exc}"
            self._discard()

    def abort(self, reason: str) -> None:
        self.error = self.error or reason
        self._discard()

    def _discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            with contextlib.suppress(OSError):
                os.unlink(self.target)


def _mtime(member: Member) -> float | None:
    iso, _err = timestamp(member.entry)
    if iso is None:
        return None
    try:
        return time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def _cabinets(path: Path | str, search: bool) -> list[Cabinet]:
    buf, real = load(path)
    if search:
        cabs = find_cabinets(buf, real)
        if not cabs:
            raise CabFormatError("no cabinet found (searched the whole file)")
        return cabs
    return [parse_cabinet(buf, 0, real)]


def extract(path: Path | str, to: Path | str, *, limits: Limits | None = None, search: bool = False) -> dict[str, Any]:
    """Extract every member of the cabinet (set) at ``path`` under ``to``; returns the report.

    Raises :class:`CabFormatError` when the file is not a cabinet and
    :class:`UnsafeDestinationError` when ``to`` is unsafe; member problems go in the report.
    """
    limits = limits or Limits()
    cabs = _cabinets(path, search)
    root = check_destination(Path(to))
    allocator = NameAllocator()
    report: dict[str, Any] = {
        "path": str(path), "to": str(root), "written": [], "renamed": [], "refused": [], "errors": [],
        "findings": [], "limits": {"max_total": limits.max_total, "max_ratio": limits.max_ratio,
                                   "max_member": limits.max_member},
        "bytes_written": 0,
    }
    for cab in cabs:
        cset = build_set(cab, follow=limits.follow_sets)
        _doc, findings = cabinet_document(cset, cab, standalone=len(cabs) == 1 and cab.base == 0)
        report["findings"].extend(f.to_dict() for f in findings)
        report["errors"].extend(f"set: {m} missing" for m in cset.missing)
        budget = Budget(limits, cset.input_size())
        names: dict[int, SafeName] = {}
        sinks: dict[int, FileSink] = {}
        declared = 0

        def open_sink(member: Member, names: dict[int, SafeName] = names, sinks: dict[int, FileSink] = sinks,
                      budget: Budget = budget) -> FileSink | str:
            nonlocal declared
            safe = make_safe(member.entry.name_raw, member.entry.attribs)
            if member.hidden:
                safe.written = f"{HIDDEN_PREFIX}/{safe.written}"
                safe.notes.append("listed only by the file table at coffFiles; written under " + HIDDEN_PREFIX)
            names[id(member)] = safe
            if member.size > limits.max_member:
                return f"declared size {member.size} exceeds --max-member {limits.max_member}; not decoded"
            if declared + member.size > limits.max_total:
                return f"declared sizes pass --max-total {limits.max_total}; not decoded"
            allocator.allocate(safe)
            try:
                target = _inside(root, safe.written)
            except UnsafeDestinationError as exc:
                return str(exc)
            if os.path.lexists(target):
                return f"{safe.written} already exists in the output directory; not overwritten"
            declared += member.size
            sink = FileSink(root, target, _mtime(member))
            sinks[id(member)] = sink
            return sink

        for outcome in stream_members(cset, budget, open_sink):
            member = outcome.member
            safe = names.get(id(member))
            name = safe.original if safe else decode_name(member.entry.name_raw, member.entry.attribs)[0]
            sink = sinks.get(id(member))
            reason = outcome.reason if not outcome.ok else (sink.error if sink else None)
            if reason or sink is None:
                report["refused"].append({"name": name, "size": member.size,
                                          "reason": reason or "not extracted"})
                continue
            assert safe is not None
            report["written"].append({"name": name, "written": safe.written, "size": sink.written,
                                      "sha256": sink.sha256.hexdigest()})
            report["bytes_written"] += sink.written
            if safe.notes or safe.written != name:
                report["renamed"].append({"original": name, "written": safe.written, "why": safe.notes})
    return report

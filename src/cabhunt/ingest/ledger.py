"""Per-file accounting: what was read, stored, skipped (by reason) and broken.

Invariant kept for every file: ``records_read == normalized + sum(skipped) + errors``. Errors
are reported one line each for the first few of a file (file, record, reason) and then as one
summary line, so a file of a million bad lines does not flood the terminal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cabhunt.errors import Problems

REPORT_PER_FILE = 5
KEEP_MESSAGES = 10


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class FileStats:
    """Counters of one source file, turned into its ledger row."""

    path: Path
    problems: Problems
    sha256: str = ""
    format: str = "unknown"
    size: int = 0
    records_read: int = 0
    normalized: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    status: str = "ok"
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    # Reports of a file being read before its digest is known (see :meth:`hold_reports`): the
    # reader may be in another thread, hence the lock.
    _held: list[tuple[str, object | None]] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def error(self, reason: str, record: object | None = None, *, label: str = "record", counted: bool = True) -> None:
        """One broken record (``counted``) or a file-level problem that is not a record."""
        if counted:
            self.errors += 1
        message = reason if record is None else f"{label} {record}: {reason}"
        if len(self.error_messages) < KEEP_MESSAGES:
            self.error_messages.append(message)
        reported = len(self.error_messages) if not counted else self.errors
        if reported <= REPORT_PER_FILE or not counted:
            self._report(reason, record)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def finish(self) -> None:
        self.finished = utcnow()
        hidden = self.errors - REPORT_PER_FILE
        if hidden > 0:
            self._report(f"{hidden} more broken records not shown (total {self.errors})")
        if self.status == "ok" and (self.errors or self.error_messages):
            self.status = "partial"

    def hold_reports(self) -> None:
        """Keep this file's problem lines back until :meth:`release_reports` (or
        :meth:`forget_reading`): it is read while its digest is computed, and a duplicate
        must not report anything."""
        with self._lock:
            self._held = []

    def release_reports(self) -> None:
        """Print the held problem lines (in order) and report directly from now on."""
        with self._lock:
            held, self._held = self._held or [], None
            for reason, record in held:
                self.problems.add(self.path, reason, record)

    def forget_reading(self) -> None:
        """Undo what reading counted and held (the file turned out to be a duplicate or unreadable)."""
        with self._lock:
            self._held = None
        self.records_read = self.normalized = self.errors = 0
        self.skipped = {}
        self.error_messages = []
        self.status = "ok"

    def _report(self, reason: str, record: object | None = None) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append((reason, record))
                return
        self.problems.add(self.path, reason, record)

    def row(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "format": self.format,
            "size": self.size,
            "status": self.status,
            "records_read": self.records_read,
            "normalized": self.normalized,
            "skipped": dict(sorted(self.skipped.items())),
            "errors": self.errors,
            "error_messages": list(self.error_messages),
            "started": self.started,
            "finished": self.finished or utcnow(),
        }

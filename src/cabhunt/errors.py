"""Error reporting shared by every command: one line per problem, naming the file and the reason.

Bad input is reported and counted, never raised to the user as a traceback. Commands decide the
exit status (DESIGN.md: 0 did its job, 1 could not, 2 bad usage) from what was reported.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


class CabhuntError(Exception):
    """Base of every error cabhunt raises on purpose (bad input, not a bug)."""


class InputError(CabhuntError):
    """An input file (log, artifact, DDF, cabinet) could not be read as what it claims to be."""


def report(path: object, reason: str, record: object | None = None) -> None:
    """Print one clear line to stderr: ``cabhunt: FILE[#RECORD]: REASON``."""
    where = f"{path}" if record is None else f"{path}#{record}"
    reason = " ".join(str(reason).split())  # one line, whatever the reason contained
    print(f"cabhunt: {where}: {reason}", file=sys.stderr)


@dataclass
class Problems:
    """Collects problems of one run so the command can decide its exit status."""

    count: int = 0
    files: set[str] = field(default_factory=set)

    def add(self, path: object, reason: str, record: object | None = None) -> None:
        self.count += 1
        self.files.add(str(path))
        report(path, reason, record)

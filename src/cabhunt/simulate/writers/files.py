"""Output files: plain or gzip, line oriented, counting what they hold."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import BinaryIO


class LineFile:
    """An output file opened once, written in line batches; remembers its record count."""

    def __init__(self, path: Path, compress: bool, header: bytes = b"") -> None:
        self.path = path.with_name(path.name + ".gz") if compress else path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._raw = raw
        self._fh: BinaryIO = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) if compress else raw  # type: ignore[assignment]
        self.records = 0
        if header:
            self._fh.write(header)

    def write_lines(self, lines: list[bytes]) -> None:
        if lines:
            self._fh.write(b"\n".join(lines) + b"\n")
            self.records += len(lines)

    def write_raw(self, data: bytes) -> None:
        self._fh.write(data)

    def close(self) -> None:
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()

"""Opening a log file: gzip recognised by its magic bytes (not its name), digest, head sample."""

from __future__ import annotations

import gzip
import hashlib
import io
from io import BufferedIOBase
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
EVTX_MAGIC = b"ElfFile\x00"
HEAD_BYTES = 256 * 1024


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def expanded_size(path: Path) -> int:
    """The file's size once decompressed, cheaply: a gzip member records it (modulo 4 GiB) in its
    last four bytes; never less than the stored size. Read for sizing, not trusted for anything."""
    size = path.stat().st_size
    if size < 18:
        return size
    with path.open("rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return size
        fh.seek(-4, 2)
        return max(size, int.from_bytes(fh.read(4), "little"))


def open_stream(path: Path) -> BufferedIOBase:
    """The file's content as a binary stream, decompressed on the fly when it is gzip."""
    if is_gzip(path):
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


DIGEST_READ_BYTES = 8 * 1024 * 1024


def file_digest(path: Path, block_bytes: int = DIGEST_READ_BYTES) -> str:
    """SHA-256 of the file as stored (the idempotency key of everything read from it).

    Hashed in large blocks: the digest runs in a thread beside the readers, and it must win
    the GIL back after every block (reading and hashing release it). With small blocks it
    waits for the GIL far longer than it hashes, and the first events of a large file wait
    for the digest.
    """
    digest = hashlib.sha256()
    buf = bytearray(min(block_bytes, max(1, path.stat().st_size)))
    view = memoryview(buf)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """Up to ``size`` bytes of the (decompressed) content, for format sniffing.

    An EVTX file is known by its first bytes; only text formats need the longer sample.
    """
    with path.open("rb") as raw:
        start = raw.read(8)
        if start.startswith(GZIP_MAGIC):
            raw.seek(0)
            with gzip.open(raw, "rb") as fh:
                return fh.read(size)
        if start == EVTX_MAGIC:
            return start
        return start + raw.read(size - len(start))


def head_of(data: bytes, size: int = HEAD_BYTES) -> bytes:
    """:func:`head` of a file already read whole (same sample, no second open)."""
    if data.startswith(GZIP_MAGIC):
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as fh:
            return fh.read(size)
    if data.startswith(EVTX_MAGIC):
        return data[:8]
    return data[:size]

"""A large EVTX file for benchmarks, stitched from the chunks of many small ones.

An EVTX file is a 4096-byte file header followed by 64 KiB chunks, and each chunk is
self-contained (its own string and template tables), so the chunks of a corpus of small logs
can be laid end to end into one large, valid log. What has to be rewritten: the record ids
(renumbered 1, 2, ... across the new file, in each record and in the chunk header), the CRC32
of each chunk's records and of its header, and the file header (chunk count, next record id,
CRC32). Benchmark-only: it measures per-record cost without the per-file overhead of 593
small files.

Usage: python bench/evtx_stitch.py OUT.evtx [--mib N] EVTX_FILE_OR_DIR...
"""

from __future__ import annotations

import argparse
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

FILE_HEADER = 4096
CHUNK = 65536
CHUNK_HEADER = 512
RECORD_MAGIC = b"\x2a\x2a\x00\x00"


def chunks_of(path: Path) -> Iterator[bytes]:
    """The used chunks of one EVTX file whose header and records checksums are right."""
    data = path.read_bytes()
    if not data.startswith(b"ElfFile\x00"):
        return
    for start in range(FILE_HEADER, len(data) - CHUNK + 1, CHUNK):
        chunk = data[start : start + CHUNK]
        if not chunk.startswith(b"ElfChnk\x00"):
            continue
        free = struct.unpack_from("<I", chunk, 48)[0]
        if not CHUNK_HEADER < free <= CHUNK:
            continue
        if zlib.crc32(chunk[CHUNK_HEADER:free]) != struct.unpack_from("<I", chunk, 52)[0]:
            continue
        if zlib.crc32(chunk[:120] + chunk[128:CHUNK_HEADER]) != struct.unpack_from("<I", chunk, 124)[0]:
            continue
        yield chunk


def record_offsets(chunk: bytes) -> list[int]:
    """Offsets of the event records of a chunk (up to its free space offset)."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    out, pos = [], CHUNK_HEADER
    while pos + 24 <= free and chunk[pos : pos + 4] == RECORD_MAGIC:
        size = struct.unpack_from("<I", chunk, pos + 4)[0]
        if size < 24 or pos + size > free:
            break
        out.append(pos)
        pos += size
    return out


def renumber(chunk: bytes, first_id: int) -> tuple[bytes, int]:
    """The chunk with its records numbered from ``first_id`` and its checksums recomputed;
    also the number of records."""
    buf = bytearray(chunk)
    offsets = record_offsets(chunk)
    for i, pos in enumerate(offsets):
        struct.pack_into("<Q", buf, pos + 8, first_id + i)
    last_id = first_id + len(offsets) - 1
    struct.pack_into("<QQQQ", buf, 8, first_id, last_id, first_id, last_id)
    if offsets:
        struct.pack_into("<I", buf, 44, offsets[-1])
    free = struct.unpack_from("<I", buf, 48)[0]
    struct.pack_into("<I", buf, 52, zlib.crc32(bytes(buf[CHUNK_HEADER:free])))
    struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120]) + bytes(buf[128:CHUNK_HEADER])))
    return bytes(buf), len(offsets)


def file_header(chunks: int, next_id: int) -> bytes:
    """A file header for ``chunks`` chunks (version 3.1, clean)."""
    head = bytearray(FILE_HEADER)
    struct.pack_into("<8sQQQIHHHH", head, 0, b"ElfFile\x00", 0, max(0, chunks - 1), next_id, 128, 1, 3, FILE_HEADER, chunks)
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:120])))
    return bytes(head)


def stitch(sources: Iterable[Path], out: Path, max_bytes: int) -> int:
    """Write ``out`` from the chunks of ``sources`` (cycled until ``max_bytes``); returns the records."""
    pool = [c for p in sources for c in chunks_of(p) if record_offsets(c)]
    if not pool:
        raise SystemExit("no usable EVTX chunks")
    limit = min(0xFFFF, max(1, (max_bytes - FILE_HEADER) // CHUNK))
    tmp = out.with_suffix(".part")
    records, next_id = 0, 1
    with tmp.open("wb") as fh:
        fh.write(bytes(FILE_HEADER))
        for n in range(limit):
            chunk, count = renumber(pool[n % len(pool)], next_id)
            fh.write(chunk)
            records += count
            next_id += count
        fh.seek(0)
        fh.write(file_header(limit, next_id))
    tmp.replace(out)
    return records


def evtx_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("paths", type=Path, nargs="+")
    ap.add_argument("--mib", type=int, default=128)
    args = ap.parse_args()
    n = stitch(evtx_files(args.paths), args.out, args.mib << 20)
    print(f"{args.out}: {n:,} records")


if __name__ == "__main__":
    main()

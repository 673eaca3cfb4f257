"""Build small cabinets (stored or MSZIP) with controllable oddities, for tests only."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from cabhunt.cab.checksum import cfdata_checksum


@dataclass
class Entry:
    name: bytes
    data: bytes
    attribs: int = 0x20
    date: int = (2024 - 1980) << 9 | 1 << 5 | 2  # 2024-01-02
    time: int = 10 << 11 | 20 << 5 | 15  # 10:20:30


@dataclass
class Craft:
    entries: list[Entry]
    compress: bool = False
    block: int = 32768
    checksums: bool = True
    set_id: int = 0
    header_reserve: bytes | None = None
    extra_table: list[Entry] | None = None  # a second CFFILE table that coffFiles points to
    overlay: bytes = b""
    corrupt_checksum: bool = False
    gap: bytes = b""  # unreferenced bytes between the file table and the data
    flags_extra: int = 0
    strings: list[bytes] = field(default_factory=list)


def _blocks(data: bytes, size: int, compress: bool) -> list[tuple[bytes, int]]:
    out = []
    history = b""
    for start in range(0, max(len(data), 1), size):
        chunk = data[start : start + size]
        if not chunk:
            break
        if compress:
            c = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=history) if history else zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = b"CK" + c.compress(chunk) + c.flush()
            history = (history + chunk)[-32768:]
        else:
            payload = chunk
        out.append((payload, len(chunk)))
    return out


def _table(entries: list[Entry]) -> bytes:
    out = b""
    offset = 0
    for e in entries:
        out += struct.pack("<IIHHHH", len(e.data), offset, 0, e.date, e.time, e.attribs) + e.name + b"\0"
        offset += len(e.data)
    return out


def build(c: Craft) -> bytes:
    """A one-folder cabinet from ``c``."""
    stream = b"".join(e.data for e in c.entries)
    blocks = _blocks(stream, c.block, c.compress)
    flags = c.flags_extra
    head_extra = b""
    if c.header_reserve is not None:
        flags |= 0x0004
        head_extra = struct.pack("<HBB", len(c.header_reserve), 0, 0) + c.header_reserve
    for s in c.strings:
        head_extra += s + b"\0"
    files_off = 36 + len(head_extra) + 8
    table = _table(c.entries)
    extra = _table(c.extra_table) if c.extra_table else b""
    coff = files_off + len(table) if c.extra_table else files_off
    data_off = files_off + len(table) + len(extra) + len(c.gap)
    data = b""
    for i, (payload, n) in enumerate(blocks):
        csum = cfdata_checksum(payload, len(payload), n) if c.checksums else 0
        if c.corrupt_checksum and i == 0:
            csum ^= 0x5A5A
        data += struct.pack("<IHH", csum, len(payload), n) + payload
    total = data_off + len(data)
    header = struct.pack(
        "<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, coff, 0, 3, 1, 1, len(c.entries), flags, c.set_id, 0
    )
    folder = struct.pack("<IHH", data_off, len(blocks), 1 if c.compress else 0)
    return header + head_extra + folder + table + extra + c.gap + data + c.overlay


def tiny_pe(signed: bool = False) -> bytes:
    """A minimal, well-formed PE32 (i386) with one section and no imports."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    coff = struct.pack("<HHIIIHH", 0x014C, 1, 0x5F5E1000, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<HBB", opt, 0, 0x10B, 14, 0)
    struct.pack_into("<IIIIII", opt, 4, 0x200, 0, 0, 0x1000, 0x1000, 0x2000)
    struct.pack_into("<I", opt, 28, 0x400000)  # ImageBase
    struct.pack_into("<II", opt, 32, 0x1000, 0x200)  # SectionAlignment, FileAlignment
    struct.pack_into("<HH", opt, 40, 6, 0)  # OS version
    struct.pack_into("<HH", opt, 48, 6, 0)  # subsystem version
    struct.pack_into("<II", opt, 56, 0x2000, 0x200)  # SizeOfImage, SizeOfHeaders
    struct.pack_into("<HH", opt, 68, 3, 0)  # Subsystem console
    struct.pack_into("<IIII", opt, 72, 0x100000, 0x1000, 0x100000, 0x1000)
    struct.pack_into("<I", opt, 92, 16)  # NumberOfRvaAndSizes
    if signed:
        struct.pack_into("<II", opt, 96 + 4 * 8, 0x400, 0x10)  # security directory: file offset, size
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x10, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    headers = bytes(dos) + b"PE\0\0" + coff + bytes(opt) + section
    headers += b"\0" * (0x200 - len(headers))
    body = b"\xc3" + b"\x90" * 0x1FF
    tail = b"\0" * 0x10 if signed else b""
    return headers + body + tail

"""Read one cabinet's structure without decompressing anything.

cabhunt owns its MS-CAB reader (written from the [MS-CAB] specification) because no Python
library reads all CAB compressions *and* exposes what a forensic reader needs. The reader keeps
everything an analyst may ask about: both file tables (the one at ``coffFiles`` and the one right
after the CFFOLDERs, which tools disagree on), reserves, prev/next strings, every CFDATA header,
and the structural problems it met. Structural problems that still leave a usable cabinet are
recorded in ``Cabinet.anomalies``; only an unusable header raises :class:`CabFormatError`.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

from cabhunt.cab.c_cab import (
    CFDATA,
    CFFILE,
    CFFOLDER,
    CFHEADER,
    CFHEADER_RESERVE,
    FLAG_NEXT_CABINET,
    FLAG_PREV_CABINET,
    FLAG_RESERVE_PRESENT,
    HEADER_RESERVE_MAX,
    IFOLD_CONTINUED_FROM_PREV,
    IFOLD_CONTINUED_PREV_AND_NEXT,
    IFOLD_CONTINUED_TO_NEXT,
    NAME_MAX,
    SIGNATURE,
    STRING_SCAN_MAX,
    CFData,
    CFFile,
    CFFolder,
    CFHeader,
)
from cabhunt.cab.errors import CabFormatError

Buffer = bytes | mmap.mmap


@dataclass
class FileTable:
    """One parse of the CFFILE array (at ``offset``), with the problems met on the way."""

    offset: int
    files: list[CFFile] = field(default_factory=list)
    error: str | None = None
    end: int = 0  # first byte after the table (relative to the cabinet start)

    def key(self) -> list[tuple[int, int, int, bytes]]:
        return [(f.cb_file, f.uoff_folder_start, f.i_folder, f.name_raw) for f in self.files]


@dataclass
class Cabinet:
    """The structure of one cabinet found in ``buf`` at ``base``."""

    buf: Buffer
    base: int
    header: CFHeader
    folders: list[CFFolder]
    files: list[CFFile]
    path: Path | None = None
    sequential_table: FileTable | None = None
    coff_table: FileTable | None = None
    blocks: list[list[CFData]] = field(default_factory=list)  # per folder
    block_errors: dict[int, str] = field(default_factory=dict)  # folder index -> why its chain stops
    anomalies: list[str] = field(default_factory=list)
    file_size: int = 0  # size of the whole underlying buffer

    @property
    def end(self) -> int:
        """Absolute end of the cabinet as declared by cbCabinet."""
        return self.base + self.header.cb_cabinet

    def slice(self, start: int, length: int) -> bytes:
        """Bytes at an absolute offset, truncated at the end of the buffer."""
        return bytes(self.buf[start : start + length])

    def tables_differ(self) -> bool:
        seq, coff = self.sequential_table, self.coff_table
        if seq is None or coff is None:
            return False
        return seq.offset != coff.offset and (seq.key() != coff.key() or (seq.error or "") != (coff.error or ""))


class _Cursor:
    """Bounds-checked reads from the buffer; truncation is a CabFormatError naming the field."""

    def __init__(self, buf: Buffer, pos: int, limit: int) -> None:
        self.buf = buf
        self.pos = pos
        self.limit = limit

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.limit:
            raise CabFormatError(f"truncated {what} at offset {self.pos}")
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return data

    def string(self, what: str) -> bytes:
        """A NUL-terminated string; refuses one that is unterminated within the scan limit."""
        end = min(self.limit, self.pos + STRING_SCAN_MAX)
        idx = self.buf.find(b"\0", self.pos, end)
        if idx < 0:
            if end >= self.limit:
                raise CabFormatError(f"truncated {what} at offset {self.pos}")
            raise CabFormatError(f"unterminated {what} at offset {self.pos}")
        data = bytes(self.buf[self.pos : idx])
        self.pos = idx + 1
        return data


def load(path_or_bytes: Path | str | bytes | bytearray | memoryview) -> tuple[Buffer, Path | None]:
    """The bytes to read: a read-only mmap of a file (bounded memory), or the given bytes."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        return bytes(path_or_bytes), None
    path = Path(path_or_bytes)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return b"", path
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), path
    except (OSError, ValueError) as exc:
        raise CabFormatError(f"cannot read: {exc}") from exc


def _parse_header(buf: Buffer, base: int) -> CFHeader:
    size = len(buf)
    if bytes(buf[base : base + 4]) != SIGNATURE:
        raise CabFormatError("not a cabinet (no MSCF signature)")
    cur = _Cursor(buf, base, size)
    fields = CFHEADER.unpack(cur.take(CFHEADER.size, "CFHEADER"))
    hdr = CFHeader(*fields[1:])
    if hdr.flags & FLAG_RESERVE_PRESENT:
        hdr.cb_header_reserve, hdr.cb_folder_reserve, hdr.cb_data_reserve = CFHEADER_RESERVE.unpack(
            cur.take(CFHEADER_RESERVE.size, "CFHEADER reserve sizes")
        )
        if hdr.cb_header_reserve > HEADER_RESERVE_MAX:
            raise CabFormatError(f"header reserve of {hdr.cb_header_reserve} bytes exceeds {HEADER_RESERVE_MAX}")
        hdr.header_reserve = cur.take(hdr.cb_header_reserve, "CFHEADER abReserve")
    if hdr.flags & FLAG_PREV_CABINET:
        hdr.prev_cabinet = cur.string("szCabinetPrev")
        hdr.prev_disk = cur.string("szDiskPrev")
    if hdr.flags & FLAG_NEXT_CABINET:
        hdr.next_cabinet = cur.string("szCabinetNext")
        hdr.next_disk = cur.string("szDiskNext")
    hdr.size = cur.pos - base
    if hdr.c_folders == 0:
        raise CabFormatError("cabinet declares no folders")
    if hdr.c_files == 0:
        raise CabFormatError("cabinet declares no files")
    return hdr


def _parse_files(buf: Buffer, base: int, offset: int, hdr: CFHeader) -> FileTable:
    """Parse cFiles CFFILE entries at ``offset``; a problem ends the table, keeping what was read."""
    table = FileTable(offset=offset)
    cur = _Cursor(buf, base + offset, len(buf))
    try:
        if base + offset >= len(buf):
            raise CabFormatError(f"file table offset {offset} is beyond the end of the file")
        for i in range(hdr.c_files):
            at = cur.pos - base
            cb_file, uoff, i_folder, date, time, attribs = CFFILE.unpack(cur.take(CFFILE.size, f"CFFILE #{i}"))
            name = cur.string(f"name of CFFILE #{i}")
            entry = CFFile(cb_file, uoff, i_folder, date, time, attribs, name_raw=name, offset=at)
            if not name:
                entry.problems.append("empty name")
            if len(name) > NAME_MAX:
                entry.problems.append(f"name of {len(name)} bytes exceeds {NAME_MAX}")
            special = (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_TO_NEXT, IFOLD_CONTINUED_PREV_AND_NEXT)
            if entry.i_folder >= hdr.c_folders and entry.i_folder not in special:
                raise CabFormatError(f"CFFILE #{i} names folder {entry.i_folder} of {hdr.c_folders}")
            table.files.append(entry)
    except CabFormatError as exc:
        table.error = str(exc)
    table.end = cur.pos - base
    return table


def _walk_blocks(cab: Cabinet, index: int, folder: CFFolder, budget: list[int]) -> None:
    """Index the CFDATA chain of one folder; a broken chain is recorded, not raised.

    ``budget`` bounds the CFDATA headers indexed over all folders: honest chains never overlap,
    so they cannot hold more headers than the file has 8-byte slots; hostile folders that all
    point at the same run of empty blocks would otherwise cost cFolders x cCFData steps.
    """
    hdr = cab.header
    pos = cab.base + folder.coff_cab_start
    size = len(cab.buf)
    chain: list[CFData] = []
    for i in range(folder.c_cf_data):
        if budget[0] <= 0:
            cab.block_errors[index] = "too many CFDATA blocks for the file size (overlapping block chains)"
            break
        budget[0] -= 1
        if pos + CFDATA.size + hdr.cb_data_reserve > size:
            cab.block_errors[index] = f"CFDATA #{i} of folder {index} at offset {pos} is beyond the end of the file"
            break
        csum, cb_data, cb_uncomp = CFDATA.unpack_from(cab.buf, pos)
        reserve = bytes(cab.buf[pos + CFDATA.size : pos + CFDATA.size + hdr.cb_data_reserve])
        data_offset = pos + CFDATA.size + hdr.cb_data_reserve
        if data_offset + cb_data > size:
            cab.block_errors[index] = (
                f"CFDATA #{i} of folder {index} needs {cb_data} bytes at offset {data_offset}, file ends at {size}"
            )
            break
        chain.append(CFData(csum, cb_data, cb_uncomp, pos, data_offset, reserve))
        pos = data_offset + cb_data
    cab.blocks.append(chain)


def parse_cabinet(buf: Buffer, base: int = 0, path: Path | None = None) -> Cabinet:
    """Parse the cabinet starting at ``base``: header, folders, both file tables, block chains."""
    hdr = _parse_header(buf, base)
    cur = _Cursor(buf, base + hdr.size, len(buf))
    folders: list[CFFolder] = []
    for i in range(hdr.c_folders):
        at = cur.pos - base
        start, n_data, type_compress = CFFOLDER.unpack(cur.take(CFFOLDER.size, f"CFFOLDER #{i}"))
        reserve = cur.take(hdr.cb_folder_reserve, f"CFFOLDER #{i} abReserve")
        folders.append(CFFolder(start, n_data, type_compress, reserve=reserve, offset=at))
    seq_offset = cur.pos - base
    seq = _parse_files(buf, base, seq_offset, hdr)
    coff = seq if hdr.coff_files == seq_offset else _parse_files(buf, base, hdr.coff_files, hdr)
    cab = Cabinet(buf, base, hdr, folders, [], path=path, sequential_table=seq, coff_table=coff, file_size=len(buf))
    # Sequential reading (what libmspack/cabextract and gcab do) is the primary listing; the
    # offset-following table (libarchive, 7-Zip) is kept beside it for the differential check.
    if seq.error is None:
        primary = seq
    elif coff.error is None:
        primary = coff
        cab.anomalies.append(f"file table after the folders is unreadable ({seq.error}); using the one at coffFiles")
    else:
        raise CabFormatError(seq.error)
    cab.files = primary.files
    if hdr.coff_files != seq_offset:
        cab.anomalies.append(
            f"coffFiles is {hdr.coff_files} but the file table after the folders starts at {seq_offset}"
        )
        if coff.error:
            cab.anomalies.append(f"file table at coffFiles: {coff.error}")
    for f in cab.files:
        for problem in f.problems:
            cab.anomalies.append(f"CFFILE at offset {f.offset}: {problem}")
    budget = [2 * (len(buf) // CFDATA.size) + 16]
    for i, folder in enumerate(folders):
        _walk_blocks(cab, i, folder, budget)
    if hdr.reserved1 or hdr.reserved2 or hdr.reserved3:
        cab.anomalies.append("reserved header fields are not zero")
    if (hdr.version_major, hdr.version_minor) != (1, 3):
        cab.anomalies.append(f"version {hdr.version_major}.{hdr.version_minor} (expected 1.3)")
    if cab.end > len(buf):
        cab.anomalies.append(f"cbCabinet {hdr.cb_cabinet} runs {cab.end - len(buf)} bytes past the end of the file")
    for i, err in cab.block_errors.items():
        cab.anomalies.append(f"folder {i}: {err}")
    return cab


def open_cabinet(
    path_or_bytes: Path | str | bytes | bytearray | memoryview, *, search: bool = False
) -> Cabinet:
    """The cabinet at the start of a file (or, with ``search``, the first one embedded in it)."""
    buf, path = load(path_or_bytes)
    if not search:
        return parse_cabinet(buf, 0, path)
    from cabhunt.cab.search import find_cabinets

    found = find_cabinets(buf, path)
    if not found:
        raise CabFormatError("no cabinet found")
    return found[0]

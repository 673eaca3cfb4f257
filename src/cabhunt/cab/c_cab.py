"""MS-CAB on-disk layout: the fixed structures, flags and field decoders, nothing else.

Written from the [MS-CAB] Cabinet File Format specification. All integers are little-endian and
the structures are packed. cabhunt owns its reader because no Python library reads every CAB
compression and also exposes the raw structure a forensic reader needs (reserves, both file
tables, per-block checksums, overlays): cabarchive has no LZX/Quantum, libarchive no Quantum and
no sets, dissect no CAB at all.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"MSCF"

# CFHEADER: signature, reserved1, cbCabinet, reserved2, coffFiles, reserved3, versionMinor,
# versionMajor, cFolders, cFiles, flags, setID, iCabinet.
CFHEADER = struct.Struct("<4sIIIIIBBHHHHH")
CFHEADER_RESERVE = struct.Struct("<HBB")  # cbCFHeader, cbCFFolder, cbCFData
CFFOLDER = struct.Struct("<IHH")  # coffCabStart, cCFData, typeCompress
CFFILE = struct.Struct("<IIHHHH")  # cbFile, uoffFolderStart, iFolder, date, time, attribs
CFDATA = struct.Struct("<IHH")  # csum, cbData, cbUncomp

FLAG_PREV_CABINET = 0x0001
FLAG_NEXT_CABINET = 0x0002
FLAG_RESERVE_PRESENT = 0x0004

IFOLD_CONTINUED_FROM_PREV = 0xFFFD
IFOLD_CONTINUED_TO_NEXT = 0xFFFE
IFOLD_CONTINUED_PREV_AND_NEXT = 0xFFFF

ATTR_READONLY = 0x01
ATTR_HIDDEN = 0x02
ATTR_SYSTEM = 0x04
ATTR_ARCHIVE = 0x20
ATTR_EXEC = 0x40
ATTR_NAME_IS_UTF = 0x80

COMP_NONE = 0
COMP_MSZIP = 1
COMP_QUANTUM = 2
COMP_LZX = 3
COMP_NAMES = {COMP_NONE: "none", COMP_MSZIP: "mszip", COMP_QUANTUM: "quantum", COMP_LZX: "lzx"}

BLOCK_MAX = 32768  # largest cbUncomp
BLOCK_INPUT_MAX = 32768 + 6144  # largest cbData any codec produces (LZX worst case)
HEADER_RESERVE_MAX = 60000
NAME_MAX = 255  # longest legal name, without its NUL
STRING_SCAN_MAX = 1024  # how far a hostile, unterminated string is followed before giving up

ATTR_NAMES = (
    (ATTR_READONLY, "readonly"),
    (ATTR_HIDDEN, "hidden"),
    (ATTR_SYSTEM, "system"),
    (ATTR_ARCHIVE, "archive"),
    (ATTR_EXEC, "exec"),
    (ATTR_NAME_IS_UTF, "name_is_utf8"),
)


@dataclass
class CFHeader:
    """The cabinet header, with the optional reserve and prev/next strings resolved."""

    reserved1: int
    cb_cabinet: int
    reserved2: int
    coff_files: int
    reserved3: int
    version_minor: int
    version_major: int
    c_folders: int
    c_files: int
    flags: int
    set_id: int
    i_cabinet: int
    cb_header_reserve: int = 0
    cb_folder_reserve: int = 0
    cb_data_reserve: int = 0
    header_reserve: bytes = b""
    prev_cabinet: bytes | None = None
    prev_disk: bytes | None = None
    next_cabinet: bytes | None = None
    next_disk: bytes | None = None
    size: int = CFHEADER.size  # bytes up to the first CFFOLDER


@dataclass
class CFFolder:
    coff_cab_start: int
    c_cf_data: int
    type_compress: int
    reserve: bytes = b""
    offset: int = 0  # where this CFFOLDER entry sits (relative to the cabinet start)

    @property
    def method(self) -> int:
        return self.type_compress & 0x000F

    @property
    def method_name(self) -> str:
        return COMP_NAMES.get(self.method, f"unknown({self.method})")

    @property
    def level(self) -> int:
        """Quantum compression level (bits 4-7)."""
        return (self.type_compress >> 4) & 0x0F

    @property
    def window_bits(self) -> int:
        """LZX window exponent / Quantum memory exponent (bits 8-12)."""
        return (self.type_compress >> 8) & 0x1F

    def describe(self) -> str:
        if self.method == COMP_LZX:
            return f"LZX:{self.window_bits}"
        if self.method == COMP_QUANTUM:
            return f"Quantum:{self.level}:{self.window_bits}"
        return self.method_name.upper() if self.method != COMP_NONE else "none"


@dataclass
class CFFile:
    cb_file: int
    uoff_folder_start: int
    i_folder: int
    date: int
    time: int
    attribs: int
    name_raw: bytes
    offset: int = 0  # where this CFFILE entry sits (relative to the cabinet start)
    problems: list[str] = field(default_factory=list)


@dataclass
class CFData:
    """One CFDATA block header; ``data_offset`` is absolute in the underlying buffer."""

    csum: int
    cb_data: int
    cb_uncomp: int
    offset: int  # absolute offset of the CFDATA header
    data_offset: int  # absolute offset of ab[]
    reserve: bytes = b""


def decode_dos_datetime(date: int, time: int) -> tuple[str | None, str | None]:
    """ISO 8601 local time of a DOS date/time pair, or ``None`` and the reason it is invalid."""
    year = 1980 + (date >> 9)
    month = (date >> 5) & 0x0F
    day = date & 0x1F
    hour = time >> 11
    minute = (time >> 5) & 0x3F
    second = (time & 0x1F) * 2
    import datetime as _dt

    try:
        value = _dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        return None, f"invalid DOS date/time 0x{date:04x}/0x{time:04x}: {exc}"
    return value.isoformat(), None


def attribute_names(attribs: int) -> list[str]:
    """Human names of the set attribute bits (unknown bits as hex)."""
    names = [name for bit, name in ATTR_NAMES if attribs & bit]
    unknown = attribs & ~0xE7
    if unknown:
        names.append(f"0x{unknown:04x}")
    return names

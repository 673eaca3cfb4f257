"""Minimal test-only walk of a single cabinet's folders and CFDATA blocks.

Codec tests use it to feed raw blocks to a decoder without depending on the full reader.
Handles header/folder/data reserves; ignores sets (blocks split across cabinets).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class RawFolder:
    type_compress: int
    blocks: list[tuple[bytes, int]] = field(default_factory=list)  # (compressed data, cbUncomp)


@dataclass
class RawFile:
    name: str
    size: int
    offset: int
    folder: int


def walk(buf: bytes) -> tuple[list[RawFolder], list[RawFile]]:
    """Folders with their blocks and the file table of a cabinet in ``buf``."""
    (sig, _r1, _cb, _r2, coff_files, _r3, _vmin, _vmaj, n_folders, n_files, flags, _set, _icab) = struct.unpack_from(
        "<4sIIIIIBBHHHHH", buf, 0
    )
    assert sig == b"MSCF"
    pos = 36
    cb_folder_res = cb_data_res = 0
    if flags & 4:
        cb_header_res, cb_folder_res, cb_data_res = struct.unpack_from("<HBB", buf, pos)
        pos += 4 + cb_header_res
    for flag in (1, 2):
        if flags & flag:
            for _ in range(2):
                pos = buf.index(b"\0", pos) + 1
    folders: list[RawFolder] = []
    for _ in range(n_folders):
        start, n_data, tc = struct.unpack_from("<IHH", buf, pos)
        pos += 8 + cb_folder_res
        folder = RawFolder(tc)
        p = start
        for _ in range(n_data):
            _csum, cb_data, cb_uncomp = struct.unpack_from("<IHH", buf, p)
            p += 8 + cb_data_res
            folder.blocks.append((buf[p : p + cb_data], cb_uncomp))
            p += cb_data
        folders.append(folder)
    files: list[RawFile] = []
    pos = coff_files
    for _ in range(n_files):
        size, off, ifolder, _d, _t, _a = struct.unpack_from("<IIHHHH", buf, pos)
        end = buf.index(b"\0", pos + 16)
        files.append(RawFile(buf[pos + 16 : end].decode("latin-1"), size, off, ifolder))
        pos = end + 1
    return folders, files

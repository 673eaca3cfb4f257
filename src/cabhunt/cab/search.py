"""Find cabinets embedded at any offset of a file (SFX stubs, appended or nested cabinets).

Every ``MSCF`` occurrence is a candidate; one that does not parse as a plausible header
(non-zero folder and file counts, file table inside the declared cabinet, cabinet not absurdly
past the end of the file) is skipped. Scanning resumes after an accepted cabinet's declared end, as
cabextract does; cabinets stored inside members are found by member analysis instead.
"""

from __future__ import annotations

from pathlib import Path

from cabhunt.cab.c_cab import CFHEADER, SIGNATURE
from cabhunt.cab.errors import CabError
from cabhunt.cab.reader import Buffer, Cabinet, parse_cabinet

TRUNCATION_SLACK = 32  # a cabinet may claim a few bytes more than remain (libmspack allows this)
MAX_CABINETS = 10000


def _plausible(buf: Buffer, offset: int) -> bool:
    if offset + CFHEADER.size > len(buf):
        return False
    _sig, _r1, cb_cabinet, _r2, coff_files, _r3, _vmin, _vmaj, n_folders, n_files, _f, _s, _i = CFHEADER.unpack_from(
        buf, offset
    )
    if n_folders == 0 or n_files == 0:
        return False
    if coff_files >= cb_cabinet or cb_cabinet < CFHEADER.size:
        return False
    return offset + cb_cabinet <= len(buf) + TRUNCATION_SLACK and offset + coff_files < len(buf)


def find_cabinets(buf: Buffer, path: Path | None = None, limit: int = MAX_CABINETS) -> list[Cabinet]:
    """Every cabinet that parses, in file order."""
    found: list[Cabinet] = []
    pos = buf.find(SIGNATURE, 0)
    while pos >= 0 and len(found) < limit:
        if _plausible(buf, pos):
            try:
                cab = parse_cabinet(buf, pos, path)
            except CabError:
                pass
            else:
                found.append(cab)
                pos = buf.find(SIGNATURE, max(pos + 1, cab.end))
                continue
        pos = buf.find(SIGNATURE, pos + 1)
    return found

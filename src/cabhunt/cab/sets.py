"""Multi-cabinet sets: follow prev/next names, merge continued folders, list each member once.

A folder continued into the next cabinet is that cabinet's first CFFOLDER; files that span
cabinets are listed in both (iFolder 0xFFFE in the first, 0xFFFD in the second, 0xFFFF in a
cabinet they pass through). The next cabinet is looked up by its embedded name, case-insensitively,
in the same directory only (the name's directory part is ignored, never followed).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from cabhunt.cab.c_cab import (
    FLAG_NEXT_CABINET,
    FLAG_PREV_CABINET,
    IFOLD_CONTINUED_FROM_PREV,
    IFOLD_CONTINUED_PREV_AND_NEXT,
    IFOLD_CONTINUED_TO_NEXT,
    CFData,
    CFFile,
    CFFolder,
)
from cabhunt.cab.errors import CabError
from cabhunt.cab.reader import Cabinet, load, parse_cabinet

MAX_SET_LENGTH = 256


@dataclass
class SetBlock:
    cab_index: int
    block: CFData


@dataclass
class SetFolder:
    """One logical folder (compression stream), possibly spread over several cabinets."""

    index: int
    folder: CFFolder  # the first part's CFFOLDER (its typeCompress rules the stream)
    parts: list[tuple[int, int]] = field(default_factory=list)  # (cabinet index, local folder index)
    blocks: list[SetBlock] = field(default_factory=list)
    start_error: str | None = None  # the stream starts in a cabinet we do not have
    end_note: str | None = None  # why the stream may end early (missing next cabinet, broken chain)


@dataclass
class Member:
    """One file of the set, with where its entry was read from."""

    entry: CFFile
    cab_index: int
    folder: int | None  # global folder index
    hidden: bool = False  # listed only by the CFFILE table at coffFiles
    error: str | None = None

    @property
    def size(self) -> int:
        return self.entry.cb_file

    @property
    def offset(self) -> int:
        return self.entry.uoff_folder_start


@dataclass
class CabSet:
    cabinets: list[Cabinet]
    folders: list[SetFolder] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def input_size(self) -> int:
        return sum(min(c.header.cb_cabinet, c.file_size - c.base) for c in self.cabinets)


def _decode_name(raw: bytes) -> str:
    return raw.decode("latin-1")


def find_sibling(directory: Path, name: str) -> Path | None:
    """The file called ``name`` in ``directory``, compared case-insensitively; never elsewhere."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not base or base in (".", ".."):
        return None
    exact = directory / base
    if exact.is_file() and not exact.is_symlink():
        return exact
    try:
        entries = os.listdir(directory)
    except OSError:
        return None
    lowered = base.casefold()
    for entry in sorted(entries):
        candidate = directory / entry
        if entry.casefold() == lowered and candidate.is_file() and not candidate.is_symlink():
            return directory / entry
    return None


def _open_neighbour(cab: Cabinet, raw_name: bytes | None, seen: set[Path], anomalies: list[str]) -> Cabinet | str:
    """Parse the neighbour cabinet or return why it is unavailable."""
    name = _decode_name(raw_name or b"")
    if cab.path is None:
        return f"{name} (no directory to look in)"
    path = find_sibling(cab.path.parent, name)
    if path is None:
        return f"{name} (not found next to {cab.path.name})"
    real = path.resolve()
    if real in seen:
        anomalies.append(f"cabinet chain loops back to {path.name}")
        return f"{name} (loop)"
    try:
        buf, _ = load(path)
        other = parse_cabinet(buf, 0, path)
    except CabError as exc:
        return f"{name} ({path.name}: {exc})"
    seen.add(real)
    if other.header.set_id != cab.header.set_id:
        anomalies.append(f"{path.name} has setID {other.header.set_id}, {cab.path.name} has {cab.header.set_id}")
    return other


def _chain(cab: Cabinet, follow: bool) -> tuple[list[Cabinet], str | None, str | None, list[str]]:
    anomalies: list[str] = []
    chain = [cab]
    missing_prev = missing_next = None
    seen: set[Path] = {cab.path.resolve()} if cab.path is not None else set()
    while chain[0].header.flags & FLAG_PREV_CABINET and len(chain) < MAX_SET_LENGTH:
        got = _open_neighbour(chain[0], chain[0].header.prev_cabinet, seen, anomalies) if follow else "not followed"
        if isinstance(got, str):
            missing_prev = got
            break
        chain.insert(0, got)
    while chain[-1].header.flags & FLAG_NEXT_CABINET and len(chain) < MAX_SET_LENGTH:
        got = _open_neighbour(chain[-1], chain[-1].header.next_cabinet, seen, anomalies) if follow else "not followed"
        if isinstance(got, str):
            missing_next = got
            break
        chain.append(got)
    for a, b in itertools.pairwise(chain):
        if b.header.i_cabinet != a.header.i_cabinet + 1:
            anomalies.append(
                f"iCabinet goes from {a.header.i_cabinet} to {b.header.i_cabinet} between "
                f"{a.path.name if a.path else '?'} and {b.path.name if b.path else '?'}"
            )
    return chain, missing_prev, missing_next, anomalies


def _continues_prev(f: CFFile) -> bool:
    return f.i_folder in (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT)


def _local_folder(cab: Cabinet, f: CFFile) -> int:
    if f.i_folder in (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT):
        return 0
    if f.i_folder == IFOLD_CONTINUED_TO_NEXT:
        return len(cab.folders) - 1
    return f.i_folder


def build_set(cab: Cabinet, *, follow: bool = True) -> CabSet:
    """The whole set ``cab`` belongs to (just ``cab`` when it is not part of one)."""
    chain, missing_prev, missing_next, anomalies = _chain(cab, follow)
    cset = CabSet(cabinets=chain, anomalies=anomalies)
    if missing_prev:
        cset.missing.append(f"previous cabinet {missing_prev}")
    if missing_next:
        cset.missing.append(f"next cabinet {missing_next}")
    mapping: list[list[int]] = []  # per cabinet: local folder -> global folder
    for ci, c in enumerate(chain):
        local_map: list[int] = []
        for li, folder in enumerate(c.folders):
            merges = (
                li == 0
                and ci > 0
                and c.header.flags & FLAG_PREV_CABINET
                and (any(_continues_prev(f) for f in c.files) or any(
                    f.i_folder in (IFOLD_CONTINUED_TO_NEXT, IFOLD_CONTINUED_PREV_AND_NEXT) for f in chain[ci - 1].files
                ))
            )
            if merges and cset.folders:
                target = cset.folders[-1]
                if folder.type_compress != target.folder.type_compress:
                    cset.anomalies.append(
                        f"continued folder changes compression from 0x{target.folder.type_compress:04x} "
                        f"to 0x{folder.type_compress:04x}"
                    )
            else:
                target = SetFolder(index=len(cset.folders), folder=folder)
                cset.folders.append(target)
                if li == 0 and ci == 0 and missing_prev and any(_continues_prev(f) for f in c.files):
                    target.start_error = f"folder starts in the previous cabinet {missing_prev}"
            target.parts.append((ci, li))
            target.blocks.extend(SetBlock(ci, b) for b in c.blocks[li])
            if li in c.block_errors:
                target.end_note = c.block_errors[li]
            local_map.append(target.index)
        mapping.append(local_map)
    if missing_next and cset.folders:
        cset.folders[-1].end_note = f"set incomplete: next cabinet {missing_next}"
    for ci, c in enumerate(chain):
        for f in c.files:
            if ci > 0 and _continues_prev(f):
                continue  # already listed by the previous cabinet
            global_index = mapping[ci][_local_folder(c, f)] if c.folders else None
            member = Member(entry=f, cab_index=ci, folder=global_index)
            if ci == 0 and _continues_prev(f):
                member.error = (
                    f"cabinet set is incomplete: begins in previous cabinet {missing_prev}"
                    if missing_prev
                    else "marked as continued from a previous cabinet, but this cabinet names none"
                )
            cset.members.append(member)
        _add_hidden(cset, ci, c, mapping[ci])
    return cset


def _add_hidden(cset: CabSet, ci: int, c: Cabinet, local_map: list[int]) -> None:
    """Members only the coffFiles table lists (the other parse of a two-table cabinet)."""
    if not c.tables_differ() or c.coff_table is None or c.coff_table.files is c.files:
        return
    listed = {(f.cb_file, f.uoff_folder_start, f.i_folder, f.name_raw) for f in c.files}
    for f in c.coff_table.files:
        if (f.cb_file, f.uoff_folder_start, f.i_folder, f.name_raw) in listed:
            continue
        local = _local_folder(c, f)
        global_index = local_map[local] if 0 <= local < len(local_map) else None
        cset.members.append(Member(entry=f, cab_index=ci, folder=global_index, hidden=True))

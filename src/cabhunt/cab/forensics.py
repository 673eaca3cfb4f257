"""Structure-level forensic facts of a cabinet: what tools disagree on and what a maker leaves.

Two file tables (coffFiles vs. right after the CFFOLDERs), bytes past cbCabinet, bytes no
structure references, overlapping blocks, per-block checksums, the Authenticode reserve and the
traits that real makecab.exe output always shows. Everything here reads the structure only; no
decompression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cabhunt.cab.c_cab import (
    ATTR_ARCHIVE,
    ATTR_NAME_IS_UTF,
    BLOCK_MAX,
    CFDATA,
    CFHEADER,
    FLAG_NEXT_CABINET,
    FLAG_PREV_CABINET,
    FLAG_RESERVE_PRESENT,
    CFFile,
    decode_dos_datetime,
)
from cabhunt.cab.checksum import cfdata_checksum
from cabhunt.cab.names import display_name
from cabhunt.cab.reader import Cabinet, FileTable
from cabhunt.cab.sets import CabSet
from cabhunt.cab.signature import signature_info

MAX_LISTED = 50  # list at most this many gaps / mismatches in the document
GAP_SCAN = 16 << 20  # bytes of a gap examined for non-zero content


@dataclass
class Finding:
    """A finding in the ``cab inspect`` document (ids from the stable vocabulary)."""

    id: str
    title: str
    member: str | None = None
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "member": self.member,
            "evidence": list(self.evidence),
            **({"details": self.details} if self.details else {}),
        }


def _hexs(data: bytes, n: int = 32) -> str:
    return data[:n].hex()


def _s(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("latin-1")


def header_dict(cab: Cabinet) -> dict[str, Any]:
    h = cab.header
    flags = [name for bit, name in ((FLAG_PREV_CABINET, "prev_cabinet"), (FLAG_NEXT_CABINET, "next_cabinet"),
                                    (FLAG_RESERVE_PRESENT, "reserve_present")) if h.flags & bit]
    return {
        "offset": cab.base,
        "cb_cabinet": h.cb_cabinet,
        "coff_files": h.coff_files,
        "version": f"{h.version_major}.{h.version_minor}",
        "reserved": [h.reserved1, h.reserved2, h.reserved3],
        "folders": h.c_folders,
        "files": h.c_files,
        "flags": h.flags,
        "flag_names": flags,
        "set_id": h.set_id,
        "i_cabinet": h.i_cabinet,
        "reserve": {
            "header": h.cb_header_reserve,
            "folder": h.cb_folder_reserve,
            "data": h.cb_data_reserve,
            "header_hex": _hexs(h.header_reserve, 64),
        },
        "prev": {"cabinet": _s(h.prev_cabinet), "disk": _s(h.prev_disk)} if h.prev_cabinet is not None else None,
        "next": {"cabinet": _s(h.next_cabinet), "disk": _s(h.next_disk)} if h.next_cabinet is not None else None,
    }


def folders_list(cab: Cabinet) -> list[dict[str, Any]]:
    out = []
    for i, f in enumerate(cab.folders):
        blocks = cab.blocks[i] if i < len(cab.blocks) else []
        out.append({
            "index": i,
            "entry_offset": f.offset,
            "data_offset": f.coff_cab_start,
            "blocks_declared": f.c_cf_data,
            "blocks_found": len(blocks),
            "type_compress": f"0x{f.type_compress:04x}",
            "compression": f.describe(),
            "compressed_bytes": sum(b.cb_data for b in blocks),
            "uncompressed_bytes": sum(b.cb_uncomp for b in blocks),
            "reserve_hex": _hexs(f.reserve, 64),
            "error": cab.block_errors.get(i),
        })
    return out


def table_listing(table: FileTable) -> dict[str, Any]:
    return {
        "offset": table.offset,
        "error": table.error,
        "files": [
            {"name": display_name(f), "size": f.cb_file, "offset": f.uoff_folder_start, "folder": f.i_folder}
            for f in table.files[:MAX_LISTED]
        ],
    }


def checksums(cab: Cabinet) -> dict[str, Any]:
    """Verify every CFDATA checksum (csum 0 means 'not computed')."""
    verified = zero = 0
    mismatches: list[dict[str, Any]] = []
    n_mismatch = 0
    for fi, chain in enumerate(cab.blocks):
        for bi, blk in enumerate(chain):
            if blk.csum == 0:
                zero += 1
                continue
            data = cab.buf[blk.data_offset : blk.data_offset + blk.cb_data]
            computed = cfdata_checksum(data, blk.cb_data, blk.cb_uncomp)
            if computed == blk.csum:
                verified += 1
                continue
            n_mismatch += 1
            if len(mismatches) < MAX_LISTED:
                mismatches.append({"folder": fi, "block": bi, "offset": blk.offset - cab.base,
                                   "stored": f"0x{blk.csum:08x}", "computed": f"0x{computed:08x}"})
    return {"verified": verified, "not_computed": zero, "mismatched": n_mismatch, "mismatches": mismatches}


def _regions(cab: Cabinet) -> list[tuple[int, int, str]]:
    """(start, end, what) of every structure, relative to the cabinet start."""
    h = cab.header
    regions = [(0, h.size, "CFHEADER")]
    per_folder = 8 + h.cb_folder_reserve
    for i, f in enumerate(cab.folders):
        regions.append((f.offset, f.offset + per_folder, f"CFFOLDER #{i}"))
    for label, table in (("file table", cab.sequential_table), ("coffFiles table", cab.coff_table)):
        if table is not None and table.files:
            regions.append((table.offset, table.end, label))
    for fi, chain in enumerate(cab.blocks):
        for bi, blk in enumerate(chain):
            start = blk.offset - cab.base
            regions.append((start, start + CFDATA.size + h.cb_data_reserve + blk.cb_data, f"CFDATA {fi}/{bi}"))
    return regions


def layout(cab: Cabinet) -> dict[str, Any]:
    """Unreferenced bytes inside cbCabinet and overlapping data blocks."""
    limit = min(cab.header.cb_cabinet, cab.file_size - cab.base)
    regions = sorted(_regions(cab))
    gaps: list[dict[str, Any]] = []
    overlaps: list[str] = []
    pos = 0
    last = "start"
    unreferenced = 0
    for start, end, what in regions:
        if start > pos and pos < limit:
            gap_end = min(start, limit)
            unreferenced += gap_end - pos
            if len(gaps) < MAX_LISTED:
                gaps.append(_gap(cab, pos, gap_end, last))
        elif start < pos and what.startswith("CFDATA") and last.startswith("CFDATA") and len(overlaps) < MAX_LISTED:
            overlaps.append(f"{what} at {start} overlaps {last} ending at {pos}")
        if end > pos:
            pos, last = end, what
    if pos < limit:
        unreferenced += limit - pos
        gaps.append(_gap(cab, pos, limit, last))
    hidden = sum(g["length"] for g in gaps if not g["zero"])
    return {"unreferenced_bytes": unreferenced, "nonzero_unreferenced_bytes": hidden, "gaps": gaps,
            "overlapping_blocks": overlaps}


def _gap(cab: Cabinet, start: int, end: int, after: str) -> dict[str, Any]:
    """One unreferenced range; all-zero padding is noted but is not hidden data."""
    data = cab.slice(cab.base + start, min(end - start, GAP_SCAN))
    zero = not data.strip(b"\0") and end - start <= GAP_SCAN
    return {"offset": start, "length": end - start, "after": after, "zero": zero, "hex": _hexs(data)}


def overlay(cab: Cabinet, sig: dict[str, Any]) -> dict[str, Any]:
    """Bytes after cbCabinet, and how much of them the signature explains."""
    size = max(0, cab.file_size - cab.end)
    explained = 0
    if sig.get("present") and sig.get("offset") == cab.header.cb_cabinet and sig.get("length"):
        explained = min(size, int(sig["length"]))
    return {"offset": cab.header.cb_cabinet, "size": size, "signature_bytes": explained,
            "unexplained_bytes": size - explained,
            "hex": _hexs(cab.slice(cab.end + explained, 32)) if size > explained else ""}


def makecab_traits(cab: Cabinet) -> dict[str, Any]:
    """The traits every makecab.exe-built cabinet shows; all true suggests the real tool."""
    h = cab.header
    expected_coff = CFHEADER.size + (4 + h.cb_header_reserve if h.flags & FLAG_RESERVE_PRESENT else 0)
    for raw in (h.prev_cabinet, h.prev_disk, h.next_cabinet, h.next_disk):
        if raw is not None:
            expected_coff += len(raw) + 1
    expected_coff += len(cab.folders) * (8 + h.cb_folder_reserve)
    seq_end = cab.sequential_table.end if cab.sequential_table else 0
    first_data = min((chain[0].offset - cab.base for chain in cab.blocks if chain), default=None)
    blocks = [b for chain in cab.blocks for b in chain]
    nonfinal_full = all(all(b.cb_uncomp in (BLOCK_MAX, 0) for b in chain[:-1]) for chain in cab.blocks)
    traits = {
        "version_1_3": (h.version_major, h.version_minor) == (1, 3),
        "reserved_zero": h.reserved1 == h.reserved2 == h.reserved3 == 0,
        "file_table_after_folders": h.coff_files == expected_coff,
        "data_after_file_table": first_data is None or first_data == seq_end,
        "maximal_blocks": nonfinal_full,
        "checksums_set": all(b.csum != 0 for b in blocks),
        "backslash_separators": all(b"/" not in f.name_raw for f in cab.files),
        "archive_attribute": all(f.attribs & ~ATTR_NAME_IS_UTF & 0xFF == ATTR_ARCHIVE for f in cab.files),
    }
    return {**traits, "makecab_like": all(traits.values()),
            "mode_hint": "single-file (setID 0, one folder)" if h.set_id == 0 and len(cab.folders) == 1
            else "directive file (non-zero setID)" if h.set_id else "unknown"}


def member_layout(cset: CabSet) -> dict[str, Any]:
    """Members that share bytes, and members that claim more than their folder holds."""
    overlaps: list[str] = []
    beyond: list[str] = []
    by_folder: dict[int, list[tuple[int, int, str]]] = {}
    for m in cset.members:
        if m.folder is None or m.error or m.hidden:
            continue
        by_folder.setdefault(m.folder, []).append((m.offset, m.offset + m.size, display_name(m.entry)))
    for index, spans in by_folder.items():
        folder = cset.folders[index]
        available = sum(b.block.cb_uncomp for b in folder.blocks)
        spans.sort()
        reach, reach_name = 0, ""
        for start, end, name in spans:
            if start < reach and end > start and len(overlaps) < MAX_LISTED:
                overlaps.append(f"{name} [{start}, {end}) overlaps {reach_name} in folder {index}")
            if end > reach:
                reach, reach_name = end, name
            if end > available and not folder.end_note and len(beyond) < MAX_LISTED:
                beyond.append(f"{name} ends at {end}, folder {index} holds {available} bytes")
    return {"overlapping": overlaps, "beyond_folder": beyond}


def timestamp(f: CFFile) -> tuple[str | None, str | None]:
    return decode_dos_datetime(f.date, f.time)


def cabinet_document(cset: CabSet, cab: Cabinet, standalone: bool = True) -> tuple[dict[str, Any], list[Finding]]:
    """The ``cabinet`` part of the inspect document and its structure findings.

    ``standalone`` is false for cabinets found by searching a larger file, where bytes after a
    cabinet are expected (the next cabinet, the rest of an installer) and not an overlay finding.
    """
    findings: list[Finding] = []
    sig = signature_info(cab)
    sums = [checksums(c) for c in cset.cabinets]
    lay = layout(cab)
    ovl = overlay(cab, sig)
    doc: dict[str, Any] = {
        "header": header_dict(cab),
        "folders": folders_list(cab),
        "file_tables": {
            "sequential": table_listing(cab.sequential_table) if cab.sequential_table else None,
            "coff_files": table_listing(cab.coff_table) if cab.coff_table else None,
            "differ": cab.tables_differ(),
        },
        "checksums": sums[cset.cabinets.index(cab)] if cab in cset.cabinets else checksums(cab),
        "layout": lay,
        "overlay": ovl,
        "signature": sig,
        "traits": makecab_traits(cab),
        "members_layout": member_layout(cset),
        "sets": {
            "set_id": cab.header.set_id,
            "cabinets": [{"path": str(c.path) if c.path else None, "i_cabinet": c.header.i_cabinet,
                          "checksums": s} for c, s in zip(cset.cabinets, sums, strict=True)],
            "missing": list(cset.missing),
            "folders": len(cset.folders),
            "anomalies": list(cset.anomalies),
        } if len(cset.cabinets) > 1 or cset.missing else None,
        "anomalies": list(cab.anomalies),
    }
    if cab.tables_differ():
        seq, coff = cab.sequential_table, cab.coff_table
        assert seq is not None and coff is not None
        findings.append(Finding(
            "cab.parser_differential",
            "two different file tables: readers following coffFiles list other members than sequential readers",
            evidence=[
                f"after the folders (offset {seq.offset}): " + ", ".join(display_name(f) for f in seq.files[:20])
                + (f" [{seq.error}]" if seq.error else ""),
                f"at coffFiles (offset {coff.offset}): " + ", ".join(display_name(f) for f in coff.files[:20])
                + (f" [{coff.error}]" if coff.error else ""),
            ],
        ))
    if ovl["unexplained_bytes"] and standalone:
        findings.append(Finding(
            "cab.parser_differential",
            "data after the declared end of the cabinet (overlay) that no signature explains",
            evidence=[f"{ovl['unexplained_bytes']} bytes after offset {cab.header.cb_cabinet}", f"hex {ovl['hex']}"],
        ))
    if lay["nonzero_unreferenced_bytes"]:
        findings.append(Finding(
            "cab.parser_differential",
            "bytes inside the cabinet that no structure references (hidden data)",
            evidence=[f"{g['length']} bytes at {g['offset']} after {g['after']}: {g['hex']}"
                      for g in lay["gaps"][:10] if not g["zero"]],
        ))
    odd_names = [f"{display_name(f)!r} at offset {f.offset}: {', '.join(f.problems)}" for f in cab.files if f.problems]
    if odd_names:
        findings.append(Finding("cab.parser_differential",
                                "member names that libmspack/cabextract reject but 7-Zip, gcab and others accept",
                                evidence=odd_names[:10]))
    short = [f"folder {fi} block {bi}: {b.cb_uncomp} bytes" for fi, chain in enumerate(cab.blocks)
             for bi, b in enumerate(chain[:-1]) if b.cb_uncomp not in (0, BLOCK_MAX)]
    if short:
        findings.append(Finding("cab.parser_differential",
                                "non-final data blocks shorter than 32768 bytes (7-Zip, libarchive and gcab refuse them)",
                                evidence=short[:10]))
    mlay = doc["members_layout"]
    if mlay["overlapping"]:
        findings.append(Finding("cab.parser_differential",
                                "members share the same decompressed bytes (one payload, several names)",
                                evidence=mlay["overlapping"][:10]))
    if lay["overlapping_blocks"]:
        findings.append(Finding("cab.parser_differential", "data blocks overlap", evidence=lay["overlapping_blocks"][:10]))
    for c, s in zip(cset.cabinets, sums, strict=True):
        if s["mismatched"]:
            name = c.path.name if c.path else "cabinet"
            findings.append(Finding(
                "cab.checksum_mismatch",
                f"{s['mismatched']} CFDATA checksum(s) do not match in {name}",
                evidence=[f"{name} folder {m['folder']} block {m['block']} at {m['offset']}: stored {m['stored']}, "
                          f"computed {m['computed']}" for m in s["mismatches"][:10]],
            ))
    return doc, findings


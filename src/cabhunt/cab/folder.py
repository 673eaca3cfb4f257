"""Decode a folder block by block and hand each member its bytes as they appear.

Folders are solid (one compression stream), so a folder is decoded once from its start and
every member in it is fed in the same pass; nothing is held beyond one block and what the
sinks keep. Blocks split across cabinets (cbUncomp = 0) are joined before decoding. Any error
from a codec becomes :class:`CabDecompressError`; caps raise :class:`CabLimitError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from cabhunt.cab.c_cab import BLOCK_INPUT_MAX, BLOCK_MAX, COMP_LZX, COMP_MSZIP, COMP_NONE, COMP_QUANTUM
from cabhunt.cab.errors import CabDecompressError, CabError, CabLimitError
from cabhunt.cab.limits import Budget
from cabhunt.cab.sets import CabSet, Member, SetFolder


class Decoder(Protocol):
    def decompress(self, data: bytes, out_len: int) -> bytes: ...


class StoredDecoder:
    """Uncompressed folders: the block is the output."""

    def decompress(self, data: bytes, out_len: int) -> bytes:
        if len(data) != out_len:
            raise CabDecompressError(f"stored block has {len(data)} bytes, CFDATA declares {out_len}")
        return data


def make_decoder(type_compress: int) -> Decoder:
    """A fresh decoder for a folder's typeCompress (the LZX/Quantum modules load on demand)."""
    method = type_compress & 0x0F
    window = (type_compress >> 8) & 0x1F
    if method == COMP_NONE:
        return StoredDecoder()
    if method == COMP_MSZIP:
        from cabhunt.cab.mszip import MszipDecoder

        return MszipDecoder()
    if method == COMP_LZX:
        if not 15 <= window <= 21:
            raise CabDecompressError(f"LZX window 2^{window} is outside 15..21")
        try:
            from cabhunt.cab.lzx import LzxDecoder
        except ImportError as exc:
            raise CabDecompressError("LZX decoder not available") from exc
        return LzxDecoder(window)  # type: ignore[no-any-return]
    if method == COMP_QUANTUM:
        if not 10 <= window <= 21:
            raise CabDecompressError(f"Quantum window 2^{window} is outside 10..21")
        try:
            from cabhunt.cab.quantum import QuantumDecoder
        except ImportError as exc:
            raise CabDecompressError("Quantum decoder not available") from exc
        return QuantumDecoder(window, (type_compress >> 4) & 0x0F)  # type: ignore[no-any-return]
    raise CabDecompressError(f"unknown compression type 0x{type_compress:04x}")


def iter_folder(cset: CabSet, folder: SetFolder, budget: Budget, stop_at: int | None = None) -> Iterator[bytes]:
    """Uncompressed blocks of ``folder`` in order, until ``stop_at`` bytes were produced."""
    if folder.start_error:
        raise CabDecompressError(folder.start_error)
    decoder = make_decoder(folder.folder.type_compress)
    produced = 0
    pending = b""
    for number, sb in enumerate(folder.blocks):
        if stop_at is not None and produced >= stop_at:
            return
        cab = cset.cabinets[sb.cab_index]
        blk = sb.block
        if blk.cb_uncomp > BLOCK_MAX:
            raise CabDecompressError(f"CFDATA #{number} declares {blk.cb_uncomp} output bytes (max {BLOCK_MAX})")
        data = pending + cab.slice(blk.data_offset, blk.cb_data) if pending else cab.slice(blk.data_offset, blk.cb_data)
        if len(data) > BLOCK_INPUT_MAX:
            raise CabDecompressError(f"CFDATA #{number} holds {len(data)} compressed bytes (max {BLOCK_INPUT_MAX})")
        if blk.cb_uncomp == 0:
            pending = data  # block continues in the next cabinet's first CFDATA
            continue
        pending = b""
        try:
            out = decoder.decompress(data, blk.cb_uncomp)
        except CabError:
            raise
        except (MemoryError, RecursionError) as exc:
            raise CabLimitError(f"decoder ran out of resources in CFDATA #{number}: {type(exc).__name__}") from exc
        except Exception as exc:
            raise CabDecompressError(f"decoder failed in CFDATA #{number}: {type(exc).__name__}: {exc}") from exc
        if len(out) != blk.cb_uncomp:
            raise CabDecompressError(f"CFDATA #{number} decoded to {len(out)} bytes, declares {blk.cb_uncomp}")
        budget.charge(len(out))
        produced += len(out)
        yield out
    if pending:
        raise CabDecompressError("last CFDATA block is split but the continuation is missing")


class Sink(Protocol):
    """Receives one member's bytes."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self, reason: str) -> None: ...


@dataclass
class Outcome:
    member: Member
    ok: bool
    reason: str | None = None


def stream_folder(
    cset: CabSet, folder: SetFolder, members: list[tuple[Member, Sink]], budget: Budget
) -> list[Outcome]:
    """Decode ``folder`` once and feed every (member, sink) pair; members may overlap."""
    outcomes: list[Outcome] = []
    pending = sorted(members, key=lambda ms: (ms[0].offset, ms[0].size))
    for member, sink in [ms for ms in pending if ms[0].size == 0]:
        sink.close()
        outcomes.append(Outcome(member, True))
    pending = [ms for ms in pending if ms[0].size > 0]
    if not pending:
        return outcomes
    need = max(m.offset + m.size for m, _ in pending)
    active: list[tuple[Member, Sink]] = []
    pos = 0
    try:
        for out in iter_folder(cset, folder, budget, stop_at=need):
            end = pos + len(out)
            while pending and pending[0][0].offset < end:
                active.append(pending.pop(0))
            still: list[tuple[Member, Sink]] = []
            for member, sink in active:
                lo = max(member.offset, pos)
                hi = min(member.offset + member.size, end)
                if hi > lo:
                    sink.write(out[lo - pos : hi - pos])
                if member.offset + member.size <= end:
                    sink.close()
                    outcomes.append(Outcome(member, True))
                else:
                    still.append((member, sink))
            active = still
            pos = end
            if not active and not pending:
                break
    except CabError as exc:
        reason = str(exc)
        for member, sink in active + pending:
            sink.abort(reason)
            outcomes.append(Outcome(member, False, reason))
        return outcomes
    short = f"folder data ends after {pos} bytes"
    if folder.end_note:
        short += f"; {folder.end_note}"
    for member, sink in active + pending:
        sink.abort(short)
        outcomes.append(Outcome(member, False, short))
    return outcomes


def stream_members(
    cset: CabSet,
    budget: Budget,
    open_sink: Callable[[Member], Sink | str],
) -> list[Outcome]:
    """Stream every member of the set; ``open_sink`` returns a sink or the reason to refuse."""
    outcomes: list[Outcome] = []
    by_folder: dict[int, list[tuple[Member, Sink]]] = {}
    for member in cset.members:
        if member.error or member.folder is None:
            outcomes.append(Outcome(member, False, member.error or "member names no folder"))
            continue
        got = open_sink(member)
        if isinstance(got, str):
            outcomes.append(Outcome(member, False, got))
            continue
        by_folder.setdefault(member.folder, []).append((member, got))
    for index in sorted(by_folder):
        outcomes.extend(stream_folder(cset, cset.folders[index], by_folder[index], budget))
    order = {id(m): i for i, m in enumerate(cset.members)}
    outcomes.sort(key=lambda o: order.get(id(o.member), 0))
    return outcomes

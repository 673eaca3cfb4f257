"""MSZIP ([MS-MCI]): each CFDATA block is ``CK`` + a raw DEFLATE stream that ends in a final block.

The 32 KiB history carries across the blocks of a folder, so each block is inflated with the
previous output as the preset dictionary (``zlib.decompressobj(-15, zdict=...)``).
"""

from __future__ import annotations

import zlib

from cabhunt.cab.c_cab import BLOCK_MAX
from cabhunt.cab.errors import CabDecompressError

HISTORY = 32768


class MszipDecoder:
    """Decode one folder's MSZIP blocks in order."""

    def __init__(self) -> None:
        self._history = b""

    def decompress(self, data: bytes, out_len: int) -> bytes:
        if data[:2] != b"CK":
            raise CabDecompressError("MSZIP block does not start with the CK signature")
        if out_len > BLOCK_MAX:
            raise CabDecompressError(f"MSZIP block declares {out_len} output bytes (max {BLOCK_MAX})")
        try:
            inflater = zlib.decompressobj(-15, zdict=self._history) if self._history else zlib.decompressobj(-15)
            out = inflater.decompress(memoryview(data)[2:], out_len + 1)
        except zlib.error as exc:
            raise CabDecompressError(f"MSZIP block is corrupt: {exc}") from exc
        if len(out) != out_len:
            raise CabDecompressError(f"MSZIP block gave {len(out)}+ bytes, CFDATA declares {out_len}")
        if not inflater.eof:
            raise CabDecompressError("MSZIP block does not end with a final DEFLATE block")
        if len(out) >= HISTORY:
            self._history = out[-HISTORY:]
        else:
            self._history = (self._history + out)[-HISTORY:]
        return out

"""Canonical Huffman lookup tables for the cabinet codecs.

A table is indexed by the next ``bits`` bits of the stream (MSB-first) and each entry packs
``(symbol << 5) | code_length``, so one list lookup both names the symbol and says how many bits
to consume. ``bits`` is the longest code length in use, so no second level is ever needed (LZX
codes are at most 16 bits). Codes are assigned in the canonical order (by length, then symbol),
which makes every code's slice of the table contiguous and the table a simple concatenation.
"""

from __future__ import annotations

from collections.abc import Sequence

from cabhunt.cab.errors import CabDecompressError

MAX_CODE_BITS = 16
# Entry for a bit pattern that no code covers (incomplete or empty tree): length 0 and a symbol far
# beyond any alphabet, so the caller's range checks turn it into a decode error. It must also exceed
# any match length or distance a decoder could accept (LZX history stays below 8 MiB).
INVALID_SYMBOL = 1 << 26
INVALID_ENTRY = INVALID_SYMBOL << 5


def build_table(lengths: Sequence[int], *, allow_empty: bool = True, name: str = "tree") -> tuple[list[int], int]:
    """The lookup table and its index width for the code ``lengths`` describe.

    Oversubscribed length sets (more codes than the bit space holds) are rejected. An empty tree
    raises unless ``allow_empty``; then, like unused patterns of an incomplete tree, every lookup
    yields ``INVALID_ENTRY`` so a stream that actually uses such a code fails when it does.
    """
    buckets: list[list[int]] = [[] for _ in range(MAX_CODE_BITS + 1)]
    for sym, length in enumerate(lengths):
        if length:
            if length > MAX_CODE_BITS:
                raise CabDecompressError(f"{name}: code length {length} exceeds {MAX_CODE_BITS}")
            buckets[length].append(sym)
    max_len = max((n for n in range(1, MAX_CODE_BITS + 1) if buckets[n]), default=0)
    if max_len == 0:
        if not allow_empty:
            raise CabDecompressError(f"{name}: Huffman tree has no code lengths")
        return [INVALID_ENTRY, INVALID_ENTRY], 1
    size = 1 << max_len
    table: list[int] = []
    filled = 0
    for length in range(1, max_len + 1):
        syms = buckets[length]
        if not syms:
            continue
        span = 1 << (max_len - length)
        filled += span * len(syms)
        if filled > size:
            raise CabDecompressError(f"{name}: Huffman code lengths are oversubscribed")
        if span == 1:
            table.extend([(s << 5) | length for s in syms])
        else:
            for s in syms:
                table.extend([(s << 5) | length] * span)
    if filled < size:
        table.extend([INVALID_ENTRY] * (size - filled))
    return table, max_len

"""Errors of the cabinet reader. Only these escape the cab package on hostile input."""

from __future__ import annotations

from cabhunt.errors import CabhuntError


class CabError(CabhuntError):
    """Any problem reading a cabinet."""


class CabFormatError(CabError):
    """The bytes do not form a valid cabinet structure (header, tables, strings)."""


class CabDecompressError(CabError):
    """A folder's compressed data stream is corrupt or cannot be decoded."""


class CabLimitError(CabError):
    """A configured cap (output size, expansion ratio, CPU time, recursion depth) was hit."""

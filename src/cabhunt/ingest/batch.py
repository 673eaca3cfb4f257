"""The unit readers hand to the loader: record ids and the records' JSON text, many at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Large flushes let DuckDB spread the JSON parsing over all threads, and each statement has a
# fixed cost (planning and setting up some fifty column expressions: about a tenth of a second)
# that small flushes would pay many times; memory stays bounded. Reading is several times
# faster than normalizing, so the next flush is read long before the running one is done.
# Once the store outgrows its memory limit each statement also evicts and reloads blocks:
# 400,000 Winlogbeat events under 512 MB took 10.3 s in 192 MB flushes, 15.1 s in 128 MB ones
# and 19.8 s in 64 MB ones (100,000 take the same 2.0 s in 128 or 192 MB).
BATCH_RECORDS = 200_000
BATCH_BYTES = 192 * 1024 * 1024
READ_BYTES = 16 * 1024 * 1024


@dataclass
class Batch:
    """``texts[i]`` is one record as JSON text; its id is ``ids[i]`` or ``first_id + i``.

    A reader that already holds the records as an Arrow string array passes it as ``arrow``
    (and leaves ``texts`` empty): NDJSON lines go from the file's bytes to DuckDB without
    becoming Python strings.
    """

    texts: list[str]
    ids: Any = None  # list or numpy array of ints
    first_id: int = 1
    arrow: Any = None  # pyarrow StringArray of the records, instead of ``texts``

    def __len__(self) -> int:
        return len(self.arrow) if self.arrow is not None else len(self.texts)

    def nbytes(self) -> int:
        """Size of an Arrow batch's text (0 for a list of texts: counted by records instead)."""
        return int(self.arrow.nbytes) if self.arrow is not None else 0


# pyarrow's generic constructors (``pa.array``, ``pa.table``) probe their input for pandas types,
# which imports pandas -- about a second of start-up for a one-shot ingest. The record arrays are
# built from raw buffers instead.


def int_array(values: Any, bits: int = 64) -> Any:
    """A pyarrow int32/int64 array over ``values`` (a sequence or numpy array of ints)."""
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.int64 if bits == 64 else np.int32)
    return pa.Array.from_buffers(pa.int64() if bits == 64 else pa.int32(), len(data), [None, pa.py_buffer(data)])


def bool_array(values: Any) -> Any:
    """A pyarrow boolean array over ``values`` (a numpy bool array), bit-packed as Arrow keeps it."""
    import numpy as np
    import pyarrow as pa

    bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def string_array(texts: list[str]) -> Any:
    """A pyarrow string array of ``texts``, built from one joined UTF-8 buffer.

    The offsets come from each text's UTF-8 length (its ``len`` when it is ASCII, as most
    records are); a text that cannot be encoded (a lone surrogate) takes pyarrow's generic path.
    """
    import numpy as np
    import pyarrow as pa

    n = len(texts)
    try:
        lengths = np.fromiter((len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts), np.int64, n)
        blob = "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return pa.array(texts, type=pa.string())
    if len(blob) >= 2**31:
        return pa.array(texts, type=pa.string())
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(blob))

"""The unit readers hand to the loader: record ids and the records' JSON text, many at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Large flushes let DuckDB spread the JSON parsing over all threads; memory stays bounded.
BATCH_RECORDS = 200_000
BATCH_BYTES = 192 * 1024 * 1024
READ_BYTES = 32 * 1024 * 1024


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

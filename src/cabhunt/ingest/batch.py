"""The unit readers hand to the loader: record ids and the records' JSON text, many at a time."""

from __future__ import annotations

from dataclasses import dataclass

BATCH_RECORDS = 50_000
BATCH_BYTES = 48 * 1024 * 1024


@dataclass
class Batch:
    """``texts[i]`` is one record as JSON text; its id is ``ids[i]`` or ``first_id + i``."""

    texts: list[str]
    ids: list[int] | None = None
    first_id: int = 1

    def __len__(self) -> int:
        return len(self.texts)

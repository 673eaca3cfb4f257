"""File digests computed ahead, in one worker thread, while earlier files are being read.

The digest is the idempotency key of a file and has to be known before its events are
written, but it does not have to hold up reading: hashlib and file reads release the GIL, so
hashing the next files (and the rest of a large one) runs beside the parsing on another core.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from cabhunt.ingest.source import file_digest

AHEAD_FILES = 8


class Digests:
    """``get(i)`` is the digest future of ``paths[i]``; the next few are already queued.

    A ``None`` in ``paths`` is a file not hashed here (unreadable, or small enough for the
    reader to hash the bytes it reads anyway); its ``get`` is None.
    """

    def __init__(self, paths: Sequence[Path | None], ahead: int = AHEAD_FILES) -> None:
        self._paths = list(paths)
        self._ahead = ahead
        self._futures: dict[int, Future[str]] = {}
        self._next = 0
        self._pool: ThreadPoolExecutor | None = None

    def get(self, index: int) -> Future[str] | None:
        """The digest of file ``index`` (submitted now if it was not yet), queueing those after it."""
        self._next = max(self._next, index)
        while self._next < len(self._paths) and self._next <= index + self._ahead:
            path = self._paths[self._next]
            if path is not None:
                self._futures[self._next] = self._submit(path)
            self._next += 1
        path = self._paths[index]
        if path is None:
            return None
        future = self._futures.pop(index, None)
        return future if future is not None else self._submit(path)  # asked out of order

    def _submit(self, path: Path) -> Future[str]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cabhunt-digest")
        return self._pool.submit(file_digest, path)

    def close(self) -> None:
        """Stop the worker; digests queued for files not read any more are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()

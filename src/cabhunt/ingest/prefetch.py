"""Reading the next batch while DuckDB normalizes the current one.

File reading, decompression, line splitting and the EVTX parser run in a worker thread; DuckDB
releases the GIL while it works, so the two overlap. The queue is short: memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead; errors re-raised here."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(obj: object) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which decides
            put(_Failure(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="cabhunt-reader", daemon=True)
    thread.start()
    try:
        while True:
            obj = q.get()
            if obj is _DONE:
                return
            if isinstance(obj, _Failure):
                raise obj.exc
            yield obj  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()

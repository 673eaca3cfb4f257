"""Which memory limit a hunt's store gets."""

from __future__ import annotations

import gzip
from pathlib import Path

from cabhunt.ingest.source import expanded_size
from cabhunt.store.duckdb_store import size_bytes
from cabhunt.store.factory import SMALL_INPUT_BYTES, SMALL_INPUT_MEMORY_LIMIT, open_store


def _limit(store: object) -> int | None:
    duck = store.duck  # type: ignore[attr-defined]
    return size_bytes(str(duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))


def test_small_input_gets_the_larger_limit_and_large_input_stays_bounded(tmp_path: Path) -> None:
    big = size_bytes(SMALL_INPUT_MEMORY_LIMIT) or 0
    for input_bytes, expect_big in ((10_000, True), (SMALL_INPUT_BYTES, True), (SMALL_INPUT_BYTES + 1, False),
                                    (None, False)):
        store = open_store(None, None, input_bytes=input_bytes)
        try:
            limit = _limit(store) or 0
            assert (limit >= big * 0.9) is expect_big, (input_bytes, limit)
        finally:
            store.close()
    # a kept store (--db) is bounded however small the input
    kept = open_store(tmp_path / "x.duckdb", None, input_bytes=10)
    try:
        assert (_limit(kept) or 0) < big * 0.9
    finally:
        kept.close()
    # an explicit limit always wins
    explicit = open_store(None, None, memory_limit="200MB", input_bytes=10)
    try:
        assert (_limit(explicit) or 0) < 300 * 1024 * 1024
    finally:
        explicit.close()


def test_expanded_size_reads_the_gzip_trailer(tmp_path: Path) -> None:
    plain = tmp_path / "a.ndjson"
    plain.write_bytes(b'{"a": 1}\n' * 10_000)
    packed = tmp_path / "a.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert expanded_size(plain) == plain.stat().st_size
    assert expanded_size(packed) == plain.stat().st_size > packed.stat().st_size
    tiny = tmp_path / "t"
    tiny.write_bytes(b"\x1f\x8b")
    assert expanded_size(tiny) == 2  # too short to hold a trailer: its stored size


def test_only_a_one_shot_store_may_drop_raw_records(tmp_path: Path) -> None:
    temporary = open_store(None, None, keep_raw=False)
    kept = open_store(tmp_path / "k.duckdb", None, keep_raw=False)
    default = open_store(None, None)
    try:
        assert (temporary.keep_raw, kept.keep_raw, default.keep_raw) == (False, True, True)
    finally:
        for store in (temporary, kept, default):
            store.close()

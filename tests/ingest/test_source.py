"""Opening and hashing a log file: the digest is the file's SHA-256 whatever the block size."""

from __future__ import annotations

import gzip
import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.ingest.source import EVTX_MAGIC, file_digest, head, head_of


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), block=st.integers(min_value=1, max_value=4096))
def test_digest_is_sha256_of_the_file(data: bytes, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(data)
        assert file_digest(path, block) == hashlib.sha256(data).hexdigest()
        assert file_digest(path) == hashlib.sha256(data).hexdigest()


@settings(max_examples=40, deadline=None)
@given(
    body=st.binary(max_size=3000),
    start=st.sampled_from([b"", EVTX_MAGIC, b"{", b"#separator"]),
    packed=st.booleans(),
    size=st.integers(min_value=8, max_value=4096),
)
def test_sample_of_bytes_read_whole_is_the_sample_of_the_file(body: bytes, start: bytes, packed: bool, size: int) -> None:
    """A small file is sniffed from the bytes already read: same sample as reading the file."""
    data = gzip.compress(start + body) if packed else start + body
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(data)
        assert _outcome(lambda: head_of(data, size)) == _outcome(lambda: head(path, size))


def _outcome(sample: Callable[[], bytes]) -> bytes | str:
    """The sample, or the kind of error it raised (a broken gzip stream fails both ways alike)."""
    try:
        return sample()
    except (OSError, EOFError) as exc:
        return type(exc).__name__

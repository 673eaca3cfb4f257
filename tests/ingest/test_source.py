"""Opening and hashing a log file: the digest is the file's SHA-256 whatever the block size."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.ingest.source import file_digest


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), block=st.integers(min_value=1, max_value=4096))
def test_digest_is_sha256_of_the_file(data: bytes, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(data)
        assert file_digest(path, block) == hashlib.sha256(data).hexdigest()
        assert file_digest(path) == hashlib.sha256(data).hexdigest()

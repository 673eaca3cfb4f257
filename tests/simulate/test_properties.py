"""Property tests for the pure helpers every record depends on."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cabhunt.simulate.artifacts import artifact_path
from cabhunt.simulate.entities import TimeCache, iso_ms, utc_text

_segment = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="._-$ "),
                   min_size=1, max_size=12).filter(lambda s: s.strip(" .") == s and s not in (".", ".."))


@given(st.lists(st.integers(min_value=0, max_value=4_102_444_800_000), min_size=1, max_size=20))
def test_time_cache_matches_datetime_formatting(values: list[int]) -> None:
    tc = TimeCache()
    for ms in values:
        assert tc.utc(ms) == utc_text(ms)
        assert tc.iso(ms) == iso_ms(ms)
        assert tc.iso(ms, 7) == iso_ms(ms)[:-1] + "0000Z"
        assert tc.utc_seconds(ms) == utc_text(ms)[:-4]


@given(st.sampled_from("CDE"), st.lists(_segment, min_size=1, max_size=5))
def test_artifact_path_keeps_drive_and_segments(drive: str, parts: list[str]) -> None:
    root = Path("/a")
    win = f"{drive}:\\" + "\\".join(parts)
    p = artifact_path(root, "WS0001", win)
    assert p.parts[:4] == ("/", "a", "WS0001", drive) and list(p.parts[4:]) == parts


@given(st.lists(_segment, min_size=2, max_size=5))
def test_artifact_path_unc(parts: list[str]) -> None:
    p = artifact_path(Path("/a"), "WS0001", "\\\\" + "\\".join(parts))
    assert p.parts[3] == "UNC" and list(p.parts[4:]) == parts

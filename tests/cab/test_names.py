"""Safe member names: every hostile form becomes a relative path inside the output directory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cabhunt.cab.names import NameAllocator, make_safe


def _safe(raw: bytes, attribs: int = 0x20) -> str:
    return make_safe(raw, attribs).written


def test_traversal_and_absolute() -> None:
    assert _safe(b"..\\..\\Windows\\Temp\\evil.txt") == "Windows/Temp/evil.txt"
    assert _safe(b"C:\\abs.txt") == "abs.txt"
    assert _safe(b"C:abs.txt") == "abs.txt"
    assert _safe(b"/etc/passwd") == "etc/passwd"
    assert _safe(b"\\\\server\\share\\x.exe") == "server/share/x.exe"
    assert _safe(b"\\\\?\\C:\\x.exe") == "x.exe"
    assert _safe(b"\\\\?\\UNC\\srv\\s\\x.exe") == "srv/s/x.exe"


def test_devices_controls_and_trailing() -> None:
    assert _safe(b"CON") == "_CON"
    assert _safe(b"dir\\nul.txt") == "dir/_nul.txt"
    assert _safe(b"COM1.log") == "_COM1.log"
    assert _safe(b"a\x01b\x1fc") == "a_b_c"
    assert _safe(b"what?.txt") == "what_.txt"
    assert _safe(b"name. . ") == "name"


def test_invalid_utf8_flagged() -> None:
    s = make_safe(b"\xc0\xafetc", 0xA0)
    assert "/" not in s.written.replace("\ufffd", "")
    assert any("UTF-8" in n for n in s.notes)
    assert make_safe("tést".encode(), 0xA0).written == "tést"
    assert make_safe(b"t\xe9st", 0x20).written == "tést"  # no flag: codepage bytes, shown as Latin-1


def test_overlong_component_and_empty() -> None:
    s = make_safe(b"A" * 400 + b".exe", 0x20)
    assert len(s.written.encode()) <= 255 and s.written.endswith(".exe")
    assert make_safe(b"", 0x20).written == "unnamed"
    assert make_safe(b"\\\\\\", 0x20).written == "unnamed"


def test_duplicates_renamed_case_insensitively() -> None:
    alloc = NameAllocator()
    a = alloc.allocate(make_safe(b"x.txt", 0x20))
    b = alloc.allocate(make_safe(b"X.TXT", 0x20))
    c = alloc.allocate(make_safe(b"..\\x.txt", 0x20))
    assert (a.written, b.written, c.written) == ("x.txt", "X~1.TXT", "x~2.txt")
    d = alloc.allocate(make_safe(b"x.txt\\inner", 0x20))  # parent would be a file
    assert d.written == "x.txt~dir/inner"


@given(st.binary(min_size=0, max_size=300), st.sampled_from([0x20, 0xA0]))
def test_never_escapes(raw: bytes, attribs: int) -> None:
    s = make_safe(raw.replace(b"\0", b""), attribs)
    parts = s.written.split("/")
    assert s.written and not s.written.startswith("/")
    assert all(p not in ("", ".", "..") for p in parts)
    assert "\\" not in s.written and "\0" not in s.written and ":" not in s.written
    assert all(len(p.encode()) <= 255 for p in parts)

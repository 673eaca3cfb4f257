"""Path resolution and classification."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.windows.paths import classify_path, normalize_path, resolve_path


@pytest.mark.parametrize(
    ("path", "kind", "host", "port"),
    [
        ("C:\\Windows\\Temp\\a.cab", "local", None, None),
        ("\\\\?\\C:\\x\\y.cab", "local", None, None),
        ("\\\\.\\C:\\x\\y.cab", "local", None, None),
        ("\\\\host\\share\\f.exe", "smb", "host", 445),
        ("\\\\?\\UNC\\host\\share\\f.exe", "smb", "host", 445),
        ("//host/share/f.exe", "smb", "host", 445),
        ("\\\\host\\DavWWWRoot\\f.exe", "webdav", "host", 80),
        ("\\\\host@SSL\\DavWWWRoot\\f.exe", "webdav", "host", 443),
        ("\\\\host@8080\\f.exe", "webdav", "host", 8080),
        ("\\\\host@SSL@8443\\DavWWWRoot\\f", "webdav", "host", 8443),
        ("\\\\?\\UNC\\x.sharepoint.com@SSL\\DavWWWRoot\\f", "webdav", "x.sharepoint.com", 443),
        ("\\\\2001-db8--1.ipv6-literal.net\\share\\f", "smb", "2001-db8--1.ipv6-literal.net", 445),
        ("http://evil.example.com/a.exe", "http", "evil.example.com", 80),
        ("https://203.0.113.4/a.exe", "http", "203.0.113.4", 443),
        ("HTTP://[2001:db8::5]:8000/a", "http", "2001:db8::5", 8000),
        ("file://host/share/x.exe", "smb", "host", 445),
        ("file:///C:/x/y.exe", "local", None, None),
        ("\\\\?\\GLOBALROOT\\Device\\Mup\\host\\share\\x", "smb", "host", 445),
        ("\\\\?\\Volume{0b0e0e0e-0000-0000-0000-000000000000}\\x", "local", None, None),
        ("%LOGONSERVER%\\NETLOGON\\x.exe", "smb", None, 445),
        ("%TEMP%\\x.cab", "local", None, None),
        ("%FOO%\\x.cab", "unknown", None, None),
        ("ftp://host/x", "unknown", "host", None),
        ("", "unknown", None, None),
    ],
)
def test_kinds(path: str, kind: str, host: str | None, port: int | None) -> None:
    info = classify_path(path)
    assert (info.kind, info.host, info.port) == (kind, host, port)
    assert info.remote == (kind in ("smb", "webdav", "http"))


def test_ip_literal_and_scope() -> None:
    info = classify_path("\\\\10.0.0.5\\c$\\x")
    assert info.ip_literal and info.ip == "10.0.0.5" and info.scope == "internal"
    info = classify_path("\\\\2001-db8--1.ipv6-literal.net\\share\\f")
    assert info.ip_literal and info.ip == "2001:db8::1" and info.scope == "external"
    info = classify_path("\\\\fe80--1s4.ipv6-literal.net\\share\\f")
    assert info.ip == "fe80::1%4"
    assert classify_path("\\\\127.0.0.1\\c$\\x").scope == "loopback"


def test_nonstandard_port() -> None:
    assert classify_path("\\\\h@8443\\DavWWWRoot\\f").nonstandard_port
    assert not classify_path("\\\\h@SSL\\DavWWWRoot\\f").nonstandard_port
    assert classify_path("http://h:8080/x").nonstandard_port
    assert not classify_path("\\\\h\\s\\f").nonstandard_port


@pytest.mark.parametrize(
    ("path", "ads", "stream"),
    [
        ("c:\\x\\cabtest.txt:autoruns.cab", True, "autoruns.cab"),
        ("file.txt:payload.cab", True, "payload.cab"),
        ("C:\\x\\f.txt:s:$DATA", True, "s"),
        ("C:\\x\\f.txt::$DATA", False, None),
        ("C:", False, None),
        ("C:/x/y.cab", False, None),
        ("C:x.cab", False, None),
        ("C:x.txt:y.cab", True, "y.cab"),
        ("\\\\?\\C:\\x.cab", False, None),
        ("\\\\?\\C:", False, None),
        ("\\\\h\\s\\f.txt:evil.cab", True, "evil.cab"),
        ("http://h:80/x", False, None),
    ],
)
def test_ads(path: str, ads: bool, stream: str | None) -> None:
    info = classify_path(path, cwd="C:\\work")
    assert (info.ads, info.stream) == (ads, stream)


@pytest.mark.parametrize(
    ("path", "writable"),
    [
        ("%TEMP%\\a.cab", True),
        ("%tmp%\\a.cab", True),
        ("%AppData%\\a.cab", True),
        ("%LOCALAPPDATA%\\a.cab", True),
        ("%USERPROFILE%\\a.cab", True),
        ("%PUBLIC%\\a.cab", True),
        ("%ProgramData%\\a.cab", True),
        ("C:\\Users\\bob\\AppData\\Local\\Temp\\a.cab", True),
        ("C:\\Users\\bob\\Downloads\\a.cab", True),
        ("C:\\Users\\bob\\Desktop\\a.cab", True),
        ("C:\\Users\\Public\\a.cab", True),
        ("C:\\ProgramData\\a.cab", True),
        ("C:\\Windows\\Temp\\a.cab", True),
        ("C:\\PerfLogs\\a.cab", True),
        ("C:\\Windows\\Tasks\\a.cab", True),
        ("C:\\Windows\\System32\\spool\\drivers\\color\\a.cab", True),
        ("C:\\Windows\\System32\\a.cab", False),
        ("C:\\build\\out\\a.cab", False),
        ("C:\\Users", False),
        ("D:\\dist\\a.cab", False),
    ],
)
def test_user_writable(path: str, writable: bool) -> None:
    assert classify_path(path).user_writable is writable


def test_relative_against_cwd() -> None:
    info = classify_path("payload.exe", cwd="\\\\evil\\share\\")
    assert info.kind == "smb" and info.resolved == "\\\\evil\\share\\payload.exe" and info.relative
    info = classify_path("tools\\a.exe", cwd="\\\\h@SSL\\DavWWWRoot\\x\\")
    assert info.kind == "webdav" and info.resolved == "\\\\h@SSL\\DavWWWRoot\\x\\tools\\a.exe"
    info = classify_path("..\\..\\..\\..\\x.txt", cwd="C:\\Users\\bob\\Downloads\\")
    assert info.resolved == "C:\\x.txt"
    info = classify_path("..\\..\\..\\x.txt", cwd="\\\\h\\s\\a\\")
    assert info.resolved == "\\\\h\\s\\x.txt"  # never above the share
    info = classify_path("\\x.txt", cwd="\\\\h\\s\\d")
    assert info.resolved == "\\\\h\\s\\x.txt" and info.kind == "smb"
    info = classify_path("\\x.txt", cwd="D:\\work\\")
    assert info.resolved == "D:\\x.txt"
    info = classify_path("C:foo.txt", cwd="C:\\w")
    assert info.resolved == "C:\\w\\foo.txt"
    info = classify_path("D:foo.txt", cwd="C:\\w")
    assert info.resolved == "D:\\foo.txt" and info.notes
    info = classify_path("a.exe")
    assert info.resolved is None and info.kind == "unknown" and info.written == "a.exe"


def test_drive_map() -> None:
    m = {"X:": "\\\\fs\\tools"}
    info = classify_path("X:\\bin\\a.exe", drive_map=m)
    assert info.kind == "smb" and info.host == "fs" and info.resolved == "\\\\fs\\tools\\bin\\a.exe" and info.mapped_drive == "X:"
    info = classify_path("a.exe", cwd="x:\\bin\\", drive_map={"x": "\\\\fs@SSL\\DavWWWRoot"})
    assert info.kind == "webdav" and info.mapped_drive == "X:"
    info = classify_path("\\\\?\\X:\\a.exe", drive_map=m)
    assert info.kind == "smb"
    assert classify_path("C:\\a.exe", drive_map=m).kind == "local"


def test_normalisation() -> None:
    assert normalize_path("C:/a/./b/../c/") == "C:\\a\\c"
    assert normalize_path("C:\\a\\file.txt. . ") == "C:\\a\\file.txt"
    assert normalize_path("\\\\h\\s\\\\a\\\\b") == "\\\\h\\s\\a\\b"
    assert normalize_path("\\\\?\\C:\\a\\..\\b") == "\\\\?\\C:\\a\\..\\b"  # no normalisation for \\?\
    assert resolve_path('"C:\\q d\\x"')[0] == "C:\\q d\\x"


def test_env_vars_recognised() -> None:
    info = classify_path("C:\\Users\\%USERNAME%\\AppData\\x.cab")
    assert info.env_vars == ("USERNAME",)
    assert info.user_writable


def test_refs() -> None:
    info = classify_path("\\\\h@SSL\\DavWWWRoot\\f.exe").with_via("cmdline")
    ref = info.to_source_ref()
    assert (ref.kind, ref.host, ref.port, ref.via, ref.path) == ("webdav", "h", 443, "cmdline", info.written)
    assert info.to_source_ref(via="x.ddf").via == "x.ddf"
    cab = classify_path("f.txt:p.cab", cwd="C:\\Users\\Public").to_cabinet_ref()
    assert cab.path == "C:\\Users\\Public\\f.txt:p.cab" and cab.ads and cab.user_writable


@given(st.text(), st.one_of(st.none(), st.text()))
@settings(max_examples=400, deadline=None)
def test_total(path: str, cwd: str | None) -> None:
    info = classify_path(path, cwd=cwd, drive_map={"Z:": "\\\\h\\s"})
    assert info.kind in ("local", "smb", "webdav", "http", "unknown")
    assert info.written == path
    assert not any(n.startswith("internal error") for n in info.notes)
    info.to_dict()


@given(st.from_regex(r"[\\/]{0,3}[A-Za-z0-9.@:%?$ _-]{0,10}([\\/][A-Za-z0-9.@:%?$ _-]{0,8}){0,4}", fullmatch=True))
@settings(max_examples=400, deadline=None)
def test_total_pathlike(path: str) -> None:
    info = classify_path(path, cwd="\\\\h\\s\\d\\")
    assert info.kind in ("local", "smb", "webdav", "http", "unknown")
    assert not any(n.startswith("internal error") for n in info.notes)


def test_drive_with_double_slash_is_not_a_url() -> None:
    info = classify_path("C://x//y.cab")
    assert info.kind == "local" and info.resolved == "C:\\x\\y.cab"


def test_webdav_fallback_flag() -> None:
    assert classify_path("\\\\h\\s\\f").webdav_fallback
    assert not classify_path("\\\\h@SSL\\DavWWWRoot\\f").webdav_fallback
    assert not classify_path("\\\\?\\GLOBALROOT\\Device\\LanmanRedirector\\h\\s\\f").webdav_fallback
    assert classify_path("\\\\?\\GLOBALROOT\\Device\\LanmanRedirector\\h\\s\\f").kind == "smb"
    assert classify_path("\\\\?\\GLOBALROOT\\Device\\WebDavRedirector\\h\\DavWWWRoot\\f").kind == "webdav"


def test_malformed_urls() -> None:
    for path in ("file://[/x", "http://[::1/x", "https://h:99999/x", "file://Device\"GLOBALROOT]"):
        info = classify_path(path)
        assert not any(n.startswith("internal error") for n in info.notes), path


FRAGMENTS = [
    "\\\\", "\\", "/", "//", "?", ".", "..", ":", "@SSL", "@8443", "DavWWWRoot", "UNC", "C:", "x", "%TEMP%", "%",
    '"', " ", "http://", "file://", "[", "]", "::1", "2001-db8--1.ipv6-literal.net", "s4", "GLOBALROOT", "Device",
    "Mup", "LanmanRedirector", ";", "$DATA", "\uff02", "\u2013", "é",
]
PATHISH = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)


@given(PATHISH, st.one_of(st.none(), PATHISH))
@settings(max_examples=500, deadline=None)
def test_total_on_fragments(path: str, cwd: str | None) -> None:
    info = classify_path(path, cwd=cwd, drive_map={"X:": "\\\\h\\s"})
    assert not any(n.startswith("internal error") for n in info.notes)

"""The makecab/diantz command-line grammar."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.windows.invocation import cab_maker, default_destination, is_renamed, parse_invocation


@pytest.mark.parametrize(
    ("image", "ofn", "expected"),
    [
        ("C:\\Windows\\System32\\makecab.exe", None, "makecab"),
        ("C:\\Windows\\SysWOW64\\DIANTZ.EXE", None, "diantz"),
        ("C:\\Users\\Public\\svc.exe", "makecab.exe", "makecab"),
        ("C:\\Users\\Public\\svc.exe", "DIANTZ.EXE", "diantz"),
        ("C:\\Windows\\System32\\cmd.exe", "Cmd.Exe", None),
        (None, None, None),
        ("", "", None),
    ],
)
def test_cab_maker(image: str | None, ofn: str | None, expected: str | None) -> None:
    assert cab_maker(image, ofn) == expected


def test_renamed_flag() -> None:
    assert is_renamed("C:\\Users\\Public\\svc.exe", "makecab.exe")
    assert not is_renamed("C:\\Windows\\System32\\makecab.exe", "MAKECAB.EXE")
    assert not is_renamed("C:\\Windows\\System32\\diantz.exe", "makecab.exe")  # same program, two names
    assert not is_renamed("C:\\Users\\x.exe", None)
    inv = parse_invocation("svc.exe a b", image="C:\\Users\\Public\\svc.exe", original_file_name="makecab.exe")
    assert inv.renamed and inv.maker == "makecab"


@pytest.mark.parametrize(
    ("source", "expected"),
    [("x.txt", "x.tx_"), ("foo.b", "foo.b_"), ("foo", "foo._"), ("a.cab", "a.ca_"), ("C:\\d\\big.file", "big.fil_"), ("foo.", "foo._")],
)
def test_default_destination(source: str, expected: str) -> None:
    assert default_destination(source) == expected


def test_single_file_mode() -> None:
    inv = parse_invocation('"C:\\Windows\\System32\\makecab.exe" /V3 "\\\\h\\s\\a b.exe" C:\\out\\a.cab')
    assert inv.mode == "single"
    assert inv.maker == "makecab"
    assert inv.verbosity == 3
    assert inv.source == "\\\\h\\s\\a b.exe"
    assert inv.member == "a b.exe"
    assert inv.destination == "C:\\out\\a.cab" and inv.cabinet == "C:\\out\\a.cab"
    assert not inv.destination_defaulted
    assert inv.errors == []


def test_default_destination_under_location() -> None:
    inv = parse_invocation("makecab /L C:\\dist readme.txt")
    assert inv.location == "C:\\dist"
    assert inv.cabinet == "C:\\dist\\readme.tx_" and inv.destination_defaulted
    inv = parse_invocation("makecab readme.txt")
    assert inv.cabinet == "readme.tx_"
    inv = parse_invocation("makecab /D CompressedFileExtensionChar=$ readme.txt")
    assert inv.cabinet == "readme.tx$"


def test_ddf_mode_switch_forms() -> None:
    inv = parse_invocation("MAKECAB.EXE -f a.ddf /F b.ddf /Fc.ddf -d SourceDir=\\\\h\\s /Dx=y /V /l out")
    assert inv.mode == "ddf"
    assert inv.directive_files == ["a.ddf", "b.ddf", "c.ddf"]
    assert inv.defines == [("SourceDir", "\\\\h\\s"), ("x", "y")]
    assert inv.define("sourcedir") == "\\\\h\\s"
    assert inv.verbosity == 1
    assert inv.location == "out"
    assert inv.errors == []


def test_switches_interleaved_after_f() -> None:
    inv = parse_invocation("makecab -F orcacab.ddf -L C:\\out -D CabinetNameTemplate=orca.cab")
    assert inv.directive_files == ["orcacab.ddf"]
    assert inv.location == "C:\\out"
    assert inv.define("CabinetNameTemplate") == "orca.cab"


def test_forward_slash_unc_is_not_a_switch() -> None:
    inv = parse_invocation("makecab //host/share/f.exe out.cab")
    assert inv.source == "//host/share/f.exe" and inv.errors == []


def test_help_and_usage_errors() -> None:
    assert parse_invocation("makecab /?").mode == "help"
    assert parse_invocation("makecab /?").help
    inv = parse_invocation("makecab")
    assert inv.mode == "none" and inv.errors
    inv = parse_invocation("makecab /Q a b c")
    assert any("unknown switch" in e for e in inv.errors)
    assert any("too many" in e for e in inv.errors)
    assert inv.source == "a" and inv.destination == "b" and inv.extra_positionals == ["c"]
    inv = parse_invocation("makecab /D novalue /F")
    assert len(inv.errors) >= 2
    inv = parse_invocation("makecab /V9 /Vx a")
    assert inv.verbosity == 9 and len(inv.errors) == 2
    inv = parse_invocation("makecab /F x.ddf src.exe")
    assert inv.mode == "ddf" and inv.source == "src.exe" and inv.errors


def test_program_from_argv0_when_no_image() -> None:
    assert parse_invocation("diantz x y").maker == "diantz"
    assert parse_invocation("C:\\tools\\notepad.exe x y").maker is None
    # an image that is not a cabinet maker wins over argv[0]
    assert parse_invocation("makecab.exe x y", image="C:\\Windows\\System32\\findstr.exe").maker is None


@given(st.text(), st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
@settings(max_examples=300, deadline=None)
def test_never_raises(line: str, image: str | None, ofn: str | None) -> None:
    inv = parse_invocation(line, image, ofn)
    assert isinstance(inv.errors, list)
    inv.to_dict()


def test_windash_colon_and_fullwidth_forms() -> None:
    inv = parse_invocation("makecab \u2013F x.ddf /F:y.ddf \u2014D SourceDir=\\\\h\\s /L=out")
    assert inv.directive_files == ["x.ddf", "y.ddf"]
    assert inv.define("SourceDir") == "\\\\h\\s" and inv.location == "out"
    # full-width quote and slash: what an ANSI program receives after best-fit conversion
    inv = parse_invocation("makecab \uff0fF \uff02\\\\h\\s\\a b.ddf\uff02")
    assert inv.directive_files == ["\\\\h\\s\\a b.ddf"]
    assert inv.notes and inv.command_line.startswith("makecab \uff0f")


_ARG = st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=15).filter(
    lambda a: a[0] not in "/-\u2013\u2014\u2015" and not any("\uff01" <= c <= "\uff5e" for c in a)
)


@given(_ARG, _ARG)
@settings(max_examples=200, deadline=None)
def test_positionals_survive_quoting(src: str, dst: str) -> None:
    import subprocess

    inv = parse_invocation("makecab.exe /V2 " + subprocess.list2cmdline([src, dst]))
    assert (inv.source, inv.destination, inv.cabinet) == (src, dst, dst)

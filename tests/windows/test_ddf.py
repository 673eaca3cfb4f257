"""DDF interpreter: grammar, variables, cabinets, issues, robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.windows.ddf import MAX_LINE, decode_ddf, interpret_ddf, strip_comment, tokenize
from cabhunt.windows.paths import classify_path
from tests.conftest import shared_or_skip

DATA = Path(__file__).parent / "data"


def _read(name: str) -> tuple[str, bytes]:
    return (name, (DATA / name).read_bytes())


def _file_lines(text: str) -> list[str]:
    """Independent count of file-copy lines: not blank, not comment-only, not a directive."""
    out = []
    for raw in text.splitlines():
        code = raw.split(";", 1)[0].strip()
        if code and not (code.startswith(".") and code[1:2].isalpha()):
            out.append(code)
    return out


@pytest.mark.parametrize(
    "name",
    [
        "microsoft_PowerToys__src_modules_videoconference_make_cab.ddf",
        "nefarius_BthPS3__Setup_BthPS3_x64.ddf",
        "safing_portmaster__windows_kext_release_templates_PortmasterKext.ddf",
    ],
)
def test_public_ddfs_are_local_and_clean(name: str) -> None:
    path = shared_or_skip(f"fixtures/ddf/{name}")
    data = path.read_bytes()
    result = interpret_ddf([(str(path), data)], cwd="C:\\build\\")
    expected = _file_lines(data.decode("ascii"))
    assert [f.source for f in result.files] == expected
    assert result.explicit
    assert [i for i in result.issues if i.kind != "may_span"] == []
    assert not result.polyglot
    assert len(result.cabinets) == 1
    cab = result.cabinets[0]
    assert cab.files == len(expected)
    assert cab.name == result.variable("CabinetNameTemplate")
    for f in result.files:
        assert classify_path(f.source_path, "C:\\build\\").kind == "local"
        assert f.resolved is not None and f.resolved.startswith("C:\\build\\")
        assert f.cabinet_path == cab.path
        dest_dir = f.name.split("\\", 1)[0]
        assert dest_dir.lower() in {v.lower() for v in ("cab_output", "BthPS3_x64", "BthPS3PSM_x64", "PortmasterKext")}


def test_powertoys_layout() -> None:
    path = shared_or_skip("fixtures/ddf/microsoft_PowerToys__src_modules_videoconference_make_cab.ddf")
    result = interpret_ddf([(str(path), path.read_bytes())], cwd="C:\\src\\pt")
    assert result.cabinets[0].path == "driver\\driver.cab"
    assert result.cabinets[0].resolved == "C:\\src\\pt\\driver\\driver.cab"
    assert result.files[0].name == "cab_output\\VideoConferenceCustomMediaSource.dll"
    assert result.variable("compress") == "OFF"


def test_remote_sourcedir_with_define() -> None:
    result = interpret_ddf([_read("remote_sourcedir.ddf")], cwd="C:\\Users\\bob\\")
    assert [f.source_path for f in result.files] == [
        "\\\\198.51.100.20\\drop\\beacon.exe",
        "\\\\198.51.100.20\\drop\\tools\\loader.dll",
        "readme.txt",
    ]
    assert [f.name for f in result.files] == ["beacon.exe", "lib\\loader.dll", "readme.txt"]
    assert result.files[2].resolved == "C:\\Users\\bob\\readme.txt"
    assert result.source_dirs == ["\\\\198.51.100.20\\drop"]
    assert result.cabinets[0].path == "C:\\Users\\Public\\Libraries\\update.cab"
    assert result.files[0].line == 8 and result.files[0].file == "remote_sourcedir.ddf"
    assert result.issues == []
    kinds = [classify_path(f.source_path).kind for f in result.files]
    assert kinds == ["smb", "smb", "unknown"]


def test_webdav_and_new_cabinet() -> None:
    result = interpret_ddf([_read("webdav.ddf")], cwd="C:\\w")
    infos = [classify_path(f.source_path) for f in result.files]
    assert [i.kind for i in infos] == ["webdav", "webdav", "smb", "smb"]
    assert (infos[0].port, infos[0].ssl, infos[0].nonstandard_port) == (8443, True, True)
    assert result.files[1].source == "\\\\files.example.net@SSL\\DavWWWRoot\\tools\\a b.exe"
    assert result.files[1].name == "bin\\ab.exe" and result.files[1].params == {"inf": "no"}
    assert infos[3].ip == "2001:db8::7"
    assert [c.name for c in result.cabinets] == ["tools1.cab", "tools2.cab"]
    assert [f.cabinet for f in result.files] == [1, 1, 2, 2]
    assert result.cabinets[1].resolved == "C:\\w\\tools2.cab"


def test_http_sources_and_percent_escape() -> None:
    result = interpret_ddf([_read("http.ddf")])
    infos = [classify_path(f.source_path) for f in result.files]
    assert [(i.kind, i.host, i.port) for i in infos] == [("http", "203.0.113.9", 80), ("http", "cdn.example.org", 8443)]
    assert result.files[1].name == "stage2.dll"
    assert result.cabinets[0].path == "%ProgramData%\\web.cab"
    assert classify_path(result.cabinets[0].path).user_writable


def test_option_explicit() -> None:
    result = interpret_ddf([_read("explicit.ddf")], cwd="C:\\build")
    kinds = [(i.kind, i.line) for i in result.issues]
    assert ("explicit_undefined", 4) in kinds
    assert ("undefined_variable", 10) in kinds
    assert result.files[0].source == "C:\\build\\out\\app.exe"
    assert result.files[1].source == "C:\\build\\out\\release build\\notes.txt"
    assert result.files[2].source == "%Missing%\\x.dll"  # kept as written
    assert result.variable("Typo") == "oops"  # still set: we follow intent, makecab would stop


def test_multiple_files_one_stream_and_thresholds() -> None:
    result = interpret_ddf([_read("multi_a.ddf"), _read("multi_b.ddf")], cwd="C:\\pkg")
    assert result.inputs == ["multi_a.ddf", "multi_b.ddf"]
    assert [f.source for f in result.files] == [
        "\\\\fs01.corp.example.com\\builds\\a.sys",
        "\\\\fs01.corp.example.com\\builds\\b.inf",
        "local.cat",
    ]
    assert [f.file for f in result.files] == ["multi_b.ddf"] * 3
    assert [(c.name, c.files) for c in result.cabinets] == [("multi1.cab", 2), ("multi2.cab", 1)]
    assert result.cabinets[0].path == "out\\multi1.cab"
    # the same files one at a time: variables do not carry over, so %Share% is undefined
    alone = interpret_ddf([_read("multi_b.ddf")])
    assert any(i.kind == "undefined_variable" for i in alone.issues)


def test_polyglot_batch_file() -> None:
    result = interpret_ddf([_read("polyglot.bat")])
    assert result.polyglot
    assert [i.kind for i in result.issues].count("polyglot") == 1
    assert [f.source for f in result.files] == ["payload.exe"]
    # a batch extension alone is reported too
    renamed = interpret_ddf([("job.cmd", b"a.exe\n")])
    assert renamed.polyglot
    plain = interpret_ddf([("x.ddf", b"; Copy the files & set things up for x64\n; If you change this, rebuild\na.exe\n")])
    assert not plain.polyglot


def test_defines_applied_first() -> None:
    result = interpret_ddf([("x.ddf", b"a.exe\n")], defines=[("sourcedir", "\\\\h\\s"), ("CabinetNameTemplate", "z.cab")])
    assert result.files[0].source_path == "\\\\h\\s\\a.exe"
    assert result.cabinets[0].name == "z.cab"
    assert result.variable("SourceDir") == "\\\\h\\s"
    # the DDF can override a /D value
    result = interpret_ddf([("x.ddf", b".Set SourceDir=C:\\src\na.exe\n")], defines=[("SourceDir", "\\\\h\\s")])
    assert result.files[0].source_path == "C:\\src\\a.exe"


def test_defaults_and_cabinet_names() -> None:
    result = interpret_ddf([("x.ddf", "a.txt\n.New Disk\nb.txt\n.Set CabinetName3=third.cab\n.New Cabinet\nc.txt\n")], cwd="C:\\w")
    assert [c.path for c in result.cabinets] == ["disk1\\1.cab", "disk2\\2.cab", "disk2\\third.cab"]
    assert result.may_span  # default MaxDiskSize is a floppy
    assert result.variable("CompressionType") == "MSZIP"
    assert result.variable("InfFileName") == "setup.inf"
    assert result.variable("RptFileName") == "setup.rpt"
    assert result.variable("CabinetNameTemplate") == "*.cab"
    result = interpret_ddf([("x.ddf", ".Set DiskDirectory1=C:\\o\n.Set MaxDiskSize=0\n.New Cabinet\na\n")])
    assert [c.path for c in result.cabinets] == ["C:\\o\\1.cab"]  # no empty cabinet for a leading .New
    assert not result.may_span


def test_directives_and_inf_blocks() -> None:
    text = (
        ".SET X = 1\n"
        "  .set y=\"a;b\"  ; comment after a quoted ;\n"
        ".Delete X\n"
        ".Delete Nope\n"
        ".Dump\n"
        ".InfBegin File\n"
        "this line is INF text, not a file\n"
        ".InfEnd\n"
        ".InfWrite \"[strings]\"\n"
        ".Bogus\n"
        ".New Shelf\n"
        ".Option Implicit\n"
        "file.txt dest.txt /unique=no /date=01/01/2000 /junk\n"
        "file.txt dest.txt\n"
        "dup.txt dest.txt\n"
    )
    result = interpret_ddf([("x.ddf", text)])
    assert result.variable("X") is None
    assert result.variable("y") == "a;b"
    assert result.inf_lines == 2
    kinds = sorted(i.kind for i in result.issues)
    assert kinds.count("unknown_directive") == 1
    assert "undefined_variable" in kinds  # .Delete Nope
    assert kinds.count("duplicate_name") == 2  # both later lines collide with dest.txt
    assert kinds.count("syntax") >= 3  # .InfBegin File, .New Shelf, .Option Implicit, /junk
    assert result.files[0].params == {"unique": "no", "date": "01/01/2000"}
    assert [f.source for f in result.files] == ["file.txt", "file.txt", "dup.txt"]


def test_relational_inf_mode_references() -> None:
    text = ".Set GenerateInf=OFF\na.exe\nb.dll\n.Set GenerateInf=ON\na.exe /ver=1.0\n"
    result = interpret_ddf([("x.ddf", text)])
    assert [f.source for f in result.files] == ["a.exe", "b.dll"]
    assert [(r.name, r.params) for r in result.references] == [("a.exe", {"ver": "1.0"})]


def test_cabinet_off() -> None:
    result = interpret_ddf([("x.ddf", ".Set Cabinet=off\na.exe\n")])
    assert result.cabinets == [] and result.files[0].cabinet is None


def test_encoding_issues() -> None:
    result = interpret_ddf([("bom.ddf", b"\xef\xbb\xbf.Set SourceDir=\\\\h\\s\na.exe\n")])
    assert "bom" in result.issue_kinds()
    assert result.files[0].source_path == "\\\\h\\s\\a.exe"
    result = interpret_ddf([("u16.ddf", "\ufeffa.exe\r\n".encode("utf-16-le"))])
    assert "bom" in result.issue_kinds() and result.files[0].source == "a.exe"
    result = interpret_ddf([("latin.ddf", b"caf\xe9.txt\n")])
    assert "non_ascii" in result.issue_kinds() and result.files[0].source == "café.txt"
    result = interpret_ddf([("s.ddf", "\ufeffnaïve.txt\n")])
    assert {"bom", "non_ascii"} <= set(result.issue_kinds())
    text, notes = decode_ddf(b"plain\n")
    assert text == "plain\n" and notes == []


def test_binary_junk_and_long_lines() -> None:
    junk = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\nreal.exe\n\x01\x02\x03\n"
    result = interpret_ddf([("pe.ddf", junk)])
    assert "binary" in result.issue_kinds()
    assert "real.exe" in [f.source for f in result.files]
    long = "a" * (MAX_LINE + 1) + ".exe\n"
    result = interpret_ddf([("long.ddf", long)])
    issue = next(i for i in result.issues if i.kind == "line_too_long")
    assert issue.line == 1 and issue.file == "long.ddf"
    assert len(result.files) == 1


def test_huge_input_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    import cabhunt.windows.ddf as ddf

    monkeypatch.setattr(ddf, "MAX_LINES", 50)
    result = interpret_ddf([("big.ddf", "x.txt /unique=no\n" * 200)])
    assert result.truncated and result.lines == 50
    assert "huge_file" in result.issue_kinds()
    assert len(result.files) == 50


def test_lexer_helpers() -> None:
    assert strip_comment('a "b;c" ; d') == ('a "b;c" ', " d")
    assert strip_comment("no comment") == ("no comment", None)
    assert tokenize('a "b c" "say ""hi""" d""e') == (["a", "b c", 'say "hi"', "de"], False)
    assert tokenize('"open') == (["open"], True)
    assert tokenize('""') == ([""], False)


def test_percent_rules() -> None:
    result = interpret_ddf([("x.ddf", ".Define V=val\n100%%.txt\n%V%.txt\n50%.txt\n")])
    assert [f.source for f in result.files] == ["100%.txt", "val.txt", "50%.txt"]
    assert "syntax" in result.issue_kinds()  # the lone %


@given(st.lists(st.tuples(st.text(max_size=8), st.one_of(st.binary(max_size=400), st.text(max_size=400))), max_size=3))
@settings(max_examples=300, deadline=None)
def test_never_raises(texts: list[tuple[str, bytes | str]]) -> None:
    result = interpret_ddf(texts, defines=[("SourceDir", "\\\\h\\s")], cwd="C:\\w")
    assert "internal_error" not in result.issue_kinds()
    result.to_dict()


_DDFISH = st.lists(
    st.sampled_from(
        [".Set ", ".Define ", ".New ", ".Option Explicit", ".InfBegin Disk", ".InfEnd", "%", "%%", '"', ";", "=",
         "SourceDir", "CabinetName1", "*", "\\\\h\\s\\", "a.exe", " /inf=no", " ", "\n", "\r\n", "\t", "\x00", "é"]
    ),
    max_size=60,
).map("".join)


@given(_DDFISH, _DDFISH)
@settings(max_examples=300, deadline=None)
def test_never_raises_on_ddf_like_text(a: str, b: str) -> None:
    result = interpret_ddf([("a.ddf", a), ("b.ddf", b.encode("utf-8"))])
    assert "internal_error" not in result.issue_kinds()


def test_report_outputs() -> None:
    result = interpret_ddf([("x.ddf", "a.exe\n")], cwd="C:\\w")
    assert (result.inf_file, result.rpt_file) == ("C:\\w\\setup.inf", "C:\\w\\setup.rpt")
    result = interpret_ddf([("x.ddf", ".Set InfFileName=nul\n.Set RptFileName=\\\\h\\s\\r.rpt\na.exe\n")])
    assert (result.inf_file, result.rpt_file) == (None, "\\\\h\\s\\r.rpt")


_NAME_CHARS = st.characters(blacklist_characters='\0\r\n%;"\x1a', blacklist_categories=("Cs",))


@given(st.lists(st.text(alphabet=_NAME_CHARS, min_size=1, max_size=20), min_size=1, max_size=8))
@settings(max_examples=200, deadline=None)
def test_quoted_copy_lines_round_trip(names: list[str]) -> None:
    text = "".join(f'"{n}" "{n}.x"\n' for n in names)
    result = interpret_ddf([("q.ddf", text)])
    assert [f.source for f in result.files] == names
    assert [f.name for f in result.files] == [n + ".x" for n in names]


@pytest.mark.parametrize(
    "comment",
    [";@goto :run", "; @exit /b 0", ";  makecab.exe /F %0", ";set SRC=\\\\h\\s", ";:run", "; cmd /c start x.exe"],
)
def test_batch_comment_lines(comment: str) -> None:
    assert interpret_ddf([("x.ddf", f"{comment}\na.exe\n")]).polyglot


@pytest.mark.parametrize("comment", ["; Set the cabinet name", "; For x64 & ARM64 builds", "; Start of file list", "; exit codes: none"])
def test_prose_comments_are_not_batch(comment: str) -> None:
    assert not interpret_ddf([("x.ddf", f"{comment}\na.exe\n")]).polyglot


def test_source_dirs_only_when_used() -> None:
    result = interpret_ddf([("x.ddf", ".Set SourceDir=\\\\h\\s\nC:\\abs\\a.exe\n\\\\other\\s\\b.exe\n")])
    assert result.source_dirs == []
    assert [f.source_path for f in result.files] == ["C:\\abs\\a.exe", "\\\\other\\s\\b.exe"]

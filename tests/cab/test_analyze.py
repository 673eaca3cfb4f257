"""Member analysis on crafted cabinets: every finding id is produced by the content that earns it."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

from cabhunt.cab.analyze import analyze_file
from cabhunt.model import FINDING_IDS
from tests.cab.craft import Craft, Entry, build, tiny_pe
from tests.conftest import shared_or_skip


def _doc(tmp_path: Path, craft: Craft, name: str = "t.cab") -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(build(craft))
    return analyze_file(path)


def _ids(doc: dict[str, Any]) -> set[str]:
    return {f["id"] for f in doc["findings"]}


def test_clean_text_cabinet_has_no_findings(tmp_path: Path) -> None:
    doc = _doc(tmp_path, Craft([Entry(b"readme.txt", b"just some notes\r\n" * 50)], compress=True))
    assert doc["findings"] == [] and doc["errors"] == []
    (m,) = doc["members"]
    data = b"just some notes\r\n" * 50
    assert (m["md5"], m["sha1"], m["sha256"]) == (
        hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest())
    assert m["type"] == "text" and 0 < m["entropy"] < 5
    assert m["date"] == "2024-01-02T10:20:30" and m["attributes"] == ["archive"]


def test_pe_member(tmp_path: Path) -> None:
    doc = _doc(tmp_path, Craft([Entry(b"tool.exe", tiny_pe(signed=True))]))
    (m,) = doc["members"]
    assert m["type"] == "pe"
    assert m["pe"]["machine"] == "IMAGE_FILE_MACHINE_I386" and m["pe"]["signed"] is True
    assert m["pe"]["timestamp"] == "2020-09-13T12:26:40Z" and m["pe"]["sections"][0]["name"] == ".text"
    assert _ids(doc) == {"cab.executable_member"}


def test_disguised_pe_is_a_mismatch(tmp_path: Path) -> None:
    doc = _doc(tmp_path, Craft([Entry(b"invoice.txt", tiny_pe())]))
    assert {"cab.executable_member", "cab.extension_mismatch"} <= _ids(doc)
    assert doc["members"][0]["pe"]["signed"] is False


def test_scripts_by_extension_and_content(tmp_path: Path) -> None:
    doc = _doc(tmp_path, Craft([
        Entry(b"run.ps1", b"Write-Output 1\n"),
        Entry(b"notes.dat", b"Set objShell = CreateObject(\"WScript.Shell\")\r\nobjShell.Run \"calc\"\r\n"),
        Entry(b"go.txt", b"@echo off\r\ncopy a b\r\n"),
    ]))
    kinds = {m["name"]: (m["script"] or {}).get("kind") for m in doc["members"]}
    assert kinds == {"run.ps1": "powershell", "notes.dat": "vbscript", "go.txt": "batch"}
    assert "cab.script_member" in _ids(doc)


def test_high_entropy_and_not_for_compressed(tmp_path: Path) -> None:
    blob = os.urandom(64 * 1024)
    doc = _doc(tmp_path, Craft([Entry(b"payload.dat", blob), Entry(b"photo.png", b"\x89PNG\r\n\x1a\n" + blob)]))
    hits = [f["member"] for f in doc["findings"] if f["id"] == "cab.high_entropy"]
    assert hits == ["payload.dat"]
    assert doc["members"][0]["entropy"] > 7.9


def test_secrets_redacted(tmp_path: Path) -> None:
    secret = "S3cr3tValue!"
    cfg = f'<add key="db" value="Server=sql01;Database=app;User Id=sa;Password={secret};" />\n'.encode()
    cfg += b"aws_access_key_id = AKIAABCDEFGHIJKLMNOP\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"
    doc = _doc(tmp_path, Craft([Entry(b"web.config", cfg)]))
    (m,) = doc["members"]
    kinds = {(s["kind"], s["line"]) for s in m["secrets"]}
    assert {("connection_string_password", 1), ("aws_access_key_id", 2), ("private_key", 3)} <= kinds
    text = str(doc)
    assert secret not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    assert "cab.secret" in _ids(doc)


def test_nested_zip_with_cab_recursed(tmp_path: Path) -> None:
    inner_cab = build(Craft([Entry(b"deep.exe", tiny_pe())]))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner.cab", inner_cab)
        z.writestr("readme.txt", "hello")
    doc = _doc(tmp_path, Craft([Entry(b"bundle.zip", zbuf.getvalue())]))
    nested = doc["members"][0]["nested"]
    assert nested["analysed"] and {m["name"] for m in nested["members"]} == {"inner.cab", "readme.txt"}
    inner = next(m for m in nested["members"] if m["name"] == "inner.cab")["nested"]
    assert inner["analysed"] and inner["members"][0]["type"] == "pe"
    members = {f["member"] for f in doc["findings"] if f["id"] == "cab.executable_member"}
    assert members == {"bundle.zip/inner.cab/deep.exe"}
    assert "cab.nested_archive" in _ids(doc)


def test_depth_is_bounded(tmp_path: Path) -> None:
    blob = build(Craft([Entry(b"leaf.txt", b"x")]))
    for level in range(6):
        blob = build(Craft([Entry(f"level{level}.cab".encode(), blob)]))
    doc = _doc(tmp_path, Craft([Entry(b"top.cab", blob)]))
    node = doc["members"][0]["nested"]
    depth = 0
    while node and node.get("analysed"):
        depth += 1
        node = node["members"][0]["nested"]
    assert depth == 3 and node and "depth" in node["reason"]


def test_structure_findings(tmp_path: Path) -> None:
    doc = _doc(tmp_path, Craft([Entry(b"a.txt", b"hello" * 10)], extra_table=[Entry(b"evil.exe", b"hello" * 10)],
                               overlay=b"APPENDED", gap=b"hidden!", corrupt_checksum=True))
    titles = [f["title"] for f in doc["findings"] if f["id"] == "cab.parser_differential"]
    assert len(titles) == 3  # two tables, overlay, unreferenced bytes
    assert "cab.checksum_mismatch" in _ids(doc)
    assert any(m["hidden"] and m["name"] == "evil.exe" for m in doc["members"])
    cab = doc["cabinet"]
    assert cab["overlay"]["unexplained_bytes"] == 8 and cab["checksums"]["mismatched"] == 1
    assert cab["traits"]["makecab_like"] is False


def test_signed_cabinet(tmp_path: Path) -> None:
    doc = analyze_file(shared_or_skip("fixtures/cab/gcab/test-signed.cab"))
    sig = doc["cabinet"]["signature"]
    assert sig["present"] and sig["offset"] == 139 and sig["length"] == 2040 and sig["signer_cn"] == "LVFS CA"
    assert doc["cabinet"]["overlay"]["unexplained_bytes"] == 0
    assert not any(f["id"] == "cab.parser_differential" for f in doc["findings"])


def test_makecab_traits() -> None:
    for rel in ("cabarchive/multi-folder-compressed.cab", "cabextract/split-3.cab"):
        doc = analyze_file(shared_or_skip(f"fixtures/cab/{rel}"))
        assert doc["cabinet"]["traits"]["makecab_like"] is True, rel
    doc = analyze_file(shared_or_skip("fixtures/cab/libmspack/reserve_HFD.cab"))
    assert doc["cabinet"]["traits"]["maximal_blocks"] is False


def test_finding_ids_are_in_the_vocabulary() -> None:
    shared_or_skip("fixtures/cab")
    from tests.conftest import FIXTURES

    for path in sorted((FIXTURES / "cab").rglob("*.cab"))[:60]:
        try:
            doc = analyze_file(path, search=True)
        except Exception as exc:
            assert type(exc).__module__.startswith("cabhunt"), exc
            continue
        assert {f["id"] for f in doc["findings"]} <= FINDING_IDS


def test_solid_folder_memory_is_per_member(tmp_path: Path) -> None:
    """Twelve 512 KiB members (6 MiB) in one folder: only the member being streamed is held."""
    import tracemalloc

    path = tmp_path / "many.cab"
    path.write_bytes(build(Craft([Entry(f"m{i}.bin".encode(), os.urandom(1 << 19)) for i in range(12)])))
    tracemalloc.start()
    try:
        doc = analyze_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(m["status"] == "ok" for m in doc["members"])
    assert peak < 3 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_overlapping_members_reported(tmp_path: Path) -> None:
    raw = bytearray(build(Craft([Entry(b"a.txt", b"0123456789"), Entry(b"b.txt", b"abcdefghij")])))
    at = raw.index(b"b.txt\0") - 16  # the second CFFILE: point it into the first member's bytes
    raw[at + 4 : at + 8] = (5).to_bytes(4, "little")
    path = tmp_path / "o.cab"
    path.write_bytes(bytes(raw))
    doc = analyze_file(path)
    assert doc["cabinet"]["members_layout"]["overlapping"]
    assert any("share" in f["title"] for f in doc["findings"] if f["id"] == "cab.parser_differential")
    b = next(m for m in doc["members"] if m["name"] == "b.txt")
    assert b["sha256"] == hashlib.sha256(b"56789abcde").hexdigest()


def test_plain_prose_is_not_a_script(tmp_path: Path) -> None:
    prose = b"Call the helpdesk if the set of files is incomplete.\nGo to the portal.\n"
    doc = _doc(tmp_path, Craft([Entry(b"readme.txt", prose)]))
    assert doc["members"][0]["script"] is None and doc["findings"] == []

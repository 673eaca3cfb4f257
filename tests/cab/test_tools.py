"""Cross-check with the reference tools: cabextract (libmspack) and gcab read what we read."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cabhunt.cab.analyze import analyze_file
from cabhunt.cab.extract import extract
from tests.cab.craft import Craft, Entry, build


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (apt-get install {name})")
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return path


def _sample(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    from cabarchive import CabArchive, CabFile

    rnd = random.Random(7)
    members = {
        "docs\\readme.txt": b"line of text\r\n" * 5000,
        "bin\\blob.dat": bytes(rnd.getrandbits(8) for _ in range(50_000)),
        "empty.txt": b"",
        "tést.dat": b"utf8 name",
    }
    arc = CabArchive()
    for name, data in members.items():
        arc[name] = CabFile(data)
    path = tmp_path / "sample.cab"
    path.write_bytes(arc.save(compress=True))
    return path, members


def test_cabextract_agrees(tmp_path: Path) -> None:
    exe = _tool("cabextract")
    path, members = _sample(tmp_path)
    out = subprocess.run([exe, "-q", "-d", str(tmp_path / "ref"), str(path)], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ref = {p.relative_to(tmp_path / "ref").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in (tmp_path / "ref").rglob("*") if p.is_file()}
    report = extract(path, tmp_path / "ours")
    ours = {w["written"]: w["sha256"] for w in report["written"]}
    assert ours == ref
    doc = analyze_file(path)
    assert {m["name"]: m["sha256"] for m in doc["members"]} == {
        k: hashlib.sha256(v).hexdigest() for k, v in members.items()}


def test_cabextract_checksum_and_listing(tmp_path: Path) -> None:
    exe = _tool("cabextract")
    raw = build(Craft([Entry(b"a.txt", b"alpha " * 9000), Entry(b"b.txt", b"beta")], compress=True))
    path = tmp_path / "c.cab"
    path.write_bytes(raw)
    listing = subprocess.run([exe, "-l", str(path)], capture_output=True, text=True, timeout=60).stdout
    sizes = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s*(\d+) \|.*\| (\S+)$", listing, re.M)}
    doc = analyze_file(path)
    assert sizes == {m["name"]: m["size"] for m in doc["members"]}
    assert doc["cabinet"]["checksums"]["verified"] == 2  # 54004 bytes = two CFDATA blocks, both summed


def test_gcab_reads_our_view(tmp_path: Path) -> None:
    exe = _tool("gcab")
    path, _members = _sample(tmp_path)
    listing = subprocess.run([exe, "-l", "-v", str(path)], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    names = {line.split()[0] for line in listing.stdout.splitlines() if line.strip()}
    assert names == {m["name"] for m in analyze_file(path)["members"]}

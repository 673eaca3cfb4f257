"""`cabhunt cab inspect|extract` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cabhunt.cli import app
from tests.cab.craft import Craft, Entry, build, tiny_pe
from tests.conftest import shared_or_skip

runner = CliRunner()


def test_inspect_json_many_files(tmp_path: Path) -> None:
    a = tmp_path / "a.cab"
    a.write_bytes(build(Craft([Entry(b"x.exe", tiny_pe())])))
    not_cab = tmp_path / "notes.txt"
    not_cab.write_text("hello")
    res = runner.invoke(app, ["cab", "inspect", "--format", "json", str(a), str(not_cab),
                              str(shared_or_skip("fixtures/cab/libmspack/hidden-files.cab"))])
    assert res.exit_code == 0, res.output
    docs = json.loads(res.stdout)
    assert [Path(d["path"]).name for d in docs] == ["a.cab", "hidden-files.cab"]
    assert docs[0]["members"][0]["pe"]["machine"] == "IMAGE_FILE_MACHINE_I386"
    assert {"path", "sha256", "size", "cabinet", "members", "findings", "errors"} <= set(docs[1])
    assert "notes.txt" in res.stderr and "not a cabinet" in res.stderr
    assert "Traceback" not in res.output


def test_inspect_nothing_analysable_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "x.cab"
    bad.write_bytes(b"MSCF" + b"\0" * 10)
    res = runner.invoke(app, ["cab", "inspect", str(bad)])
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1 and "x.cab" in res.stderr


def test_inspect_jsonl_and_search(tmp_path: Path) -> None:
    res = runner.invoke(app, ["cab", "inspect", "--format", "jsonl", "--search",
                              str(shared_or_skip("fixtures/cab/libmspack/search_basic.cab"))])
    assert res.exit_code == 0
    (line,) = res.stdout.splitlines()
    doc = json.loads(line)
    assert len(doc["cabinets"]) == 2 and len(doc["members"]) == 4


def test_inspect_table_and_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.cab").write_bytes(build(Craft([Entry(b"run.ps1", b"iex $x")])))
    (tmp_path / "sub" / "skip.bin").write_bytes(b"nope")
    res = runner.invoke(app, ["cab", "inspect", str(tmp_path)])
    assert res.exit_code == 0
    assert "run.ps1" in res.stdout and "cab.script_member" in res.stdout


def test_bad_format_is_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["cab", "inspect", "--format", "xml", str(tmp_path)])
    assert res.exit_code == 2


def test_extract_cli(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["cab", "extract", str(shared_or_skip("fixtures/cab/cabextract/dirwalk-vulns.cab")),
                              "--to", str(out), "--max-total", "1M", "--max-member", "64K", "--max-ratio", "100"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert len(report["written"]) == 29 and report["limits"]["max_total"] == 1 << 20
    assert report["limits"]["max_member"] == 64 << 10


def test_extract_not_a_cabinet(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("hi")
    res = runner.invoke(app, ["cab", "extract", str(f), "--to", str(tmp_path / "o")])
    assert res.exit_code == 1 and "x.txt" in res.stderr and "Traceback" not in res.output


def test_extract_bad_size_is_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "x.cab"
    f.write_bytes(build(Craft([Entry(b"a", b"b")])))
    res = runner.invoke(app, ["cab", "extract", str(f), "--to", str(tmp_path / "o"), "--max-total", "lots"])
    assert res.exit_code == 2


def test_internal_error_is_one_line(tmp_path: Path, monkeypatch: object) -> None:
    import cabhunt.cab.analyze as analyze

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(analyze, "analyze_file", boom)  # type: ignore[attr-defined]
    f = tmp_path / "a.cab"
    f.write_bytes(build(Craft([Entry(b"a", b"b")])))
    res = runner.invoke(app, ["cab", "inspect", str(f)])
    assert res.exit_code == 1 and "simulated bug" in res.stderr and "Traceback" not in res.output

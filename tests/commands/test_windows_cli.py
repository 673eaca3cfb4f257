"""End-to-end: `cabhunt cmdline` and `cabhunt ddf inspect` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cabhunt.cli import app
from tests.conftest import shared_or_skip

DATA = Path(__file__).resolve().parents[1] / "windows" / "data"
runner = CliRunner()


def _json(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cmdline_json_webdav_ads() -> None:
    doc = _json(["cmdline", "makecab \\\\h@SSL@8443\\DavWWWRoot\\a.exe C:\\Users\\Public\\f.txt:a.cab", "--format", "json"])
    assert doc["schema"] == "cabhunt.cmdline/1"
    assert doc["flagged"] and doc["remote_input"] and doc["ads_cabinet"]
    src = doc["sources"][0]
    assert (src["kind"], src["host"], src["port"], src["nonstandard_port"]) == ("webdav", "h", 8443, True)
    assert doc["cabinets"][0]["stream"] == "a.cab"
    assert doc["invocation"]["argv"][1] == "\\\\h@SSL@8443\\DavWWWRoot\\a.exe"


def test_cmdline_options_cwd_map_image() -> None:
    doc = _json(
        [
            "cmdline",
            "svc.exe X:\\t\\a.exe out.cab",
            "--cwd",
            "\\\\10.0.0.9\\share\\",
            "--image",
            "C:\\Users\\Public\\svc.exe",
            "--original-file-name",
            "makecab.exe",
            "--map",
            "X:=\\\\fs\\tools",
            "--format",
            "json",
        ]
    )
    inv = doc["invocation"]
    assert inv["maker"] == "makecab" and inv["renamed"]
    assert doc["sources"][0]["resolved"] == "\\\\fs\\tools\\t\\a.exe"
    assert doc["cabinets"][0]["resolved"] == "\\\\10.0.0.9\\share\\out.cab"


def test_cmdline_with_ddf_content(tmp_path: Path) -> None:
    doc = _json(["cmdline", "makecab /f C:\\jobs\\webdav.ddf", "--ddf", str(DATA / "webdav.ddf"), "--format", "json"])
    assert doc["ddf_unknown"] == []
    assert [s["kind"] for s in doc["sources"]] == ["webdav", "webdav", "smb", "smb"]
    assert len(doc["ddf"]["cabinets"]) == 2


def test_cmdline_table_output() -> None:
    result = runner.invoke(app, ["cmdline", "diantz.exe /D SourceDir=\\\\10.0.0.99\\drop /F job.ddf", "--cwd", "C:\\w"])
    assert result.exit_code == 0
    assert "FLAGGED" in result.stdout and "10.0.0.99" in result.stdout and "job.ddf" in result.stdout


def test_cmdline_usage_errors() -> None:
    assert runner.invoke(app, ["cmdline", "makecab a", "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["cmdline", "makecab a", "--map", "nonsense"]).exit_code == 2
    assert runner.invoke(app, ["cmdline"]).exit_code == 2


def test_cmdline_unreadable_ddf(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cmdline", "makecab /f x.ddf", "--ddf", str(tmp_path / "missing.ddf")])
    assert result.exit_code == 1


def test_ddf_inspect_json_multi_and_define() -> None:
    doc = _json(
        ["ddf", "inspect", str(DATA / "multi_a.ddf"), str(DATA / "multi_b.ddf"), "--define", "DestinationDir=drv", "--format", "json"]
    )
    assert doc["schema"] == "cabhunt.ddf/1"
    assert [f["name"] for f in doc["files"]] == ["drv\\a.sys", "drv\\b.inf", "drv\\local.cat"]
    assert [c["name"] for c in doc["cabinets"]] == ["multi1.cab", "multi2.cab"]
    assert [s["kind"] for s in doc["sources"]] == ["smb", "smb", "unknown"]
    assert [c["written"] for c in doc["cabinet_locations"]] == ["out\\multi1.cab", "out\\multi2.cab"]
    assert doc["explicit"] is True


def test_ddf_inspect_issues_exit_zero() -> None:
    result = runner.invoke(app, ["ddf", "inspect", str(DATA / "explicit.ddf"), "--format", "json"])
    assert result.exit_code == 0
    kinds = {i["kind"] for i in json.loads(result.stdout)["issues"]}
    assert {"explicit_undefined", "undefined_variable"} <= kinds


def test_ddf_inspect_table_polyglot() -> None:
    result = runner.invoke(app, ["ddf", "inspect", str(DATA / "polyglot.bat")])
    assert result.exit_code == 0
    assert "polyglot" in result.stdout and "payload.exe" in result.stdout


def test_ddf_inspect_public_fixture_table() -> None:
    path = shared_or_skip("fixtures/ddf/nefarius_BthPS3__Setup_BthPS3_x64.ddf")
    result = runner.invoke(app, ["ddf", "inspect", str(path), "--cwd", "C:\\src"])
    assert result.exit_code == 0
    assert "BthPS3_x64.cab" in result.stdout


def test_ddf_inspect_unreadable(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ddf", "inspect", str(tmp_path / "nope.ddf")])
    assert result.exit_code == 1
    assert "nope.ddf" in result.stderr
    ok = DATA / "http.ddf"
    result = runner.invoke(app, ["ddf", "inspect", str(ok), str(tmp_path / "gone.ddf"), "--format", "json"])
    assert result.exit_code == 1  # one input unreadable; the rest still printed
    assert json.loads(result.stdout)["inputs"] == [str(ok)]
    assert runner.invoke(app, ["ddf", "inspect", str(ok), "--define", "novalue"]).exit_code == 2


def test_net_config_option(tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("internal_domains: [corp.example.com]\n", encoding="utf-8")
    doc = _json(["cmdline", "makecab \\\\fs.corp.example.com\\s\\a.exe a.cab", "--net", str(net), "--format", "json"])
    assert doc["sources"][0]["scope"] == "internal"
    bad = runner.invoke(app, ["cmdline", "makecab a b", "--net", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 1


def test_ddf_inspect_walks_directories(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.ddf").write_bytes((DATA / "multi_a.ddf").read_bytes())
    (tmp_path / "b" / "b.ddf").write_bytes((DATA / "multi_b.ddf").read_bytes())
    doc = _json(["ddf", "inspect", str(tmp_path), "--format", "json"])
    assert [Path(p).name for p in doc["inputs"]] == ["a.ddf", "b.ddf"]
    assert len(doc["files"]) == 3


def test_table_output_is_literal_and_safe() -> None:
    result = runner.invoke(app, ["cmdline", 'makecab [bold]x[/bold] "C:\\a\\[red]\\b\x1b[31m.cab"'])
    assert result.exit_code == 0
    assert "[bold]x[/bold]" in result.stdout and "C:\\a\\[red]\\b" in result.stdout
    assert "\x1b[31m" not in result.stdout and "\\x1b" in result.stdout


def test_ddf_inspect_drive_map(tmp_path: Path) -> None:
    ddf = tmp_path / "m.ddf"
    ddf.write_text("X:\\tools\\a.exe\nb.exe\n", encoding="ascii")
    doc = _json(["ddf", "inspect", str(ddf), "--cwd", "X:\\work", "--map", "X:=\\\\fs\\share", "--format", "json"])
    assert [s["kind"] for s in doc["sources"]] == ["smb", "smb"]
    assert doc["sources"][1]["resolved"] == "\\\\fs\\share\\work\\b.exe"

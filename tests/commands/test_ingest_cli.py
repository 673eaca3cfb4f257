"""`cabhunt ingest` end to end: ledger as JSON or a table, exit status, a reusable --db store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cabhunt.commands import ingest as ingest_cmd
from tests.ingest.helpers import DATA

REPO = Path(__file__).resolve().parents[2]


def _app() -> typer.Typer:
    """The ingest command as the real CLI mounts it (a group, so the command name is required)."""
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """cabhunt"""

    ingest_cmd.register(app)
    return app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), ["ingest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_ledger_and_idempotent_db(tmp_path: Path) -> None:
    db = tmp_path / "fleet.duckdb"
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("winlogbeat_raw.ndjson", "zeek_dns.log", "squid_access.log", "unknown.txt"):
        shutil.copy(DATA / name, logs / name)
    code, out, err = _run(str(logs), "--db", str(db), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    files = {Path(f["path"]).name: f for f in doc["files"]}
    assert set(files) == {"winlogbeat_raw.ndjson", "zeek_dns.log", "squid_access.log", "unknown.txt"}
    assert files["unknown.txt"]["status"] == "failed"
    assert files["winlogbeat_raw.ndjson"]["errors"] == 1
    assert files["winlogbeat_raw.ndjson"]["skipped"] == {"event id not used": 2}
    assert doc["summary"]["files"] == 3 and doc["summary"]["unreadable"] == 1
    assert doc["summary"]["normalized"] == 8 + 2 + 3
    assert doc["summary"]["line"].startswith("ingested 3 files, 17 records (13 normalized, 2 skipped, 2 errors)")
    assert "unknown.txt: unknown format" in err
    assert "winlogbeat_raw.ndjson#4: not valid JSON" in err
    code, out, _ = _run(str(logs), "--db", str(db), "--format", "json")
    again = json.loads(out)
    assert code == 0 and again["summary"]["normalized"] == 0 and again["summary"]["already_ingested"] == 3


def test_table_output(tmp_path: Path) -> None:
    code, out, err = _run(str(DATA / "zeek_ssl.log"))
    assert code == 0
    assert "ingest ledger" in out and "zeek_tsv" in out
    assert "ingested 1 file, 1 records (1 normalized, 0 skipped, 0 errors)" in err


def test_nothing_readable_exits_1(tmp_path: Path) -> None:
    code, out, err = _run(str(DATA / "unknown.txt"), str(tmp_path / "missing"), "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["files"] == 0
    assert "missing: no such file or directory" in err
    assert "Traceback" not in err


def test_bad_usage_exits_2() -> None:
    code, _out, _err = _run("--format", "yaml", str(DATA / "zeek_ssl.log"))
    assert code == 2


def test_real_entry_point(tmp_path: Path) -> None:
    """`python -m cabhunt ingest` in a subprocess (only once the CLI has several commands)."""
    from cabhunt.cli import app

    if len(app.registered_commands) + len(app.registered_groups) < 2:
        # With a single command Typer runs it without its name; the other commands arrive later.
        args = [str(DATA / "zeek_ssl.log")]
    else:
        args = ["ingest", str(DATA / "zeek_ssl.log")]
    proc = subprocess.run(
        [sys.executable, "-m", "cabhunt", *args, "--format", "json", "--db", str(tmp_path / "x.duckdb")],
        capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["normalized"] == 1


def test_parquet_store_option(tmp_path: Path) -> None:
    sdir = tmp_path / "fleet"
    code, out, _err = _run(str(DATA / "zeek_conn.log"), "--store", str(sdir), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["normalized"] == 2
    assert list((sdir / "events").rglob("*.parquet"))
    code, out, _err = _run(str(DATA / "zeek_conn.log"), "--store", str(sdir), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["already_ingested"] == 1


def test_db_and_store_together_is_bad_usage(tmp_path: Path) -> None:
    code, _out, err = _run(str(DATA / "zeek_conn.log"), "--db", str(tmp_path / "a.duckdb"), "--store", str(tmp_path / "s"))
    assert code == 2 and "either --db or --store" in err


def test_unopenable_db_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.duckdb"
    bad.write_bytes(b"this is not a duckdb file" * 100)
    code, _out, err = _run(str(DATA / "zeek_conn.log"), "--db", str(bad))
    assert code == 1 and "cannot open store" in err and "Traceback" not in err


def test_internal_failure_is_one_line_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cabhunt.ingest

    def boom(*_a: object, **_k: object) -> None:
        raise MemoryError("no room")

    monkeypatch.setattr(cabhunt.ingest, "ingest_paths", boom)
    log = tmp_path / "a.json"
    log.write_text("{}\n")
    result = CliRunner().invoke(_app(), ["ingest", str(log)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "cabhunt: ingest failed: MemoryError: no room"

"""End-to-end: ``cabhunt rules list`` and ``cabhunt rules convert``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cabhunt.cli import app

runner = CliRunner()


def test_list_json_has_the_four_playbook_rules_first() -> None:
    result = runner.invoke(app, ["rules", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["slug"]) for r in rows[:4]] == [
        ("CNC-E-2726320-168", "makecab_download_cab"),
        ("CNC-E-2726320-168", "makecab_network"),
        ("CNC-E-2726320-142", "diantz_network"),
        ("CNC-E-2726320-143", "diantz_download_cab"),
    ]
    assert all(r["playbook"] for r in rows[:4]) and not any(r["playbook"] for r in rows[4:])
    assert {r["slug"] for r in rows if r["kind"] == "correlation"} == {"makecab_job_then_smb", "diantz_job_then_smb"}


def test_list_table() -> None:
    result = runner.invoke(app, ["rules", "list"])
    assert result.exit_code == 0 and "makecab" in result.stdout.lower()


def test_convert_splunk_one_rule_warns_on_stderr() -> None:
    result = runner.invoke(app, ["rules", "convert", "--target", "splunk", "--rule", "makecab_network"])
    assert result.exit_code == 0, result.output
    assert 'Image="*\\\\makecab.exe"' in result.stdout and "EventID=3" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("cabhunt: makecab_network")]
    assert len(warnings) == 1 and "60 s correlation" in warnings[0]


def test_convert_json_winlogbeat() -> None:
    result = runner.invoke(app, ["rules", "convert", "--target", "lucene", "--pipeline", "winlogbeat", "--format", "json"])
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert len(docs) == 12
    for d in docs:
        assert d["pipeline"] == "winlogbeat"
        assert all("winlog.event_data." in q for q in d["queries"])
    refused = [d for d in docs if d["error"]]
    assert {d["slug"] for d in refused} == {"makecab_job_then_smb", "diantz_job_then_smb"}  # lucene has no correlations


def test_convert_bad_usage() -> None:
    for args in (["--target", "qradar"], ["--target", "splunk", "--pipeline", "ocsf"], ["--target", "splunk", "--rule", "nope"]):
        result = runner.invoke(app, ["rules", "convert", *args])
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output

"""SIEM conversion: key fragments per target and pipeline, warnings, no pipeline leaking between runs."""

from __future__ import annotations

import pytest

from cabhunt.rules.convert import TARGETS, convert

FRAGMENTS = {
    ("splunk", "sysmon"): ["EventID=1", 'Image="*\\\\makecab.exe"', 'OriginalFileName="makecab.exe"'],
    ("splunk", "winlogbeat"): ["winlog.event_id=1", "winlog.event_data.Image=", "winlog.event_data.CommandLine"],
    ("esql", "ecs"): ["process.executable", "process.pe.original_file_name", 'event.code=="1"'],
    ("eql", "ecs"): ["any where", "process.command_line"],
    ("lucene", "ecs"): ["process.executable:*\\\\makecab.exe", "event.code:1"],
    ("kusto", "sysmon"): ['Image endswith "\\\\makecab.exe"', "EventID == 1"],
    ("databricks", "ecs"): ["process.executable", "endswith("],
    ("sqlite", "sysmon"): ["SELECT * FROM logs WHERE EventID=1", "ESCAPE"],
}


@pytest.mark.parametrize(("target", "pipeline"), sorted(FRAGMENTS))
def test_key_fragments(target: str, pipeline: str) -> None:
    [conv] = convert(target, pipeline, ["makecab_download_cab"])
    assert conv.error is None, conv.error
    text = "\n".join(conv.queries)
    for frag in FRAGMENTS[(target, pipeline)]:
        assert frag in text, (frag, text[:400])


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_rule_converts_or_is_reported(target: str) -> None:
    convs = convert(target)
    assert len(convs) == 12
    for conv in convs:
        assert bool(conv.queries) != bool(conv.error), conv.slug


def test_playbook_rules_warn_that_the_query_is_a_prefilter() -> None:
    convs = {c.slug: c for c in convert("splunk")}
    assert any("prefilter" in w for w in convs["makecab_download_cab"].warnings)
    assert any("60 s correlation" in w for w in convs["diantz_network"].warnings)
    assert not convs["cab_expansion"].warnings


def test_correlations_warn_about_tumbling_windows_or_are_refused() -> None:
    splunk = {c.slug: c for c in convert("splunk", None, ["makecab_job_then_smb"])}["makecab_job_then_smb"]
    assert splunk.error is None and "bin _time span=60s" in splunk.queries[0]
    assert any("tumbling" in w for w in splunk.warnings)
    sqlite = convert("sqlite", None, ["makecab_job_then_smb"])[0]
    assert not any("tumbling" in w for w in sqlite.warnings)
    kusto = convert("kusto", None, ["diantz_job_then_smb"])[0]
    assert kusto.error and not kusto.queries


def test_pipelines_do_not_leak_between_conversions() -> None:
    ecs = convert("splunk", "ecs", ["makecab_network"])[0].queries[0]
    sysmon = convert("splunk", "sysmon", ["makecab_network"])[0].queries[0]
    again = convert("splunk", "ecs", ["makecab_network"])[0].queries[0]
    assert "process.executable" in ecs and "process.executable" not in sysmon
    assert ecs == again


def test_unknown_target_or_pipeline() -> None:
    with pytest.raises(ValueError, match="target"):
        convert("qradar")
    with pytest.raises(ValueError, match="pipeline"):
        convert("splunk", "ocsf")

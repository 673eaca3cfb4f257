from cabhunt.model import FINDING_IDS, Alert, CabinetRef, Finding, RuleRef, SourceRef
from cabhunt.schema import COLUMN_NAMES, create_table_sql, ecs_name


def _alert() -> Alert:
    return Alert(
        timestamp="2026-03-02T10:15:04.123Z",
        rule=RuleRef("CNC-E-2726320-143", "Diantz Download and CAB Creation", "diantz_download_cab", "u"),
        host="ws1",
        process={"entity_id": "{abc}", "pid": 4},
        sources=[SourceRef(path=r"\\h\s\f.exe", kind="smb", host="h")],
        cabinets=[CabinetRef(path=r"C:\Users\Public\a.cab", user_writable=True)],
    )


def test_alert_round_trip_keeps_every_key() -> None:
    a = _alert()
    a.add(Finding("source.smb", "input_semantics", "SMB source", 20, ["x"]))
    a.add(Finding("source.smb", "input_semantics", "SMB source", 20, ["y"]))
    d = a.to_dict()
    assert d["cabhunt"]["cabinet"]["path"].endswith("a.cab")
    assert d["cabhunt"]["findings"][0]["evidence"] == ["x", "y"]
    b = Alert.from_dict(d)
    assert b.to_dict() == d
    assert b.id == a.id


def test_alert_id_depends_on_rule_and_process() -> None:
    a, b = _alert(), _alert()
    b.process["entity_id"] = "{other}"
    assert a.id != b.id


def test_vocabulary_and_schema() -> None:
    assert "allowlist.match" in FINDING_IDS
    assert "process_command_line" in COLUMN_NAMES
    assert ecs_name("process_command_line") == "process.command_line"
    assert ecs_name("ts") == "@timestamp"
    assert "CREATE TABLE" in create_table_sql()

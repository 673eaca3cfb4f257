"""Allowlists: suppression keeps the reason, expiry is reported, bad entries never crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabhunt.errors import Problems
from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.investigate.allowlist import Allowlist, parse_entry
from tests.investigate import scenarios

SHARE_ENTRY = """
entries:
  - id: AL-7
    reason: SCCM agent packaging from the approved deployment share
    owner: it-deploy@corp.example
    valid_from: 2026-01-01
    valid_until: {until}
    match:
      share_prefix: '\\\\FS01\\approved\\'
      rule: makecab_download_cab
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "allow.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_allowlisted_share_is_suppressed_not_silenced(tmp_path: Path) -> None:
    case = scenarios.approved_share()
    ctx = InvestigationContext(store=case.store, allowlist=write(tmp_path, SHARE_ENTRY.format(until="2026-12-31")))
    a = investigate([case.alert], ctx)[0]
    assert a.verdict == "suppressed"
    assert a.suppressed_by == {"id": "AL-7", "reason": "SCCM agent packaging from the approved deployment share",
                               "owner": "it-deploy@corp.example", "valid_until": "2026-12-31T23:59:59.999Z"}
    assert "allowlist.match" in a.finding_ids()
    assert "source.smb" in a.finding_ids()  # the evidence is kept
    assert a.score > 0 and "AL-7" in a.why
    assert [x.kind for x in a.actions] == ["review_change"]
    assert a.to_dict()["cabhunt"]["suppressed_by"]["id"] == "AL-7"


def test_expired_entry_does_not_suppress_and_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = scenarios.approved_share()
    ctx = InvestigationContext(store=case.store, allowlist=write(tmp_path, SHARE_ENTRY.format(until="2026-02-01")))
    a = investigate([case.alert], ctx)[0]
    assert a.verdict == "suspicious"
    assert a.suppressed_by is None
    assert "allowlist.match" not in a.finding_ids()
    note = a.extra["allowlist_not_applied"][0]
    assert note["id"] == "AL-7" and note["state"] == "expired"
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if "AL-7" in line and "expired" in line]) == 1


def test_a_second_unapproved_source_is_not_covered(tmp_path: Path) -> None:
    from cabhunt.model import SourceRef

    case = scenarios.approved_share()
    case.alert.process["command_line"] = None  # keep the seed's sources (no re-parse)
    case.alert.sources.append(SourceRef("\\\\203.0.113.5\\x\\y.exe", "smb", "203.0.113.5", None, True, "external"))
    ctx = InvestigationContext(store=case.store, allowlist=write(tmp_path, SHARE_ENTRY.format(until="2026-12-31")))
    a = investigate([case.alert], ctx)[0]
    assert a.verdict != "suppressed"


def test_malformed_entries_are_reported_and_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = """
entries:
  - id: NO-OWNER
    reason: x
    match: {host: WS01}
  - id: BAD-KEY
    reason: x
    owner: y
    match: {colour: blue}
  - id: BAD-CIDR
    reason: x
    owner: y
    match: {cidr: 10.0.0.0/33}
  - "just a string"
  - id: GOOD
    reason: ok
    owner: me
    match: {host: 'WS0*'}
"""
    problems = Problems()
    allow = Allowlist.load(write(tmp_path, text), problems)
    assert [e.id for e in allow.entries] == ["GOOD"]
    assert problems.count == 4
    err = capsys.readouterr().err
    assert "owner" in err and "colour" in err and "cidr" in err


@pytest.mark.parametrize("text", ["{{{ not yaml", "entries: 5", ""])
def test_unusable_files_do_not_crash(tmp_path: Path, text: str) -> None:
    problems = Problems()
    assert Allowlist.load(write(tmp_path, text), problems).entries == []
    assert problems.count == 1


def test_entry_dates_and_keys() -> None:
    e = parse_entry({"id": "a", "reason": "r", "owner": "o", "valid_until": "2026-03-01T12:00:00Z",
                     "match": {"cidr": ["10.0.0.0/8"], "sha256": "AB" * 32}}, "f")
    assert e.valid_until is not None and e.valid_until.hour == 12
    with pytest.raises(ValueError):
        parse_entry({"id": "a", "reason": "r", "owner": "o", "valid_from": "2026-05-01", "valid_until": "2026-01-01",
                     "match": {"host": "x"}}, "f")


def test_cidr_and_parent_keys(tmp_path: Path) -> None:
    text = """
entries:
  - id: FS
    reason: file server range
    owner: infra
    match: {cidr: 10.20.0.0/16, parent: CcmExec.exe}
"""
    case = scenarios.approved_share()
    ctx = InvestigationContext(store=case.store, allowlist=write(tmp_path, text))
    a = investigate([case.alert], ctx)[0]
    assert a.verdict == "suppressed" and a.suppressed_by is not None and a.suppressed_by["id"] == "FS"

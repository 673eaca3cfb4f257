"""Investigation over a store filled by the real ingest path (flat Sysmon NDJSON as NXLog writes it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabhunt.errors import Problems
from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.model import Alert, RuleRef

DATA = Path(__file__).parent / "data"


def _seed(store: object) -> Alert:
    """The alert detection would raise: the makecab EID 1 row, classified by cabhunt.windows."""
    from cabhunt.windows import analyze_job

    t = store.events()  # type: ignore[attr-defined]
    row = t.filter((t.event_code == 1) & (t.process_name == "makecab.exe")).to_pyarrow().to_pylist()[0]
    job = analyze_job(row["process_command_line"], image=row["process_executable"],
                      original_file_name=row["process_pe_original_file_name"], cwd=row["process_working_directory"])
    return Alert(
        timestamp=row["ts"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{row['ts'].microsecond // 1000:03d}Z",
        rule=RuleRef("CNC-E-2726320-168", "Makecab Download and CAB Creation", "makecab_download_cab", "u"),
        host=row["host_name"], user=row["user_name"],
        process={"entity_id": row["process_entity_id"], "pid": row["process_pid"],
                 "executable": row["process_executable"], "command_line": row["process_command_line"],
                 "parent": {"entity_id": row["process_parent_entity_id"], "pid": row["process_parent_pid"],
                            "executable": row["process_parent_executable"]}},
        sources=[s.to_source_ref() for s in job.sources], cabinets=[c.to_cabinet_ref() for c in job.cabinets],
        working_directory=row["process_working_directory"], event_uids=[row["event_uid"]],
    )


def test_flat_sysmon_chain_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("cabhunt.ingest")
    from cabhunt.ingest import ingest_paths
    from cabhunt.store import Store

    store = Store.open(tmp_path / "s.duckdb")
    try:
        problems = Problems()
        ingest_paths(store, [DATA / "ws07_sysmon.ndjson"], problems)
        assert problems.count == 0
        a = investigate([_seed(store)], InvestigationContext(store=store))[0]
        ids = set(a.finding_ids())
        assert {"source.smb", "source.ip_literal", "source.external", "parent.suspicious", "net.corroborated",
                "net.ip_literal", "net.external", "followon.extraction", "followon.execution",
                "cabinet.user_writable"} <= ids
        assert a.verdict == "malicious"
        assert a.extra["lineage"]["chain"][0]["name"] == "powershell.exe"
        exe = next(f for f in a.findings if f.id == "followon.execution")
        assert any("rundll32" in e and "beacon.dll" in e for e in exe.evidence)
        from cabhunt.render.bundle import evidence_records

        recs = evidence_records(a, store)
        assert any(r["raw"].get("Image") == "System" for r in recs)  # raw NXLog record kept as evidence
        assert all(r["log_file"] for r in recs)
    finally:
        store.close()

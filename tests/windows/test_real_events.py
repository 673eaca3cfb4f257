"""Real Sysmon events (EVTX-ATTACK-SAMPLES): the cabinet we predict is the file makecab created."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cabhunt.windows.job import analyze_job
from tests.conftest import shared_or_skip

FILES = [
    "sysmon_1_7_11_mcx2prov_uacbypass.evtx",
    "sysmon_1_7_11_migwiz.evtx",
    "sysmon_1_7_11_sysprep_uacbypass.evtx",
    "sysmon_11_1_15_WScriptBypassUAC.evtx",
]


def _events(name: str) -> list[tuple[int, dict[str, Any]]]:
    evtx = pytest.importorskip("evtx")
    path = shared_or_skip(f"fixtures/evtx/{name}")
    out = []
    for record in evtx.PyEvtxParser(str(path)).records_json():
        event = json.loads(record["data"]).get("Event", {})
        data = event.get("EventData")
        if isinstance(data, dict):
            out.append((int(event["System"]["EventID"]), data))
    return out


@pytest.mark.parametrize("name", FILES)
def test_makecab_events(name: str) -> None:
    events = _events(name)
    starts = [d for eid, d in events if eid == 1 and str(d.get("Image", "")).lower().endswith("\\makecab.exe")]
    created = {str(d["TargetFilename"]).lower() for eid, d in events if eid == 11 and str(d.get("Image", "")).lower().endswith("\\makecab.exe")}
    assert starts
    for d in starts:
        job = analyze_job(
            d["CommandLine"], image=d["Image"], original_file_name=d.get("OriginalFileName"), cwd=d.get("CurrentDirectory")
        )
        assert job.maker == "makecab" and not job.invocation.renamed
        assert job.invocation.mode == "single" and job.invocation.errors == []
        assert not job.flagged
        assert all(s.kind == "local" for s in job.sources)
        (cab,) = job.cabinets
        assert cab.kind == "local" and cab.user_writable and not cab.ads
        if created:  # the file-creation event names the cabinet we resolved
            assert cab.best.lower() in created

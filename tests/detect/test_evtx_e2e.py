"""Real UAC-bypass makecab EVTX samples (local sources): at most suspicious, with the findings
that still make an analyst look (user-writable cabinet, suspicious parent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_or_skip

SAMPLES = [
    "sysmon_1_7_11_mcx2prov_uacbypass.evtx",
    "sysmon_1_7_11_migwiz.evtx",
    "sysmon_1_7_11_sysprep_uacbypass.evtx",
    "sysmon_11_1_15_WScriptBypassUAC.evtx",
]


@pytest.mark.parametrize("name", SAMPLES)
def test_uac_bypass_samples_rate_at_most_suspicious(name: str) -> None:
    pytest.importorskip("cabhunt.ingest", reason="ingest is needed to read EVTX")
    from cabhunt.detect import detect_with_summary
    from cabhunt.errors import Problems
    from cabhunt.ingest import ingest_paths
    from cabhunt.store import Store

    path: Path = shared_or_skip(f"fixtures/evtx/{name}")
    store = Store.open(None)
    try:
        ingest_paths(store, [path], Problems())
        alerts, summary = detect_with_summary(store)
    finally:
        store.close()
    assert summary.prefilter_matches["makecab_download_cab"] >= 1
    assert alerts, "the staging in %TEMP% by a script host is still worth a look"
    for a in alerts:
        assert a.rule.slug == "makecab_download_cab"
        assert a.verdict in ("benign", "suspicious")
        ids = set(a.finding_ids())
        assert {"cabinet.user_writable", "parent.suspicious"} <= ids
        assert not any(i.startswith(("source.", "ddf.")) for i in ids)
        assert all(s.kind == "local" for s in a.sources)

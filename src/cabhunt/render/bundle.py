"""Case bundle: one folder per alert with everything an analyst or a downstream tool needs.

``alert.json`` (the alert contract), ``report.md``, ``report.html`` (self-contained),
``evidence.jsonl`` (the raw records the alert cites, from the store), ``timeline.jsonl``
(Timesketch import) and ``iocs.stix.json`` (STIX 2.1).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cabhunt.investigate.case import evidence_uids
from cabhunt.model import Alert


def _safe_name(alert: Alert) -> str:
    host = re.sub(r"[^A-Za-z0-9._-]+", "_", alert.host or "host")[:40]
    return f"{alert.timestamp[:10]}_{host}_{alert.id}"


def evidence_records(alert: Alert, store: Any) -> list[dict[str, Any]]:
    """The raw records behind the alert, with provenance (file, format, record)."""
    from cabhunt.investigate.context import InvestigationContext, iso

    ctx = InvestigationContext(store=store)
    rows = ctx.events_by_uid(evidence_uids(alert), with_raw=True)
    out = []
    for r in sorted(rows, key=lambda r: (r.get("ts") is None, r.get("ts"))):
        raw: Any = r.get("raw")
        with contextlib.suppress(ValueError):
            raw = json.loads(raw) if isinstance(raw, str) else raw
        out.append({"event_uid": r.get("event_uid"), "@timestamp": iso(r.get("ts")), "host": r.get("host_name"),
                    "event_code": r.get("event_code"), "provider": r.get("event_provider"),
                    "log_file": r.get("src_file"), "log_format": r.get("src_format"),
                    "record_id": r.get("src_record_id"), "raw": raw})
    return out


def write_bundle(alert: Alert, out_dir: Path, store: Any) -> Path:
    """Write one case folder under ``out_dir`` and return it."""
    from cabhunt.render.html import render_html
    from cabhunt.render.markdown import render_alert
    from cabhunt.render.stix import render_stix
    from cabhunt.render.timesketch import write_timeline

    folder = out_dir / _safe_name(alert)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alert.json").write_text(json.dumps(alert.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n",
                                       encoding="utf-8")
    (folder / "report.md").write_text(render_alert(alert), encoding="utf-8")
    (folder / "report.html").write_text(render_html(alert), encoding="utf-8")
    with (folder / "evidence.jsonl").open("w", encoding="utf-8") as fh:
        for rec in evidence_records(alert, store):
            fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    with (folder / "timeline.jsonl").open("w", encoding="utf-8") as fh:
        write_timeline(alert, fh)
    (folder / "iocs.stix.json").write_text(render_stix(alert) + "\n", encoding="utf-8")
    return folder


def write_bundles(alerts: Sequence[Alert], out_dir: Path, store: Any) -> list[Path]:
    return [write_bundle(a, out_dir, store) for a in alerts]

"""Step 1 - preserve context: the alert's own records and the process creation behind it.

The playbooks start by exporting the EID 1 / 4688 record (image, command line, parent, user,
integrity level, working directory, time). For the network rules the EID 3 record is linked to
the process creation that started the connecting process, so later steps know the command line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cabhunt.investigate.context import PROCESS_CODES, Event, alert_time, as_int, iso, lower

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "preserve"


def preserved_record(ev: Event) -> dict[str, Any]:
    """The fields the playbook asks to export, named as ECS."""
    return {
        "event_uid": ev.get("event_uid"),
        "@timestamp": iso(ev.get("ts")),
        "event_code": ev.get("event_code"),
        "host": ev.get("host_name"),
        "process.executable": ev.get("process_executable"),
        "process.pid": ev.get("process_pid"),
        "process.entity_id": ev.get("process_entity_id"),
        "process.command_line": ev.get("process_command_line"),
        "process.pe.original_file_name": ev.get("process_pe_original_file_name"),
        "process.working_directory": ev.get("process_working_directory"),
        "process.integrity_level": ev.get("process_integrity_level"),
        "process.hash.sha256": ev.get("process_hash_sha256"),
        "process.parent.executable": ev.get("process_parent_executable"),
        "process.parent.command_line": ev.get("process_parent_command_line"),
        "process.parent.entity_id": ev.get("process_parent_entity_id"),
        "user": "\\".join(x for x in (ev.get("user_domain"), ev.get("user_name")) if x) or None,
        "destination": ({"ip": ev.get("destination_ip"), "port": ev.get("destination_port"),
                         "domain": ev.get("destination_domain")} if ev.get("event_code") == 3 else None),
    }


def process_from_event(ev: Event) -> dict[str, Any]:
    """ECS ``process`` object (as detection writes it) from a process creation row."""
    return {
        "entity_id": ev.get("process_entity_id"),
        "pid": ev.get("process_pid"),
        "executable": ev.get("process_executable"),
        "name": ev.get("process_name") or lower((ev.get("process_executable") or "").split("\\")[-1]) or None,
        "command_line": ev.get("process_command_line"),
        "working_directory": ev.get("process_working_directory"),
        "pe": {"original_file_name": ev.get("process_pe_original_file_name")},
        "hash": {"sha256": ev.get("process_hash_sha256")},
        "parent": {
            "entity_id": ev.get("process_parent_entity_id"),
            "pid": ev.get("process_parent_pid"),
            "executable": ev.get("process_parent_executable"),
            "command_line": ev.get("process_parent_command_line"),
        },
    }


def find_creation(alert: Alert, ctx: InvestigationContext) -> Event | None:
    """The EID 1 / 4688 record of the alert's process (by entity id, else host+pid before the alert)."""
    t = ctx.table()
    at = alert_time(alert)
    eid = alert.process.get("entity_id")
    codes = list(PROCESS_CODES)
    if eid:
        by_guid = ctx.bulk("creation_by_guid", alert, lambda alerts: _creations(alerts, ctx))
        if by_guid is not None:
            return by_guid
    pid = as_int(alert.process.get("pid"))
    if pid is None or not alert.host:
        return None
    rows = ctx.rows(
        t.filter(ctx.host_is(t.host_name, alert.host) & (t.process_pid == pid)
                 & t.event_code.isin(codes) & (t.ts <= at + timedelta(seconds=1))
                 & (t.ts >= at - timedelta(days=2))),
        limit=None,
    )
    return rows[-1] if rows else None


def _creations(alerts: list[Alert], ctx: InvestigationContext) -> dict[int, Event | None]:
    """The creation record of every alert's process GUID, one query for the batch."""
    found = ctx.creations_by_guid(str(a.process.get("entity_id") or "") for a in alerts)
    return {id(a): found.get(str(a.process.get("entity_id") or "")) for a in alerts}


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    """Export the records; complete ``alert.process`` from the process creation when missing."""
    own = ctx.own_events(alert)
    creation = next((e for e in own if e.get("event_code") in PROCESS_CODES), None) or find_creation(alert, ctx)
    records = [preserved_record(e) for e in own]
    if creation is not None and creation.get("event_uid") not in {r["event_uid"] for r in records}:
        records.append(preserved_record(creation))
    if creation is not None:
        before_id = alert.id
        proc = process_from_event(creation)
        for k, v in proc.items():
            if isinstance(v, dict):
                cur = alert.process.setdefault(k, {})
                if isinstance(cur, dict):
                    for kk, vv in v.items():
                        if cur.get(kk) is None and vv is not None:
                            cur[kk] = vv
            elif alert.process.get(k) is None and v is not None:
                alert.process[k] = v
        if alert.id != before_id:  # the alert id must stay stable across re-investigation
            alert.extra["linked_entity_id"] = alert.process.pop("entity_id", None)
            alert.process["entity_id"] = None
        alert.user = alert.user or creation.get("user_name")
        alert.working_directory = alert.working_directory or creation.get("process_working_directory")
        alert.extra["process_creation_uid"] = creation.get("event_uid")
    alert.extra["preserved"] = records
    if not records:
        alert.extra.setdefault("steps", {})[STEP] = "the alert's records are not in the store"
    return []

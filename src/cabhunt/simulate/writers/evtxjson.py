"""evtx_dump-style JSON, one record per line, shaped exactly like the ``evtx`` package's output."""

from __future__ import annotations

import orjson

from cabhunt.simulate.entities import Ev, Host
from cabhunt.simulate.writers import common

_NS = {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}


def _system_time(ts: int) -> str:
    from cabhunt.simulate.entities import iso_ms

    return iso_ms(ts)[:-1] + f"{(ts * 7) % 1000:03d}Z"


class EvtxJson:
    """Renders ``{"Event": {"System": ..., "EventData": ...}}`` with typed values and brace-less GUIDs."""

    fmt = "evtxjson"

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        data = {k: (v.strip("{}") if k.endswith("Guid") and isinstance(v, str) else v) for k, v in ev.data.items()}
        system = {
            "Provider": {"#attributes": {"Name": prov, "Guid": guid}},
            "EventID": ev.eid,
            "Version": common.version(ev),
            "Level": common.level(ev),
            "Task": common.task_number(ev),
            "Opcode": 0,
            "Keywords": common.keywords(ev),
            "TimeCreated": {"#attributes": {"SystemTime": _system_time(ev.ts)}},
            "EventRecordID": record_id,
            "Correlation": None,
            "Execution": {"#attributes": {"ProcessID": pid, "ThreadID": tid}},
            "Channel": ev.channel,
            "Computer": host.fqdn,
            "Security": {"#attributes": {"UserID": ev.user_sid}} if ev.user_sid else None,
        }
        return orjson.dumps({"Event": {"#attributes": _NS, "System": system, "EventData": data}})

"""Winlogbeat 8 output without the Elasticsearch ingest pipeline: ``winlog.event_data.*`` strings."""

from __future__ import annotations

from typing import Any

import orjson

from cabhunt.simulate.entities import Ev, Host, TimeCache
from cabhunt.simulate.writers import common


class WinlogbeatRaw:
    """Renders events as Winlogbeat writes them to a file or Kafka output."""

    fmt = "winlogbeat"

    def __init__(self) -> None:
        self.tc = TimeCache()

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        task = common.task_name(ev)
        sysmon = common.is_sysmon(ev)
        winlog: dict[str, Any]
        doc: dict[str, Any] = {
            "@timestamp": self.tc.iso(ev.ts, 7),
            "agent": {"type": "winlogbeat", "version": "8.12.2", "name": host.name.lower()},
            "ecs": {"version": "8.0.0"},
            "event": {"code": str(ev.eid), "kind": "event", "provider": prov, "action": task,
                      "created": self.tc.iso(ev.ts + 850, 3)} if sysmon else
                     {"code": str(ev.eid), "kind": "event", "provider": prov, "action": task,
                      "outcome": "success", "created": self.tc.iso(ev.ts + 850, 3)},
            "host": {"name": host.name.lower()},
            "log": {"level": "information"},
            "winlog": (winlog := {
                "api": "wineventlog",
                "channel": ev.channel,
                "computer_name": host.fqdn,
                "event_data": {k: common.text(v) for k, v in ev.data.items()},
                "event_id": str(ev.eid),
                "opcode": "Info",
                "process": {"pid": pid, "thread": {"id": tid}},
                "provider_guid": "{" + guid + "}",
                "provider_name": prov,
                "record_id": record_id,
                "task": task,
                "version": common.version(ev),
            }),
        }
        if sysmon:
            winlog["user"] = {"domain": "NT AUTHORITY", "identifier": "S-1-5-18", "name": "SYSTEM",
                                     "type": "Well Known Group"}
        else:
            winlog["keywords"] = ["Audit Success"]
        return orjson.dumps(doc)

"""Winlogbeat 8 output without the Elasticsearch ingest pipeline: ``winlog.event_data.*`` strings.

The constant parts of a document (agent, host, provider, task, ...) are serialized once per
(host, channel, event id) and spliced around the per-record parts: this is the format most
of a large fleet writes, so it is the hot path.
"""

from __future__ import annotations

import orjson

from cabhunt.simulate.entities import Ev, Host, TimeCache
from cabhunt.simulate.writers import common


class WinlogbeatRaw:
    """Renders events as Winlogbeat writes them to a file or Kafka output."""

    fmt = "winlogbeat"

    def __init__(self) -> None:
        self.tc = TimeCache()
        self._parts: dict[tuple[str, str, int], tuple[bytes, bytes, bytes, bytes]] = {}

    def _template(self, ev: Ev, host: Host) -> tuple[bytes, bytes, bytes, bytes]:
        key = (host.name, ev.channel, ev.eid)
        hit = self._parts.get(key)
        if hit is not None:
            return hit
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        task = common.task_name(ev)
        sysmon = common.is_sysmon(ev)
        name = host.name.lower()
        event = {"code": str(ev.eid), "kind": "event", "provider": prov, "action": task}
        if not sysmon:
            event["outcome"] = "success"
        head = (b'{"@timestamp":"', b'","agent":' + orjson.dumps(
            {"type": "winlogbeat", "version": "8.12.2", "name": name}) + b',"ecs":{"version":"8.0.0"},"event":'
            + orjson.dumps(event)[:-1] + b',"created":"')
        mid = (b'"},"host":' + orjson.dumps({"name": name}) + b',"log":{"level":"information"},"winlog":{'
               b'"api":"wineventlog","channel":' + orjson.dumps(ev.channel) + b',"computer_name":'
               + orjson.dumps(host.fqdn) + b',"event_data":')
        tail_doc = {"event_id": str(ev.eid), "opcode": "Info", "process": {"pid": pid, "thread": {"id": tid}},
                    "provider_guid": "{" + guid + "}", "provider_name": prov, "task": task,
                    "version": common.version(ev)}
        if sysmon:
            tail_doc["user"] = {"domain": "NT AUTHORITY", "identifier": "S-1-5-18", "name": "SYSTEM",
                                "type": "Well Known Group"}
        else:
            tail_doc["keywords"] = ["Audit Success"]
        tail = b"," + orjson.dumps(tail_doc)[1:-1] + b',"record_id":'
        parts = (head[0], head[1], mid, tail)
        self._parts[key] = parts
        return parts

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        p0, p1, mid, tail = self._parts.get((host.name, ev.channel, ev.eid)) or self._template(ev, host)
        ts3 = self.tc.iso(ev.ts).encode()
        data = orjson.dumps({k: v if v.__class__ is str else common.text(v) for k, v in ev.data.items()})
        return b"".join((p0, ts3[:-1], b"0000Z", p1, ts3, mid, data, tail, str(record_id).encode(), b"}}"))

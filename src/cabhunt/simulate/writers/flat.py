"""Flat Sysmon/Security JSON as NXLog ``im_msvistalog`` + ``to_json()`` writes it (the OTRF datasets' shape)."""

from __future__ import annotations

import orjson

from cabhunt.simulate.entities import Ev, Host, TimeCache
from cabhunt.simulate.writers import common

_TITLES = {1: "Process Create:", 3: "Network connection detected:", 7: "Image loaded:", 11: "File created:",
           13: "Registry value set:", 15: "File stream created:", 22: "Dns query:",
           4624: "An account was successfully logged on.", 4688: "A new process has been created.",
           5140: "A network share object was accessed.",
           5145: "A network share object was checked to see whether client can be granted desired access."}


class FlatSysmon:
    fmt = "flat"

    def __init__(self) -> None:
        self.tc = TimeCache()

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        sysmon = common.is_sysmon(ev)
        when = self.tc.utc_seconds(ev.ts)
        doc: dict[str, object] = {
            "EventTime": when,
            "Hostname": host.fqdn,
            "Keywords": -9223372036854775808 if sysmon else -9214364837600034816,
            "EventType": "INFO" if sysmon else "AUDIT_SUCCESS",
            "SeverityValue": 2,
            "Severity": "INFO",
            "EventID": ev.eid,
            "SourceName": prov,
            "ProviderGuid": "{" + guid + "}",
            "Version": common.version(ev),
            "Task": common.task_number(ev),
            "OpcodeValue": 0,
            "RecordNumber": record_id,
            "ProcessID": pid,
            "ThreadID": tid,
            "Channel": ev.channel,
        }
        if sysmon:
            doc.update({"Domain": "NT AUTHORITY", "AccountName": "SYSTEM", "UserID": "S-1-5-18",
                        "AccountType": "User"})
        lines = [_TITLES.get(ev.eid, "")]
        for k, v in ev.data.items():
            t = common.text(v)
            doc[k] = t
            lines.append(f"{k}: {t}")
        doc["Message"] = "\r\n".join(lines)
        doc["Category"] = common.task_name(ev)
        doc["Opcode"] = "Info"
        doc["EventReceivedTime"] = self.tc.utc_seconds(ev.ts + 1000)
        doc["SourceModuleName"] = "eventlog"
        doc["SourceModuleType"] = "im_msvistalog"
        return orjson.dumps(doc)

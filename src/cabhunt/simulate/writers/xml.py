"""Windows Event XML as ``wevtutil qe /f:xml`` prints it: one ``<Event>`` per line, no root element."""

from __future__ import annotations

from cabhunt.simulate.entities import Ev, Host, TimeCache
from cabhunt.simulate.writers import common

_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;"})


class EventXml:
    fmt = "xml"

    def __init__(self) -> None:
        self.tc = TimeCache()

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        frac = f"{ev.ts % 1000:03d}{(ev.ts * 7) % 10000:04d}"
        when = self.tc.iso(ev.ts, 3)[:-5] + f".{frac}Z"
        sec = f"<Security UserID='{ev.user_sid}'/>" if ev.user_sid else "<Security/>"
        parts = [
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
            f"<Provider Name='{prov}' Guid='{{{guid}}}'/><EventID>{ev.eid}</EventID>",
            f"<Version>{common.version(ev)}</Version><Level>{common.level(ev)}</Level>",
            f"<Task>{common.task_number(ev)}</Task><Opcode>0</Opcode><Keywords>{common.keywords(ev)}</Keywords>",
            f"<TimeCreated SystemTime='{when}'/><EventRecordID>{record_id}</EventRecordID><Correlation/>",
            f"<Execution ProcessID='{pid}' ThreadID='{tid}'/><Channel>{ev.channel}</Channel>",
            f"<Computer>{host.fqdn}</Computer>{sec}</System><EventData>",
        ]
        for k, v in ev.data.items():
            parts.append(f"<Data Name='{k}'>{common.text(v).translate(_ESC)}</Data>")
        parts.append("</EventData></Event>")
        return "".join(parts).encode()

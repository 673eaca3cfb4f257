"""Minimal readers of the simulator's outputs, for checking content (not the product's ingest)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_DATA = re.compile(r"<Data Name='([^']+)'>(.*?)</Data>", re.S)
_EID = re.compile(r"<EventID>(\d+)</EventID>")
_CH = re.compile(r"<Channel>([^<]+)</Channel>")
_TIME = re.compile(r"SystemTime='([^']+)'")


def open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        yield from fh


def _xml_events(path: Path) -> Iterator[str]:
    """wevtutil-style XML: events may span lines (AccessList holds CR/LF and tabs)."""
    text = "".join(open_text(path))
    for part in text.split("</Event>"):
        if "<Event" in part:
            yield part.strip() + "</Event>"


def _unxml(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&apos;", "'").replace("&quot;", '"').replace("&amp;", "&")


def records(path: Path, fmt: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(channel, event id, event data with Sysmon/Security names) for every record of a host file."""
    for line in (_xml_events(path) if fmt == "xml" else open_text(path)):
        line = line.strip()
        if not line:
            continue
        if fmt == "xml":
            data = {k: _unxml(v) for k, v in _DATA.findall(line)}
            m_eid, m_ch = _EID.search(line), _CH.search(line)
            assert m_eid and m_ch
            yield m_ch.group(1), int(m_eid.group(1)), data
            continue
        doc = json.loads(line)
        if fmt == "evtxjson":
            ev = doc["Event"]
            yield ev["System"]["Channel"], ev["System"]["EventID"], ev["EventData"]
        elif fmt == "winlogbeat":
            w = doc["winlog"]
            yield w["channel"], int(w["event_id"]), w["event_data"]
        elif fmt == "flat":
            skip = {"EventTime", "Hostname", "Keywords", "EventType", "SeverityValue", "Severity", "EventID",
                    "SourceName", "ProviderGuid", "Version", "Task", "OpcodeValue", "RecordNumber", "ProcessID",
                    "ThreadID", "Channel", "Domain", "AccountName", "UserID", "AccountType", "Message", "Category",
                    "Opcode", "EventReceivedTime", "SourceModuleName", "SourceModuleType"}
            yield doc["Channel"], doc["EventID"], {k: v for k, v in doc.items() if k not in skip}
        elif fmt == "ecs":
            yield doc["winlog"]["channel"], int(doc["event"]["code"]), _from_ecs(doc)


def _from_ecs(doc: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = dict(doc["winlog"].get("event_data", {}))
    p = doc.get("process", {})
    if "entity_id" in p:
        d["ProcessGuid"] = p["entity_id"]
        d["Image"] = p.get("executable", "")
        d["ProcessId"] = p.get("pid")
    if "command_line" in p:
        d["CommandLine"] = p["command_line"]
        d["ParentProcessGuid"] = p["parent"]["entity_id"]
        d["ParentImage"] = p["parent"]["executable"]
        d["OriginalFileName"] = p["pe"]["original_file_name"]
        d["CurrentDirectory"] = p["working_directory"]
    if "destination" in doc:
        d["DestinationIp"] = doc["destination"]["ip"]
        d["DestinationPort"] = doc["destination"]["port"]
    if "file" in doc and "path" in doc["file"]:
        d["TargetFilename"] = doc["file"]["path"]
    if "dns" in doc:
        d["QueryName"] = doc["dns"]["question"]["name"]
    d["@timestamp"] = doc["@timestamp"]
    return d


def utc_ms(data: dict[str, Any]) -> int:
    """Milliseconds since the epoch of a record's UtcTime (or ECS @timestamp)."""
    from datetime import UTC, datetime

    if "UtcTime" not in data and "@timestamp" not in data:
        return -1
    if "UtcTime" in data:
        dt = datetime.strptime(data["UtcTime"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    else:
        dt = datetime.strptime(data["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def host_records(run: Path, host: str, fmt: str) -> list[tuple[str, int, dict[str, Any]]]:
    out: list[tuple[str, int, dict[str, Any]]] = []
    for path in sorted((run / "logs" / host).iterdir()):
        out.extend(records(path, fmt))
    return out


def norm_guid(g: Any) -> str:
    return str(g).strip("{}").upper()

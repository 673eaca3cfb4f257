"""Content sniffing: which reader and field map a file needs, from its first bytes and lines.

File names lie (collectors rename, SIEM exports are all ``.json`` or ``.log``), so the decision
is made on content only: the EVTX signature, an XML ``<Event``/``<Events`` root, a Zeek
``#separator`` header, the keys of the first JSON objects, or the shape of a Squid line.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import orjson

EVTX_MAGIC = b"ElfFile\x00"
_SQUID_LINE = re.compile(rb"^\d{9,11}(?:\.\d+)?\s+-?\d+\s+\S+\s+[A-Za-z_]+/\d{3}\s+\d+\s+\S+\s+\S+")
_ECS_TOP = ("process", "destination", "source", "file", "dns", "registry", "dll", "network")
_JSON_PROBE_LINES = 50


@dataclass(frozen=True)
class Detected:
    """The reader (``evtx``, ``xml``, ``ndjson``, ``zeek_tsv``, ``squid``) and the field map shape."""

    reader: str
    shape: str
    key: str | None = None  # Zeek log type when the whole file has one

    @property
    def format(self) -> str:
        """The name recorded in the ledger and in ``src_format``."""
        if self.reader == "evtx":
            return "evtx"
        if self.reader == "xml":
            return "xml"
        if self.reader == "zeek_tsv":
            return "zeek_tsv"
        if self.shape == "zeek":
            return "zeek_json"
        return self.shape


def text_of(head: bytes) -> str:
    """Head bytes as text, honouring a UTF-16/UTF-8 byte-order mark."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8-sig", errors="replace")


def detect(head: bytes) -> Detected | None:
    """The format of content starting with ``head``; None when it is none we read."""
    if head.startswith(EVTX_MAGIC):
        return Detected("evtx", "evtx_json")
    text = text_of(head)
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if re.match(r"(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<(Events|Event)[\s>/]", stripped, re.S):
            return Detected("xml", "evtx_json")
        return None
    if stripped.startswith("#separator") or stripped.startswith("#fields"):
        return Detected("zeek_tsv", "zeek", _zeek_path_header(stripped))
    lines = stripped.splitlines()
    if len(head) >= 256 * 1024 and lines:
        lines = lines[:-1]  # the last line of a full sample may be cut short
    for raw in lines[:_JSON_PROBE_LINES]:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                shape = json_shape(obj)
                if shape is not None:
                    return shape
            continue
        if _SQUID_LINE.match(line.encode("utf-8", "replace")):
            return Detected("squid", "squid")
    return None


def json_shape(obj: dict[str, object]) -> Detected | None:
    """Which NDJSON flavour one record is."""
    event = obj.get("Event")
    if isinstance(event, dict) and "System" in event:
        return Detected("ndjson", "evtx_json")
    winlog = obj.get("winlog")
    if isinstance(winlog, dict):
        if any(isinstance(obj.get(k), dict) for k in _ECS_TOP):
            return Detected("ndjson", "ecs")
        return Detected("ndjson", "winlogbeat_raw")
    if "EventID" in obj or "EventId" in obj:
        return Detected("ndjson", "flat_sysmon")
    if "id.orig_h" in obj or ("ts" in obj and "uid" in obj) or ("ts" in obj and "fuid" in obj):
        return Detected("ndjson", "zeek", zeek_type(obj))
    return None


def zeek_type(obj: dict[str, object]) -> str | None:
    """The Zeek log a JSON record comes from (``_path`` when written, else by its fields)."""
    path = obj.get("_path")
    if isinstance(path, str) and path:
        return path
    keys = set(obj)
    if {"query", "qtype"} & keys or "qtype_name" in keys:
        return "dns"
    if "server_name" in keys or {"cipher", "version"} <= keys:
        return "ssl"
    if "method" in keys or "status_code" in keys or "user_agent" in keys:
        return "http"
    if "share_type" in keys:
        return "smb_mapping"
    if "action" in keys and "name" in keys:
        return "smb_files"
    if "conn_state" in keys or "proto" in keys:
        return "conn"
    return None


def _zeek_path_header(text: str) -> str | None:
    m = re.search(r"^#path\s+(\S+)", text, re.M)
    return m.group(1) if m else None

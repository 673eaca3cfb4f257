"""The simulated fleet's moving parts: hosts, processes, and the two kinds of record they emit.

``Ev`` is a Windows event (Sysmon or Security) holding its EventData in Sysmon/Security field
names with the Python types the ``evtx`` package gives them (int, bool, str); writers render
it into each real output shape. ``Net`` is a network-sensor record (Zeek or Squid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_CHANNEL = "Security"


@dataclass(slots=True)
class PeInfo:
    """Version-resource facts Sysmon copies into EID 1 / EID 7."""

    file_version: str
    description: str
    product: str
    company: str
    original_file_name: str
    hashes: str


@dataclass(slots=True)
class Host:
    """One machine of the fleet (or a sensor), with its per-channel record counters."""

    index: int
    name: str  # short, upper case: WS0007
    fqdn: str
    ip: str
    role: str  # workstation | fileserver | buildserver | wsus
    fmt: str  # winlogbeat | ecs | flat | evtxjson | xml
    user: str  # primary interactive user (sam name)
    user_sid: str
    guid_prefix: str
    machine_sid: str
    ip6: str = ""
    record_ids: dict[str, int] = field(default_factory=dict)
    guid_counter: int = 0x100
    pid_counter: int = 1000

    def next_record(self, channel: str) -> int:
        value = self.record_ids.get(channel, 0) + 1
        self.record_ids[channel] = value
        return value

    def new_guid(self, ts_ms: int) -> str:
        """A Sysmon-shaped ProcessGuid: host prefix, start time (seconds, split), counter."""
        self.guid_counter += 1
        sec = ts_ms // 1000
        c = self.guid_counter
        return f"{{{self.guid_prefix}-{sec & 0xFFFF:04X}-{(sec >> 16) & 0xFFFF:04X}-{c & 0xFFFF:04X}-{(c >> 16) & 0xFFFF:04X}00000000}}"

    def new_pid(self) -> int:
        self.pid_counter += 4 * (1 + (self.pid_counter * 7919) % 37)
        if self.pid_counter > 60000:
            self.pid_counter = 1000 + self.pid_counter % 997 * 4
        return self.pid_counter


@dataclass(slots=True)
class Logon:
    """An interactive or service logon session (LogonId / LogonGuid as Sysmon logs them)."""

    user: str  # DOMAIN\name
    logon_id: str
    logon_guid: str
    session: int
    integrity: str


@dataclass(slots=True)
class Proc:
    """A running process; ``parent`` is None for roots whose creation is never logged."""

    guid: str
    pid: int
    image: str
    cmd: str
    cwd: str
    logon: Logon
    pe: PeInfo
    start_ms: int
    parent: Proc | None = None


@dataclass(slots=True)
class Ev:
    """One Windows event record before rendering."""

    ts: int  # epoch milliseconds (UTC)
    channel: str
    eid: int
    data: dict[str, Any]
    user_sid: str = "S-1-5-18"  # System/Security/UserID of the logging service


@dataclass(slots=True)
class Net:
    """One network-sensor record: ``kind`` is a Zeek log path or ``squid``; ``fields`` in log order."""

    ts: int
    kind: str
    sensor: str
    fields: tuple[Any, ...]


def utc_text(ts_ms: int) -> str:
    """Sysmon's UtcTime: ``YYYY-MM-DD HH:MM:SS.mmm``."""
    dt = datetime.fromtimestamp(ts_ms // 1000, UTC)
    return f"{dt:%Y-%m-%d %H:%M:%S}.{ts_ms % 1000:03d}"


def iso_ms(ts_ms: int) -> str:
    """ECS ``@timestamp``: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    dt = datetime.fromtimestamp(ts_ms // 1000, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


class TimeCache:
    """Fast UTC formatting: the date part is cached per day, the clock computed arithmetically."""

    __slots__ = ("_days", "_last", "_last_sec")

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._last_sec = -1
        self._last = ("", "")

    def _parts(self, sec: int) -> tuple[str, str]:
        if sec == self._last_sec:
            return self._last
        day, rem = divmod(sec, 86400)
        date = self._days.get(day)
        if date is None:
            date = f"{datetime.fromtimestamp(day * 86400, UTC):%Y-%m-%d}"
            self._days[day] = date
        h, rem = divmod(rem, 3600)
        m, s = divmod(rem, 60)
        self._last_sec = sec
        self._last = (date, f"{h:02d}:{m:02d}:{s:02d}")
        return self._last

    def utc(self, ts_ms: int) -> str:
        date, clock = self._parts(ts_ms // 1000)
        return f"{date} {clock}.{ts_ms % 1000:03d}"

    def utc_seconds(self, ts_ms: int) -> str:
        date, clock = self._parts(ts_ms // 1000)
        return f"{date} {clock}"

    def iso(self, ts_ms: int, digits: int = 3) -> str:
        date, clock = self._parts(ts_ms // 1000)
        frac = f"{ts_ms % 1000:03d}"
        if digits > 3:
            frac = frac.ljust(digits, "0")
        return f"{date}T{clock}.{frac}Z"

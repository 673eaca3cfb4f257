"""Facts shared by the Windows renderers: providers, tasks, keywords, logging-process ids."""

from __future__ import annotations

from cabhunt.simulate.entities import SYSMON_CHANNEL, Ev
from cabhunt.simulate.sysmon import (
    SECURITY_PROVIDER_GUID,
    SECURITY_TASK_NAMES,
    SECURITY_TASKS,
    SECURITY_VERSIONS,
    SYSMON_PROVIDER_GUID,
    SYSMON_TASKS,
    SYSMON_VERSIONS,
)

SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
SECURITY_PROVIDER = "Microsoft-Windows-Security-Auditing"
SYSMON_KEYWORDS = "0x8000000000000000"
SECURITY_KEYWORDS = "0x8020000000000000"
SYSMON_SERVICE_PID = 3012
LSASS_PID = 688


def is_sysmon(ev: Ev) -> bool:
    return ev.channel == SYSMON_CHANNEL


def provider(ev: Ev) -> tuple[str, str]:
    return (SYSMON_PROVIDER, SYSMON_PROVIDER_GUID) if is_sysmon(ev) else (SECURITY_PROVIDER, SECURITY_PROVIDER_GUID)


def task_number(ev: Ev) -> int:
    return ev.eid if is_sysmon(ev) else SECURITY_TASKS[ev.eid]


def task_name(ev: Ev) -> str:
    return SYSMON_TASKS.get(ev.eid, "") if is_sysmon(ev) else SECURITY_TASK_NAMES[ev.eid]


def version(ev: Ev) -> int:
    return SYSMON_VERSIONS.get(ev.eid, 2) if is_sysmon(ev) else SECURITY_VERSIONS[ev.eid]


def level(ev: Ev) -> int:
    return 4 if is_sysmon(ev) else 0


def keywords(ev: Ev) -> str:
    return SYSMON_KEYWORDS if is_sysmon(ev) else SECURITY_KEYWORDS


def exec_ids(ev: Ev) -> tuple[int, int]:
    """(ProcessID, ThreadID) of the process that wrote the record (Sysmon service / lsass / System)."""
    if is_sysmon(ev):
        return SYSMON_SERVICE_PID, 2200 + ev.ts % 7 * 4
    if ev.eid in (5140, 5145, 4688):
        return 4, 5328
    return LSASS_PID, 5600 + ev.ts % 5 * 4


def text(value: object) -> str:
    """EventData value as Windows renders it in XML and Winlogbeat's strings."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def logged_guid(fmt: str, guid: str) -> str:
    """A GUID as the given output shape shows it (the evtx JSON renderer drops the braces)."""
    return guid.strip("{}") if fmt == "evtxjson" else guid

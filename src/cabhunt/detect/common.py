"""Small helpers shared by the detection modules: timestamps, alert skeletons, process facts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from cabhunt.model import Alert, RuleRef


class RuleIdentity(Protocol):
    """What an alert needs of its rule (a compiled or a pySigma-loaded rule both have it)."""

    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uuid(self) -> str: ...
    @property
    def rule_id(self) -> str: ...


_SYSTEM_DIRS = re.compile(r"^[a-z]:\\windows\\(system32|syswow64|winsxs)\\", re.IGNORECASE)

# Parents that make a cabinet job worth a look (playbooks: PowerShell, cmd, wscript, Office, LOLBins).
SUSPICIOUS_PARENTS: frozenset[str] = frozenset(
    {
        "powershell.exe",
        "pwsh.exe",
        "powershell_ise.exe",
        "cmd.exe",
        "wscript.exe",
        "cscript.exe",
        "mshta.exe",
        "rundll32.exe",
        "regsvr32.exe",
        "msbuild.exe",
        "installutil.exe",
        "certutil.exe",
        "bitsadmin.exe",
        "wmic.exe",
        "winword.exe",
        "excel.exe",
        "powerpnt.exe",
        "outlook.exe",
        "msaccess.exe",
        "onenote.exe",
        "python.exe",
        "pythonw.exe",
        "java.exe",
        "javaw.exe",
        "node.exe",
        "hh.exe",
        "forfiles.exe",
        "schtasks.exe",
        "explorer.exe",
    }
)

# cmd.exe counts as a suspicious parent only when its command line shows an interactive or
# scripted one-liner rather than a build batch file.
_CMD_BUILD = re.compile(r"\.(bat|cmd)\b", re.IGNORECASE)


def iso_ms(ts: datetime | None) -> str:
    """``2026-03-02T10:15:04.123Z`` (the alert timestamp format)."""
    if ts is None:
        return "1970-01-01T00:00:00.000Z"
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def basename(path: str | None) -> str | None:
    if not path:
        return None
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1].lower() or None


def image_in_system_dir(image: str | None) -> bool | None:
    """True for the System32/SysWOW64 copy, None when the image is not known."""
    if not image:
        return None
    img = image
    for prefix in ("\\\\?\\", "\\??\\"):
        if img.startswith(prefix):
            img = img[len(prefix) :]
    return bool(_SYSTEM_DIRS.match(img))


def parent_suspicious(row: dict[str, Any]) -> bool:
    name = row.get("process_parent_name") or basename(row.get("process_parent_executable"))
    if not name or name.lower() not in SUSPICIOUS_PARENTS:
        return False
    if name.lower() == "cmd.exe":
        return not _CMD_BUILD.search(row.get("process_parent_command_line") or "")
    return True


def process_doc(row: dict[str, Any]) -> dict[str, Any]:
    """ECS ``process.*`` of an alert from an events row."""
    return {
        "entity_id": row.get("process_entity_id"),
        "pid": row.get("process_pid"),
        "executable": row.get("process_executable"),
        "name": row.get("process_name") or basename(row.get("process_executable")),
        "command_line": row.get("process_command_line"),
        "working_directory": row.get("process_working_directory"),
        "pe": {"original_file_name": row.get("process_pe_original_file_name")},
        "hash": {"sha256": row.get("process_hash_sha256")},
        "parent": {
            "entity_id": row.get("process_parent_entity_id"),
            "pid": row.get("process_parent_pid"),
            "executable": row.get("process_parent_executable"),
            "name": row.get("process_parent_name") or basename(row.get("process_parent_executable")),
            "command_line": row.get("process_parent_command_line"),
        },
    }


def new_alert(rule: RuleIdentity, row: dict[str, Any], techniques: list[str]) -> Alert:
    """An alert skeleton for ``rule`` anchored on ``row``."""
    return Alert(
        timestamp=iso_ms(row.get("ts")),
        rule=RuleRef(id=rule.rule_id, name=rule.name, slug=rule.slug, uuid=rule.uuid),
        host=row.get("host_name"),
        user=row.get("user_name"),
        process=process_doc(row),
        techniques=techniques,
        working_directory=row.get("process_working_directory"),
        event_uids=[row["event_uid"]] if row.get("event_uid") else [],
    )

"""Step 7 - follow-on: extraction of the cabinet, execution of its members, persistence.

Within minutes of the job (default 30): ``expand.exe`` / ``extrac32.exe`` naming the cabinet,
then script engines, LOLBins or the member itself running a member name, and scheduled tasks,
Run keys or services that point at a member or an extracted path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cabhunt.investigate.artifacts import cab_members
from cabhunt.investigate.context import (
    MAKERS,
    PROCESS_CODES,
    Event,
    alert_time,
    basename,
    in_window,
    iso,
    lower,
)
from cabhunt.investigate.scoring import finding
from cabhunt.model import Related

if TYPE_CHECKING:
    from cabhunt.investigate.context import InvestigationContext
    from cabhunt.model import Alert, Finding

STEP = "followon"
EXTRACTORS = {"expand.exe", "extrac32.exe", "tar.exe", "7z.exe", "7za.exe"}
RUNNERS = {"powershell.exe", "pwsh.exe", "mshta.exe", "wscript.exe", "cscript.exe", "rundll32.exe",
           "regsvr32.exe", "cmd.exe", "msiexec.exe", "installutil.exe", "regasm.exe", "msbuild.exe",
           "forfiles.exe", "pcalua.exe", "explorer.exe", "conhost.exe"}
RUN_KEY = re.compile(r"\\(currentversion\\(run|runonce|policies\\explorer\\run)|services\\[^\\]+\\imagepath|"
                     r"winlogon\\(userinit|shell)|image file execution options)", re.I)


def _member_names(alert: Alert) -> set[str]:
    names = {lower(basename(m.get("name") or m.get("path") or "")) for m in cab_members(alert)}
    for s in alert.sources:
        names.add(lower(basename(s.path)))
    return {n for n in names if n and len(n) >= 3 and n not in MAKERS}


def _cab_tokens(alert: Alert) -> set[str]:
    out = set()
    for c in alert.cabinets:
        name = lower(basename(c.path))
        out.add(name)
        if ":" in name:
            out.update(x for x in name.split(":") if x)
    return {t for t in out if t}


def _mentions(text: object, tokens: set[str]) -> str | None:
    s = lower(text)
    for tok in sorted(tokens, key=len, reverse=True):
        if re.search(r"(^|[\\/\s\"':=,])" + re.escape(tok) + r"($|[\s\"',;])", s):
            return tok
    return None


def _pname(ev: Event) -> str:
    return lower(ev.get("process_name") or basename(ev.get("process_executable")))


def run(alert: Alert, ctx: InvestigationContext) -> list[Finding]:
    at = alert_time(alert)
    lo, hi = at, at + ctx.followon_window
    events = [e for e in ctx.host_events(alert.host, at) if in_window(e, lo, hi)]
    findings: list[Finding] = []
    cab_tokens = _cab_tokens(alert)
    members = _member_names(alert)
    extractors: set[str] = set()
    extracted: list[dict[str, Any]] = []
    for ev in events:
        if ev.get("event_code") in PROCESS_CODES and (
            _pname(ev) in EXTRACTORS or lower(ev.get("process_pe_original_file_name")) in EXTRACTORS
        ):
            tok = _mentions(ev.get("process_command_line"), cab_tokens)
            if tok:
                extractors.add(ev.get("process_entity_id") or f"pid:{ev.get('process_pid')}")
                alert.related.append(Related("process", iso(ev.get("ts")), f"extraction: {ev.get('process_command_line')}",
                                             ev.get("event_uid")))
                findings.append(finding("followon.extraction", STEP, f"the cabinet was extracted with {_pname(ev)}",
                                        [ev.get("event_uid") or "", ev.get("process_command_line") or ""]))
    for ev in events:
        if ev.get("event_code") == 11 and (ev.get("process_entity_id") or f"pid:{ev.get('process_pid')}") in extractors:
            extracted.append({"path": ev.get("file_path"), "sha256": ev.get("file_hash_sha256"),
                              "event_uid": ev.get("event_uid"), "@timestamp": iso(ev.get("ts"))})
            members.add(lower(basename(ev.get("file_path"))))
            alert.related.append(Related("file", iso(ev.get("ts")), f"extracted {ev.get('file_path')}", ev.get("event_uid")))
    extracted_paths = {lower(x["path"]) for x in extracted if x.get("path")}
    tokens = members | extracted_paths
    executions: list[dict[str, Any]] = []
    for ev in events:
        if ev.get("event_code") not in PROCESS_CODES or ev.get("process_entity_id") in extractors:
            continue
        name, cl, exe = _pname(ev), ev.get("process_command_line"), lower(ev.get("process_executable"))
        if name in MAKERS or name in EXTRACTORS:
            continue
        direct = exe in extracted_paths or (name in members and name not in RUNNERS)
        via = _mentions(cl, tokens) if name in RUNNERS or direct else None
        if direct or via:
            how = f"{name} ran member {via}" if via and not direct else f"member {name} executed directly"
            executions.append({"event_uid": ev.get("event_uid"), "pid": ev.get("process_pid"),
                               "entity_id": ev.get("process_entity_id"), "executable": ev.get("process_executable"),
                               "command_line": cl, "@timestamp": iso(ev.get("ts"))})
            alert.related.append(Related("process", iso(ev.get("ts")), f"execution: {cl or exe}", ev.get("event_uid")))
            findings.append(finding("followon.execution", STEP, "a cabinet member was executed",
                                    [ev.get("event_uid") or "", how, cl or exe]))
    persistence: list[dict[str, Any]] = []
    for ev in events:
        text = None
        code = ev.get("event_code")
        if code == 13 and RUN_KEY.search(ev.get("registry_path") or "") and _mentions(ev.get("registry_value"), tokens):
            text = f"{ev.get('registry_path')} = {ev.get('registry_value')}"
        elif code in PROCESS_CODES and _pname(ev) in {"schtasks.exe", "sc.exe", "reg.exe", "at.exe"}:
            cl = lower(ev.get("process_command_line"))
            if re.search(r"/create|\bcreate\b|\badd\b.*\\run", cl) and _mentions(cl, tokens):
                text = ev.get("process_command_line")
        elif code == 11 and "\\start menu\\programs\\startup\\" in lower(ev.get("file_path")) and (
            _mentions(ev.get("file_path"), tokens) or ev.get("process_entity_id") in extractors
        ):
            text = f"startup folder file {ev.get('file_path')}"
        elif code in (4697, 4698, 7045) and _mentions(
            ev.get("raw") or ev.get("process_command_line") or ev.get("registry_value"), tokens
        ):
            text = f"event {code}"
        if text:
            persistence.append({"event_uid": ev.get("event_uid"), "what": text, "@timestamp": iso(ev.get("ts"))})
            alert.related.append(Related("registry" if code == 13 else "process", iso(ev.get("ts")),
                                         f"persistence: {text}", ev.get("event_uid")))
            findings.append(finding("followon.persistence", STEP, "persistence pointing at a cabinet member",
                                    [ev.get("event_uid") or "", text]))
    alert.extra["followon"] = {"extracted": extracted, "executions": executions, "persistence": persistence,
                               "member_names": sorted(members)}
    return findings

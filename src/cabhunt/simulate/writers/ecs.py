"""Winlogbeat/Elastic documents after the Sysmon and Security ingest pipelines (ECS fields).

Mapped Sysmon ``event_data`` keys are removed, as the module's rename processors do; Security
records keep their full ``event_data`` beside the ECS fields, as the security pipeline does.
"""

from __future__ import annotations

from typing import Any

import orjson

from cabhunt.simulate.entities import Ev, Host, TimeCache
from cabhunt.simulate.writers import common

_LOGON_TYPES = {2: "Interactive", 3: "Network", 5: "Service", 10: "RemoteInteractive", 11: "CachedInteractive"}


def _name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def _hashes(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.lower()] = v.lower()
    return out


def _user(value: str) -> dict[str, str]:
    if "\\" in value:
        dom, name = value.split("\\", 1)
        return {"domain": dom, "name": name}
    return {"name": value}


def _file(path: str) -> dict[str, Any]:
    d: dict[str, Any] = {"path": path, "name": _name(path), "directory": path.rsplit("\\", 1)[0]}
    name = d["name"]
    if "." in name:
        d["extension"] = name.rsplit(".", 1)[-1]
    return d


def _proc(d: dict[str, Any]) -> dict[str, Any]:
    image = d.get("Image", "")
    return {"entity_id": d["ProcessGuid"], "pid": d["ProcessId"], "executable": image, "name": _name(image)}


class EcsDoc:
    fmt = "ecs"

    def __init__(self) -> None:
        self.tc = TimeCache()

    def render(self, ev: Ev, host: Host, record_id: int) -> bytes:
        prov, guid = common.provider(ev)
        pid, tid = common.exec_ids(ev)
        doc: dict[str, Any] = {
            "@timestamp": self.tc.iso(ev.ts, 3),
            "agent": {"type": "winlogbeat", "version": "8.12.2", "name": host.name.lower()},
            "ecs": {"version": "8.11.0"},
            "host": {"name": host.name.lower(), "hostname": host.name.lower(), "ip": [host.ip],
                     "os": {"family": "windows", "platform": "windows"}},
            "log": {"level": "information"},
        }
        winlog: dict[str, Any] = {
            "api": "wineventlog", "channel": ev.channel, "computer_name": host.fqdn, "event_id": str(ev.eid),
            "opcode": "Info", "process": {"pid": pid, "thread": {"id": tid}}, "provider_guid": "{" + guid + "}",
            "provider_name": prov, "record_id": str(record_id), "task": common.task_name(ev),
            "version": common.version(ev),
        }
        data = dict(ev.data)
        if common.is_sysmon(ev):
            self._sysmon(ev, data, doc)
            doc["event"]["module"] = "sysmon"
            doc["event"]["dataset"] = "windows.sysmon_operational"
            data.pop("UtcTime", None)
            rule = data.pop("RuleName", "-")
            if rule and rule != "-":
                doc["rule"] = {"name": rule}
            winlog["user"] = {"domain": "NT AUTHORITY", "identifier": "S-1-5-18", "name": "SYSTEM",
                              "type": "Well Known Group"}
        else:
            self._security(ev, data, doc)
            doc["event"]["module"] = "security"
            doc["event"]["dataset"] = "system.security"
            winlog["keywords"] = ["Audit Success"]
            if ev.eid == 4624:
                winlog["logon"] = {"id": data["TargetLogonId"], "type": _LOGON_TYPES.get(data["LogonType"], "")}
        doc["event"].update({"code": str(ev.eid), "kind": "event", "provider": prov,
                             "created": self.tc.iso(ev.ts + 900, 3)})
        if data:
            winlog["event_data"] = {k: common.text(v) for k, v in data.items()}
        doc["winlog"] = winlog
        return orjson.dumps(doc)

    def _sysmon(self, ev: Ev, d: dict[str, Any], doc: dict[str, Any]) -> None:
        eid = ev.eid
        if eid == 1:
            parent_image = d.pop("ParentImage")
            proc = {
                "entity_id": d.pop("ProcessGuid"), "pid": d.pop("ProcessId"), "executable": d["Image"],
                "name": _name(d.pop("Image")), "command_line": d.pop("CommandLine"),
                "working_directory": d.pop("CurrentDirectory"),
                "pe": {"original_file_name": d.pop("OriginalFileName"), "company": d.pop("Company"),
                       "description": d.pop("Description"), "file_version": d.pop("FileVersion"),
                       "product": d.pop("Product")},
                "hash": _hashes(d.pop("Hashes")),
                "parent": {"entity_id": d.pop("ParentProcessGuid"), "pid": d.pop("ParentProcessId"),
                           "executable": parent_image, "name": _name(parent_image),
                           "command_line": d.pop("ParentCommandLine")},
            }
            doc["process"] = proc
            doc["user"] = _user(d.pop("User"))
            doc["event"] = {"category": ["process"], "type": ["start"], "action": "Process creation"}
            doc["related"] = {"user": [doc["user"]["name"]], "hash": list(proc["hash"].values())}
        elif eid == 3:
            doc["process"] = _proc(d)
            for k in ("ProcessGuid", "ProcessId", "Image"):
                d.pop(k)
            doc["user"] = _user(d.pop("User"))
            initiated = d.pop("Initiated")
            src = {"ip": d.pop("SourceIp"), "port": d.pop("SourcePort")}
            sh = d.pop("SourceHostname")
            if sh:
                src["domain"] = sh
            dst = {"ip": d.pop("DestinationIp"), "port": d.pop("DestinationPort")}
            dh = d.pop("DestinationHostname")
            if dh:
                dst["domain"] = dh
            doc["source"], doc["destination"] = src, dst
            net = {"transport": d.pop("Protocol"), "direction": "egress" if initiated else "ingress",
                   "type": "ipv6" if d.pop("SourceIsIpv6") else "ipv4"}
            d.pop("DestinationIsIpv6")
            pname = d.pop("DestinationPortName")
            d.pop("SourcePortName")
            if pname:
                net["protocol"] = pname
            doc["network"] = net
            doc["event"] = {"category": ["network"], "type": ["connection", "start", "protocol"],
                            "action": "Network connection detected"}
        elif eid == 7:
            doc["process"] = _proc(d)
            for k in ("ProcessGuid", "ProcessId", "Image"):
                d.pop(k)
            f = _file(d.pop("ImageLoaded"))
            f["hash"] = _hashes(d.pop("Hashes"))
            f["pe"] = {"company": d.pop("Company"), "description": d.pop("Description"),
                       "file_version": d.pop("FileVersion"), "product": d.pop("Product")}
            f["code_signature"] = {"subject_name": d.pop("Signature"), "signed": d.pop("Signed") == "true",
                                   "status": d.pop("SignatureStatus"), "valid": True}
            doc["file"] = f
            doc["event"] = {"category": ["process"], "type": ["change"], "action": "Image loaded"}
        elif eid in (11, 15):
            doc["process"] = _proc(d)
            for k in ("ProcessGuid", "ProcessId", "Image"):
                d.pop(k)
            f = _file(d.pop("TargetFilename"))
            if eid == 15:
                f["hash"] = _hashes(d.pop("Hash"))
            doc["file"] = f
            doc["event"] = {"category": ["file"], "type": ["creation"],
                            "action": "File created" if eid == 11 else "File stream created"}
        elif eid == 13:
            doc["process"] = _proc(d)
            for k in ("ProcessGuid", "ProcessId", "Image"):
                d.pop(k)
            target = d.pop("TargetObject")
            details = d.pop("Details")
            hive, _, key = target.partition("\\")
            doc["registry"] = {"path": target, "hive": hive, "key": key.rsplit("\\", 1)[0],
                               "value": target.rsplit("\\", 1)[-1],
                               "data": {"strings": [details], "type": "SZ_SZ" if not details.startswith("DWORD")
                                        else "SZ_DWORD"}}
            doc["event"] = {"category": ["configuration", "registry"], "type": ["change"],
                            "action": "Registry value set"}
        elif eid == 22:
            doc["process"] = _proc(d)
            for k in ("ProcessGuid", "ProcessId", "Image"):
                d.pop(k)
            name = d.pop("QueryName")
            results = d.pop("QueryResults")
            status = d.pop("QueryStatus")
            answers: list[dict[str, str]] = []
            resolved: list[str] = []
            for item in results.split(";"):
                item = item.strip()
                if not item or item == "-":
                    continue
                if item.startswith("type:"):
                    parts = item.split()
                    answers.append({"type": "CNAME" if parts[1] == "5" else parts[1], "data": parts[-1]})
                else:
                    ip = item.removeprefix("::ffff:")
                    answers.append({"type": "A", "data": ip})
                    resolved.append(ip)
            labels = name.split(".")
            dns: dict[str, Any] = {"question": {"name": name}}
            if len(labels) >= 2:
                dns["question"]["registered_domain"] = ".".join(labels[-2:])
                dns["question"]["top_level_domain"] = labels[-1]
                if len(labels) > 2:
                    dns["question"]["subdomain"] = ".".join(labels[:-2])
            if answers:
                dns["answers"] = answers
                dns["resolved_ip"] = resolved
            doc["dns"] = dns
            doc["network"] = {"protocol": "dns"}
            doc["sysmon"] = {"dns": {"status": "SUCCESS" if status == "0" else status}}
            doc["event"] = {"category": ["network"], "type": ["connection", "protocol", "info"],
                            "action": "Dns query"}

    def _security(self, ev: Ev, d: dict[str, Any], doc: dict[str, Any]) -> None:
        eid = ev.eid
        if eid == 4624:
            doc["user"] = {"name": d["TargetUserName"], "domain": d["TargetDomainName"], "id": d["TargetUserSid"]}
            if d["IpAddress"] not in ("-", ""):
                doc["source"] = {"ip": d["IpAddress"], "port": int(d["IpPort"]) if d["IpPort"].isdigit() else 0}
            doc["event"] = {"category": ["authentication"], "type": ["start"], "action": "logged-in",
                            "outcome": "success"}
        elif eid in (5140, 5145):
            doc["user"] = {"name": d["SubjectUserName"], "domain": d["SubjectDomainName"], "id": d["SubjectUserSid"]}
            doc["source"] = {"ip": d["IpAddress"], "port": int(d["IpPort"])}
            if eid == 5145:
                doc["file"] = {"path": d["ShareLocalPath"].removeprefix("\\??\\") + "\\" + d["RelativeTargetName"],
                               "name": _name(d["RelativeTargetName"])}
            doc["event"] = {"category": ["network", "file"], "type": ["access"], "outcome": "success",
                            "action": "network-share-object-accessed" if eid == 5140
                            else "network-share-object-access-checked"}
        elif eid == 4688:
            doc["process"] = {"pid": int(d["NewProcessId"], 16), "executable": d["NewProcessName"],
                              "name": _name(d["NewProcessName"]), "command_line": d["CommandLine"],
                              "parent": {"pid": int(d["ProcessId"], 16), "executable": d["ParentProcessName"],
                                         "name": _name(d["ParentProcessName"])}}
            doc["user"] = {"name": d["SubjectUserName"], "domain": d["SubjectDomainName"], "id": d["SubjectUserSid"]}
            doc["event"] = {"category": ["process"], "type": ["start"], "action": "created-process",
                            "outcome": "success"}
        else:
            doc["event"] = {}

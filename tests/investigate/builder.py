"""Hand-built stores for investigation tests: a DuckDB events table behind the Store interface."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
import ibis

from cabhunt.model import Alert, CabinetRef, RuleRef, SourceRef
from cabhunt.schema import COLUMN_NAMES, create_table_sql

T0 = datetime(2026, 3, 2, 10, 15, 4, 123000)
RULES = {
    "makecab_download_cab": RuleRef("CNC-E-2726320-168", "Makecab Download and CAB Creation", "makecab_download_cab", "u1"),
    "makecab_network": RuleRef("CNC-E-2726320-168", "Makecab Network Connection", "makecab_network", "u2"),
    "diantz_network": RuleRef("CNC-E-2726320-142", "Diantz Network Connection", "diantz_network", "u3"),
    "diantz_download_cab": RuleRef("CNC-E-2726320-143", "Diantz Download and CAB Creation", "diantz_download_cab", "u4"),
}
_seq = itertools.count(1)


class MiniStore:
    """The subset of ``cabhunt.store.Store`` investigation uses, over an in-memory DuckDB."""

    def __init__(self) -> None:
        self.duck = duckdb.connect(":memory:")
        self.duck.execute(create_table_sql())
        self.con = ibis.duckdb.from_connection(self.duck)
        self.saved: list[dict[str, Any]] = []

    def events(self) -> Any:
        return self.con.table("events")

    def add(self, *rows: dict[str, Any]) -> list[str]:
        cols = list(COLUMN_NAMES)
        values = []
        for r in rows:
            r = dict(r)
            r.setdefault("event_uid", f"test{next(_seq):06d}:{len(values)}")
            if r.get("process_executable") and not r.get("process_name"):
                r["process_name"] = r["process_executable"].split("\\")[-1].lower()
            if r.get("process_parent_executable") and not r.get("process_parent_name"):
                r["process_parent_name"] = r["process_parent_executable"].split("\\")[-1].lower()
            r.setdefault("raw", json.dumps({k: str(v) for k, v in r.items()}))
            values.append([r.get(c) for c in cols])
        self.duck.executemany(
            f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
        )
        return [v[0] for v in values]

    # store API used by the CLI
    def save_alerts(self, alerts: list[dict[str, Any]]) -> None:
        ids = {a["event"]["id"] for a in alerts}
        self.saved = [a for a in self.saved if a["event"]["id"] not in ids] + list(alerts)

    def load_alert(self, alert_id: str) -> dict[str, Any] | None:
        return next((a for a in self.saved if a["event"]["id"] == alert_id), None)

    def close(self) -> None:
        self.duck.close()


def at(seconds: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds)


def proc(host: str, exe: str, cmd: str, guid: str, pid: int, *, t: float = 0, parent: dict[str, Any] | None = None,
         user: str = "alice", code: int = 1, **kw: Any) -> dict[str, Any]:
    """An EID 1 process creation row."""
    p = parent or {}
    return {
        "ts": at(t), "host_name": host, "event_provider": "sysmon", "event_dataset": "sysmon", "event_code": code,
        "event_category": "process", "process_entity_id": guid, "process_pid": pid, "process_executable": exe,
        "process_command_line": cmd, "process_parent_entity_id": p.get("guid"), "process_parent_pid": p.get("pid"),
        "process_parent_executable": p.get("exe"), "process_parent_command_line": p.get("cmd"),
        "user_name": user, "user_domain": "CORP", "process_integrity_level": "Medium",
        "process_working_directory": kw.pop("cwd", "C:\\Users\\alice\\"), **kw,
    }


def conn(host: str, exe: str, pid: int, dst_ip: str, dst_port: int, *, t: float = 1, guid: str | None = None,
         domain: str | None = None, src_ip: str = "10.1.2.3", **kw: Any) -> dict[str, Any]:
    return {
        "ts": at(t), "host_name": host, "event_provider": "sysmon", "event_dataset": "sysmon", "event_code": 3,
        "event_category": "network", "process_entity_id": guid, "process_pid": pid, "process_executable": exe,
        "source_ip": src_ip, "source_port": 50000, "destination_ip": dst_ip, "destination_port": dst_port,
        "destination_domain": domain, "network_transport": "tcp", "network_initiated": True, **kw,
    }


def dns(host: str, name: str, answers: str, *, t: float = 0.5, pid: int = 1200) -> dict[str, Any]:
    return {"ts": at(t), "host_name": host, "event_provider": "sysmon", "event_dataset": "sysmon", "event_code": 22,
            "event_category": "dns", "process_pid": pid, "process_executable": "C:\\Windows\\System32\\svchost.exe",
            "dns_question_name": name, "dns_answers": answers}


def filecreate(host: str, path: str, guid: str, pid: int, *, t: float = 2, sha: str | None = None,
               exe: str = "C:\\Windows\\System32\\makecab.exe", code: int = 11, contents: str | None = None,
               ) -> dict[str, Any]:
    return {"ts": at(t), "host_name": host, "event_provider": "sysmon", "event_dataset": "sysmon", "event_code": code,
            "event_category": "file", "process_entity_id": guid, "process_pid": pid, "process_executable": exe,
            "file_path": path, "file_hash_sha256": sha, "file_contents": contents}


def baseline(store: MiniStore, hosts: list[str], days: int = 30) -> None:
    """Old unrelated activity so the store covers the fleet and the domain-age window."""
    rows = []
    for i, h in enumerate(hosts):
        rows.append(proc(h, "C:\\Windows\\System32\\notepad.exe", "notepad.exe", f"{{base-{i}}}", 100 + i,
                         t=-days * 86400 + i))
        rows.append(dns(h, "www.microsoft.com", "1.2.3.4", t=-days * 86400 + i + 1))
    store.add(*rows)


def alert_for(slug: str, host: str, creation: dict[str, Any], uids: list[str], *, sources: list[SourceRef],
              cabinets: list[CabinetRef], directive_files: list[str] | None = None,
              destination: dict[str, Any] | None = None, t: float = 0) -> Alert:
    """An alert seed as detection produces it."""
    return Alert(
        timestamp=(T0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(T0 + timedelta(seconds=t)).microsecond // 1000:03d}Z",
        rule=RULES[slug], host=host, user=creation.get("user_name"),
        process={
            "entity_id": creation.get("process_entity_id"), "pid": creation.get("process_pid"),
            "executable": creation.get("process_executable"),
            "name": (creation.get("process_executable") or "").split("\\")[-1].lower(),
            "command_line": creation.get("process_command_line"),
            "pe": {"original_file_name": creation.get("process_pe_original_file_name")},
            "parent": {"entity_id": creation.get("process_parent_entity_id"), "pid": creation.get("process_parent_pid"),
                       "executable": creation.get("process_parent_executable"),
                       "command_line": creation.get("process_parent_command_line")},
        },
        sources=sources, cabinets=cabinets, directive_files=directive_files or [],
        working_directory=creation.get("process_working_directory"), event_uids=uids, destination=destination,
    )

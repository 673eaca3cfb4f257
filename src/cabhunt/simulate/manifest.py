"""The ground truth of a run (``manifest.json``) and the allowlist the scenarios expect (``allowlist.yaml``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

MANIFEST_VERSION = 1


@dataclass(slots=True)
class FileEntry:
    path: str  # relative to the output folder
    format: str  # winlogbeat | ecs | flat | evtxjson | xml | zeek-tsv | zeek-json | squid
    host: str | None
    records: int
    compressed: bool


@dataclass(slots=True)
class Manifest:
    seed: int
    hosts_requested: int
    events_requested: int
    start: str
    days: int
    hosts: list[dict[str, Any]] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    network: dict[str, Any] = field(default_factory=dict)

    @property
    def total_records(self) -> int:
        return sum(f.records for f in self.files)

    def counts_by_format(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.format] = out.get(f.format, 0) + f.records
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["version"] = MANIFEST_VERSION
        d["total_records"] = self.total_records
        d["counts_by_format"] = self.counts_by_format()
        return d

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2))


def write_allowlist(path: Path, entries: list[dict[str, Any]]) -> None:
    """``entries: [{id, reason, owner, valid_from?, valid_until?, match: {...}}]`` as YAML."""
    import yaml

    path.write_text(yaml.safe_dump({"entries": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8")

"""A small simulated fleet and the full hunt pipeline over it, shared by the engine tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cabhunt.errors import Problems

# A few hosts whose scenarios cover SMB by IP, WebDAV, an internal connection and the file
# server's own logs; small enough for Spark's per-query latency in CI.
EQUIVALENCE_HOSTS = ("WS0001", "WS0004", "WS0014", "FS01")


def make_fleet(root: Path, *, hosts: int = 17, events: int = 4000, seed: int = 5) -> tuple[Path, dict[str, Any]]:
    from cabhunt.simulate import simulate

    simulate(root, hosts=hosts, events=events, seed=seed)
    return root, json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def subset_logs(root: Path, hosts: tuple[str, ...] = EQUIVALENCE_HOSTS) -> list[Path]:
    return [root / "logs" / h for h in hosts if (root / "logs" / h).exists()] + [root / "network"]


def hunt_store(store: Any, root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Detect and investigate on an already filled store; alert documents sorted by id."""
    from cabhunt.detect import detect
    from cabhunt.investigate import InvestigationContext, investigate
    from cabhunt.windows import NetworkConfig

    net = NetworkConfig.from_mapping({"internal_cidrs": manifest["network"]["internal_cidrs"]})
    alerts = detect(store, net=net)
    ctx = InvestigationContext(
        store=store, artifacts=root / "artifacts", allowlist=root / "allowlist.yaml", net=net, problems=Problems()
    )
    alerts = investigate(alerts, ctx)
    return sorted((a.to_dict() for a in alerts), key=lambda d: d["event"]["id"])


def comparable(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must be equal between engines: ids, rules, verdicts, scores and finding ids."""
    return [
        (
            d["event"]["id"],
            d["rule"]["slug"],
            d["cabhunt"]["verdict"],
            d["cabhunt"]["score"],
            tuple(sorted(f["id"] for f in d["cabhunt"]["findings"])),
        )
        for d in docs
    ]

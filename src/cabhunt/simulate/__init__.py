"""Fleet simulator: weeks of Windows and network telemetry with makecab/diantz attack chains mixed in.

``simulate()`` streams day by day and host by host, so memory stays flat whatever ``events``
is; only one host-day (and one day's rendered network-sensor lines) is held at a time.

Output layout under ``out``::

    logs/<HOST>/<HOST>_<YYYY-MM-DD>.ndjson[.gz]       Winlogbeat raw or ECS (Sysmon + Security)
    logs/<HOST>/<HOST>_<YYYY-MM-DD>.json[.gz]         flat Sysmon JSON (NXLog / OTRF shape)
    logs/<HOST>/<HOST>_<Sysmon|Security>_<day>.jsonl  evtx_dump-style JSON, one file per channel
    logs/<HOST>/<HOST>_<Sysmon|Security>_<day>.xml    wevtutil-style Event XML, one file per channel
    network/zeek-core/<day>/<log>.log.gz              Zeek TSV (internal segments)
    network/zeek-edge/<day>/<log>.log.gz              Zeek JSON lines (internet uplink)
    network/proxy01/access-<day>.log.gz               Squid native access log (transparent proxy)
    artifacts/<HOST>/<drive>/<path>                   DDFs and cabinets a collector gathered
    manifest.json                                     ground truth (hosts, files, scenarios, artifacts)
    allowlist.yaml                                    entries for the allowlist scenarios

Workstations are off at weekends (no files for those days); servers run every day. Host logs are
gzip-compressed when ``events`` >= 200,000. Windows records name the host by
FQDN (``Computer`` / ``winlog.computer_name``); artifact folders use the short host name.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cabhunt.simulate import background
from cabhunt.simulate.activity import Activity, Chunk, HostState
from cabhunt.simulate.artifacts import ArtifactStore
from cabhunt.simulate.chains import run_job
from cabhunt.simulate.entities import Ev, Host, Net, to_ms
from cabhunt.simulate.fleet import CORE_SENSOR, DNS_SERVER, EDGE_SENSOR, PROXY_IP, Fleet, plan_fleet
from cabhunt.simulate.manifest import FileEntry, Manifest, write_allowlist
from cabhunt.simulate.scenarios import Job, jobs
from cabhunt.simulate.writers import squid as squid_writer
from cabhunt.simulate.writers import zeek as zeek_writer
from cabhunt.simulate.writers.ecs import EcsDoc
from cabhunt.simulate.writers.evtxjson import EvtxJson
from cabhunt.simulate.writers.files import LineFile
from cabhunt.simulate.writers.flat import FlatSysmon
from cabhunt.simulate.writers.winlogbeat import WinlogbeatRaw
from cabhunt.simulate.writers.xml import EventXml

DEFAULT_START = datetime(2026, 2, 9, tzinfo=UTC)
MIN_HOSTS = 5
_ROLE_WEIGHT = {"workstation": 1.0, "buildserver": 3.0, "wsus": 2.0, "fileserver": 1.5}
_EXT = {"winlogbeat": "ndjson", "ecs": "ndjson", "flat": "json", "evtxjson": "jsonl", "xml": "xml"}
_RENDERERS: dict[str, Callable[[], object]] = {"winlogbeat": WinlogbeatRaw, "ecs": EcsDoc, "flat": FlatSysmon,
                                                "evtxjson": EvtxJson, "xml": EventXml}
_ZEEK_EDGE_JSON = True  # the edge sensor writes JSON lines, the core sensor TSV

__all__ = ["DEFAULT_START", "Manifest", "simulate"]


def _rng(seed: int, *parts: object) -> random.Random:
    h = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(h, "big"))


def _active(host: Host, day: datetime) -> bool:
    """Workstations are switched off at weekends; servers run every day."""
    return host.role != "workstation" or day.weekday() < 5


def _schedule(fleet: Fleet, start: datetime, days: int, seed: int) -> dict[tuple[str, int], list[tuple[int, Job]]]:
    """Place every scenario on an active (host, day) at a working-hours time, over the last two thirds."""
    rng = _rng(seed, "schedule")
    first = min(days - 1, days // 3)
    span = max(1, days - first)
    plan: dict[tuple[str, int], list[tuple[int, Job]]] = {}
    used: set[tuple[str, int, int]] = set()
    for i, (job, host) in enumerate(jobs(fleet, start)):
        day = first + (i * 5 + rng.randrange(span)) % span
        slot = rng.randrange(0, 28)
        for _ in range(400):  # a free quarter hour between 09:00 and 16:00 on a day the host is on
            if (host.name, day, slot) not in used and _active(host, start + timedelta(days=day)):
                break
            slot = rng.randrange(0, 28)
            day = first + (day - first + 1) % span
        used.add((host.name, day, slot))
        ms = (9 * 3600 + slot * 900 + rng.randrange(60, 780)) * 1000 + rng.randrange(1000)
        plan.setdefault((host.name, day), []).append((ms, job))
    return plan


class _Sink:
    """Writes one host's day file(s), assigning record ids in time order."""

    def __init__(self, out: Path, compress: bool, manifest: Manifest) -> None:
        self.out = out
        self.compress = compress
        self.manifest = manifest
        self.renderers = {k: v() for k, v in _RENDERERS.items()}

    def write_host_day(self, host: Host, day: datetime, events: list[Ev]) -> None:
        events.sort(key=lambda e: e.ts)
        r = self.renderers[host.fmt]
        render = r.render  # type: ignore[attr-defined]
        per_channel = host.fmt in ("xml", "evtxjson")
        stamp = f"{day:%Y-%m-%d}"
        files: dict[str, LineFile] = {}
        pending: dict[str, list[bytes]] = {}
        for ev in events:
            key = ("Sysmon" if ev.channel.startswith("Microsoft") else "Security") if per_channel else "all"
            batch = pending.get(key)
            if batch is None:
                name = f"{host.name}_{stamp}.{_EXT[host.fmt]}" if key == "all" else \
                    f"{host.name}_{key}_{stamp}.{_EXT[host.fmt]}"
                files[key] = LineFile(self.out / "logs" / host.name / name, self.compress)
                batch = pending[key] = []
            batch.append(render(ev, host, host.next_record(ev.channel)))
            if len(batch) >= 4096:  # rendered lines are over-allocated; flush them early
                files[key].write_lines(batch)
                batch.clear()
        for key, f in files.items():
            f.write_lines(pending[key])
            f.close()
            self.manifest.files.append(FileEntry(str(f.path.relative_to(self.out)), host.fmt, host.name,
                                                 f.records, self.compress))

    def render_network(self, records: list[Net], bucket: dict[tuple[str, str], list[tuple[int, bytes]]]) -> None:
        """Render a host-day's sensor records at once: the day keeps bytes, not record objects."""
        for rec in records:
            if rec.sensor == "proxy":
                line = squid_writer.render(rec)
            elif rec.sensor == EDGE_SENSOR and _ZEEK_EDGE_JSON:
                line = zeek_writer.render_json(rec)
            else:
                line = zeek_writer.render_tsv(rec)
            # an exact-size copy: renderer output buffers are over-allocated and the day keeps them
            bucket.setdefault((rec.sensor, rec.kind), []).append((rec.ts, memoryview(line).tobytes()))

    def write_network_day(self, day: datetime, bucket: dict[tuple[str, str], list[tuple[int, bytes]]]) -> None:
        stamp = f"{day:%Y-%m-%d}"
        day_ms = to_ms(day)
        for (sensor, kind), recs in sorted(bucket.items()):
            recs.sort(key=lambda r: r[0])
            if sensor == "proxy":
                f = LineFile(self.out / "network" / "proxy01" / f"access-{stamp}.log", True)
                fmt = "squid"
            elif sensor == EDGE_SENSOR and _ZEEK_EDGE_JSON:
                f = LineFile(self.out / "network" / sensor / stamp / f"{kind}.log", True)
                fmt = "zeek-json"
            else:
                f = LineFile(self.out / "network" / sensor / stamp / f"{kind}.log", True,
                             header=zeek_writer.tsv_header(kind, day_ms))
                fmt = "zeek-tsv"
            for i in range(0, len(recs), 20_000):
                f.write_lines([line for _, line in recs[i:i + 20_000]])
            if fmt == "zeek-tsv":
                f.write_raw(zeek_writer.tsv_footer(day_ms + 86_400_000))
            f.close()
            recs.clear()
            self.manifest.files.append(FileEntry(str(f.path.relative_to(self.out)), fmt, None, f.records, True))


def _clear_previous_run(out: Path) -> None:
    """A folder holding an earlier run's manifest is rewritten whole, so no stale file survives."""
    if not (out / "manifest.json").is_file():
        return
    import shutil

    for name in ("logs", "network", "artifacts"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in ("manifest.json", "allowlist.yaml"):
        (out / name).unlink(missing_ok=True)


def simulate(out: Path, hosts: int, events: int, seed: int, start: datetime | None = None,
             days: int = 21, progress: Callable[[int, int], None] | None = None) -> Manifest:
    """Write a simulated fleet's logs, artifacts, manifest.json and allowlist.yaml under ``out``.

    ``hosts`` is raised to 5 if smaller; ``events`` is the approximate total number of records
    (scenarios are always included); ``progress(day, days)`` is called after each day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    start = (start or DEFAULT_START).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_run(out)
    fleet = plan_fleet(max(MIN_HOSTS, hosts), seed)
    manifest = Manifest(seed=seed, hosts_requested=hosts, events_requested=events, start=start.isoformat(),
                        days=days)
    manifest.hosts = [{"name": h.name, "fqdn": h.fqdn, "ip": h.ip, "ip6": h.ip6 or None, "role": h.role, "log_format": h.fmt,
                       "user": h.user, "user_sid": h.user_sid} for h in fleet.hosts]
    manifest.network = {"dns_server": DNS_SERVER, "proxy": PROXY_IP, "sensors": [CORE_SENSOR, EDGE_SENSOR],
                        "internal_cidrs": ["10.20.0.0/16"]}
    store = ArtifactStore(out / "artifacts")
    plan = _schedule(fleet, start, days, seed)
    n_scen = sum(len(v) for v in plan.values())
    total_weight = sum(_ROLE_WEIGHT[h.role] for d in range(days) for h in fleet.hosts
                       if _active(h, start + timedelta(days=d)))
    per_unit = max(0.0, events - 60 * n_scen) / total_weight
    sink = _Sink(out, compress=events >= 200_000, manifest=manifest)
    states = {h.name: HostState(h) for h in fleet.hosts}
    allow: list[dict[str, object]] = []
    for d in range(days):
        day = start + timedelta(days=d)
        day_ms = to_ms(day)
        net_day: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
        pending: dict[str, list[Ev]] = {}
        for host in fleet.hosts:
            scheduled = plan.get((host.name, d), [])
            if not _active(host, day) and not scheduled:
                continue
            rng = _rng(seed, host.name, d)
            chunk = Chunk()
            st = states[host.name]
            act = Activity(fleet, st, chunk, rng, day_ms)
            if host.role == "workstation":
                boot = day_ms + rng.randrange(int(6.5 * 3600e3), int(7.4 * 3600e3))
                act.boot(boot)
                act.user_logon(boot + rng.randrange(60_000, 600_000))
            elif not st.booted:
                act.boot(day_ms + 5000)
            for ms, job in sorted(scheduled, key=lambda x: x[0]):
                rec = run_job(act, job, day_ms + ms, store, _rng(seed, job.name))
                manifest.scenarios.append(rec)
                if job.allowlist:
                    allow.append(job.allowlist)
            if host.role == "buildserver" and rng.random() < 0.3:
                background.driver_packaging(act)
            if host.role in ("wsus", "workstation") and rng.random() < (0.3 if host.role == "wsus" else 0.04):
                background.cbs_rotation(act)
            budget = int(per_unit * _ROLE_WEIGHT[host.role] * rng.uniform(0.8, 1.2))
            background.fill_day(act, budget)
            for target, ev in chunk.remote:
                pending.setdefault(target, []).append(ev)
            chunk.events.extend(pending.pop(host.name, []))
            sink.write_host_day(host, day, chunk.events)
            sink.render_network(chunk.net, net_day)
        sink.write_network_day(day, net_day)
        if progress:
            progress(d + 1, days)
    manifest.scenarios.sort(key=lambda s: s["timestamp"])
    manifest.artifacts = store.written
    manifest.write(out / "manifest.json")
    write_allowlist(out / "allowlist.yaml", allow)
    return manifest

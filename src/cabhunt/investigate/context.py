"""Everything one investigation run shares: the store, the optional inputs, windows and caches.

Steps read events through this object so the query shape stays in one place (portable Ibis
filters, no engine-specific SQL) and so the events around one alert are fetched once and then
filtered in Python by every step, instead of one scan per question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cabhunt import query
from cabhunt.errors import Problems

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cabhunt.investigate.allowlist import Allowlist
    from cabhunt.investigate.artifacts_index import ArtifactIndex
    from cabhunt.investigate.intel import IntelDB
    from cabhunt.model import Alert

Event = dict[str, Any]

# Columns steps look at; ``raw`` is left out of the hot path and fetched only for evidence export.
WORK_COLUMNS: tuple[str, ...] = (
    "event_uid", "ts", "host_name", "event_provider", "event_dataset", "event_code", "event_category",
    "process_entity_id", "process_pid", "process_executable", "process_name", "process_command_line",
    "process_pe_original_file_name", "process_working_directory", "process_integrity_level",
    "process_hash_sha256", "process_parent_entity_id", "process_parent_pid", "process_parent_executable",
    "process_parent_name", "process_parent_command_line", "user_name", "user_domain", "source_ip",
    "source_port", "destination_ip", "destination_port", "destination_domain", "network_transport",
    "file_path", "file_hash_sha256", "file_contents", "dns_question_name", "dns_answers",
    "registry_path", "registry_value", "dll_path", "dll_signed", "dll_signature", "dll_signature_status",
    "logon_type", "share_name", "share_relative_target", "share_access", "url_full",
    "http_request_method", "http_response_status_code", "http_response_bytes", "user_agent",
    "tls_server_name",
)

PROCESS_CODES = (1, 4688)
WIDE_WINDOW_CODES: tuple[int, ...] = (*PROCESS_CODES, 11, 13, 15, 4697, 4698, 7045)
"""What the steps read of a host beyond the alert's corroboration band: process and file
creations, registry values, alternate streams, service and task installs (follow-on, cabinet
files, burst). Network, DNS, image-load and other events are read only near the alert, and on a
busy host they are most of its events, so a host window leaves them out beyond the band."""
WINDOW_LIMIT = 50_000  # events kept per alert window
WINDOW_CHUNK = 32  # alert windows asked per query
PROCESS_INDEX_CAP = 1_000_000
PROCESS_COLUMNS: tuple[str, ...] = (
    "event_uid", "ts", "host_name", "event_code", "process_entity_id", "process_pid", "process_executable",
    "process_name", "process_command_line", "process_parent_entity_id", "process_parent_pid",
    "process_parent_executable", "process_parent_command_line", "user_name",
)
MAKERS = frozenset({"makecab.exe", "diantz.exe"})
HOST_VALUES_CAP = 5_000
"""Distinct host names a store may have for host tests to list them (:meth:`InvestigationContext.host_is`)."""


class StoreLike(Protocol):
    """What investigation needs from :class:`cabhunt.store.Store` (tests use a tiny stand-in)."""

    @property
    def con(self) -> Any: ...

    @property
    def duck(self) -> Any: ...

    def events(self) -> ir.Table: ...


class ProcessIndex:
    """Process creations of one host by GUID and by PID (time-ordered)."""

    def __init__(self, rows: list[Event], complete: bool, until: datetime | None = None) -> None:
        self.complete = complete
        self.until = until  # the latest creation time it holds; None: all of them
        self.by_guid: dict[str, Event] = {}
        self.by_pid: dict[int, list[Event]] = {}
        for r in rows:
            if r.get("process_entity_id"):
                self.by_guid.setdefault(str(r["process_entity_id"]), r)
            if r.get("process_pid") is not None:
                self.by_pid.setdefault(int(r["process_pid"]), []).append(r)

    def latest_before(self, pid: int, before: datetime, not_before: datetime) -> Event | None:
        best = None
        for r in self.by_pid.get(pid, []):
            ts = r.get("ts")
            # the latest; at the same instant the Sysmon record (it has the GUID to walk on)
            if ts is not None and not_before <= ts <= before and (
                    best is None or ts > best["ts"] or r.get("process_entity_id") or not best.get("process_entity_id")):
                best = r
        return best


def parse_ts(value: str | datetime | None) -> datetime | None:
    """ISO 8601 (with or without 'Z') -> naive UTC datetime, the store's ``ts`` convention."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def iso(value: datetime | None) -> str:
    """Naive UTC datetime -> the alert timestamp format (milliseconds, 'Z')."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def as_int(value: object) -> int | None:
    """An int from data that may hold text, hex (``0x1a4``) or junk; None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    s = str(value).strip()
    try:
        return int(s, 16) if s.lower().startswith("0x") else int(s)
    except ValueError:
        return None


def lower(value: object) -> str:
    return str(value).lower() if value is not None else ""


def basename(path: object) -> str:
    """Windows-aware base name (handles both separators and an ADS suffix is kept)."""
    s = str(path or "")
    return re.split(r"[\\/]", s.rstrip("\\/"))[-1]


def short_host(host: object) -> str:
    """``FS01.corp.local`` -> ``fs01`` (IP literals are kept whole)."""
    h = lower(host).strip("[]")
    if re.fullmatch(r"[0-9.]+", h) or ":" in h:
        return h
    return h.split(".", 1)[0]


def same_host(a: object, b: object) -> bool:
    """Host names match when equal or when their first labels match (NetBIOS vs FQDN)."""
    la, lb = lower(a).strip("[]"), lower(b).strip("[]")
    if not la or not lb:
        return False
    return la == lb or short_host(la) == short_host(lb)


@dataclass
class InvestigationContext:
    """Inputs and tunables of one ``investigate`` run (see docs/interfaces.md)."""

    store: StoreLike
    artifacts: Path | None = None
    allowlist: Path | None = None
    intel: Path | None = None
    net: Any = None  # cabhunt.windows.NetworkConfig
    now: datetime | None = None
    window_before: timedelta = timedelta(seconds=5)
    window_after: timedelta = timedelta(seconds=120)
    followon_window: timedelta = timedelta(minutes=30)
    burst_window: timedelta = timedelta(minutes=10)
    narrow_windows: bool = True  # host windows keep only WIDE_WINDOW_CODES beyond the band
    new_domain_days: int = 7
    lineage_depth: int = 6
    bulk_sources: int = 10
    problems: Problems = field(default_factory=Problems)
    _host_cache: dict[tuple[str, datetime], list[Event]] = field(default_factory=dict, repr=False)
    _allow: Allowlist | None = field(default=None, repr=False)
    _intel: IntelDB | None = field(default=None, repr=False)
    _artifact_index: ArtifactIndex | None = field(default=None, repr=False)
    _fleet_hosts: list[str] | None = field(default=None, repr=False)
    _maker_runs: list[Event] | None = field(default=None, repr=False)
    _maker_commands: dict[str, set[str]] | None = field(default=None, repr=False)
    _maker_counts: dict[str, int] | None = field(default=None, repr=False)
    _proc_index: dict[str, ProcessIndex] = field(default_factory=dict, repr=False)
    cab_cache: dict[str, Any] = field(default_factory=dict, repr=False)  # artifact path -> analysis
    batch: list[Alert] = field(default_factory=list, repr=False)  # the alerts investigated together
    _bulk: dict[str, dict[int, Any]] = field(default_factory=dict, repr=False)
    _coverage: tuple[datetime | None] | None = field(default=None, repr=False)
    _host_values: tuple[list[str] | None] | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- lazily loaded inputs
    def allowlist_entries(self) -> Allowlist:
        if self._allow is None:
            from cabhunt.investigate.allowlist import Allowlist

            self._allow = Allowlist.load(self.allowlist, self.problems) if self.allowlist else Allowlist([])
        return self._allow

    def intel_db(self) -> IntelDB:
        if self._intel is None:
            from cabhunt.investigate.intel import IntelDB

            self._intel = IntelDB.load(self.intel, self.problems) if self.intel else IntelDB()
        return self._intel

    def artifact_index(self) -> ArtifactIndex | None:
        if self.artifacts is None:
            return None
        if self._artifact_index is None:
            from cabhunt.investigate.artifacts_index import ArtifactIndex

            self._artifact_index = ArtifactIndex(self.artifacts, self.problems)
        return self._artifact_index

    # ----------------------------------------------------------------- batched questions
    def bulk(self, name: str, alert: Alert, compute: Callable[[list[Alert]], dict[int, Any]]) -> Any:
        """The answer to question ``name`` for ``alert``, asked once for every alert of the batch.

        A step's per-alert query becomes one query for all alerts of the run (``compute`` gets
        the alerts still unanswered and returns ``{id(alert): answer}``): on a fleet store each
        query is a scan, and each Ibis compilation costs tens of milliseconds, so a hunt's cost
        follows the number of questions, not the number of alerts times questions. Because
        :func:`cabhunt.investigate.investigate` runs the steps in order over all alerts, the
        batch is asked when every alert has reached the step. An alert outside the batch is
        answered on its own.
        """
        done = self._bulk.setdefault(name, {})
        key = id(alert)
        if key not in done:
            if any(a is alert for a in self.batch):
                todo = [a for a in self.batch if id(a) not in done]
            else:
                todo = [alert]
            answers = compute(todo)
            for a in todo:
                done[id(a)] = answers.get(id(a))
        return done[key]

    def coverage_start(self) -> datetime | None:
        """The earliest event time in the store (asked once per run)."""
        if self._coverage is None:
            t = self.table()
            self._coverage = (query.scalar(t.ts.min()),)
        return self._coverage[0]

    # ----------------------------------------------------------------- queries
    def table(self) -> ir.Table:
        return self.store.events()

    def host_values(self) -> list[str] | None:
        """Every distinct host name in the store as written (asked once per run); None when
        there are more than :data:`HOST_VALUES_CAP`."""
        if self._host_values is None:
            t = self.table()
            q = t.select(h=t.host_name).filter(lambda x: x.h.notnull()).distinct().limit(HOST_VALUES_CAP + 1)
            values = sorted(str(r["h"]) for r in query.rows(q))
            self._host_values = (values if len(values) <= HOST_VALUES_CAP else None,)
        return self._host_values[0]

    def host_is(self, col: Any, *hosts: str | None) -> Any:
        """:func:`host_is`, resolved first against the store's host names: the engine then tests
        the column as stored against a short list, instead of lowercasing and prefix-testing
        every row (most of a fleet query's time once the hosts number in the dozens)."""
        values = self.host_values()
        if values is None:
            return host_is(col, *hosts)
        matches = host_matcher(hosts)
        return col.isin([v for v in values if matches(v)])

    def rows(self, expr: ir.Table, columns: Sequence[str] = WORK_COLUMNS, limit: int | None = 5000) -> list[Event]:
        """Run an Ibis filter and return plain dicts (ordered by time)."""
        cols = [c for c in columns if c in expr.columns]
        q = expr.select(*cols).order_by(["ts", "event_uid"] if "event_uid" in cols else ["ts"])
        if limit is not None:
            q = q.limit(limit)
        return query.rows(q)

    def host_window(self, at: datetime) -> tuple[datetime, datetime]:
        """The span :meth:`host_events` covers around an alert at ``at``."""
        lo = at - max(self.window_before, self.burst_window)
        hi = at + max(self.window_after, self.followon_window, self.burst_window)
        return lo, hi

    def band(self, at: datetime) -> tuple[datetime, datetime]:
        """The corroboration band around an alert at ``at``: every kind of event is kept in it."""
        return at - self.window_before, at + self.window_after

    def host_events(self, host: str | None, at: datetime) -> list[Event]:
        """The events of ``host`` from shortly before the alert to the end of the follow-on window:
        all of them inside :meth:`band`, and outside it those of :data:`WIDE_WINDOW_CODES` (all,
        with ``narrow_windows`` off), in time order.

        The first miss fetches the windows of every alert of the batch in one query.
        """
        if not host:
            return []
        key = (lower(host), at)
        if key not in self._host_cache:
            wanted = {key: host}
            for a in self.batch:
                if a.host:
                    wanted.setdefault((lower(a.host), alert_time(a)), a.host)
            self._fetch_windows({k: h for k, h in wanted.items() if k not in self._host_cache})
        return self._host_cache[key]

    def _fetch_windows(self, wanted: dict[tuple[str, datetime], str]) -> None:
        # chunks of windows close in time: their spans' union stays narrow, so the cheap tests of
        # :func:`host_spans` already leave few rows for the exact one
        keys = sorted(wanted, key=lambda k: (k[1], k[0]))
        for i in range(0, len(keys), WINDOW_CHUNK):
            chunk = keys[i : i + WINDOW_CHUNK]
            t = self.table()
            cond = host_spans(t, [(wanted[k], self.host_window(k[1])) for k in chunk], self.host_is)
            if self.narrow_windows:
                cond = cond & (t.event_code.isin(list(WIDE_WINDOW_CODES)) | in_spans(t.ts, [self.band(k[1]) for k in chunk]))
            rows = self.rows(t.filter(cond), limit=WINDOW_LIMIT * len(chunk))
            by_host: dict[str, list[Event]] = {}
            for r in rows:
                by_host.setdefault(lower(r.get("host_name")), []).append(r)
            for k in chunk:
                lo, hi = self.host_window(k[1])
                evs = events_between([evs for name, evs in by_host.items() if host_matches(name, wanted[k])], lo, hi)
                if self.narrow_windows:
                    # the query let in events of other alerts' bands: keep this alert's own
                    blo, bhi = self.band(k[1])
                    evs = [e for e in evs if e.get("event_code") in WIDE_WINDOW_CODES or in_window(e, blo, bhi)]
                self._host_cache[k] = evs[:WINDOW_LIMIT]

    def events_by_uid(self, uids: Iterable[str], with_raw: bool = False) -> list[Event]:
        wanted = sorted({u for u in uids if u})
        if not wanted:
            return []
        raw_table = getattr(self.store, "raw_events", None) if with_raw else None
        t = raw_table() if raw_table is not None else self.table()
        cols = (*WORK_COLUMNS, "src_file", "src_format", "src_record_id", "raw") if with_raw else WORK_COLUMNS
        out: list[Event] = []
        for i in range(0, len(wanted), 500):
            out.extend(self.rows(t.filter(t.event_uid.isin(wanted[i : i + 500])), cols, limit=None))
        return out

    def own_events(self, alert: Alert) -> list[Event]:
        """The alert's own events (``alert.event_uids``), fetched for the whole batch at once."""

        def compute(alerts: list[Alert]) -> dict[int, Any]:
            # nearly always inside the alert's host window, which later steps fetch anyway
            by_uid: dict[str, Event] = {}
            for a in alerts:
                wanted = set(a.event_uids)
                by_uid.update((e["event_uid"], e) for e in self.host_events(a.host, alert_time(a))
                              if e.get("event_uid") in wanted)
            missing = {u for a in alerts for u in a.event_uids} - set(by_uid)
            by_uid.update((e["event_uid"], e) for e in self.events_by_uid(missing))
            return {id(a): sorted((by_uid[u] for u in dict.fromkeys(a.event_uids) if u in by_uid),
                                  key=lambda e: (e.get("ts") is None, e.get("ts") or datetime.min)) for a in alerts}

        return list(self.bulk("own_events", alert, compute))

    def creations_by_guid(self, guids: Iterable[str], codes: Sequence[int] = PROCESS_CODES) -> dict[str, Event]:
        """The earliest process-creation record of each process GUID (one query per 500 GUIDs)."""
        wanted = sorted({g for g in guids if g})
        out: dict[str, Event] = {}
        t = self.table()
        for i in range(0, len(wanted), 500):
            rows = self.rows(t.filter(t.process_entity_id.isin(wanted[i : i + 500]) & t.event_code.isin(list(codes))),
                             limit=None)
            for r in rows:
                out.setdefault(str(r["process_entity_id"]), r)
        return out

    def fleet_hosts(self) -> list[str]:
        """Every host name (lowercased) the store has events from."""
        if self._fleet_hosts is None:
            t = self.table()
            t = t.filter(t.event_provider.isnull() | ~t.event_provider.isin(["zeek", "proxy"]))
            q = t.select(h=t.host_name.lower()).filter(lambda x: x.h.notnull()).distinct()
            self._fleet_hosts = sorted(r["h"] for r in query.rows(q))
        return self._fleet_hosts

    def processes(self, host: str | None, until: datetime | None = None) -> ProcessIndex | None:
        """The process creations of ``host`` up to ``until`` (all of them without it), indexed by
        GUID and PID: one scan per host and run, for every alert of the batch at once.

        Ancestor chains and drive mappings then walk in memory instead of one query per
        generation. They look only before an alert, so each host's scan stops at its latest
        alert of the batch (on a fleet store, about half of a host's history).
        """
        if not host:
            return None
        key = short_host(host)
        cached = self._proc_index.get(key)
        if cached is not None and (cached.until is None or (until is not None and until <= cached.until)):
            return cached
        bounds: dict[str, datetime | None] = {key: until}
        names = {key: host}
        for a in self.batch:
            k = short_host(a.host) if a.host else None
            if k is None or (k != key and k in self._proc_index):
                continue
            names.setdefault(k, str(a.host))
            at, bound = alert_time(a), bounds.get(k, datetime.min)
            if bound is not None:
                bounds[k] = max(at, bound)
        todo = sorted(bounds)
        for i in range(0, len(todo), WINDOW_CHUNK):
            chunk = todo[i : i + WINDOW_CHUNK]
            t = self.table()
            per_host = None
            for k in chunk:
                bound = bounds[k]
                term = self.host_is(t.host_name, names[k])
                if bound is not None:
                    term = term & (t.ts <= bound)
                per_host = term if per_host is None else per_host | term
            rows = self.rows(t.filter(t.event_code.isin(list(PROCESS_CODES)) & per_host),
                             PROCESS_COLUMNS, limit=PROCESS_INDEX_CAP * len(chunk))
            by_host: dict[str, list[Event]] = {}
            for r in rows:
                by_host.setdefault(lower(r.get("host_name")), []).append(r)
            for k in chunk:
                groups = [evs for name, evs in by_host.items() if host_matches(name, names[k])]
                mine = groups[0] if len(groups) == 1 else sorted(
                    (e for g in groups for e in g), key=lambda e: (e.get("ts") is None, e.get("ts") or datetime.min))
                mine = mine[:PROCESS_INDEX_CAP]
                self._proc_index[k] = ProcessIndex(mine, complete=len(mine) < PROCESS_INDEX_CAP, until=bounds[k])
        return self._proc_index[key]

    def maker_runs(self) -> list[Event]:
        """Every makecab/diantz process creation in the store (host, command line, ids), fetched once.

        The cabinet makers run rarely outside build and servicing hosts, so one scan per run serves
        every alert's baseline and fleet pivots.
        """
        if self._maker_runs is None:
            t = self.table()
            names = sorted(MAKERS)
            f = t.filter(t.event_code.isin(list(PROCESS_CODES))
                         & (t.process_name.lower().isin(names) | t.process_pe_original_file_name.lower().isin(names)))
            self._maker_runs = self.rows(f, ("event_uid", "ts", "host_name", "process_entity_id",
                                             "process_command_line"), limit=500_000)
        return self._maker_runs

    def maker_commands(self) -> dict[str, set[str]]:
        """Lowercased maker command line -> the hosts (lowercased) that ran it: pivots search
        the distinct command lines once each instead of every run."""
        if self._maker_commands is None:
            out: dict[str, set[str]] = {}
            for r in self.maker_runs():
                out.setdefault(lower(r.get("process_command_line")), set()).add(lower(r.get("host_name")))
            self._maker_commands = out
        return self._maker_commands

    def maker_counts(self) -> dict[str, int]:
        """Maker runs per host name (lowercased), over the whole store."""
        if self._maker_counts is None:
            counts: dict[str, int] = {}
            for r in self.maker_runs():
                h = lower(r.get("host_name"))
                counts[h] = counts.get(h, 0) + 1
            self._maker_counts = counts
        return self._maker_counts

    def fleet_host_count(self) -> int:
        return len(self.fleet_hosts())


def _host_names(hosts: Iterable[str | None]) -> list[str]:
    return sorted({short_host(h) for h in hosts if h} | {lower(h) for h in hosts if h})


def host_is(col: Any, *hosts: str | None) -> Any:
    """Ibis predicate: the host column names one of ``hosts`` (FQDN or NetBIOS, any case)."""
    names = _host_names(hosts)
    col = col.lower()
    cond = col.isin(names)
    for n in names:
        if "." not in n and ":" not in n:
            cond = cond | col.startswith(n + ".")
    return cond


def in_spans(col: Any, spans: Iterable[tuple[datetime, datetime]]) -> Any:
    """Ibis predicate: ``col`` lies in one of the (merged) spans; None when there are none."""
    cond = None
    for lo, hi in merge_intervals(spans):
        part = (col >= lo) & (col <= hi)
        cond = part if cond is None else cond | part
    return cond


def host_spans(t: Any, windows: Sequence[tuple[str, tuple[datetime, datetime]]],
               test: Callable[..., Any] | None = None) -> Any:
    """Ibis predicate: an event of one of these hosts inside one of that host's time spans.

    Written as cheap tests first (all spans, all hosts), then the exact per-host spans: the
    engine evaluates the exact OR only on the few rows the first two let through, while the
    first two alone would fetch every listed host's events in every other host's spans.
    """
    test = test or host_is
    by_host: dict[str, list[tuple[datetime, datetime]]] = {}
    for host, span in windows:
        by_host.setdefault(host, []).append(span)
    exact = None
    for host, spans in by_host.items():
        term = test(t.host_name, host) & in_spans(t.ts, spans)
        exact = term if exact is None else exact | term
    return in_spans(t.ts, [s for _, s in windows]) & test(t.host_name, *by_host) & exact


def host_matches(value: object, *hosts: str | None) -> bool:
    """:func:`host_is` in Python, for rows fetched for several hosts at once."""
    return host_matcher(hosts)(value)


def host_matcher(hosts: Iterable[str | None]) -> Callable[[object], bool]:
    """:func:`host_matches` for one set of hosts, to test many values: a NetBIOS name matches
    itself and every FQDN whose first label it is."""
    names = set(_host_names(list(hosts)))
    bare = {n for n in names if "." not in n and ":" not in n}

    def matches(value: object) -> bool:
        v = lower(value)
        return bool(v) and (v in names or ("." in v and v.split(".", 1)[0] in bare))

    return matches


def merge_intervals(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching time spans joined (fewer, simpler predicates)."""
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def events_between(groups: Sequence[list[Event]], lo: datetime, hi: datetime) -> list[Event]:
    """The events of time-ordered lists whose ``ts`` lies in [lo, hi], merged in time order."""
    import bisect
    import heapq

    def cut(evs: list[Event]) -> list[Event]:
        times = [e.get("ts") or datetime.min for e in evs]
        return evs[bisect.bisect_left(times, lo) : bisect.bisect_right(times, hi)]

    parts = [cut(g) for g in groups]
    if len(parts) == 1:
        return parts[0]
    return list(heapq.merge(*parts, key=lambda e: e.get("ts") or datetime.min))


def in_window(ev: Event, lo: datetime, hi: datetime) -> bool:
    ts = ev.get("ts")
    return ts is not None and lo <= ts <= hi


def alert_time(alert: Alert) -> datetime:
    return parse_ts(alert.timestamp) or datetime(1970, 1, 1)


def step_note(alert: Alert, step: str, note: str) -> None:
    """Record that a step could not run (or ran partly) and why, in ``extra['steps']``."""
    alert.extra.setdefault("steps", {})[step] = note

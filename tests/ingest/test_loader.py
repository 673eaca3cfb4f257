"""The loader's one-statement flush: counts stay exact however records are grouped into flushes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.errors import Problems
from cabhunt.ingest import ingest_paths
from cabhunt.ingest import loader as loader_mod
from cabhunt.ingest.batch import int_array, string_array
from cabhunt.store import Store
from tests.conftest import shared_or_skip
from tests.ingest.helpers import DATA, accounted, ingested, ledger_by_name, rows


def _event(i: int, code: int = 1, host: str = "WS01") -> str:
    return json.dumps({
        "@timestamp": "2026-03-02T10:15:04.123Z", "event": {"code": str(code)},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": host, "record_id": i,
                   "event_data": {"UtcTime": "2026-03-02 10:15:04.123", "Image": f"C:\\x\\p{i}.exe"}},
    })


def _write(path: Path, spec: list[str]) -> dict[str, Any]:  # host named after the file: unique content
    """``spec`` items: 'ok', 'skip' (unused event id), 'bad' (not JSON), 'blank'; returns expectations."""
    lines, ok, skipped, bad = [], [], 0, []
    for n, kind in enumerate(spec, 1):
        if kind == "ok":
            lines.append(_event(n, host=path.stem))
            ok.append(n)
        elif kind == "skip":
            lines.append(_event(n, code=4, host=path.stem))
            skipped += 1
        elif kind == "bad":
            lines.append('{"winlog": {"broken": ' + str(n))
            bad.append(n)
        else:
            lines.append("   ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"ok": ok, "skipped": skipped, "bad": bad, "records": len(spec) - spec.count("blank")}


_kinds = st.lists(st.sampled_from(["ok", "ok", "ok", "skip", "bad", "blank"]), min_size=0, max_size=25)


@settings(max_examples=25, deadline=None)
@given(files=st.lists(_kinds, min_size=1, max_size=4), flush=st.integers(min_value=1, max_value=40))
def test_counts_exact_whatever_the_flush_size(tmp_path_factory: pytest.TempPathFactory, files: list[list[str]],
                                              flush: int) -> None:
    tmp = tmp_path_factory.mktemp("flush")
    expected = {}
    for i, spec in enumerate(files):
        path = tmp / f"f{i}.json"
        # a first good line so the file is sniffed as Winlogbeat (the sniffer only reads the head)
        expected[path.name] = _write(path, ["ok", *spec])
    store = Store.open(memory_limit="1GB", threads=2)
    original = loader_mod.Loader.__init__

    def small(self: loader_mod.Loader, st_: Store, **kw: Any) -> None:
        original(self, st_, flush_records=flush)

    try:
        loader_mod.Loader.__init__ = small  # type: ignore[method-assign]
        ingest_paths(store, sorted(tmp.glob("*.json")), Problems())
        ledger = ledger_by_name(store)
        for name, exp in expected.items():
            row = ledger[name]
            assert row["records_read"] == exp["records"]
            assert row["normalized"] == len(exp["ok"])
            assert sum(row["skipped"].values()) == exp["skipped"]
            assert row["errors"] == len(exp["bad"])
            assert accounted(row)
            shown = [m for m in row["error_messages"] if m.endswith("not valid JSON")]
            assert shown == [f"line {n}: not valid JSON" for n in exp["bad"][:5]]
            stored = rows(store, f"src_file LIKE '%{name}'", ["event_uid"])
            assert sorted(int(r["event_uid"].split(":")[1]) for r in stored) == exp["ok"]
    finally:
        loader_mod.Loader.__init__ = original  # type: ignore[method-assign]
        store.close()


def test_optimizer_setting_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    _write(path, ["ok", "bad", "skip"])
    store = Store.open(memory_limit="1GB", threads=2)
    try:
        store.duck.execute("SET disabled_optimizers = 'top_n'")
        ingest_paths(store, [path], Problems())
        assert store.duck.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0] == "top_n"
        for ordered in (False, True):  # the session's row-order setting comes back either way
            other = tmp_path / f"{ordered}.json"
            _write(other, ["ok", "ok", "skip", "ok"])
            store.duck.execute(f"SET preserve_insertion_order = {ordered}")
            assert ingest_paths(store, [other], Problems()).normalized
            assert store.duck.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0] is ordered
    finally:
        store.close()


def test_same_ndjson_content_twice_in_one_run_is_a_duplicate(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(DATA / "winlogbeat_raw.ndjson", a)
    shutil.copy(a, b)
    with ingested(a, b) as (store, summary, _problems):
        ledger = ledger_by_name(store)
        second = {Path(str(r["path"])).name: r for r in summary.rows}["b.json"]
        assert second["status"] == "duplicate" and second["records_read"] == 0
        assert second["error_messages"] == [f"same content as {a}, already ingested"]
        assert summary.already == 1 and "b.json" not in ledger
        assert store.event_count() == ledger["a.json"]["normalized"] > 0
        ingest_paths(store, [a, b], Problems())  # and again: nothing added
        assert store.event_count() == ledger["a.json"]["normalized"]


def test_many_small_evtx_files_flushed_together() -> None:
    """Records of many files in one flush keep their own file, uid prefix and record ids."""
    files = sorted(shared_or_skip("fixtures/evtx").glob("*.evtx"))
    if len(files) < 2:
        pytest.skip("needs several EVTX fixtures")
    with ingested(*files) as (store, _summary, _problems):
        ledger = {r["path"]: r for r in store.ledger()}
        per_file = dict(store.duck.execute("SELECT src_file, count(*) FROM events GROUP BY 1").fetchall())
        prefixes = store.duck.execute(
            "SELECT src_file, count(DISTINCT substr(event_uid, 1, 17)) FROM events GROUP BY 1"
        ).fetchall()
        for path in files:
            row = ledger[str(path)]
            assert accounted(row)
            assert per_file.get(str(path), 0) == row["normalized"]
        assert all(n == 1 for _f, n in prefixes)
        for src, uid_prefix in store.duck.execute("SELECT DISTINCT src_file, substr(event_uid, 1, 16) FROM events").fetchall():
            assert ledger[src]["sha256"][:16] == uid_prefix


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=30), max_size=20))
def test_string_array_round_trip(texts: list[str]) -> None:
    assert string_array(texts).to_pylist() == texts


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=30), max_size=20))
def test_utf8_array_equals_string_array(texts: list[str]) -> None:
    """The flush's array builder gives what ``string_array`` gives (lone surrogates included)."""
    built = loader_mod._utf8_array(texts)
    assert built.equals(string_array(texts))
    assert built.to_pylist() == texts


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.lists(st.one_of(st.none(), st.booleans()), max_size=20), max_size=4),
    start=st.integers(0, 3),
    bits=st.sampled_from([32, 64]),
)
def test_columns_read_back_from_buffers_as_pyarrow_reads_them(chunks: list[list[bool | None]], start: int, bits: int) -> None:
    """The flush reads DuckDB's answers from Arrow buffers (offsets, chunks, nulls and all)."""
    import pyarrow as pa

    flags = pa.chunked_array([pa.array(c, type=pa.bool_()).slice(min(start, len(c))) for c in chunks], type=pa.bool_())
    expected = [bool(v) for v in flags.to_pylist()]  # null counts as not kept
    assert loader_mod._bools(flags).tolist() == expected
    numbers = pa.chunked_array(
        [pa.array(range(len(c)), type=pa.int32() if bits == 32 else pa.int64()).slice(min(start, len(c))) for c in chunks],
        type=pa.int32() if bits == 32 else pa.int64(),
    )
    assert loader_mod._ints(numbers).tolist() == numbers.to_pylist()
    if len(numbers):
        assert loader_mod._ints(numbers.chunk(0)).tolist() == numbers.chunk(0).to_pylist()
    reasons = [None if v is None else str(v) for c in chunks for v in c]  # null where a record was kept
    indices = pa.array(reasons, type=pa.string()).dictionary_encode().indices
    got = loader_mod._ints(indices, nulls=True).tolist()
    assert [g for g, r in zip(got, reasons, strict=True) if r is not None] == [i for i in indices.to_pylist() if i is not None]
    if None in reasons:
        with pytest.raises(TypeError):
            loader_mod._ints(indices)


def test_evtx_ingest_does_not_import_pandas() -> None:
    """Reading back the keep decisions must not go through pyarrow's ``to_numpy`` (it imports pandas)."""
    import subprocess

    src = shared_or_skip("fixtures/evtx")
    code = (
        "import sys\nfrom pathlib import Path\nfrom cabhunt.errors import Problems\nfrom cabhunt.ingest import ingest_paths\n"
        "from cabhunt.store import Store\nstore = Store.open(memory_limit='1GB', threads=2)\n"
        f"s = ingest_paths(store, [Path({str(src)!r})], Problems())\n"
        "print(s.normalized > 0, s.skipped > 0, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


def test_arrays_do_not_import_pandas() -> None:
    """pandas costs about a second to import; building the record arrays must not pull it in."""
    import subprocess

    code = (
        "import sys\nfrom cabhunt.ingest.batch import int_array, string_array\n"
        "string_array(['{\"a\": 1}', 'x']); int_array([1, 2], 32)\nprint('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert int_array([3, 4]).to_pylist() == [3, 4]


def test_decided_first_and_direct_flush_write_the_same_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """EVTX is sorted into kept and skipped records before the INSERT, other input goes straight
    into events: same events, same counts."""
    files = sorted(shared_or_skip("fixtures/evtx").glob("*.evtx"))[:6]

    def run() -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
        with ingested(*files) as (store, _summary, _problems):
            events = store.duck.execute("SELECT * FROM events ORDER BY event_uid").fetchall()
            ledger = [{k: r[k] for k in ("path", "records_read", "normalized", "skipped", "errors")} for r in store.ledger()]
            return events, ledger

    decided = run()
    original = loader_mod.Loader.open_file

    def direct(self: loader_mod.Loader, stats: Any, *, key: str | None, label: str, expect_skips: bool = False) -> int:
        self._skipping = {}
        return original(self, stats, key=key, label=label, expect_skips=False)

    monkeypatch.setattr(loader_mod.Loader, "open_file", direct)
    assert run() == decided
    assert decided[0], "the fixtures hold events"


def test_ingest_file_without_a_digest_hashes_the_file_first(tmp_path: Path) -> None:
    from cabhunt.ingest import ingest_file
    from cabhunt.ingest.ledger import FileStats
    from cabhunt.ingest.source import file_digest

    path = tmp_path / "one.json"
    _write(path, ["ok", "ok", "skip"])
    store = Store.open(memory_limit="1GB", threads=2)
    loader = loader_mod.Loader(store)
    try:
        ingest_file(loader, FileStats(path=path, problems=Problems()))
        loader.commit()
        (row,) = store.ledger()
        assert row["sha256"] == file_digest(path)
        uids = [r["event_uid"] for r in rows(store, columns=["event_uid"])]
        assert uids == [f"{row['sha256'][:16]}:1", f"{row['sha256'][:16]}:2"]
    finally:
        loader.close()
        store.close()


def test_file_cut_off_between_its_flushes_is_read_again_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large file goes through in several flushes: a run that dies after the first leaves its
    events marked pending; the next run drops them and reads the file again, once."""
    path = tmp_path / "big.json"
    exp = _write(path, ["ok"] * 12 + ["skip", "bad", "blank"] + ["ok"] * 12 + ["skip"])
    db = tmp_path / "store.db"
    original_init, original_write = loader_mod.Loader.__init__, loader_mod.Loader._write
    calls = []

    def small(self: loader_mod.Loader, st_: Store, **kw: Any) -> None:
        original_init(self, st_, flush_records=8)

    def dies_second(self: loader_mod.Loader, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run is stopped mid-file
        return original_write(self, *args)

    from cabhunt.ingest import ndjson

    monkeypatch.setattr(ndjson.read_ndjson, "__defaults__", (2048,))  # a few lines per read
    monkeypatch.setattr(loader_mod.Loader, "__init__", small)
    monkeypatch.setattr(loader_mod.Loader, "_write", dies_second)
    with Store.open(db, memory_limit="1GB", threads=2) as store, pytest.raises(KeyboardInterrupt):
        ingest_paths(store, [path], Problems())
    monkeypatch.setattr(loader_mod.Loader, "_write", original_write)
    with Store.open(db, memory_limit="1GB", threads=2) as store:
        assert rows(store, columns=["event_uid"]), "the first flush was written before the run died"
        assert not store.ledger()
        problems = Problems()
        ingest_paths(store, [path], problems)
        assert str(path) in problems.files  # reported as read again
        (row,) = store.ledger()
        assert (row["records_read"], row["normalized"], row["errors"]) == (exp["records"], len(exp["ok"]), 1)
        assert sum(row["skipped"].values()) == exp["skipped"]
        uids = sorted(int(r["event_uid"].split(":")[1]) for r in rows(store, columns=["event_uid"]))
        assert uids == exp["ok"]

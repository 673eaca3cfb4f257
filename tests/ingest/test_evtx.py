"""EVTX: every record the evtx package yields is accounted for; broken files are reported, not fatal."""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import tarfile
import warnings
from pathlib import Path
from typing import Any

import evtx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_or_skip
from tests.ingest.helpers import accounted, ingested, ledger_by_name, rows

CHUNK = 65536


def package_counts(path: Path) -> tuple[int, int]:
    """(records, errors) as the evtx package itself yields them for ``path``."""
    ok = bad = 0
    it = evtx.PyEvtxParser(str(path)).records_json()
    while True:
        try:
            next(it)
        except StopIteration:
            return ok, bad
        except RuntimeError:
            bad += 1
        else:
            ok += 1


def check_all(root: Path, files: list[Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ingested(root) as (store, summary, _problems):
            ledger = {Path(r["path"]): r for r in store.ledger()}
            stored = dict(store.duck.execute("SELECT src_file, count(*) FROM events GROUP BY 1").fetchall())
    assert summary.unreadable == 0
    read_files = 0
    for f in files:
        ok, bad = package_counts(f)
        row = ledger.get(f)
        if row is None:  # same bytes as another file: skipped as already ingested
            assert summary.already
            continue
        read_files += 1
        assert row["format"] == "evtx", f
        assert row["records_read"] == ok + bad, f
        assert row["errors"] >= bad, f
        assert accounted(row), f
        assert stored.get(str(f), 0) == row["normalized"], f
    assert read_files == summary.files


def test_shared_fixtures_match_the_evtx_package() -> None:
    root = shared_or_skip("fixtures/evtx")
    check_all(root, sorted(root.glob("*.evtx")))


def test_fixture_events_are_normalized() -> None:
    root = shared_or_skip("fixtures/evtx")
    with ingested(root / "ID4688_4697_5140-5145_PSexec_remote_execution___admin_share.evtx") as (store, _s, _p):
        got = rows(store, "event_code = 5145")
        procs = rows(store, "event_code = 4688")
    assert got and all(r["share_name"] and r["source_ip"] == "10.23.42.22" for r in got)
    assert {r["user_name"] for r in got} == {"admmig"}
    assert procs and all(r["process_pid"] is not None and r["process_name"] for r in procs)


def _corrupt_copy(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    # overwrite bytes inside the first chunk's records (after the 4 KiB header + 512-byte chunk header)
    for off in range(4096 + 512 + 3000, 4096 + 512 + 3400):
        data[off] = 0x41
    dst.write_bytes(bytes(data))


def test_corrupt_and_truncated_evtx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = shared_or_skip("fixtures/evtx/ID4688_4697_5140-5145_PSexec_remote_execution___admin_share.evtx")
    corrupt = tmp_path / "corrupt.evtx"
    _corrupt_copy(src, corrupt)
    truncated = tmp_path / "truncated.evtx"
    truncated.write_bytes(src.read_bytes()[: 4096 + 20000])
    packed = tmp_path / "packed.bin"
    packed.write_bytes(gzip.compress(src.read_bytes()))
    good_ok, _ = package_counts(src)
    ok, bad = package_counts(corrupt)
    assert bad > 0  # the damage is real
    with ingested(tmp_path) as (store, summary, _problems):
        ledger = ledger_by_name(store)
    c = ledger["corrupt.evtx"]
    assert (c["records_read"], c["errors"], c["status"]) == (ok + bad, bad, "partial")
    assert accounted(c) and c["error_messages"][0].startswith("record ")
    t = ledger["truncated.evtx"]
    assert t["status"] == "partial" and "truncated EVTX" in t["error_messages"][0]
    p = ledger["packed.bin"]
    assert p["format"] == "evtx" and p["records_read"] == good_ok and p["errors"] == 0
    assert summary.files == 3
    err = capsys.readouterr().err
    assert "corrupt.evtx#" in err and "truncated.evtx: truncated EVTX" in err


def test_files_read_whole_or_streamed_give_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Small files are read once into memory, large ones streamed (in a reader thread) while
    the digest thread hashes them, and flushed in pieces: the same events, ledger rows and
    problem lines either way. A duplicate read before its digest was known reports nothing."""
    from cabhunt import ingest as ingest_mod
    from cabhunt.ingest import evtxfile
    from cabhunt.ingest import loader as loader_mod

    root = shared_or_skip("fixtures/evtx")
    src = root / "ID4688_4697_5140-5145_PSexec_remote_execution___admin_share.evtx"
    _corrupt_copy(src, tmp_path / "corrupt.evtx")
    shutil.copy(tmp_path / "corrupt.evtx", tmp_path / "corrupt_again.evtx")  # a duplicate with broken records
    (tmp_path / "truncated.evtx").write_bytes(src.read_bytes()[: 4096 + 20000])
    (tmp_path / "packed.bin").write_bytes(gzip.compress(src.read_bytes()))
    (tmp_path / "fake.evtx").write_bytes(b"ElfFile\x00" + b"\xff" * 5000)
    shutil.copy(src, tmp_path / "again.evtx")  # a clean duplicate
    files = [*sorted(root.glob("*.evtx"))[:5], tmp_path]

    def run() -> tuple[list[tuple[Any, ...]], list[tuple[str, ...]], list[str], int]:
        capsys.readouterr()
        with ingested(*files) as (store, summary, _problems):
            events = store.duck.execute("SELECT * FROM events ORDER BY event_uid").fetchall()
            keys = ("path", "sha256", "format", "size", "status", "records_read", "normalized", "skipped", "errors", "error_messages")
            ledger = sorted(tuple(str(r[k]) for k in keys) for r in store.ledger())
        return events, ledger, sorted(capsys.readouterr().err.splitlines()), summary.already

    whole = run()
    monkeypatch.setattr(ingest_mod, "WHOLE_FILE_BYTES", -1)
    monkeypatch.setattr(ingest_mod, "PREFETCH_MIN_BYTES", 0)
    streamed = run()
    monkeypatch.setattr(evtxfile, "EVTX_BATCH_RECORDS", 7)
    monkeypatch.setattr(loader_mod, "EARLY_RECORDS", 20)
    pieces = run()
    assert whole == streamed == pieces
    assert whole[0] and whole[3] == 2
    assert any("corrupt.evtx#" in line for line in whole[2])
    assert not any("corrupt_again.evtx" in line for line in whole[2])


def test_file_with_evtx_magic_but_garbage(tmp_path: Path) -> None:
    f = tmp_path / "fake.evtx"
    f.write_bytes(b"ElfFile\x00" + b"\xff" * 5000)
    with ingested(f) as (store, summary, _p):
        row = ledger_by_name(store)["fake.evtx"]
    assert row["normalized"] == 0 and row["error_messages"]
    assert summary.files + summary.unreadable == 1


def test_hayabusa_corpus(tmp_path: Path) -> None:
    archive = shared_or_skip("corpora/hayabusa-sample-evtx.tar.xz")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 593
    check_all(tmp_path, files)


def test_gzip_of_corrupt_file_keeps_records(tmp_path: Path) -> None:
    src = shared_or_skip("fixtures/evtx/sysmon_1_7_11_migwiz.evtx")
    f = tmp_path / "x.evtx.gz"
    with src.open("rb") as fin, gzip.open(f, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    ok, _ = package_counts(src)
    with ingested(f) as (store, _s, _p):
        assert ledger_by_name(store)["x.evtx.gz"]["records_read"] == ok


def test_sysmon_image_load_registry_and_stream_events() -> None:
    root = shared_or_skip("fixtures/evtx")
    with ingested(root) as (store, _s, _p):
        loads = rows(store, "event_code = 7")
        regs = rows(store, "event_code = 13")
        streams = rows(store, "event_code = 15")
        nets = rows(store, "event_code = 3")
    assert loads and all(r["dll_path"] and r["dll_signature_status"] and r["dll_signed"] is not None for r in loads)
    assert any(r["dll_path"].lower().endswith("msxml3.dll") and r["dll_signed"] for r in loads)
    assert regs and all(r["registry_path"].startswith(("HKLM", "HKU", "HKCR", "HKCU")) for r in regs)
    assert any(r["registry_value"] == "DWORD (0x00000001)" for r in regs)
    assert streams and all(r["file_path"] and r["event_category"] == "file" for r in streams)
    assert nets and all(r["destination_ip"] and r["network_initiated"] is not None for r in nets)
    for r in loads + regs + streams + nets:
        assert r["process_name"] and r["process_entity_id"] and r["ts"] is not None


class _Records:
    """An iterator like the parser's: raises for a broken record and goes on after it."""

    def __init__(self, items: list[int | str | None]) -> None:
        self.items = iter(items)

    def __iter__(self) -> _Records:
        return self

    def __next__(self) -> dict[str, Any] | None:
        item = next(self.items)
        if item == "bad":
            raise RuntimeError("Failed to parse record number 7")
        if item == "worse":
            raise RuntimeError("no number here")
        if item is None:
            return None
        return {"event_record_id": item, "data": f'{{"n": {item}}}'}


def _reference(items: list[int | str | None], give_up: int) -> tuple[list[int], int, dict[str, int], list[object]]:
    """What reading ``items`` must give: one record at a time, the obvious way."""
    ids: list[int] = []
    seen: set[int] = set()
    read, skipped, where, run = 0, 0, [], 0
    for ordinal, item in enumerate(items, 1):
        if isinstance(item, str):
            read += 1
            run += 1
            where.append(7 if item == "bad" else f"~{ordinal}")
            if run >= give_up:
                break
            continue
        run = 0
        if item is None:
            continue
        if item in seen:
            read += 1
            skipped += 1
            continue
        seen.add(item)
        ids.append(item)
    return ids, read, ({"duplicate record id": skipped} if skipped else {}), where


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.one_of(st.integers(0, 30), st.sampled_from(["bad", "worse", None])), max_size=60),
    batch=st.integers(1, 8),
    give_up=st.integers(1, 4),
)
def test_batches_count_like_one_record_at_a_time(items: list[int | str | None], batch: int, give_up: int) -> None:
    from cabhunt.errors import Problems
    from cabhunt.ingest import evtxfile
    from cabhunt.ingest.ledger import FileStats

    stats = FileStats(path=Path("x.evtx"), problems=Problems())
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(io.StringIO()):
        mp.setattr(evtxfile, "EVTX_BATCH_RECORDS", batch)
        mp.setattr(evtxfile, "MAX_CONSECUTIVE_ERRORS", give_up)
        batches = list(evtxfile._batches(_Records(items), stats))
    ids, read, skipped, where = _reference(items, give_up)
    assert [i for b in batches for i in b.ids] == ids
    assert all(0 < len(b) <= batch for b in batches)
    assert [t for b in batches for t in b.texts] == [f'{{"n": {i}}}' for i in ids]
    assert (stats.records_read, stats.skipped, stats.errors) == (read, skipped, len(where))
    shown = [m.split(":")[0] for m in stats.error_messages if m.startswith("record ")]
    assert shown == [f"record {w}" for w in where][: len(shown)]
